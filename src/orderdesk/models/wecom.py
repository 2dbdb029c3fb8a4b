"""WeCom bookkeeping: chat bindings, the transactional outbox, and inbound dedupe records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.models.base import Base, UTCDateTime, utcnow

CHAT_KINDS = ("appchat", "bot_group", "webhook", "customer_group")
AUDIENCES = ("internal", "client")
OUTBOX_CHANNELS = (
    "app_message",  # message/send to users (recipient: "userid|userid")
    "card_update",  # message/update_template_card
    "appchat",  # appchat/send (recipient: chatid)
    "appchat_create",  # appchat/create (recipient: chatid)
    "webhook",  # group robot webhook/send (recipient: key)
    "bot_response",  # intelligent bot response_url (recipient: url)
    "external_template",  # externalcontact/add_msg_template (recipient: sender userid)
)
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead")


class ChatBinding(Base):
    __tablename__ = "chat_bindings"
    __table_args__ = (UniqueConstraint("kind", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # chatid for appchat / bot_group / customer_group, the robot key for webhook.
    chat_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    audience: Mapped[str] = mapped_column(String(16), default="internal")
    bound_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # bot_group only: the key of the group robot (webhook) in the same group, registered with
    # 群机器人. The intelligent bot cannot push; the robot is how notices and charts reach the
    # group. A credential: never logged, shown only masked.
    robot_key: Mapped[str | None] = mapped_column(String(64))


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(24))
    recipient: Mapped[str] = mapped_column(String(2000))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_code: Mapped[str | None] = mapped_column(String(256))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboundEvent(Base):
    __tablename__ = "inbound_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The encrypted-before reply body we answered with, so a retried delivery gets the same one.
    reply: Mapped[str | None] = mapped_column(Text)
