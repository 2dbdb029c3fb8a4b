"""/m/admin: the configuration `orderdesk config export|import` edits, on screen (admin only).

Every edit is one record validated and written by config/edits.py (the import's own rules):
edit -> preview (before -> after, every problem in Chinese) -> confirm -> save. To anyone
but an admin these pages do not exist (404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.approvals.flows import describe_approvers
from orderdesk.config import edits
from orderdesk.config.fields import FIELD_TYPES, TYPE_NAMES_ZH
from orderdesk.config.yaml_io import export_record
from orderdesk.core.errors import Conflict, ValidationFailed
from orderdesk.models import ApprovalStep
from orderdesk.models.staff import ROLE_NAMES_ZH
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required

MAX_YAML = 64_000
NEW = "_new"


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Logged in (CSRF on POST) and an admin; anyone else reads a missing page."""

    @login_required
    @wraps(view)
    def wrapper(pg: Page, *args: Any, **kwargs: Any) -> Any:
        edits.require_admin(pg.actor)
        return view(pg, *args, **kwargs)

    return wrapper


@bp.context_processor
def _admin_helpers() -> dict[str, Any]:
    return {"is_admin": edits.is_admin}  # the nav shows 管理 to admins only


@bp.get("/m/admin")
@admin_required
def admin_home(pg: Page) -> ResponseReturnValue:
    return render_template("web/admin/home.html", sections=edits.SECTIONS_ZH)


@bp.get("/m/admin/config/<section>")
@admin_required
def admin_section(pg: Page, section: str) -> ResponseReturnValue:
    rows = edits.list_records(pg.session, section)
    return render_template(
        "web/admin/section.html", section=section, title=edits.SECTIONS_ZH[section], rows=rows
    )


@bp.get("/m/admin/config/<section>/<code>")
@admin_required
def admin_record(pg: Page, section: str, code: str) -> ResponseReturnValue:
    edits.check_section(section)
    if code == NEW:
        text, item = edits.skeleton_yaml(section), None
    else:
        item = export_record(pg.session, section, code[:32])
        if item is None:
            abort(404)
        text = edits.record_yaml(pg.session, section, code)
    return render_template(
        "web/admin/record.html",
        section=section,
        title=edits.SECTIONS_ZH[section],
        code=code,
        item=item,
        text=text,
        saved=request.args.get("saved") == "1",
        field_types=[(t, TYPE_NAMES_ZH[t]) for t in FIELD_TYPES],
        approvers=_approvers(item) if section == "approval_flows" else [],
        role_zh=ROLE_NAMES_ZH,
    )


def _approvers(item: dict[str, Any] | None) -> list[str]:
    """Who approves each step, in words (the flows' own wording; unsaved steps, never added)."""
    steps = (item or {}).get("steps") or []
    return [
        describe_approvers(
            ApprovalStep(approver_kind=s["approver_kind"], approver_value=s["approver_value"])
        )
        for s in steps
    ]


def _edited_code(code: str) -> str | None:
    return None if code == NEW else code[:32]


def _render_preview(pg: Page, section: str, code: str, item: Any) -> ResponseReturnValue:
    found = edits.preview(pg.session, section=section, code=_edited_code(code), item=item)
    return render_template(
        "web/admin/preview.html",
        section=section,
        title=edits.SECTIONS_ZH[section],
        code=code,
        preview=found,
    ), (400 if found.problems else 200)


def _yaml_problem(section: str, code: str, exc: ValidationFailed) -> ResponseReturnValue:
    return render_template(
        "web/admin/preview.html",
        section=section,
        title=edits.SECTIONS_ZH[section],
        code=code,
        preview=edits.Preview(section, code, "", "", "", {"YAML": exc.message}),
    ), 400


@bp.post("/m/admin/config/<section>/<code>/preview")
@admin_required
def admin_preview(pg: Page, section: str, code: str) -> ResponseReturnValue:
    edits.check_section(section)
    try:
        item = edits.parse_record((request.form.get("yaml") or "")[:MAX_YAML])
    except ValidationFailed as exc:
        return _yaml_problem(section, code, exc)
    return _render_preview(pg, section, code, item)


@bp.post("/m/admin/config/order_types/<code>/field")
@admin_required
def admin_field(pg: Page, code: str) -> ResponseReturnValue:
    """Add or change one custom field (by key), or remove one; then the same preview."""
    item = export_record(pg.session, "order_types", code[:32])
    if item is None:
        abort(404)
    remove = (request.form.get("remove") or "").strip()
    if remove:
        proposed = edits.without_field(item, remove)
    else:
        proposed = edits.with_field(item, edits.field_from_form(request.form))
    return _render_preview(pg, "order_types", code, proposed)


@bp.post("/m/admin/config/<section>/<code>/save")
@admin_required
def admin_save(pg: Page, section: str, code: str) -> ResponseReturnValue:
    edits.check_section(section)
    try:
        item = edits.parse_record((request.form.get("yaml") or "")[:MAX_YAML])
    except ValidationFailed as exc:
        return _yaml_problem(section, code, exc)
    try:
        edits.save(
            pg.session,
            actor=pg.actor,
            section=section,
            code=_edited_code(code),
            item=item,
            token=request.form.get("token") or "",
        )
    except ValidationFailed:
        # Nothing of a refused save may stay: undo, then show every problem again.
        pg.session.rollback()
        return _render_preview(pg, section, code, item)
    except Conflict as exc:
        pg.session.rollback()
        return render_template("web/error.html", code=409, title="未保存", message=exc.message), 409
    saved = item.get("code") if isinstance(item, dict) else code
    return redirect(url_for("web.admin_record", section=section, code=saved, saved=1))
