"""The import run: read the sheet, validate every row, then write (all or nothing by default,
or the valid rows only with `skip_invalid`), and report created / updated / unchanged / refused.

A kind (kinds_*.py) says what its columns are, how a row is checked against the database and
the rest of the file, and how valid rows are written; this module does the rest the same way
for every kind. Writing happens inside a savepoint, so a dry run (or an all-or-nothing run that
meets a refusal only a service can see) rolls back to exactly the state before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.core.errors import DomainError, ValidationFailed
from orderdesk.exports.writers import write_xlsx
from orderdesk.imports import reading
from orderdesk.imports.columns import Column, match_headers, score
from orderdesk.imports.values import CellError, clean
from orderdesk.models import Staff

Progress = Callable[[str, int], None]  # (phase, rows done in that phase)
OUTCOMES = ("created", "updated", "unchanged", "refused")
OUTCOME_ZH = {"created": "新建", "updated": "更新", "unchanged": "未变", "refused": "拒绝"}
EXAMPLE_NOTE = "示例行:导入时自动跳过,可删除"  # the template's note, and the error workbook's


class RowError(DomainError):
    """A row refused while writing by the import's own rule; `column` is a column key or ""."""

    def __init__(self, message: str, column: str = "") -> None:
        super().__init__(message, fields={column: message} if column else None)


def refuse(row: Row, exc: DomainError) -> None:
    """Put a refusal on the row, under the column it names when it names one of ours."""
    key = next(iter(exc.fields), "") if exc.fields else ""
    row.errors[key if key in row.values else ""] = exc.message
    row.outcome = "refused"


@dataclass(slots=True)
class Row:
    """One data row once read. The raw cells are not kept (a sheet of 100,000 rows would hold
    them all): the error workbook reads the file again."""

    number: int
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # column key ("" = the row) -> reason
    outcome: str = ""


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    written: bool = False
    errors: list[str] = field(default_factory=list)  # the first ones, for people to read
    error_file: str | None = None
    # Row numbers of the template's example row, skipped (neither imported nor refused).
    skipped_example: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "written": self.written,
            "skipped_example": self.skipped_example,
            "errors": self.errors[:50],
            "error_file": self.error_file,
        }

    def line(self) -> str:
        counts = (
            f"新建 {self.created},更新 {self.updated},未变 {self.unchanged},拒绝 {self.refused}"
        )
        return counts + skipped_note(self.skipped_example, ";")


class Kind:
    """One import kind. Subclasses set the class attributes and implement check and write."""

    name: str = ""
    title: str = ""
    columns: tuple[Column, ...] = ()
    roles: tuple[str, ...] = ("admin", "finance")

    def __init__(self, session: Session, actor: Staff) -> None:
        self.session = session
        self.actor = actor

    def options(self) -> dict[str, list[str]]:
        """Drop-down values read from the database (order types, business lines, staff)."""
        return {}

    def check(self, row: Row) -> None:
        """Add errors to `row` (the cells are already read); may remember the row's key."""

    def write(self, rows: list[Row], skip_invalid: bool) -> None:
        """Write the valid rows and set each one's outcome (or add errors and refuse it)."""
        raise NotImplementedError

    def column_title(self, key: str) -> str:
        return next((c.title for c in self.columns if c.key == key), key)


def guarded(kind: Kind, row: Row, action: Any) -> None:
    """One row's service call in a savepoint: a refusal undoes that row only and is reported."""
    savepoint = kind.session.begin_nested()
    try:
        action()
        kind.session.flush()
    except DomainError as exc:
        savepoint.rollback()
        refuse(row, exc)
    else:
        savepoint.commit()


def locate_header(kind: Kind, head: Sequence[Sequence[Any]]) -> int:
    best, best_score = -1, 0
    for i in range(len(head)):
        points = score(kind.columns, reading.header_labels(head, i))
        if points > best_score:
            best, best_score = i, points
    if best_score < 2:
        wanted = "、".join(c.title for c in kind.columns if c.required)
        raise ValidationFailed(f"没有找到表头(前 {len(head)} 行里应有:{wanted})")
    return best


def parse_row(
    columns: Sequence[Column], positions: dict[str, int], cells: Sequence[Any], row: Row
) -> None:
    for col in columns:
        pos = positions.get(col.key)
        raw = cells[pos] if pos is not None and pos < len(cells) else None
        if clean(raw) == "":
            if col.required:
                row.errors[col.key] = "必填"
            row.values[col.key] = None
            continue
        try:
            row.values[col.key] = col.read(raw)
        except CellError as exc:
            row.errors[col.key] = str(exc)


@dataclass
class Layout:
    header: list[str]
    positions: dict[str, int]
    rows: Iterator[tuple[int, tuple[Any, ...]]]  # (row number in Excel, cells), blanks skipped


def open_layout(kind: Kind, path: Path) -> Layout:
    """Find the header, match the columns, and hand out the data rows that follow it."""
    it = reading.open_rows(path)
    head: list[tuple[Any, ...]] = []
    for cells in it:
        head.append(cells)
        if len(head) >= reading.HEADER_SCAN_ROWS:
            break
    index = locate_header(kind, head)
    labels = reading.header_labels(head, index)
    positions, problems = match_headers(kind.columns, labels)
    if problems:
        raise ValidationFailed(";".join(problems))
    missing = [c.title for c in kind.columns if c.required and c.key not in positions]
    if missing:
        raise ValidationFailed(f"缺少必需的列:{'、'.join(missing)}")

    def data() -> Iterator[tuple[int, tuple[Any, ...]]]:
        numbered = chain(
            enumerate(head[index + 1 :], start=index + 2), enumerate(it, start=len(head) + 1)
        )
        for number, cells in numbered:
            if not reading.is_blank(cells):
                yield number, tuple(cells)

    return Layout([" / ".join(t) for t in labels], positions, data())


def read_sheet(
    kind: Kind, path: Path, progress: Progress | None = None, skipped: list[int] | None = None
) -> list[Row]:
    """Every non-blank data row read and checked; nothing is written here. A row that is the
    template's example, untouched, is left out (its number goes to `skipped`): people keep it
    and type their rows below it. Any edit to it makes it data like every other row."""
    layout = open_layout(kind, path)
    example = example_values(kind.columns)
    rows: list[Row] = []
    for number, cells in layout.rows:
        row = Row(number)
        parse_row(kind.columns, layout.positions, cells, row)
        if not row.errors and example is not None and row.values == example:
            if skipped is not None:
                skipped.append(number)
            continue
        if not row.errors:
            kind.check(row)
        rows.append(row)
        if progress is not None and len(rows) % 1000 == 0:
            progress("validating", len(rows))
    return rows


def example_values(columns: Sequence[Column]) -> dict[str, Any] | None:
    """The template's example row as the parser reads it: a sheet row is the example when its
    values are these (so `¥12,000.00` and `12000`, or `2026/1/20` and `2026-01-20`, match).
    None when the example does not read back (a unit test keeps every kind's readable)."""
    row = Row(0)
    positions = {c.key: i for i, c in enumerate(columns)}
    parse_row(columns, positions, [c.example for c in columns], row)
    return None if row.errors else row.values


def skipped_note(numbers: Sequence[int], lead: str = "") -> str:
    """`lead` + 已跳过模板示例行(第 2 行), or nothing when no example row was met."""
    if not numbers:
        return ""
    return f"{lead}已跳过模板示例行(第 {_row_list(numbers)} 行)"


def nothing_to_import(skipped: Sequence[int]) -> str:
    if not skipped:
        return "没有可导入的数据行"
    return (
        f"没有可导入的数据行:第 {_row_list(skipped)} 行是模板示例行,已跳过。"
        "请在示例行下方填写要导入的数据(示例行可保留或删除)"
    )


def _row_list(numbers: Sequence[int]) -> str:
    return "、".join(str(n) for n in numbers[:5]) + ("…" if len(numbers) > 5 else "")


def describe(kind: Kind, row: Row) -> str:
    parts = [
        f"「{kind.column_title(key)}」{msg}" if key else msg for key, msg in row.errors.items()
    ]
    return ";".join(parts)


def error_workbook(kind: Kind, rows: list[Row], path: Path, skipped: Sequence[int] = ()) -> Path:
    """The original rows (read again from the file) with a 错误 column, next to the input."""
    out = path.with_name(f"{path.stem}_错误.xlsx")
    layout = open_layout(kind, path)
    errors = {row.number: describe(kind, row) for row in rows if row.errors}
    errors.update(dict.fromkeys(skipped, EXAMPLE_NOTE))
    width = len(layout.header)
    lines = (
        [*cells[:width], *([None] * (width - len(cells))), errors.get(number, "")]
        for number, cells in layout.rows
    )
    write_xlsx(out, [*layout.header, "错误"], lines)
    return out


def _tally(kind: Kind, rows: list[Row], summary: Summary) -> None:
    for row in rows:
        if row.errors:
            row.outcome = "refused"
        if not row.outcome:
            continue  # valid but not written (another row refused the whole file)
        setattr(summary, row.outcome, getattr(summary, row.outcome) + 1)
        if row.errors and len(summary.errors) < 50:
            summary.errors.append(f"第 {row.number} 行:{describe(kind, row)}")


def run_import(
    session: Session,
    *,
    actor: Staff,
    kind: Kind,
    path: Path,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Import `path` as `kind`. The caller owns the transaction and commits it afterwards.

    A file with no data row (an untouched template: only its example row) is refused as a
    whole, like a file without a header: nothing was imported, so the CLI exits 1 and the run
    reads 未导入, rather than reporting a success of nothing."""
    summary = Summary()
    rows = read_sheet(kind, path, progress, summary.skipped_example)
    if not rows:
        raise ValidationFailed(nothing_to_import(summary.skipped_example))
    valid = [r for r in rows if not r.errors]
    if (skip_invalid or len(valid) == len(rows)) and valid:
        if progress is not None:
            progress("writing", 0)
        savepoint = session.begin_nested()
        try:
            kind.write(valid, skip_invalid)
            session.flush()
        except DomainError as exc:  # a refusal no row check could foresee: nothing is kept
            savepoint.rollback()
            for row in valid:
                row.errors.setdefault("", exc.message)
        else:
            refused_now = any(r.errors for r in valid)
            if dry_run or (refused_now and not skip_invalid):
                savepoint.rollback()
            else:
                savepoint.commit()
                summary.written = True
    _tally(kind, rows, summary)
    if not summary.written and not dry_run:
        # All or nothing: the rows that would have gone in were not written either.
        summary.created = summary.updated = summary.unchanged = 0
        for row in rows:
            row.outcome = "refused" if row.errors else ""
    if summary.refused:
        summary.error_file = str(error_workbook(kind, rows, path, summary.skipped_example))
    return summary
