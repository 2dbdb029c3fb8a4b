"""Change requests (变更单) end to end on the services: approved (order, lines, plan, amendment,
schedule, versions, group notice) and rejected / withdrawn (nothing changes); plans asserted
installment by installment; the books hold after each; parallel approval vs receipt."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.approvals import service as approvals
from orderdesk.approvals.escalation import remind_and_escalate
from orderdesk.core import clock
from orderdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orderdesk.directory.staff import get_active_staff
from orderdesk.models import (
    ApprovalAssignment,
    ApprovalRequest,
    Attachment,
    ChangeRequest,
    ChatBinding,
    ContractAmendment,
    Installment,
    Milestone,
    Order,
    OutboxMessage,
    PaymentPlan,
    Project,
    Staff,
    Task,
)
from orderdesk.money.ledger import check_ledger
from orderdesk.money.receipts import record_receipt
from orderdesk.orders.changes.service import (
    ChangeInput,
    create_change,
    get_change,
    withdraw_change,
)
from orderdesk.orders.changes.versions import versions_of
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.approvals_world import build, make_order
from tests.changes_world import change_flows
from tests.threads import together
from tests.web_support import csrf_of, page, web_login

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 2026-03-02 09:00 in Shanghai
NO = "SO-2026-0001"


def running_order(rt: Runtime) -> None:
    """SO-2026-0001 for 30,000 approved (plan 首付款 9,000 / 验收款 21,000, project with
    milestones 上线 03-23 and 验收 04-16), the first installment paid, a bound project group."""
    with clock.frozen(T0), rt.db.transaction() as s:
        w = build(s)
        change_flows(s)
        make_order(s, w, amount="30000.00")
        approvals.submit(s, actor=w["sales1"], number=NO)
    with clock.frozen(T0), rt.db.transaction() as s:
        approvals.decide(s, actor=_who(s, "mgr1"), number=NO, decision="approve")
    with clock.frozen(T0), rt.db.transaction() as s:
        record_receipt(s, actor=_who(s, "fin1"), number=NO, amount="9000.00")


def _who(s: Session, userid: str) -> Staff:
    return get_active_staff(s, userid)


def _plan(rt: Runtime) -> list[tuple[str, Decimal, Decimal, Decimal, date | None]]:
    with rt.db.transaction() as s:
        rows = s.scalars(
            select(Installment)
            .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
            .order_by(Installment.sequence)
        )
        return [(i.name, i.amount, i.paid_amount, i.invoiced_amount, i.due_date) for i in rows]


def _raise(rt: Runtime, who: str, delta: str, days: int = 0, scope: str = "增加移动端") -> str:
    with clock.frozen(T0), rt.db.transaction() as s:
        data = ChangeInput(scope=scope, amount_delta=delta, schedule_days=days, reason="客户要求")
        return create_change(s, actor=_who(s, who), number=NO, data=data, submit=True).number


def _decide(rt: Runtime, who: str, decision: str, comment: str | None = None) -> str:
    with clock.frozen(T0), rt.db.transaction() as s:
        result = approvals.decide(
            s, actor=_who(s, who), number=NO, decision=decision, comment=comment
        )
        return result.message


def _books_hold(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        assert [v.line() for v in check_ledger(s)] == []


def _milestones(rt: Runtime) -> dict[str, date | None]:
    with rt.db.transaction() as s:
        return {m.name: m.due_date for m in s.scalars(select(Milestone))}


def test_approved_change_amends_order_plan_schedule_and_history(rt: Runtime) -> None:
    running_order(rt)
    before = _plan(rt)
    assert before == [
        ("首付款", Decimal("9000.00"), Decimal("9000.00"), Decimal("0.00"), date(2026, 3, 8)),
        ("验收款", Decimal("21000.00"), Decimal("0.00"), Decimal("0.00"), None),
    ]
    milestones = _milestones(rt)
    with clock.frozen(T0), rt.db.transaction() as s:
        s.add(
            ChatBinding(
                chat_id="grp1",
                kind="appchat",
                audience="internal",
                project_id=s.scalar(select(Project.id)),
            )
        )
    number = _raise(rt, "pm1", "+30000", 14)
    assert number == "SO-2026-0001-C1"
    with rt.db.transaction() as s:
        request = s.scalar(select(ApprovalRequest).where(ApprovalRequest.kind == "change"))
        assert request is not None and request.change_request is not None
        assert [a.approver.userid for a in request.assignments] == ["mgr1"]
        card = s.scalar(
            select(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"approval-card:{request.assignments[0].id}"
            )
        )
        assert card is not None and "变更审批 SO-2026-0001-C1" in str(card.payload)
        assert s.scalar(select(Order.amount)) == Decimal("30000.00")  # nothing yet
    assert _decide(rt, "mgr1", "同意") == "变更单 SO-2026-0001-C1 审批通过"
    assert _plan(rt) == [
        ("首付款", Decimal("9000.00"), Decimal("9000.00"), Decimal("0.00"), date(2026, 3, 8)),
        ("验收款", Decimal("51000.00"), Decimal("0.00"), Decimal("0.00"), None),
    ]
    moved = _milestones(rt)
    for name, due in milestones.items():
        assert due is not None and moved[name] == date.fromordinal(due.toordinal() + 14)
    with rt.db.transaction() as s:
        order = s.scalar(select(Order))
        assert order is not None and order.amount == Decimal("60000.00")
        assert order.lines[-1].amount == Decimal("30000.00")
        assert order.lines[-1].description.startswith("变更 SO-2026-0001-C1")
        assert order.contract is not None and order.contract.amount == Decimal("60000.00")
        amendment = s.scalar(select(ContractAmendment))
        assert amendment is not None and amendment.number == "HT-SO-2026-0001-补1"
        assert (amendment.amount_before, amendment.amount_after) == (
            Decimal("30000.00"),
            Decimal("60000.00"),
        )
        change = s.scalar(select(ChangeRequest))
        assert change is not None and change.status == "approved"
        versions = versions_of(s, order)
        assert [(v.version, v.amount, v.change_number) for v in versions] == [
            (1, Decimal("30000.00"), None),
            (2, Decimal("60000.00"), "SO-2026-0001-C1"),
        ]
        assert versions[0].snapshot["installments"][1]["amount"] == "21000.00"
        assert versions[1].snapshot["installments"][1]["amount"] == "51000.00"
        told = s.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "grp1"))
        assert told is not None and "SO-2026-0001-C1 已批准" in str(told.payload)
        assert "30,000" not in str(told.payload)  # no figures in the project group
        tasks = [t.due_date for t in s.scalars(select(Task).order_by(Task.id))]
        assert tasks == [date(2026, 3, 23), date(2026, 4, 5), date(2026, 4, 15)]
    _books_hold(rt)
    # a second change: the amendment numbering continues per contract
    _raise(rt, "sales1", "+1.2万")
    _decide(rt, "mgr1", "approve")
    with rt.db.transaction() as s:
        numbers = s.scalars(select(ContractAmendment.number).order_by(ContractAmendment.id))
        assert list(numbers) == ["HT-SO-2026-0001-补1", "HT-SO-2026-0001-补2"]
    assert [row[1] for row in _plan(rt)] == [Decimal("9000.00"), Decimal("63000.00")]
    _books_hold(rt)


def test_rejected_and_withdrawn_change_nothing(rt: Runtime) -> None:
    running_order(rt)
    before, milestones = _plan(rt), _milestones(rt)
    _raise(rt, "sales1", "-5000", 7)
    with pytest.raises(ValidationFailed):
        _decide(rt, "mgr1", "reject")  # a rejection needs a reason
    assert _decide(rt, "mgr1", "驳回", "预算不够") == "已驳回变更单 SO-2026-0001-C1"
    number = _raise(rt, "pm1", "+0", 3, scope="延期三天")
    with rt.db.transaction() as s:
        # zero amount: only the PM's manager
        request = s.scalar(select(ApprovalRequest).order_by(ApprovalRequest.id.desc()))
        assert request is not None
        assert [a.approver.userid for a in request.assignments] == ["boss"]
    with clock.frozen(T0), rt.db.transaction() as s:
        withdraw_change(
            s, actor=_who(s, "pm1"), change=get_change(s, actor=_who(s, "pm1"), number=number)
        )
    with rt.db.transaction() as s:
        statuses = list(s.scalars(select(ChangeRequest.status).order_by(ChangeRequest.id)))
        assert statuses == ["rejected", "withdrawn"]
        assert s.scalar(select(Order.amount)) == Decimal("30000.00")
        assert all(
            a.status == "cancelled"
            for a in s.scalars(
                select(ApprovalAssignment).where(
                    ApprovalAssignment.approver_id == _who(s, "boss").id
                )
            )
        )
    assert _plan(rt) == before
    assert _milestones(rt) == milestones
    _books_hold(rt)


def test_a_change_below_what_is_paid_is_refused(rt: Runtime) -> None:
    running_order(rt)
    with pytest.raises(ValidationFailed, match="已收款/已开票"):
        _raise(rt, "sales1", "-25000")
    number = _raise(rt, "sales1", "-20000")  # 10,000 left >= 9,000 paid: allowed to ask
    with clock.frozen(T0), rt.db.transaction() as s:
        record_receipt(s, actor=_who(s, "fin1"), number=NO, amount="5000.00")
    before = _plan(rt)
    with pytest.raises(ValidationFailed, match="低于已收款/已开票"):
        _decide(rt, "mgr1", "approve")  # the 验收款 now holds money: 30,000 is kept
    assert _plan(rt) == before
    with rt.db.transaction() as s:
        assert get_change(s, actor=_who(s, "sales1"), number=number).status == "pending"
        assert s.scalar(select(Order.amount)) == Decimal("30000.00")
    _books_hold(rt)


def test_scope_and_permissions(rt: Runtime) -> None:
    running_order(rt)
    number = _raise(rt, "sales1", "+1000")
    with rt.db.transaction() as s:
        with pytest.raises(NotFound):
            get_change(s, actor=_who(s, "sales2"), number=number)
        with pytest.raises(NotFound):
            create_change(s, actor=_who(s, "sales2"), number=NO, data=ChangeInput("x", "+1"))
        with pytest.raises(PermissionDenied):
            create_change(s, actor=_who(s, "mgr1"), number=NO, data=ChangeInput("x", "+1"))
        with pytest.raises(PermissionDenied):
            approvals.decide(s, actor=_who(s, "sales1"), number=NO, decision="approve")


def test_parallel_approval_and_receipt(rt: Runtime, backend: str) -> None:
    """The change's approval and a receipt race: whichever goes second sees the first."""
    if backend != "postgres":
        pytest.skip("row locks are what is raced here: PostgreSQL only")
    running_order(rt)
    _raise(rt, "sales1", "-10000")

    def receipt() -> None:
        with rt.db.transaction() as s:
            record_receipt(s, actor=_who(s, "fin1"), number=NO, amount="3000.00")

    def approve() -> None:
        with rt.db.transaction() as s:
            approvals.decide(s, actor=_who(s, "mgr1"), number=NO, decision="approve")

    # One freeze around both threads: a freeze entered in each thread would race on the
    # process-wide clock and could leave it frozen for the tests that follow.
    with clock.frozen(T0):
        results = together([approve, receipt])
    assert [r for r in results if isinstance(r, Exception)] == []
    insts = _plan(rt)
    assert sum((i[1] for i in insts), Decimal(0)) == Decimal("20000.00")
    assert sum((i[2] for i in insts), Decimal(0)) == Decimal("12000.00")
    assert insts[1][1] == Decimal("11000.00")
    _books_hold(rt)


def test_api_create_decide_versions_and_scope(app: Flask, rt: Runtime) -> None:
    running_order(rt)
    api = ApiClient(app, app.test_client())
    pm = api.as_(api.login("pm1"))
    res = pm.post(
        f"/orders/{NO}/changes",
        json={"scope": "增加移动端", "amount_delta": "+30000", "schedule_days": 14, "submit": True},
    )
    assert res.status_code == 201, res.get_json()
    change = res.get_json()
    assert change["number"] == "SO-2026-0001-C1" and change["status"] == "pending"
    assert change["amount_delta"] == "30000.00"  # the raiser sees the figure they typed
    assert (
        pm.post(f"/orders/{NO}/changes", json={"scope": "x", "amount_delta": "3万"}).status_code
        == 422
    )
    outsider = api.as_(api.login("sales2"))
    assert outsider.get(f"/changes/{change['number']}").status_code == 404
    assert outsider.get(f"/orders/{NO}/changes").status_code == 404
    assert outsider.get(f"/orders/{NO}/versions").status_code == 404
    assert outsider.post(f"/changes/{change['number']}/withdraw").status_code == 404
    manager = api.as_(api.login("mgr1"))
    listed = manager.get("/approvals").get_json()["items"]
    assert [(a["request_id"], a["change_number"]) for a in listed] == [
        (change["approval_request_id"], change["number"])
    ]
    done = manager.post(f"/approvals/{change['approval_request_id']}/approve", json={})
    assert done.status_code == 200, done.get_json()
    detail = manager.get(f"/changes/{change['number']}").get_json()
    assert (detail["status"], detail["amount_before"], detail["amount_after"]) == (
        "approved",
        "30000.00",
        "60000.00",
    )
    versions = manager.get(f"/orders/{NO}/versions").get_json()["items"]
    assert [(v["version"], v["amount"], v["change_number"]) for v in versions] == [
        (1, "30000.00", None),
        (2, "60000.00", "SO-2026-0001-C1"),
    ]
    assert [i["amount"] for i in versions[1]["installments"]] == ["9000.00", "51000.00"]
    assert pm.post(f"/changes/{change['number']}/withdraw").status_code == 409
    _books_hold(rt)


def test_ledger_check_catches_an_order_out_of_step_with_its_plan(rt: Runtime) -> None:
    running_order(rt)
    _raise(rt, "sales1", "+1000")
    _decide(rt, "mgr1", "approve")
    _books_hold(rt)
    with rt.db.transaction() as s:
        order = s.scalar(select(Order))
        assert order is not None
        order.amount = Decimal("1.00")
    with rt.db.transaction() as s:
        assert [v.rule for v in check_ledger(s)] == ["order_plan_total"]


def test_h5_version_history_and_change_form(app: Flask, rt: Runtime) -> None:
    running_order(rt)
    web = app.test_client()
    web_login(web, "pm1")
    html = page(web, f"/m/orders/{NO}")
    assert "版本历史" in html and "v1" in html and "原始订单" in html
    assert "发起变更" in html and "30,000" not in html  # the PM sees no money
    refused = web.post(
        f"/m/orders/{NO}/changes",
        data={"scope": "加功能", "amount_delta": "abc", "csrf": csrf_of(html)},
    )
    assert refused.status_code == 400 and "变更金额无效" in refused.text
    done = web.post(
        f"/m/orders/{NO}/changes",
        data={
            "scope": "增加移动端",
            "amount_delta": "+30000",
            "schedule_days": "14",
            "csrf": csrf_of(html),
        },
    )
    assert done.status_code == 302
    _decide(rt, "mgr1", "approve")
    owner = app.test_client()
    web_login(owner, "sales1")
    html = page(owner, f"/m/orders/{NO}")
    assert "v2" in html and "SO-2026-0001-C1" in html and "¥60,000.00" in html
    outsider = app.test_client()
    web_login(outsider, "sales2")
    page(outsider, f"/m/orders/{NO}", status=404)
    assert outsider.post(f"/m/orders/{NO}/changes", data={"scope": "x"}).status_code in (400, 404)
    with rt.db.transaction() as s:
        assert len(list(s.scalars(select(ChangeRequest)))) == 1


def test_reminders_escalation_and_the_approval_page_work_for_changes(
    app: Flask, rt: Runtime
) -> None:
    running_order(rt)
    number = _raise(rt, "sales1", "+2000", 5)
    later = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # 49 hours on, Wednesday 10:00 in Shanghai
    with clock.frozen(later), rt.db.transaction() as s:
        swept = remind_and_escalate(s, now=later)
        assert (swept.closed, swept.escalated) == (0, 1)  # the order is not "in approval"
    with rt.db.transaction() as s:
        change = get_change(s, actor=_who(s, "sales1"), number=number)
        assert change.status == "pending"
        notice = s.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("approval-escalate:%"))
        )
        assert notice is not None and notice.recipient == "boss"
        assert f"变更单 {number}" in str(notice.payload)
        request_id = s.scalar(select(ApprovalRequest.id).where(ApprovalRequest.kind == "change"))
    web = app.test_client()
    web_login(web, "boss")
    html = page(web, f"/m/approvals/{request_id}")
    assert "变更内容" in html and "增加移动端" in html and "+¥2,000.00" in html
    with clock.frozen(later), rt.db.transaction() as s:
        approvals.decide(s, actor=_who(s, "boss"), request_id=request_id, decision="approve")
    with rt.db.transaction() as s:
        assert s.scalar(select(Order.amount)) == Decimal("32000.00")
    _books_hold(rt)


def test_attachments_must_belong_to_the_order(rt: Runtime) -> None:
    running_order(rt)
    with rt.db.transaction() as s:
        order_id = s.scalar(select(Order.id))
        mine = Attachment(
            name="需求说明.pdf", size=10, sha256="a" * 64, storage_path="x/a", order_id=order_id
        )
        stray = Attachment(name="别的.pdf", size=10, sha256="b" * 64, storage_path="x/b")
        s.add_all([mine, stray])
        s.flush()
        ids = (mine.id, stray.id)
    with (
        pytest.raises(ValidationFailed, match="附件不属于该订单"),
        clock.frozen(T0),
        rt.db.transaction() as s,
    ):
        create_change(
            s, actor=_who(s, "sales1"), number=NO, data=ChangeInput("x", "+1", 0, None, ids)
        )
    with clock.frozen(T0), rt.db.transaction() as s:
        data = ChangeInput("加需求", "+1000", 0, "客户邮件", ids[:1])
        change = create_change(s, actor=_who(s, "sales1"), number=NO, data=data)
        assert change.status == "draft"
        assert [a.name for a in change.attachments] == ["需求说明.pdf"]


def test_a_change_on_an_order_cancelled_meanwhile_is_not_applied(rt: Runtime) -> None:
    running_order(rt)
    number = _raise(rt, "sales1", "+1000", 3)
    with rt.db.transaction() as s:
        order = s.scalar(select(Order))
        assert order is not None
        order.status = "cancelled"
    with pytest.raises(Conflict, match="变更单已失效"):
        _decide(rt, "mgr1", "approve")
    with clock.frozen(T0), rt.db.transaction() as s:
        withdraw_change(
            s, actor=_who(s, "sales1"), change=get_change(s, actor=_who(s, "sales1"), number=number)
        )
    with rt.db.transaction() as s:
        assert s.scalar(select(Order.amount)) == Decimal("30000.00")
        assert s.scalar(select(ChangeRequest.status)) == "withdrawn"


def test_a_substitute_decides_a_change_on_behalf(rt: Runtime) -> None:
    running_order(rt)
    with clock.frozen(T0), rt.db.transaction() as s:
        approvals.set_delegation(
            s,
            actor=_who(s, "mgr1"),
            substitute_userid="fin1",
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 10),
        )
    _raise(rt, "sales1", "+1000")
    with rt.db.transaction() as s:
        card = s.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.idempotency_key.like("approval-card:%"))
            .order_by(OutboxMessage.id.desc())
        )
        assert card is not None and card.recipient == "mgr1|fin1"
    assert _decide(rt, "fin1", "同意") == "变更单 SO-2026-0001-C1 审批通过(代 张经理 审批)"
    with rt.db.transaction() as s:
        assert s.scalar(select(Order.amount)) == Decimal("31000.00")
    _books_hold(rt)
