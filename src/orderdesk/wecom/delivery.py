"""Deliver outbox rows to WeCom: claim, rate-limit, send, record; retry with backoff; never twice.

A row moves `pending -> sending -> sent`, or back to `pending` (retry / rate-limit wait) or to
`dead` after `settings.outbox_max_attempts`. Claiming sets `sending` with a lease (the row's
`next_attempt_at` becomes the lease end) and bumps `attempts`, which doubles as a fencing token:
a worker only records the outcome if the row is still `sending` with the attempt it claimed.
A worker that dies mid-send leaves the row `sending`; the sweeper (`recover_stuck`) returns it to
`pending` once the lease is over. Re-sending such a row is safe for app messages because they are
sent with `enable_duplicate_check` (WeCom drops the repeat within the interval).

PostgreSQL claims with `FOR UPDATE SKIP LOCKED` so several workers share the work; SQLite is a
single process, where a lock serialises claiming between the in-process job threads.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from orderdesk.core import clock
from orderdesk.models.wecom import OutboxMessage
from orderdesk.wecom import outbox, outbox_media
from orderdesk.wecom.client import get_client
from orderdesk.wecom.errors import WeComError
from orderdesk.wecom.ratelimit import RateLimiter, RateLimits, limits_for

if TYPE_CHECKING:
    from orderdesk.runtime import Runtime
    from orderdesk.wecom.client import WeComClient

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
BACKOFF_BASE = 15.0  # seconds before the first retry; doubles per attempt
BACKOFF_CAP = 3600.0
REF_WAIT = timedelta(seconds=10)  # a card update waiting for its card's response_code
RESPONSE_URL_TTL = timedelta(hours=1)  # the bot's response_url accepts one POST within 1 h
RESPONSE_CODE_TTL = timedelta(hours=72)  # a response_code works once, within 72 h (D:94888)
ISSUED_AT = "response_code_issued_at"  # payload field (ISO time) where the code's age is known
CHATID_TAKEN = 86215  # appchat/create: 会话ID已经存在 (D:90313)

API_OF_CHANNEL = {
    "app_message": "message/send",
    "card_update": "message/update_template_card",
    "appchat": "appchat/send",
    "appchat_create": "appchat/create",
    "webhook": "webhook/send",
    "bot_response": "response_url",
    "external_template": "externalcontact/add_msg_template",
}

_sqlite_claim_lock = threading.Lock()


@dataclass(frozen=True)
class Claim:
    """A detached snapshot of a claimed row (no session is held while talking to WeCom)."""

    id: int
    attempts: int
    channel: str
    recipient: str
    payload: dict[str, Any]
    key: str
    created_at: datetime | None = None


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    waiting: int = 0
    dead: int = 0
    lost: int = 0  # outcome not recorded: the lease was taken over by another worker
    ids: list[int] = field(default_factory=list)


class _Wait(Exception):
    """Not an error: the row must wait (rate limit, or a card not yet delivered)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


class _Dead(Exception):
    """A row that can never be delivered (e.g. it updates a card that died)."""


def backoff_seconds(
    attempts: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP
) -> float:
    """Exponential backoff with jitter: base * 2^(attempts-1), capped, times [0.5, 1.0)."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.5, 1.0)


def get_limiter(rt: Runtime) -> RateLimiter:
    limiter = rt.extensions.get("wecom.limiter")
    if limiter is None:
        limiter = RateLimiter(rt.redis, rt.settings.redis_namespace)
        rt.extensions["wecom.limiter"] = limiter
    return limiter


def get_rate_limits(rt: Runtime) -> RateLimits:
    limits = rt.extensions.get("wecom.rate_limits")
    return limits if isinstance(limits, RateLimits) else RateLimits()


# ---------------------------------------------------------------------------- claiming


def claim_due(rt: Runtime, *, limit: int = 100, lease: timedelta = LEASE) -> list[Claim]:
    """Mark up to `limit` due pending rows as `sending` (lease until now + lease)."""
    if rt.db.dialect == "sqlite":
        with _sqlite_claim_lock:
            return _claim(rt, limit, lease)
    return _claim(rt, limit, lease)


def _claim(rt: Runtime, limit: int, lease: timedelta) -> list[Claim]:
    now = clock.now()
    with rt.db.transaction() as session:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if rt.db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claims = []
        for row in session.scalars(query).all():
            row.status = "sending"
            row.attempts += 1
            row.next_attempt_at = now + lease
            claims.append(
                Claim(
                    id=row.id,
                    attempts=row.attempts,
                    channel=row.channel,
                    recipient=row.recipient,
                    payload=dict(row.payload or {}),
                    key=row.idempotency_key,
                    created_at=row.created_at,
                )
            )
        return claims


def renew_lease(rt: Runtime, claim: Claim, lease: timedelta = LEASE) -> bool:
    """Extend our lease on a claimed row; False if it is no longer ours."""
    with rt.db.transaction() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == claim.id,
                OutboxMessage.status == "sending",
                OutboxMessage.attempts == claim.attempts,
            )
            .values(next_attempt_at=clock.now() + lease)
        )
        return bool(getattr(result, "rowcount", 0))


def recover_stuck(rt: Runtime) -> int:
    """Return rows stuck in `sending` past their lease (a worker died) to `pending`."""
    now = clock.now()
    with rt.db.transaction() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending", OutboxMessage.next_attempt_at <= now)
            .values(status="pending", next_attempt_at=now, last_error="lease expired; re-queued")
        )
        count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.warning("outbox: recovered %d message(s) stuck in sending", count)
    return count


def due_count(rt: Runtime) -> int:
    with rt.db.transaction() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= clock.now(),
                )
            )
            or 0
        )


# ---------------------------------------------------------------------------- delivering


def deliver_due(
    rt: Runtime, *, limit: int = 100, client: WeComClient | None = None, max_batches: int = 20
) -> int:
    """Deliver every due row (in batches of `limit`). Returns how many rows were attempted."""
    return deliver_batches(rt, limit=limit, client=client, max_batches=max_batches).claimed


def deliver_batches(
    rt: Runtime, *, limit: int = 100, client: WeComClient | None = None, max_batches: int = 20
) -> DeliveryReport:
    report = DeliveryReport()
    for _ in range(max_batches):
        claims = claim_due(rt, limit=limit)
        if not claims:
            break
        for claim in claims:
            # A batch may outlast the lease of its last rows; renew each one just before
            # sending so a row the sweeper already handed to another worker is skipped.
            if renew_lease(rt, claim):
                deliver_claim(rt, claim, report, client=client)
            else:
                report.lost += 1
        if len(claims) < limit:
            break
    return report


def deliver_claim(
    rt: Runtime, claim: Claim, report: DeliveryReport, *, client: WeComClient | None = None
) -> None:
    report.claimed += 1
    report.ids.append(claim.id)
    max_attempts = rt.settings.outbox_max_attempts
    try:
        if rt.settings.sandbox:
            result, response_code = _sandbox_send(claim)
            _sandbox_media(rt, claim)
        else:
            if client is None:
                client = get_client(rt)
            result, response_code = _send(rt, client, claim)
    except _Wait as wait:
        # A wait is not an attempt: give the claimed attempt back.
        _finish(
            rt,
            claim,
            report,
            "waiting",
            status="pending",
            attempts=claim.attempts - 1,
            next_attempt_at=clock.now() + timedelta(seconds=wait.seconds + random.uniform(0, 1)),
            last_error=wait.reason,
        )
        return
    except (_Dead, outbox_media.MediaMissing) as exc:
        _finish(rt, claim, report, "dead", status="dead", last_error=str(exc)[:2000])
        return
    except Exception as exc:
        retryable = not isinstance(exc, WeComError) or exc.retryable
        if not isinstance(exc, WeComError):
            log.exception("outbox %s: unexpected error while sending", claim.id)
        error = str(exc)[:2000]
        if retryable and claim.attempts < max_attempts:
            delay = backoff_seconds(claim.attempts)
            _finish(
                rt,
                claim,
                report,
                "retrying",
                status="pending",
                next_attempt_at=clock.now() + timedelta(seconds=delay),
                last_error=error,
            )
        else:
            log.error("outbox %s is dead after %d attempt(s): %s", claim.id, claim.attempts, error)
            _finish(rt, claim, report, "dead", status="dead", last_error=error)
        return
    _finish(
        rt,
        claim,
        report,
        "sent",
        status="sent",
        sent_at=clock.now(),
        result=result,
        response_code=response_code,
        last_error=None,
    )


def _finish(rt: Runtime, claim: Claim, report: DeliveryReport, outcome: str, **values: Any) -> None:
    with rt.db.transaction() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == claim.id,
                OutboxMessage.status == "sending",
                OutboxMessage.attempts == claim.attempts,
            )
            .values(**values)
        )
        recorded = bool(getattr(result, "rowcount", 0))
    if recorded:
        setattr(report, outcome, getattr(report, outcome) + 1)
    else:
        report.lost += 1
        log.warning("outbox %s: lease lost before recording %s", claim.id, outcome)


def _sandbox_send(claim: Claim) -> tuple[dict[str, Any], str | None]:
    """WECOM_MODE=sandbox: no network. Interactive cards get a fake response_code so the
    click/update flow can be exercised locally."""
    response_code = None
    if claim.channel == "app_message" and claim.payload.get("msgtype") == "template_card":
        response_code = f"sandbox-rc-{claim.id}"
    return {"errcode": 0, "errmsg": "ok", "sandbox": True}, response_code


def _sandbox_media(rt: Runtime, claim: Claim) -> None:
    """Sandbox: the image / file a media row would send lands in instance/outbox-media/."""
    ref = claim.payload.get(outbox_media.MEDIA)
    if isinstance(ref, dict):
        path = outbox_media.sandbox_copy(rt.settings, ref, claim.id)
        log.info("sandbox: outbox %s %s written to %s", claim.id, ref["kind"], path)


def _send(rt: Runtime, client: WeComClient, claim: Claim) -> tuple[dict[str, Any], str | None]:
    payload = dict(claim.payload)
    if (
        claim.channel == "bot_response"
        and claim.created_at is not None
        and clock.now() - claim.created_at > RESPONSE_URL_TTL
    ):
        raise _Dead("response_url 已过期(超过 1 小时)/ response_url expired")
    _wait_for(rt, payload.pop(outbox.AFTER, None))
    if claim.channel == "card_update":
        payload = _resolve_card_update(rt, claim, payload)
    limits = limits_for(
        get_rate_limits(rt),
        channel=claim.channel,
        recipient=claim.recipient,
        agent_id=client.agent_id,
        api=API_OF_CHANNEL.get(claim.channel, claim.channel),
    )
    wait = _acquire(rt, limits)
    if wait > 0:
        raise _Wait(wait, f"rate limit: waiting {wait:.1f}s")
    payload = _with_media(rt, client, claim, payload)
    result = _call(client, claim.channel, claim.recipient, payload)
    code = result.get("response_code")
    return result, (str(code) if code else None)


def _with_media(
    rt: Runtime, client: WeComClient, claim: Claim, payload: dict[str, Any]
) -> dict[str, Any]:
    """Upload a media row's bytes now: a media_id lives 3 days, so it is never stored."""

    def upload(kind: str, name: str, content: bytes) -> str:
        if claim.channel == "webhook":
            return client.webhook_upload_media(claim.recipient, name, content)
        return client.upload_media(kind, name, content)

    return outbox_media.resolved(rt.settings, claim.channel, payload, upload)


def _acquire(rt: Runtime, limits: list[Any]) -> float:
    limiter = get_limiter(rt)
    try:
        return limiter.acquire(limits)
    except Exception:
        # Redis trouble must not stop delivery: fall back to this process's buckets.
        log.warning("rate limiter unavailable; using in-process buckets", exc_info=True)
        fallback = rt.extensions.setdefault("wecom.limiter.local", RateLimiter(None))
        return float(fallback.acquire(limits))


def _call(
    client: WeComClient, channel: str, recipient: str, payload: dict[str, Any]
) -> dict[str, Any]:
    if channel == "app_message":
        return client.send_message(recipient, payload)
    if channel == "card_update":
        userids = payload.pop("userids", None) or [u for u in recipient.split("|") if u]
        return dict(
            client.post(
                "message/update_template_card",
                data={**payload, "userids": userids, "agentid": client.agent_id},
            )
        )
    if channel == "appchat":
        return client.appchat_send(recipient, payload)
    if channel == "appchat_create":
        return _appchat_create(client, recipient, payload)
    if channel == "webhook":
        return client.webhook_send(recipient, payload)
    if channel == "bot_response":
        return client.bot_respond(recipient, payload)
    if channel == "external_template":
        payload.setdefault("sender", recipient)
        return client.add_msg_template(payload)
    raise _Dead(f"unknown channel {channel!r}")


def _appchat_create(client: WeComClient, chatid: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Create an internal group under our own chatid. "chatid already exists" means an earlier
    attempt got through and only its answer was lost (our chatids are derived from our own
    rows, see notify.project_chat_id, so nobody else creates them): that is success."""
    try:
        return dict(client.post("appchat/create", data={**payload, "chatid": chatid}))
    except WeComError as exc:
        if exc.code != CHATID_TAKEN:
            raise
        log.info("appchat/create %s: already exists (an earlier attempt); done", chatid)
        return {"errcode": 0, "errmsg": "chatid already exists", "chatid": chatid}


def _wait_for(rt: Runtime, key: str | None) -> None:
    """A row that depends on another (a group's welcome on the group's creation) waits until
    that row is sent, and dies with it."""
    if not key:
        return
    with rt.db.transaction() as session:
        status = session.scalar(
            select(OutboxMessage.status).where(OutboxMessage.idempotency_key == key)
        )
    if status == "sent":
        return
    if status in (None, "dead"):
        raise _Dead(f"{key!r} was not delivered (status {status})")
    raise _Wait(REF_WAIT.total_seconds(), f"waiting for {key!r} to be delivered")


def _resolve_card_update(rt: Runtime, claim: Claim, payload: dict[str, Any]) -> dict[str, Any]:
    """A card update may name the card's outbox key instead of a response_code
    (`response_code_from`), because the update can be queued before the card was delivered.
    A code older than 72 h is spent (D:94888): the row is dead at once, not retried."""
    ref = payload.pop("response_code_from", None)
    issued = payload.pop(ISSUED_AT, None)
    issued_at = datetime.fromisoformat(issued) if issued else claim.created_at
    if not payload.get("response_code") and ref:
        payload["response_code"], issued_at = _card_response_code(rt, ref)
    if issued_at is not None and clock.now() - issued_at > RESPONSE_CODE_TTL:
        raise _Dead("response_code 已失效(超过 72 小时)/ response_code spent (older than 72 h)")
    return payload


def _card_response_code(rt: Runtime, ref: str) -> tuple[str, datetime | None]:
    with rt.db.transaction() as session:
        card = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == ref))
        status = card.status if card is not None else None
        code = card.response_code if card is not None else None
        sent_at = card.sent_at if card is not None else None
    if status == "sent" and code:
        return code, sent_at  # WeCom issued the code when it accepted the card
    if status in (None, "dead") or status == "sent":
        raise _Dead(f"card {ref!r} has no response_code (status {status})")
    raise _Wait(REF_WAIT.total_seconds(), f"waiting for card {ref!r} to be delivered")


# ---------------------------------------------------------------------------- operator actions


def retry(rt: Runtime, message_id: int) -> OutboxMessage:
    """Re-queue a dead message (fresh attempts). Raises LookupError / ValueError."""
    with rt.db.transaction() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            raise LookupError(f"没有编号为 {message_id} 的外发消息")
        if row.status != "dead":
            raise ValueError(f"消息 {message_id} 的状态是 {row.status},只有 dead 的消息可以重试")
        row.status = "pending"
        row.attempts = 0
        row.next_attempt_at = clock.now()
        session.info["outbox_dirty"] = True
        return row
