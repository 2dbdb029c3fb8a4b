"""Admin sub-commands: `orderdesk demo` and `orderdesk staff add|list|role|sync`.

Each command opens one transaction: a refused command (exit code 1, a Chinese/English message
on stderr) changes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click
from sqlalchemy.orm import Session

from orderdesk.cli.base import settings_from
from orderdesk.core.errors import DomainError
from orderdesk.demo.company import is_empty, load_demo
from orderdesk.directory.service import (
    add_staff,
    apply_directory,
    change_roles,
    list_staff,
    parse_role_tags,
    plan_directory,
)
from orderdesk.runtime import build_runtime, install
from orderdesk.wecom.client import WeComClient, WeComError

T = TypeVar("T")


def register(main: click.Group) -> None:
    """Attach the admin commands to the `orderdesk` group."""
    main.add_command(demo)
    main.add_command(staff)


@contextmanager
def _session(ctx: click.Context) -> Iterator[Session]:
    rt = install(build_runtime(settings_from(ctx)))
    try:
        with rt.db.transaction() as session:
            yield session
    finally:
        rt.close()


def _run(ctx: click.Context, action: Callable[[Session], T]) -> T:
    """Run `action` in one transaction; a domain error is one line on stderr and exit code 1."""
    try:
        with _session(ctx) as session:
            return action(session)
    except DomainError as exc:
        click.echo(f"错误 / error: {exc.message}", err=True)
        sys.exit(1)


@click.command()
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same data.")
@click.option("--force", is_flag=True, help="Wipe a non-empty database and reload.")
@click.option("--if-empty", "if_empty", is_flag=True, help="Load only into an empty database.")
@click.pass_context
def demo(ctx: click.Context, seed: int, force: bool, if_empty: bool) -> None:
    """Load the demo company (3 business lines, 17 staff, 30 customers, 120 orders)."""
    tz = settings_from(ctx).tz

    def load(session: Session) -> list[str] | None:
        if if_empty and not is_empty(session):
            return None
        return load_demo(session, seed=seed, tz=tz, force=force).lines()

    lines = _run(ctx, load)
    if lines is None:
        click.echo("数据库已有数据,跳过演示数据 / database not empty, demo data skipped")
        return
    click.echo(f"演示数据已加载 / demo data loaded (seed {seed}):")
    for line in lines:
        click.echo(f"  {line}")
    click.echo('试试 / try: orderdesk chat --as zhangsan "查 SO-2026-0001"')


@click.group()
def staff() -> None:
    """Staff and roles (by hand, or synced from the WeCom directory)."""


@staff.command("add")
@click.argument("userid")
@click.option("--name", required=True, help="Display name, e.g. 张三.")
@click.option("--role", "roles", multiple=True, required=True, help="Repeatable: sales, pm, ...")
@click.option("--department", default=None, help="Department name (created if new).")
@click.option("--manager", default=None, help="The manager's userid (must exist).")
@click.pass_context
def staff_add(
    ctx: click.Context,
    userid: str,
    name: str,
    roles: tuple[str, ...],
    department: str | None,
    manager: str | None,
) -> None:
    """Add a staff member with one or more roles."""

    def add(session: Session) -> str:
        person = add_staff(
            session, userid=userid, name=name, roles=roles, department=department, manager=manager
        )
        return f"已添加 / added {person.userid} {person.name} ({', '.join(sorted(person.roles))})"

    click.echo(_run(ctx, add))


@staff.command("list")
@click.option("--role", default=None, help="Only staff holding this role.")
@click.pass_context
def staff_list(ctx: click.Context, role: str | None) -> None:
    """List staff: userid, name, department, manager, roles, active."""

    def rows(session: Session) -> list[str]:
        out = []
        for s in list_staff(session, role=role):
            dept = s.department.name if s.department else "-"
            boss = s.manager.userid if s.manager else "-"
            state = "" if s.active else "  (停用 / inactive)"
            roles = ",".join(sorted(s.roles)) or "-"
            out.append(f"{s.userid:<14} {s.name:<8} {dept:<10} {boss:<12} {roles}{state}")
        return out

    lines = _run(ctx, rows)
    click.echo(f"{'userid':<14} {'name':<8} {'department':<10} {'manager':<12} roles")
    for line in lines:
        click.echo(line)
    click.echo(f"({len(lines)})")


@staff.command(
    "role",
    context_settings={"ignore_unknown_options": True},  # so "-finance" is not an option
)
@click.argument("userid")
@click.argument("changes", nargs=-1, required=True)
@click.pass_context
def staff_role(ctx: click.Context, userid: str, changes: tuple[str, ...]) -> None:
    """Grant or remove roles: `orderdesk staff role lisi +pm -sales`."""

    def change(session: Session) -> str:
        person = change_roles(session, userid=userid, changes=changes)
        return f"{person.userid} 角色 / roles: {', '.join(sorted(person.roles)) or '-'}"

    click.echo(_run(ctx, change))


@staff.command("sync")
@click.option(
    "--department",
    "root",
    default=1,
    show_default=True,
    type=int,
    help="WeCom department id to sync from (with its children).",
)
@click.pass_context
def staff_sync(ctx: click.Context, root: int) -> None:
    """Members and departments from the WeCom directory; roles from WECOM_ROLE_TAGS tags."""
    settings = settings_from(ctx)
    try:
        role_tags = parse_role_tags(settings.wecom_role_tags)
    except DomainError as exc:
        click.echo(f"错误 / error: {exc.message}", err=True)
        sys.exit(1)
    # Fetch everything first: a WeCom failure halfway must not leave a half-synced directory.
    client = WeComClient.from_settings(settings)
    try:
        departments = client.list_departments(root)
        users = client.list_users(root, fetch_child=True)
        tags = client.list_tags()
        wanted = {t["tagid"] for t in tags if t.get("tagname") in set(role_tags.values())}
        members = {}
        for tag_id in sorted(wanted):
            got = client.tag_members(int(tag_id))
            members[int(tag_id)] = (got.userids, got.department_ids)
    except WeComError as exc:
        click.echo(f"错误 / error: 企业微信接口失败 / WeCom API failed: {exc}", err=True)
        sys.exit(1)
    plan = plan_directory(departments, users, tags, members, role_tags)
    report = _run(ctx, lambda session: apply_directory(session, plan))
    click.echo("通讯录同步完成 / directory synced:")
    for line in report.lines():
        click.echo(f"  {line}")
