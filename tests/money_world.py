"""Builders for the money tests (plain functions, real rows; not a test module)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from redis import Redis
from sqlalchemy.orm import Session

from orderdesk.models import (
    BusinessLine,
    ChatBinding,
    Contract,
    Customer,
    Department,
    Milestone,
    Order,
    OrderType,
    Project,
    Staff,
)


def staff(
    session: Session,
    userid: str,
    *roles: str,
    manager: Staff | None = None,
    department: Department | None = None,
) -> Staff:
    person = Staff(userid=userid, name=userid.upper(), manager=manager, department=department)
    for role in roles:
        person.add_role(role)
    session.add(person)
    session.flush()
    return person


def order_with_contract(
    session: Session,
    *,
    owner: Staff,
    amount: str = "100.00",
    terms: list[dict[str, Any]] | None = None,
    signed: date | None = date(2026, 1, 1),
    number: str = "SO-001",
    customer: Customer | None = None,
    line: BusinessLine | None = None,
) -> Order:
    customer = customer or Customer(name=f"客户-{number}", owner=owner)
    session.add(customer)
    otype = session.query(OrderType).filter_by(code="svc").one_or_none()
    if otype is None:
        otype = OrderType(code="svc", name="服务")
        session.add(otype)
    contract = Contract(
        number=f"HT-{number}",
        customer=customer,
        amount=Decimal(amount),
        signed_date=signed,
        payment_terms=terms or [{"name": "全款", "percent": "100", "trigger": "on_signing"}],
    )
    order = Order(
        number=number,
        title=f"订单 {number}",
        order_type=otype,
        customer=customer,
        contract=contract,
        owner=owner,
        business_line=line,
        amount=Decimal(amount),
        status="in_progress",
    )
    session.add_all([customer, contract, order])
    session.flush()
    return order


def project_for(
    session: Session,
    order: Order,
    *,
    group: str | None = None,
    milestones: tuple[str, ...] = ("验收",),
) -> Project:
    project = Project(code=f"P-{order.number}", name=order.title, order=order)
    for seq, name in enumerate(milestones, start=1):
        project.milestones.append(Milestone(sequence=seq, name=name))
    session.add(project)
    session.flush()
    if group:
        session.add(
            ChatBinding(
                kind="appchat",
                chat_id=group,
                project_id=project.id,
                order_id=order.id,
                audience="internal",
            )
        )
        session.flush()
    return project


def contract_of(order: Order) -> Contract:
    assert order.contract is not None
    return order.contract


@contextmanager
def private_redis() -> Iterator[tuple[Redis, str]]:
    """A throwaway redis-server on a free port (never the machine's own Redis)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = Redis(port=port)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except Exception:
                time.sleep(0.02)
        yield client, f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.kill()
        proc.wait()
