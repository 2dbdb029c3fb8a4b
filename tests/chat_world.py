"""Arranging data and building events for the chat-command tests (test helper, not a test)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring
from flask.testing import FlaskClient
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from orderdesk.approvals import service as approvals
from orderdesk.models import (
    ChatBinding,
    Customer,
    Department,
    Order,
    OrderType,
    OutboxMessage,
    Staff,
)
from orderdesk.money import plans as payment_plans
from orderdesk.projects import service as projects
from orderdesk.runtime import Runtime
from orderdesk.settings import Settings
from orderdesk.wecom import signing
from orderdesk.wecom.envelopes import PROCESSING_TEXT
from orderdesk.wecom.events import CardEvent, EnterEvent, TextMessage
from tests.approvals_world import build, make_order
from tests.fakes.wecom_rules import check_outbox, check_passive

_ids = itertools.count(1)
LATE_REPLY_WAIT = 10.0  # seconds to wait for an answer that overran the callback budget


def text(user: str, content: str, *, group: str | None = None) -> TextMessage:
    n = next(_ids)
    return TextMessage(
        channel="bot" if group else "app",
        user_id=user,
        create_time=1_790_000_000 + n,
        content=content,
        msg_id=f"m{n}",
        chat_id=group,
        chat_type="group" if group else "single",
    )


def click(user: str, key: str, *, task_id: str = "appr-1", **extra: object) -> CardEvent:
    n = next(_ids)
    return CardEvent(
        channel="app",
        user_id=user,
        create_time=1_790_000_000 + n,
        event_key=key,
        task_id=task_id,
        card_type="button_interaction",
        **extra,  # type: ignore[arg-type]
    )


def enter(user: str) -> EnterEvent:
    return EnterEvent(channel="app", user_id=user, create_time=1_790_000_000 + next(_ids))


@dataclass
class World:
    staff: dict[str, Staff] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    order_type: OrderType | None = None


def add_staff(
    s: Session, userid: str, name: str, *roles: str, dept: Department | None = None
) -> Staff:
    person = Staff(userid=userid, name=name, department=dept)
    for role in roles:
        person.add_role(role)
    s.add(person)
    return person


def build_world(s: Session) -> World:
    """Two sales people in one department with a manager, finance, a PM, a gm, a delivery
    engineer, an inactive user; two customers; three orders."""
    w = World()
    dept = Department(name="华东销售部", head_userid="wangjl")
    s.add(dept)
    w.staff["wangjl"] = add_staff(s, "wangjl", "王经理", "manager", dept=dept)
    w.staff["zhangsan"] = add_staff(s, "zhangsan", "张三", "sales", dept=dept)
    w.staff["lisi"] = add_staff(s, "lisi", "李四", "sales", dept=dept)
    w.staff["zhaoliu"] = add_staff(s, "zhaoliu", "赵六", "finance")
    w.staff["sunqi"] = add_staff(s, "sunqi", "孙七", "pm")
    w.staff["zhoub"] = add_staff(s, "zhoub", "周八", "delivery")
    w.staff["boss"] = add_staff(s, "boss", "钱总", "gm")
    gone = add_staff(s, "gone", "离职者", "sales")
    gone.active = False
    s.flush()
    for p in (w.staff["zhangsan"], w.staff["lisi"]):
        p.manager_id = w.staff["wangjl"].id
    w.order_type = OrderType(code="impl", name="实施服务")
    s.add(w.order_type)
    w.customers["yunqi"] = Customer(name="上海云启科技有限公司", short_name="云启")
    w.customers["hengtai"] = Customer(name="杭州恒泰贸易有限公司", short_name="恒泰")
    s.add_all(w.customers.values())
    s.flush()
    specs = [
        ("SO-2026-0001", "yunqi", "zhangsan", "120000.00", "in_progress", "ERP 实施"),
        ("SO-2026-0002", "hengtai", "lisi", "56000.00", "pending_approval", "数据迁移"),
        ("SO-2026-0003", "yunqi", "zhangsan", "8000.00", "draft", "培训"),
    ]
    for number, cust, owner, amount, status, title in specs:
        order = Order(
            number=number,
            title=title,
            order_type_id=w.order_type.id,
            customer_id=w.customers[cust].id,
            owner_id=w.staff[owner].id,
            amount=Decimal(amount),
            status=status,
        )
        s.add(order)
        w.orders[number] = order
    s.flush()
    return w


def bind(s: Session, chat_id: str, customer: Customer, audience: str) -> ChatBinding:
    row = ChatBinding(kind="bot_group", chat_id=chat_id, customer_id=customer.id, audience=audience)
    s.add(row)
    return row


# -- end to end: real encrypted callbacks through the Flask app ---------------------------------


@dataclass
class Answer:
    """What the user saw: a passive reply, or (when the channel cannot answer passively) the
    outbox message that carries it."""

    kind: str  # text | markdown | stream | update_button | update_card | card | none
    text: str = ""
    card: dict[str, Any] | None = None
    raw: str = ""


@dataclass
class Chat:
    client: FlaskClient
    rt: Runtime

    @property
    def settings(self) -> Settings:
        return self.rt.settings

    def _last_outbox_id(self) -> int:
        with self.rt.db.transaction() as s:
            return int(s.scalar(select(func.max(OutboxMessage.id))) or 0)

    def _post(self, req: signing.SignedRequest) -> Answer:
        before = self._last_outbox_id()
        answer = self._answer(req, before)
        self._check_outbox(req, before)
        return answer

    def _check_outbox(self, req: signing.SignedRequest, before: int) -> None:
        """Sandbox mode sends nothing: hold what the message queued to WeCom's rules too."""
        chat_type = json.loads(req.plaintext).get("chattype") if req.channel == "bot" else None
        with self.rt.db.transaction() as s:
            rows = s.scalars(select(OutboxMessage).where(OutboxMessage.id > before)).all()
            for row in rows:
                check_outbox(row.channel, row.recipient, row.payload, chat_type=chat_type)

    def _answer(self, req: signing.SignedRequest, before: int) -> Answer:
        resp = self.client.post(req.url, data=req.body, content_type=req.content_type)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        plain = check_passive(self.settings, req, resp.get_data(as_text=True))
        if plain and PROCESSING_TEXT not in plain:
            return _parse_passive(req.channel, plain)
        # No passive reply: the answer travels through the outbox, either at once (a new card
        # in the app) or when a handler that overran its budget finishes (a busy machine).
        give_up = time.monotonic() + LATE_REPLY_WAIT
        while True:
            with self.rt.db.transaction() as s:
                late = s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id > before, OutboxMessage.idempotency_key.like("reply:%"))
                    .order_by(OutboxMessage.id)
                ).all()
                if late:
                    return _parse_payload(late[-1].payload)
                if time.monotonic() > give_up:
                    rows = s.scalars(
                        select(OutboxMessage)
                        .where(OutboxMessage.id > before)
                        .order_by(OutboxMessage.id)
                    ).all()
                    return _parse_payload(rows[-1].payload) if rows else Answer("none")
            time.sleep(0.05)

    def app(self, user: str, content: str) -> Answer:
        return self._post(signing.app_text(self.settings, user, content))

    def bot(self, user: str, content: str, *, chat: str | None = "grp-team") -> Answer:
        return self._post(signing.bot_text(self.settings, user, content, chat_id=chat))

    def click(
        self,
        user: str,
        key: str,
        *,
        task_id: str = "appr-1",
        selected: dict[str, list[str]] | None = None,
    ) -> Answer:
        card_type = "multiple_interaction" if selected is not None else "button_interaction"
        # Each click is a distinct event (WeCom dedupes on user + CreateTime + key + task).
        when = 1_790_000_000 + next(_ids)
        req = signing.app_click(
            self.settings,
            user,
            task_id,
            key,
            selected=selected,
            card_type=card_type,
            create_time=when,
        )
        return self._post(req)

    def bot_click(self, user: str, key: str, *, task_id: str, chat: str = "grp-team") -> Answer:
        return self._post(signing.bot_click(self.settings, user, task_id, key, chat_id=chat))

    def enter(self, user: str) -> Answer:
        return self._post(signing.app_enter(self.settings, user))

    def bot_enter(self, user: str, chat: str | None = None) -> Answer:
        return self._post(signing.bot_enter(self.settings, user, chat_id=chat))


def _parse_passive(channel: str, plain: str) -> Answer:
    if channel == "app":
        root = fromstring(plain)
        kind = root.findtext("MsgType") or ""
        if kind == "text":
            return Answer("text", root.findtext("Content") or "", raw=plain)
        if kind == "markdown":
            return Answer("markdown", root.findtext("Markdown/Content") or "", raw=plain)
        if kind == "update_button":
            return Answer("update_button", root.findtext("Button/ReplaceName") or "", raw=plain)
        return Answer("update_card", plain, raw=plain)
    data = json.loads(plain)
    if data.get("msgtype") == "stream":
        return Answer("stream", data["stream"]["content"], raw=plain)
    if data.get("msgtype") == "text":
        return Answer("text", data["text"]["content"], raw=plain)
    if data.get("response_type") == "update_template_card":
        return Answer("update_card", json.dumps(data), card=data["template_card"], raw=plain)
    return Answer(
        "card", json.dumps(data, ensure_ascii=False), card=data["template_card"], raw=plain
    )


def _parse_payload(payload: dict[str, Any]) -> Answer:
    kind = payload.get("msgtype")
    if kind == "template_card":
        card = payload["template_card"]
        return Answer("card", json.dumps(card, ensure_ascii=False), card=card)
    if kind == "text":
        return Answer("text", payload["text"]["content"])
    if kind == "markdown":
        return Answer("markdown", payload["markdown"]["content"])
    if "button" in payload:
        return Answer("update_button", payload["button"]["replace_name"])
    return Answer("update_card", json.dumps(payload, ensure_ascii=False))


# -- the company most chat tests run in ---------


@dataclass
class Co:
    chat: Chat
    rt: Runtime
    request_id: int

    def order(self, number: str) -> Order:
        with self.rt.db.transaction() as s:
            order = s.scalar(select(Order).where(Order.number == number))
            assert order is not None
            s.expunge(order)
            return order

    def count(self, model: type, *where: ColumnElement[bool]) -> int:
        with self.rt.db.transaction() as s:
            found = s.scalar(select(func.count()).select_from(model).where(*where))
            return int(found or 0)


@pytest.fixture(name="co")
def company(rt: Runtime, client: FlaskClient) -> Iterator[Co]:
    """星海科技: SO-2026-0001 (60k, pending approval: 张经理 then finance); SO-2026-0002 (in
    progress with a project and an overdue first installment); 月湖贸易: SO-2026-0003 (sales2)."""
    # The longest budget WeCom allows: a busy test machine should not turn answers into late ones.
    rt.settings = rt.settings.with_overrides(handler_budget_seconds=4.5)
    with rt.db.transaction() as s:
        w = build(s)
        make_order(s, w, number="SO-2026-0001", amount="60000.00")
        running = make_order(s, w, number="SO-2026-0002", amount="100000.00")
        other = Customer(name="月湖贸易", owner=w["sales2"], is_new=False)
        s.add(other)
        s.flush()
        make_order(s, w, number="SO-2026-0003", amount="8000.00", owner="sales2", customer=other)
        running.status = "in_progress"
        project = projects.create_from_order(s, running)
        project.pm_id = w["pm1"].id
        assert running.contract is not None
        payment_plans.generate_plan(s, contract=running.contract, order=running)
        s.flush()
        request = approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
        request_id = request.id
    yield Co(chat=Chat(client, rt), rt=rt, request_id=request_id)
