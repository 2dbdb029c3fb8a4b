"""Shared arrangement for the callback scenario tests: a fresh router with throw-away handlers
installed on the app, two active staff members, and helpers that post signed callbacks.

The runtime is built once per test module (emptying every table costs ~1.5 s on PostgreSQL);
each test then starts from empty `inbound_events` / `outbox_messages`, fresh Redis dedupe keys,
a fresh router and the default settings, which is all these tests touch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from orderdesk.app import create_app
from orderdesk.bot.router import Context, Router
from orderdesk.models import InboundEvent, OutboxMessage, Staff
from orderdesk.runtime import Runtime, build_runtime, install
from orderdesk.settings import Settings, load_settings
from orderdesk.wecom import signing
from orderdesk.wecom.replies import Reply, TextReply, UpdateCardReply
from tests.conftest import RUN_ID, _truncate_all
from tests.fakes.wecom_rules import check_outbox, check_passive


@dataclass
class World:
    app: Flask
    client: FlaskClient
    rt: Runtime
    router: Router
    effects: list[tuple[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)  # the slow handler began

    @property
    def settings(self) -> Settings:
        return self.rt.settings

    def post(self, req: signing.SignedRequest) -> tuple[int, str | None]:
        resp = self.client.post(req.url, data=req.body, content_type=req.content_type)
        body = resp.get_data(as_text=True)
        if resp.status_code != 200:
            return resp.status_code, body
        return 200, check_passive(self.settings, req, body)

    def count(self, model: Any) -> int:
        with self.rt.db.transaction() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def outbox(self) -> list[OutboxMessage]:
        """The queued messages, each held to WeCom's rules (nothing is sent in sandbox mode)."""
        with self.rt.db.transaction() as s:
            rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        for row in rows:
            check_outbox(row.channel, row.recipient, row.payload)
        return rows


@pytest.fixture(scope="module")
def edge_rt(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    base = load_settings(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_NAMESPACE": f"odtest-{RUN_ID}",
            "STORAGE_DIR": str(Path(tmp_path_factory.mktemp("edge")) / "storage"),
            "JOBS_SYNC": "true",
            "WECOM_API_BASE": "http://wecom.test/cgi-bin",
        }
    )
    rt = build_runtime(base)
    _truncate_all(rt)
    with rt.db.transaction() as s:
        s.add_all([Staff(userid="zhangsan", name="张三"), Staff(userid="lisi", name="李四")])
    rt.extensions["base_settings"] = base
    yield rt
    rt.close()


def _reset(rt: Runtime) -> None:
    rt.settings = rt.extensions["base_settings"]
    with rt.db.transaction() as s:
        s.execute(delete(OutboxMessage))
        s.execute(delete(InboundEvent))
    if rt.redis is not None:
        for key in rt.redis.scan_iter(match=f"{rt.settings.redis_namespace}:inbound:*"):
            rt.redis.delete(key)


@pytest.fixture
def world(edge_rt: Runtime) -> Iterator[World]:
    _reset(edge_rt)
    install(edge_rt)
    app = create_app(rt=edge_rt)
    app.config.update(TESTING=True)
    router = Router()
    app.extensions["orderdesk.router"] = router
    w = World(app=app, client=app.test_client(), rt=edge_rt, router=router)

    @router.command("回声", "echo")
    def echo(ctx: Context) -> Reply | None:
        w.effects.append(("echo", ctx.event.user_id))
        return TextReply(f"回声:{ctx.args}")

    @router.command("慢", "slow")
    def slow(ctx: Context) -> Reply | None:
        w.started.set()
        w.release.wait(timeout=10)
        w.effects.append(("slow", ctx.event.user_id))
        return TextReply(f"慢慢来:{ctx.args}")

    @router.action("approve:")
    def approve(ctx: Context) -> Reply | None:
        w.effects.append(("approve:" + ctx.args, ctx.event.user_id))
        return UpdateCardReply(replace_name=f"已同意 · {ctx.actor.name}")

    yield w
    w.release.set()  # never leave a handler thread waiting
    from orderdesk.bot import deadline

    deadline.drain(timeout=10)


__all__ = ["InboundEvent", "OutboxMessage", "World", "edge_rt", "world"]
