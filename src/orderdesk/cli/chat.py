"""`orderdesk chat` and `orderdesk click`: drive the bot without a WeCom tenant.

Each builds a real encrypted callback with the configured token and key (app XML for 1:1, the
intelligent bot's JSON for a group), sends it to a running server (`--url`) or in-process
(`--local`), and prints the decrypted reply plus the outbox messages it caused.

    orderdesk chat --as zhangsan "查 SO-2026-0001"
    orderdesk chat --as zhangsan --group wrkSFfCgAAx "逾期"
    orderdesk click --as liuyang --task appr-12 approve:12
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click
import requests
from defusedxml.ElementTree import fromstring
from sqlalchemy import func, select

from orderdesk.app import create_app
from orderdesk.bot import deadline as handler_deadline
from orderdesk.db import Database
from orderdesk.models import OutboxMessage
from orderdesk.runtime import build_runtime
from orderdesk.settings import Settings, load_settings
from orderdesk.wecom import signing
from orderdesk.wecom.envelopes import PROCESSING_TEXT, reply_key
from orderdesk.wecom.group_targets import shown_recipient
from orderdesk.wecom.parsing import parse

if TYPE_CHECKING:
    from flask import Flask

    from orderdesk.db import Database

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass
class Exchange:
    status: int
    reply: str | None  # decrypted plaintext; None = no passive reply
    error: str = ""
    outbox: list[dict[str, Any]] = field(default_factory=list)


def _max_outbox_id(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.max(OutboxMessage.id))) or 0)


def _outbox_since(db: Database, after_id: int) -> list[dict[str, Any]]:
    with db.transaction() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.id > after_id).order_by(OutboxMessage.id)
        ).all()
        return [
            {
                "id": r.id,
                "key": r.idempotency_key,
                "channel": r.channel,
                "recipient": shown_recipient(r.channel, r.recipient),
                "status": r.status,
                "payload": r.payload,
            }
            for r in rows
        ]


def exchange(
    settings: Settings,
    req: signing.SignedRequest,
    *,
    url: str | None = None,
    app: Flask | None = None,
    db: Database | None = None,
    wait: float = 10.0,
) -> Exchange:
    """POST `req` (to `url`, or through `app`'s test client) and collect the reply and the outbox
    rows it caused (read from `db`, the server's database)."""
    before = _max_outbox_id(db) if db is not None else 0
    if app is not None:
        resp = app.test_client().post(req.url, data=req.body, content_type=req.content_type)
        status, body = resp.status_code, resp.get_data(as_text=True)
    else:
        r = requests.post(
            (url or DEFAULT_URL).rstrip("/") + req.url,
            data=req.body,
            headers={"Content-Type": req.content_type},
            timeout=10,
        )
        status, body = r.status_code, r.text
    if status != 200:
        return Exchange(status, None, error=body.strip())
    reply = signing.open_reply(settings, req.channel, body)
    result = Exchange(status, reply)
    if db is None:
        return result
    late_key = _late_key(req)
    deadline = time.monotonic() + wait
    if app is not None:
        handler_deadline.drain(timeout=wait)
    while True:
        result.outbox = _outbox_since(db, before)
        # A handler past its budget answers later through the outbox: wait for that row.
        if not _is_placeholder(reply) or any(m["key"] == late_key for m in result.outbox):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return result


def _late_key(req: signing.SignedRequest) -> str:
    return reply_key(parse(req.channel, req.plaintext))


def _is_placeholder(reply: str | None) -> bool:
    return reply is None or PROCESSING_TEXT in reply


# -- printing ------------------------------------------------------------------------------------


def describe_reply(channel: str, reply: str | None) -> str:
    if reply is None:
        return "(无被动回复 / no passive reply)"
    if channel == "app":
        root = fromstring(reply)
        kind = root.findtext("MsgType") or "?"
        if kind == "text":
            return f"[text]\n{root.findtext('Content')}"
        if kind == "markdown":
            return f"[markdown]\n{root.findtext('Markdown/Content')}"
        if kind == "update_button":
            return f"[update_button] {root.findtext('Button/ReplaceName')}"
        return f"[{kind}]\n{reply}"
    data = json.loads(reply)
    if data.get("msgtype") == "stream":
        return f"[stream]\n{data['stream'].get('content', '')}"
    if data.get("msgtype") == "text":
        return f"[text]\n{data['text'].get('content', '')}"
    return json.dumps(data, ensure_ascii=False, indent=2)


def _print(result: Exchange, channel: str) -> None:
    if result.status != 200:
        click.echo(f"← HTTP {result.status}: {result.error}", err=True)
        return
    click.echo(f"← {describe_reply(channel, result.reply)}")
    click.echo(f"outbox ({len(result.outbox)}):")
    for m in result.outbox:
        payload = json.dumps(m["payload"], ensure_ascii=False)
        click.echo(f"  #{m['id']} {m['channel']} → {m['recipient']} [{m['status']}] {payload}")


def _settings(ctx: click.Context) -> Settings:
    """The settings the `orderdesk` group loads lazily (ctx.obj), or the environment's."""
    lazy = ctx.find_root().obj
    if lazy is not None and hasattr(lazy, "get"):
        return lazy.get()
    return load_settings()


def _run(
    ctx: click.Context, req: signing.SignedRequest, url: str, local: bool, wait: float
) -> None:
    settings = _settings(ctx)
    where = "in-process" if local else f"{url.rstrip('/')}{req.path}"
    kind = "app XML 1:1" if req.channel == "app" else "bot JSON"
    click.echo(f"→ {kind} via {where}")
    if local:
        rt = build_runtime(settings)
        try:
            app = create_app(rt=rt)
            result = exchange(settings, req, app=app, db=rt.db, wait=wait)
        finally:
            rt.close()
    else:
        db: Database | None = Database(settings.database_url, settings=settings)
        try:
            result = exchange(settings, req, url=url, db=db, wait=wait)
        except Exception as exc:
            if "requests" in type(exc).__module__:
                raise click.ClickException(f"无法连接 {url}: {exc}") from exc
            raise
        finally:
            if db is not None:
                db.dispose()
    _print(result, req.channel)
    if result.status != 200:
        ctx.exit(1)


_common = [
    click.option("--as", "user", required=True, help="WeCom userid of the sender"),
    click.option("--group", "group", default=None, help="group chatid: send through the bot"),
    click.option("--url", default=DEFAULT_URL, show_default=True, help="running server"),
    click.option("--local", is_flag=True, help="handle in-process instead of over HTTP"),
    click.option(
        "--wait", default=10.0, show_default=True, help="seconds to wait for a late reply"
    ),
]


def _with_common(fn: Any) -> Any:
    for option in reversed(_common):
        fn = option(fn)
    return fn


@click.command("chat")
@_with_common
@click.argument("text", nargs=-1, required=True)
@click.pass_context
def chat(
    ctx: click.Context,
    user: str,
    group: str | None,
    url: str,
    local: bool,
    wait: float,
    text: tuple[str, ...],
) -> None:
    """Send TEXT as USER (1:1 to the app, or @the bot in --group) and show the reply.

    \b
    A group hears pushes and gets its charts only through its own group robot:
      orderdesk chat --as zhangsan --group CHATID "绑定 SO-2026-0001"
      orderdesk chat --as zhangsan --group CHATID "群机器人 <Webhook地址或key>"
    """
    settings = _settings(ctx)
    content = " ".join(text)
    if group:
        req = signing.bot_text(settings, user, content, chat_id=group)
    else:
        req = signing.app_text(settings, user, content)
    _run(ctx, req, url, local, wait)


@click.command("click")
@_with_common
@click.option("--task", "task_id", required=True, help="the card's task_id")
@click.argument("key")
@click.pass_context
def click_card(
    ctx: click.Context,
    user: str,
    group: str | None,
    url: str,
    local: bool,
    wait: float,
    task_id: str,
    key: str,
) -> None:
    """Click the button KEY of card TASK_ID as USER and show the reply."""
    settings = _settings(ctx)
    if group:
        req = signing.bot_click(settings, user, task_id, key, chat_id=group)
    else:
        req = signing.app_click(settings, user, task_id, key)
    _run(ctx, req, url, local, wait)


def register(main: click.Group) -> None:
    """Attach the bot commands to the `orderdesk` group."""
    main.add_command(chat)
    main.add_command(click_card)
