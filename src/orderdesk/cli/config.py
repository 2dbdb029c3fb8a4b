"""`orderdesk config export|import FILE.yaml`: admin configuration as one YAML file.

Import validates the whole file first; with any error it prints every problem, exits 1 and
changes nothing. `--dry-run` validates and reports what would change, then rolls back.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orderdesk.cli.base import settings_from
from orderdesk.config.yaml_io import export_yaml, import_yaml
from orderdesk.core.errors import DomainError
from orderdesk.runtime import build_runtime


@click.group("config")
def config() -> None:
    """Export / import order types, service items, approval flows and project templates."""


@config.command("export")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.pass_context
def export_cmd(ctx: click.Context, path: str) -> None:
    """Write the configuration to PATH (`-` for stdout)."""
    rt = build_runtime(settings_from(ctx))
    try:
        with rt.db.transaction() as session:
            text = export_yaml(session)
    finally:
        rt.close()
    if path == "-":
        click.echo(text, nl=False)
    else:
        Path(path).write_text(text, encoding="utf-8")
        click.echo(f"已导出到 {path}")


@config.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Validate and report, change nothing.")
@click.pass_context
def import_cmd(ctx: click.Context, path: str, dry_run: bool) -> None:
    """Validate PATH, then create or update every record in it by code."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    rt = build_runtime(settings_from(ctx))
    session = rt.db.Session()
    try:
        result = import_yaml(session, text)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except DomainError as exc:
        session.rollback()
        click.echo(f"导入失败 / import failed: {exc.message}", err=True)
        sys.exit(1)
    finally:
        session.close()
        rt.close()
    prefix = "(试运行,未写入)" if dry_run else "已导入"
    click.echo(f"{prefix}:{result.summary()}")
