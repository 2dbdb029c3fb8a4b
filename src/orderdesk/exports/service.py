"""`export(kind, period, format)`: the one entry point of the CLI and the API download."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.directory.permissions import MONEY_ROLES, require_role
from orderdesk.exports import datasets, writers
from orderdesk.exports.datasets import Dataset
from orderdesk.exports.journal import journal
from orderdesk.models import Staff
from orderdesk.reports.aging import ar_aging

KINDS = ("orders", "receipts", "invoices", "timesheets", "ar-aging", "journal")
MAX_DAYS = 3700  # ten years: a longer period is a typo


def _aging(session: Session, actor: Staff, as_of: date) -> Dataset:
    table = ar_aging(session, actor=actor, as_of=as_of, by="customer")
    keys = [c.key for c in table.columns]
    rows = iter([[row[k] for k in keys] for row in table.rows])
    return Dataset([c.title for c in table.columns], rows)


def export(
    session: Session,
    *,
    actor: Staff,
    kind: str,
    date_from: date,
    date_to: date,
    fmt: str,
    path: Path,
) -> int:
    """Write the export to `path`; returns its number of data rows. Finance, gm and admin only."""
    require_role(actor, *MONEY_ROLES)
    if kind not in KINDS:
        raise NotFound(f"没有这个导出类型(可选:{'、'.join(KINDS)})")
    if fmt not in writers.FORMATS:
        raise ValidationFailed("导出格式只能是 xlsx 或 csv")
    if date_to < date_from or date_to - date_from > timedelta(days=MAX_DAYS):
        raise ValidationFailed("导出期间无效:结束日期须不早于开始日期,且不超过十年")
    if kind == "ar-aging":
        data = _aging(session, actor, date_to)  # aging as of the period's last day
    elif kind == "journal":
        data = journal(session, date_from, date_to)
    else:
        data = getattr(datasets, kind)(session, date_from, date_to)
    return writers.write(path, fmt, data.header, data.rows)
