"""What an order form offers: the active order types (with their custom fields) and services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.models import OrderType, ServiceItem


def order_types(session: Session) -> list[OrderType]:
    return list(
        session.scalars(select(OrderType).where(OrderType.active.is_(True)).order_by(OrderType.id))
    )


def service_items(session: Session) -> list[ServiceItem]:
    return list(
        session.scalars(
            select(ServiceItem).where(ServiceItem.active.is_(True)).order_by(ServiceItem.id)
        )
    )
