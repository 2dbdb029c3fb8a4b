"""Make tests/drills/fixtures/release-0001.sql.gz: the previous release's database.

Run from a checkout of the release (migration 0001 is the released baseline):

    .venv/bin/python -m tests.drills.make_fixture

It creates a scratch database on TEST_DATABASE_URL's server, runs that release's
`orderdesk db upgrade` and `orderdesk demo` in it (as an operator would), and dumps it as plain
SQL INSERTs (loadable by any client, no COPY). The drills load it and run `orderdesk db upgrade`.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.drills.harness import FIXTURE, ORDERDESK, PG_BIN, PG_URL, ROOT, _with_db


def main() -> None:
    name = f"drill_fixture_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_with_db(PG_URL, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _with_db(PG_URL, name)
    try:
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": "", "JOBS_SYNC": "true"}
        for args in (["db", "upgrade"], ["demo", "--seed", "1"]):
            subprocess.run([ORDERDESK, *args], cwd=ROOT, env=env, check=True)
        u = make_url(url)
        dump = subprocess.run(
            [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges", "--inserts",
             "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres",
             name],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        # psql meta-commands (\restrict of newer pg_dump) are not SQL: a driver cannot run them.
        dump = b"\n".join(line for line in dump.split(b"\n") if not line.startswith(b"\\"))
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_bytes(gzip.compress(dump, mtime=0))
        print(f"wrote {FIXTURE} ({len(dump)} bytes of SQL)")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
