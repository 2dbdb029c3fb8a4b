"""Regenerate the initial revision from the models (development only, before the first release).

    .venv/bin/python -m migrations.regenerate

Until OrderDesk ships, there is one initial revision; after the first release new revisions
are added with `alembic revision --autogenerate` instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from migrations.run import HERE, alembic_config

REVISION = "0001"


def main() -> None:
    for old in (HERE / "versions").glob("*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'blank.db'}"
        command.revision(
            alembic_config(url), message="initial schema", autogenerate=True, rev_id=REVISION
        )
    print("regenerated", next((HERE / "versions").glob("*.py")))


if __name__ == "__main__":
    main()
