"""`orderdesk check`: the ledger invariants hold on the demo company, and each kind of
corruption is reported with its ids and exit code 1."""

from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from orderdesk.cli import main
from orderdesk.demo.company import load_demo
from orderdesk.models import Installment, PaymentPlan, Receipt
from orderdesk.runtime import Runtime
from orderdesk.settings import Settings


def run_check(settings: Settings) -> Result:
    env = {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    return CliRunner().invoke(main, ["check"], env=env, catch_exceptions=False)


@pytest.fixture
def demo(rt: Runtime) -> Runtime:
    with rt.db.transaction() as s:
        load_demo(s, seed=1, tz=rt.settings.tz)
    return rt


def test_demo_data_passes(demo: Runtime, settings: Settings) -> None:
    result = run_check(settings)
    assert result.exit_code == 0, result.output
    assert "账目检查通过" in result.output


def test_each_violation_is_reported_with_ids(demo: Runtime, settings: Settings) -> None:
    with demo.db.transaction() as s:
        inst = s.scalars(
            select(Installment).where(Installment.paid_amount > 0).order_by(Installment.id)
        ).first()
        receipt = s.scalars(select(Receipt).order_by(Receipt.id)).first()
        plan = s.scalars(select(PaymentPlan).order_by(PaymentPlan.id)).first()
        assert inst is not None and receipt is not None and plan is not None
        s.execute(
            update(Installment)
            .where(Installment.id == inst.id)
            .values(paid_amount=Installment.paid_amount - Decimal("1.00"))
        )
        s.execute(
            update(Receipt)
            .where(Receipt.id == receipt.id)
            .values(credit_amount=Receipt.credit_amount + Decimal("5.00"))
        )
        s.execute(
            update(PaymentPlan)
            .where(PaymentPlan.id == plan.id)
            .values(total=PaymentPlan.total + Decimal("0.01"))
        )
    result = run_check(settings)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(
        line.startswith(f"paid_vs_allocations: installment={inst.id} plan={inst.plan_id}:")
        for line in lines
    ), lines
    assert any(line.startswith(f"receipt_split: receipt={receipt.id}:") for line in lines), lines
    assert any(line.startswith(f"plan_total: plan={plan.id}:") for line in lines), lines
    assert "账目检查未通过" in result.output


def test_bounds_are_database_rules(demo: Runtime) -> None:
    """paid and invoiced above the amount are refused by the database itself."""
    for column in ("paid_amount", "invoiced_amount"):
        with pytest.raises(IntegrityError), demo.db.transaction() as s:
            s.execute(
                update(Installment)
                .where(Installment.id == 1)
                .values({column: Installment.amount + Decimal("0.01")})
            )
