"""Collections end to end: scheduled scans -> outbox -> fake WeCom server; digests; summaries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.directory.staff import get_active_staff
from orderdesk.jobs import money
from orderdesk.models import ChatBinding, Customer, OutboxMessage
from orderdesk.money.collections import money_summary, overdue_for
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import record_receipt
from orderdesk.runtime import Runtime
from orderdesk.wecom import delivery
from tests.fakes.live import fake_wecom, go_live
from tests.fakes.wecom_server import FakeWeCom
from tests.money_world import contract_of, order_with_contract, staff

D = Decimal
DUE = date(2026, 6, 1)  # a Monday


def at(day: date, hh: int = 10, mm: int = 17) -> datetime:
    """`day` at hh:mm Shanghai time, in UTC."""
    return datetime(day.year, day.month, day.day, hh - 8, mm, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with fake_wecom() as server:
        yield server


@pytest.fixture
def live(rt: Runtime, fake: FakeWeCom) -> Iterator[Runtime]:
    with go_live(rt, fake) as live_rt:
        yield live_rt


@pytest.fixture
def world(rt: Runtime) -> dict[str, Any]:
    with rt.db.transaction() as s:
        mgr = staff(s, "mgr1", "manager")
        sales = staff(s, "sales1", "sales", manager=mgr)
        staff(s, "fin1", "finance")
        staff(s, "gm1", "gm")
        terms = [
            {"name": "首付款", "percent": "40", "trigger": "on_date", "date": DUE.isoformat()},
            {"name": "尾款", "percent": "60", "trigger": "on_date", "date": "2026-09-01"},
        ]
        order = order_with_contract(s, owner=sales, amount="1000.00", terms=terms)
        generate_plan(s, contract=contract_of(order), order=order)
    return {"order": "SO-001"}


def run_day(rt: Runtime, moment: datetime) -> None:
    with clock.frozen(moment):
        money.due_soon_and_dunning()
        delivery.deliver_batches(rt)


def sent(fake: FakeWeCom) -> list[dict[str, Any]]:
    return [c.body or {} for c in fake.calls_to("message/send")]


def test_overdue_fires_once_per_level_with_growing_recipients(
    live: Runtime, fake: FakeWeCom, world: dict[str, Any]
) -> None:
    day = DUE - timedelta(days=9)
    while day <= DUE + timedelta(days=35):
        run_day(live, at(day))
        if day.day % 3 == 0:
            run_day(live, at(day, 15, 47))  # a second run the same day changes nothing
        day += timedelta(days=1)
    bodies = sent(fake)
    titles = [b["template_card"]["main_title"]["title"] for b in bodies]
    assert len(bodies) == 6, titles
    assert [b["touser"] for b in bodies] == [
        "sales1",  # 7 days before
        "sales1",  # 1 day before
        "sales1",  # day 1 overdue: owner
        "sales1|fin1",  # day 7: + finance
        "sales1|fin1|mgr1",  # day 15: + manager
        "sales1|fin1|mgr1|gm1",  # day 30: + gm
    ]
    assert "7 天后到期" in titles[0] and "1 天后到期" in titles[1]
    assert all("逾期催收" in t for t in titles[2:])
    card = bodies[-1]["template_card"]
    assert card["task_id"].startswith("dun-")
    assert any(f["value"] == "¥400.00" for f in card["horizontal_content_list"])


def test_payment_stops_dunning_at_once(
    live: Runtime, fake: FakeWeCom, world: dict[str, Any]
) -> None:
    run_day(live, at(DUE + timedelta(days=1)))
    assert len(sent(fake)) == 1
    # Day 7's notice is created at 21:17 -> outside business hours, it waits for 09:03 ...
    run_day(live, at(DUE + timedelta(days=7), 21, 17))
    with live.db.transaction() as s:
        waiting = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
        assert [w.idempotency_key.split(":")[2] for w in waiting] == ["7"]
        assert waiting[0].next_attempt_at == at(DUE + timedelta(days=8), 9, 3)
    # ... and the customer pays before then: the pending notice is never delivered.
    with clock.frozen(at(DUE + timedelta(days=7), 22, 0)), live.db.transaction() as s:
        fin = get_active_staff(s, "fin1")
        record_receipt(s, actor=fin, number="SO-001", amount="400.00")
    day = DUE + timedelta(days=8)
    while day <= DUE + timedelta(days=40):
        run_day(live, at(day))
        day += timedelta(days=1)
    assert len(sent(fake)) == 1
    with live.db.transaction() as s:
        dead = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")).all()
        assert [d.last_error for d in dead] == ["已收款,提醒取消"]


def test_morning_digest_one_message_per_person_and_group(rt: Runtime, session: Session) -> None:
    owners = [staff(session, f"s{i}", "sales") for i in range(3)]
    customer = Customer(name="大客户", owner=owners[0])
    session.add(customer)
    n = 0
    for i, owner in enumerate(owners):
        for _ in range(4):  # four overdue orders each
            n += 1
            terms = [{"name": "全款", "percent": "100", "trigger": "on_date", "date": "2026-05-20"}]
            order = order_with_contract(
                session,
                owner=owner,
                terms=terms,
                number=f"SO-{n:03d}",
                customer=customer if i == 0 else None,
            )
            generate_plan(session, contract=contract_of(order), order=order)
    session.add(ChatBinding(kind="appchat", chat_id="bigcustomer", customer_id=customer.id))
    session.add(ChatBinding(kind="webhook", chat_id="hook-key-1", customer_id=customer.id))
    session.add(
        ChatBinding(
            kind="customer_group", chat_id="wrOut", customer_id=customer.id, audience="client"
        )
    )
    session.commit()
    with clock.frozen(at(DUE, 9, 10)):
        first = money.morning_digest()
        again = money.morning_digest()
    assert first == {"messages": 5, "people": 3, "groups": 2}
    assert again["messages"] == 0
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert sorted(r.recipient for r in rows) == ["bigcustomer", "hook-key-1", "s0", "s1", "s2"]
    person = next(r for r in rows if r.recipient == "s0")
    text = person.payload["markdown"]["content"]
    assert "逾期 4 项" in text and text.count("SO-0") == 4
    hook = next(r for r in rows if r.channel == "webhook")
    assert "S0" in hook.payload["markdown"]["content"]  # groups see whose item it is
    # the owner sees the amounts; a group (read by people who may not) gets the items without
    assert "¥" in text
    groups = [
        r.payload["markdown"]["content"]
        for r in rows
        if r.recipient in ("bigcustomer", "hook-key-1")
    ]
    assert all("逾期 4 项" in g and "¥" not in g for g in groups), groups
    # weekends and holidays: no digest
    with clock.frozen(at(date(2026, 6, 6), 9, 10)):
        assert money.morning_digest()["messages"] == 0


def test_client_reminders_are_safe_and_capped(rt: Runtime, session: Session) -> None:
    owner = staff(session, "sales1", "sales")
    customer = Customer(name="外部客户", owner=owner, external_userid="wmEXT1")
    session.add(customer)
    for n in range(6):
        terms = [{"name": "服务费", "percent": "100", "trigger": "on_date", "date": "2026-05-25"}]
        order = order_with_contract(
            session, owner=owner, terms=terms, number=f"SO-C{n}", customer=customer
        )
        generate_plan(session, contract=contract_of(order), order=order)
    session.commit()
    with clock.frozen(at(DUE)):
        assert money.client_reminders() == {"client": 4}  # default cap: 4 per month
        assert money.client_reminders() == {"client": 0}
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.channel == "external_template")
    ).all()
    assert len(rows) == 4
    body = rows[0].payload
    assert body["sender"] == "sales1" and body["external_userid"] == ["wmEXT1"]
    assert body["chat_type"] == "single"
    text = body["text"]["content"]
    assert "¥100.00" in text and "2026年05月25日" in text and "尊敬的客户" in text
    with clock.frozen(at(date(2026, 7, 1))):  # a new month, a fresh cap
        assert money.client_reminders() == {"client": 2}


def test_money_summary_and_overdue_scope(rt: Runtime, session: Session) -> None:
    mgr = staff(session, "mgr1", "manager")
    a = staff(session, "sa", "sales", manager=mgr)
    b = staff(session, "sb", "sales")
    fin = staff(session, "fin1", "finance")
    pm = staff(session, "pm1", "pm")
    terms = [
        {"name": "一期", "percent": "50", "trigger": "on_date", "date": "2026-05-01"},
        {"name": "二期", "percent": "30", "trigger": "on_date", "date": "2026-06-10"},
        {"name": "三期", "percent": "20", "trigger": "on_milestone", "milestone": "验收"},
    ]
    oa = order_with_contract(session, owner=a, amount="1000.00", terms=terms, number="SO-A")
    ob = order_with_contract(session, owner=b, amount="200.00", terms=terms, number="SO-B")
    for o in (oa, ob):
        generate_plan(session, contract=contract_of(o), order=o)
    session.commit()
    with clock.frozen(at(DUE)):
        record_receipt(session, actor=fin, number="SO-A", amount="100.00")
        s = money_summary(session, oa)
        assert (s.total, s.received, s.outstanding) == (D("1000.00"), D("100.00"), D("900.00"))
        assert (s.overdue_amount, s.overdue_count) == (D("400.00"), 1)
        assert (s.next_due_date, s.next_due_amount) == (date(2026, 6, 10), D("300.00"))
        assert [g.customer_name for g in overdue_for(session, actor=fin)] == [
            "客户-SO-A",
            "客户-SO-B",
        ]
        assert [g.total for g in overdue_for(session, actor=a)] == [D("400.00")]
        assert [g.customer_name for g in overdue_for(session, actor=mgr)] == ["客户-SO-A"]
        assert overdue_for(session, actor=b)[0].items[0].outstanding == D("100.00")
        assert overdue_for(session, actor=pm) == []


def test_a_departed_owners_overdue_goes_to_finance(rt: Runtime, world: dict[str, Any]) -> None:
    with rt.db.transaction() as s:
        get_active_staff(s, "sales1").active = False
    with clock.frozen(at(DUE + timedelta(days=2))):
        assert money.due_soon_and_dunning() == {"due_soon": 0, "dunning": 1}
    with rt.db.transaction() as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert row.recipient == "fin1" and row.idempotency_key.endswith(":1")
