"""`make bench`: every benchmark under bench/, one after the other; each appends its figures to
bench/RESULTS.md. Needs PostgreSQL and Redis like the test suite. Takes several minutes (the
command benchmark loads a million orders)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BENCHMARKS = (
    ("collections", [sys.executable, "-m", "bench.collections"]),
    ("command", [sys.executable, "-m", "bench.command"]),
    ("callback", [sys.executable, "bench/callback.py", "--write"]),
    # H5 pages (issue 14)
    ("pages", [sys.executable, "-m", "bench.pages"]),
)


def main() -> int:
    failed = []
    for name, cmd in BENCHMARKS:
        started = time.monotonic()
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        if subprocess.run(cmd, cwd=ROOT).returncode != 0:
            failed.append(name)
        print(f"== {name}: {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
