"""Creating, finding and editing orders: lines and amounts, overrides, versions, progress logs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orderdesk.models import Activity, Attachment, ChatBinding, Order, OrderLine, OutboxMessage
from orderdesk.orders import attachments
from orderdesk.orders import service as orders
from orderdesk.runtime import Runtime
from tests.order_world import build_world, force_status, make_order, order_data


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_create_derives_amount_from_lines_exactly(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    order = make_order(
        session,
        world.sales1,
        lines=[
            {"service_item": "consult", "quantity": "3.5"},  # 2000.00 x 3.5
            {"description": "差旅", "quantity": "3", "unit_price": "0.10", "unit": "次"},
            {"service_item": "license", "quantity": "1", "billing_method": "subscription"},
        ],
    )
    assert order.number.startswith("SO-") and order.status == "draft"
    assert [line.amount for line in order.lines] == [
        Decimal("7000.00"),
        Decimal("0.30"),
        Decimal("10000.00"),
    ]
    assert order.amount == Decimal("17000.30") and not order.amount_overridden
    assert [line.billing_method for line in order.lines] == [
        "time_and_materials",
        "fixed",
        "subscription",
    ]
    assert order.lines[0].unit == "人天" and order.lines[1].unit == "次"
    assert (
        order.owner_id == world.sales1.id and order.business_line_id == world.impl.business_line_id
    )
    created = session.scalars(select(Activity).where(Activity.order_id == order.id)).one()
    assert created.kind == "created" and order.number in created.body


def test_discount_is_derived_from_catalogue_prices(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    order = make_order(session, world.sales1)  # license sold at 9500 of 10000 list
    # list 20000 + 20000 = 40000, sold 20000 + 19000 = 39000 -> 2.5 %
    assert order.amount == Decimal("39000.00")
    assert order.discount_rate == Decimal("0.0250")
    explicit = make_order(session, world.sales1, discount_rate="0.2")
    assert explicit.discount_rate == Decimal("0.2000")


def test_override_needs_a_reason_and_is_recorded(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    with pytest.raises(ValidationFailed) as err:
        orders.create_order(session, actor=world.sales1, data=order_data(amount="35000"))
    assert err.value.fields == {"override_reason": "手工调整金额需要填写原因"}
    session.rollback()
    order = make_order(session, world.sales1, amount="35000", override_reason="打包优惠")
    assert order.amount == Decimal("35000.00") and order.amount_overridden
    assert order.override_reason == "打包优惠"
    notes = session.scalars(
        select(Activity.body).where(Activity.order_id == order.id, Activity.kind == "updated")
    ).all()
    assert notes == ["金额手工调整为 35000.00(明细合计 39000.00,原因:打包优惠)"]
    # Changing the lines keeps the explicit amount; clearing the override derives it again.
    orders.update_order(
        session,
        actor=world.sales1,
        number=order.number,
        changes={"lines": [{"service_item": "consult", "quantity": "1"}]},
        expected_version=order.version,
    )
    assert order.amount == Decimal("35000.00")
    orders.update_order(
        session,
        actor=world.sales1,
        number=order.number,
        changes={"amount": None},
        expected_version=order.version,
    )
    session.commit()
    assert order.amount == Decimal("2000.00") and not order.amount_overridden


def test_every_problem_is_reported_and_nothing_is_written(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    bad = order_data(
        customer="不存在的公司",
        lines=[
            {"service_item": "nope"},
            {"description": "x", "quantity": "0", "unit_price": "-1"},
            {"description": "y", "unit_price": "1.001", "billing_method": "barter"},
            {"description": "z", "unit_price": "5", "colour": "red"},
        ],
        amount="abc",
        override_reason="因为",
    )
    with pytest.raises(ValidationFailed) as err:
        orders.create_order(session, actor=world.sales1, data=bad)
    assert err.value.fields == {
        "customer": "找不到客户 不存在的公司",
        "lines[0].service_item": "找不到该服务项目",
        "lines[1].quantity": "数量必须大于 0",
        "lines[1].unit_price": "单价不能为负数",
        "lines[2].unit_price": "单价最多两位小数",
        "lines[2].billing_method": err.value.fields["lines[2].billing_method"],
        "lines[3]": "未知字段 colour",
        "amount": "订单金额必须是数字",
    }
    assert "subscription" in err.value.fields["lines[2].billing_method"]
    assert err.value.message.startswith("订单信息有误:")
    session.rollback()
    assert _count(session, Order) == 0 and _count(session, OrderLine) == 0
    assert _count(session, Activity) == 0
    with pytest.raises(ValidationFailed) as err:
        orders.create_order(session, actor=world.sales1, data={**order_data(), "colour": "red"})
    assert err.value.fields == {"colour": "未知字段"}


def test_who_may_create(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    with pytest.raises(PermissionDenied):
        orders.create_order(session, actor=world.pm1, data=order_data())
    with pytest.raises(ValidationFailed) as err:
        orders.create_order(session, actor=world.sales1, data=order_data(owner_userid="sales2"))
    assert err.value.fields == {"owner_userid": "只有经理可以为他人创建订单"}
    own = orders.create_order(session, actor=world.sales1, data=order_data())
    order = orders.create_order(session, actor=world.mgr1, data=order_data(owner_userid="sales2"))
    assert order.owner_id == world.sales2.id
    # Only the owner who did not create it is told (nobody is notified of their own action).
    notes = session.scalars(select(OutboxMessage)).all()
    assert [(n.idempotency_key, n.recipient) for n in notes] == [
        (f"order-created:{order.id}:sales2", "sales2")
    ]
    assert own.owner_id == world.sales1.id


def test_numbers_follow_the_company_year(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    # 2026-12-31 16:30 UTC is already 2027-01-01 00:30 in Shanghai.
    with clock.frozen(datetime(2026, 12, 31, 15, 0, tzinfo=UTC)):
        first = make_order(session, world.sales1)
        second = make_order(session, world.sales1)
    with clock.frozen(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)):
        third = make_order(session, world.sales1)
    assert [first.number, second.number, third.number] == [
        "SO-2026-0001",
        "SO-2026-0002",
        "SO-2027-0001",
    ]


def test_numbers_keep_increasing_past_9999(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    with clock.frozen(datetime(2026, 5, 1, tzinfo=UTC)):
        seed = make_order(session, world.sales1)
        seed.number = "SO-2026-9999"
        session.commit()
        assert make_order(session, world.sales1).number == "SO-2026-10000"
        assert make_order(session, world.sales1).number == "SO-2026-10001"


def test_get_order_tolerates_case_and_padding(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    with clock.frozen(datetime(2026, 5, 1, tzinfo=UTC)):
        order = make_order(session, world.sales1)
    for typed in ("SO-2026-0001", "so-2026-0001", " so-2026-1 ", "SO20260001", "so_2026_01"):
        assert orders.get_order(session, actor=world.sales1, number=typed).id == order.id
    with pytest.raises(NotFound):
        orders.get_order(session, actor=world.sales1, number="SO-2026-0002")
    with pytest.raises(NotFound):
        orders.get_order(session, actor=world.sales1, number="")


def test_search_suggest_list_and_counts(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    a = make_order(session, world.sales1, title="ERP 实施一期")
    b = make_order(session, world.sales1, title="数据中台咨询")
    # sales3's customer: sales1 may not pick it, the gm may hand sales1 an order for it
    c = make_order(
        session, world.gm, customer="北京星河数据有限公司", title="BI 报表", owner_userid="sales1"
    )
    found = orders.search_orders(session, actor=world.sales1, query="云启")
    assert [o.id for o in found] == [b.id, a.id]
    assert [o.id for o in orders.search_orders(session, actor=world.sales1, query="中台")] == [b.id]
    exact = orders.search_orders(session, actor=world.sales1, query=a.number.lower(), limit=1)
    assert [o.id for o in exact] == [a.id]
    assert orders.search_orders(session, actor=world.sales1, query="100%_") == []
    near = orders.suggest(session, actor=world.sales1, query=c.number[:-1] + "9")
    assert set(near) >= {a.number, b.number, c.number}
    assert "北京星河数据有限公司" in orders.suggest(session, actor=world.sales1, query="星河数据")
    assert "上海云启科技有限公司" in orders.suggest(
        session, actor=world.sales1, query="上海云起科技"
    )
    page1 = orders.list_orders(session, actor=world.sales1, limit=2)
    page2 = orders.list_orders(session, actor=world.sales1, limit=2, after_id=page1[-1].id)
    assert [o.id for o in page1 + page2] == [c.id, b.id, a.id]
    assert orders.list_orders(session, actor=world.sales1, customer_id=world.customer2.id) == [c]
    assert orders.list_orders(session, actor=world.gm, owner_userid="sales3") == []
    assert [o.id for o in orders.list_orders(session, actor=world.sales1, q="报表")] == [c.id]
    with pytest.raises(ValidationFailed):
        orders.list_orders(session, actor=world.sales1, status="done")
    orders.transition(session, actor=world.sales1, number=a.number, to="cancelled", reason="重复")
    counts = orders.order_counts(session, actor=world.sales1)
    assert counts["draft"] == 2 and counts["cancelled"] == 1 and counts["closed"] == 0
    assert orders.list_orders(session, actor=world.sales1, status="cancelled") == [a]


def test_update_with_a_stale_expected_version_is_a_conflict(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    order = make_order(session, world.sales1)
    seen = order.version
    orders.update_order(
        session,
        actor=world.mgr1,
        number=order.number,
        changes={"title": "新标题"},
        expected_version=seen,
    )
    session.commit()
    with pytest.raises(Conflict) as err:
        orders.update_order(
            session,
            actor=world.sales1,
            number=order.number,
            changes={"title": "我的标题"},
            expected_version=seen,
        )
    assert err.value.message == "订单已被 王经理 修改,请刷新后重试"
    session.rollback()
    assert order.title == "新标题"
    change = session.scalars(
        select(Activity).where(Activity.order_id == order.id, Activity.kind == "updated")
    ).one()
    assert change.data["changes"]["title"] == ["ERP 实施一期", "新标题"]
    keys = session.scalars(select(OutboxMessage.idempotency_key)).all()
    assert keys == [f"order-update:{order.id}:{order.version}:sales1"]


def test_concurrent_sessions_conflict_on_the_version_column(rt: Runtime) -> None:
    with rt.db.transaction() as setup:
        world = build_world(setup)
        number = make_order(setup, world.sales1).number
    first, second = rt.db.Session(), rt.db.Session()
    try:
        from orderdesk.directory.staff import get_active_staff

        a = orders.get_order(first, actor=get_active_staff(first, "sales1"), number=number)
        b = orders.get_order(second, actor=get_active_staff(second, "mgr1"), number=number)
        assert a.version == b.version
        orders.update_order(
            first,
            actor=get_active_staff(first, "sales1"),
            number=number,
            changes={"title": "张三改的"},
            expected_version=a.version,
        )
        first.commit()
        # The second editor loaded the old version before the first one committed.
        with pytest.raises(Conflict) as err:
            orders.update_order(
                second,
                actor=get_active_staff(second, "mgr1"),
                number=number,
                changes={"title": "经理改的"},
                expected_version=None,
            )
        assert err.value.message == "订单已被 张三 修改,请刷新后重试"
        second.rollback()
    finally:
        first.close()
        second.close()
    with rt.db.transaction() as check:
        order = check.scalars(select(Order).where(Order.number == number)).one()
        assert order.title == "张三改的" and order.version == 2


def test_update_rules(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    order = make_order(session, world.sales1)
    with pytest.raises(NotFound):
        orders.update_order(
            session,
            actor=world.sales3,
            number=order.number,
            changes={"title": "x"},
            expected_version=None,
        )
    with pytest.raises(PermissionDenied):
        orders.update_order(
            session,
            actor=world.fin,
            number=order.number,
            changes={"title": "x"},
            expected_version=None,
        )
    with pytest.raises(ValidationFailed) as err:
        orders.update_order(
            session,
            actor=world.sales1,
            number=order.number,
            changes={"title": "", "discount_rate": "1.5"},
            expected_version=None,
        )
    assert set(err.value.fields) == {"title", "discount_rate"}
    assert order.title == "ERP 实施一期"  # the half-applied edit was discarded
    version = order.version
    assert (
        orders.update_order(
            session,
            actor=world.sales1,
            number=order.number,
            changes={"title": "ERP 实施一期"},
            expected_version=version,
        ).version
        == version
    )  # no change, no new version
    order.status = "approved"
    session.commit()
    with pytest.raises(ValidationFailed) as err:
        orders.update_order(
            session,
            actor=world.sales1,
            number=order.number,
            changes={"lines": [], "title": "可以改"},
            expected_version=None,
        )
    assert err.value.fields == {"lines": "仅草稿可改"}
    orders.update_order(
        session,
        actor=world.mgr1,
        number=order.number,
        changes={"title": "可以改", "owner_userid": "sales2"},
        expected_version=None,
    )
    session.commit()
    assert order.title == "可以改" and order.owner_id == world.sales2.id


def test_progress_with_files(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    order = make_order(session, world.sales1)
    pdf = attachments.store_file(
        session,
        rt_settings=rt.settings,
        actor=world.mgr1,
        name="周报.pdf",
        content=b"%PDF-1.4 weekly",
        content_type="application/pdf",
    )
    session.flush()
    activity = orders.add_progress(
        session, actor=world.mgr1, number=order.number, text="完成需求调研", files=[pdf.id]
    )
    session.commit()
    assert activity.kind == "progress" and activity.body == "完成需求调研"
    assert [a.id for a in activity.attachments] == [pdf.id]
    assert pdf.order_id == order.id and activity.data["files"] == ["周报.pdf"]
    note = session.scalars(select(OutboxMessage)).one()
    assert note.recipient == "sales1" and note.idempotency_key.startswith("order-progress:")
    assert "完成需求调研" in note.payload["text"]["content"]
    # Someone else's upload cannot be attached; empty progress is refused.
    other = attachments.store_file(
        session,
        rt_settings=rt.settings,
        actor=world.sales3,
        name="x.txt",
        content=b"x",
        content_type="text/plain",
    )
    session.flush()
    with pytest.raises(NotFound):
        orders.add_progress(
            session, actor=world.mgr1, number=order.number, text="x", files=[other.id]
        )
    with pytest.raises(ValidationFailed):
        orders.add_progress(session, actor=world.mgr1, number=order.number, text="  ")
    session.rollback()
    assert _count(session, Attachment) == 1


def test_progress_reaches_bound_groups_but_not_client_groups(session: Session) -> None:
    """Chat and mini-app both log progress through add_progress, so the push lives there."""
    world = build_world(session)
    order = make_order(session, world.sales1)
    session.add_all(
        [
            ChatBinding(kind="appchat", chat_id="prjgroup1", customer_id=order.customer_id),
            ChatBinding(
                kind="webhook",
                chat_id="client-key",
                customer_id=order.customer_id,
                audience="client",
            ),
        ]
    )
    session.flush()
    activity = orders.add_progress(session, actor=world.sales1, number=order.number, text="上线")
    session.commit()
    pushes = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith("progress-push:"))
    ).all()
    assert [(m.channel, m.recipient) for m in pushes] == [("appchat", "prjgroup1")]
    assert activity.data["pushed_groups"] == 1


def test_my_orders_are_owned_managed_or_waiting_for_me(session: Session) -> None:
    world = build_world(session)
    mine = make_order(session, world.sales1)
    other = make_order(session, world.mgr1, owner_userid="sales2")
    closed = make_order(session, world.sales1)
    force_status(session, closed, "closed")
    session.commit()
    got = [o.number for o in orders.my_orders(session, actor=world.sales1)]
    assert got == [mine.number]
    assert other.number not in got and closed.number not in got
