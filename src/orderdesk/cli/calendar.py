"""`orderdesk calendar YYYY-MM`: the month as the scheduler sees it (working days, why not)."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

import click

from orderdesk.cli.base import settings_from
from orderdesk.core.workdays import month_weeks, official_workday

if TYPE_CHECKING:
    from orderdesk.settings import Settings

WEEK_HEAD = "一   二   三   四   五   六   日"
_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


def register(main: click.Group) -> None:
    """Attach `calendar` to the `orderdesk` group."""
    main.add_command(calendar_command)


@click.command("calendar")
@click.argument("month")
@click.pass_context
def calendar_command(ctx: click.Context, month: str) -> None:
    """工作日历 / working days of MONTH (YYYY-MM) as the scheduler sees them."""

    match = _MONTH_RE.match(month.strip())
    year, mon = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not (1 <= mon <= 12 and 1990 <= year <= 2100):
        raise click.BadParameter("expected YYYY-MM, e.g. 2027-02", param_hint="MONTH")
    click.echo("\n".join(month_lines(settings_from(ctx), year, mon)))


def month_lines(settings: Settings, year: int, month: int) -> list[str]:
    """A week grid (休 = no pushes that day, 班 = a weekend day that is worked) and then every
    day that is not a plain weekday or weekend, with the reason."""

    hours = f"营业时间 {settings.business_hours},{settings.timezone}"
    lines = [f"{year}-{month:02d}  工作日历({hours})", WEEK_HEAD]
    notes: list[str] = []
    working_days = 0
    for week in month_weeks(settings, year, month):
        cells = []
        for cell in week:
            if cell is None:
                cells.append("    ")
                continue
            working_days += cell.working
            mark = ("班" if cell.day.weekday() >= 5 else " ") if cell.working else "休"
            cells.append(f"{cell.day.day:>2}{mark} ")
            if cell.special:
                notes.append(
                    f"{cell.day.isoformat()} {'上班' if cell.working else '休息'}({cell.why})"
                )
        lines.append("".join(cells).rstrip())
    lines.append(f"工作日 {working_days} 天")
    lines.extend(notes)
    if official_workday(date(year, month, 1)) is None:
        lines.append(
            f"注意:chinese-calendar 还没有 {year} 年的官方放假安排,"
            "只按周末和 HOLIDAYS / WORKDAYS 计算"
        )
    return lines
