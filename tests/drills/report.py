"""`make drills` ends here: bench/drill-results.jsonl (one line per drill) -> bench/DRILLS.md."""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import UTC, datetime

from tests.drills.harness import RESULTS, ROOT

TARGET = ROOT / "bench" / "DRILLS.md"


def main() -> None:
    lines = RESULTS.read_text(encoding="utf-8").splitlines() if RESULTS.exists() else []
    results = sorted((json.loads(line) for line in lines if line.strip()), key=lambda r: r["drill"])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    out = [
        "# Drills: the production shape, broken on purpose",
        "",
        f"`make drills` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit or '?'}, "
        f"{platform.node()} (PostgreSQL + Redis, `orderdesk serve` / `worker` / `scheduler` "
        "as separate processes, fake WeCom). Messages: caused = outbox rows the drill caused, "
        "delivered = of them sent, duplicated = identical messages WeCom delivered twice, "
        "lost = never sent; seconds = from the break (or start) to every message delivered.",
        "",
        "| drill | caused | delivered | duplicated | lost | seconds | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        out.append(
            f"| {r['drill']} | {r['caused']} | {r['delivered']} | {r['duplicated']} | "
            f"{r['lost']} | {r['recover_seconds']} | {r['note']} |"
        )
    if not results:
        out.append("| (no drill recorded a result: see the pytest output) | | | | | | |")
    TARGET.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({len(results)} drills)")


if __name__ == "__main__":
    main()
