"""The import job (issue 13): `POST /api/v1/imports` and the H5 page queue it after commit."""

from __future__ import annotations

import logging

from orderdesk import runtime
from orderdesk.imports import runs

log = logging.getLogger(__name__)


def run_import_job(run_id: int) -> dict[str, int] | None:
    rt = runtime.current()
    summary = runs.execute(rt.db.transaction, run_id)
    if summary is None:
        return None
    log.info("import run %s: %s", run_id, summary.line())
    return {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "refused": summary.refused,
    }
