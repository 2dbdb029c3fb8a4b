"""Inbound dedupe: claim an event before any effect, remember the reply for retried deliveries.

WeCom delivers a callback up to three times (no answer in 5 s, or a non-200). The first delivery
claims the event's key; a retry finds the claim and gets the cached plaintext reply (re-sealed),
so a reply lost on the way reaches the user on the retry without the command running twice.

Store: Redis `SET NX` with a 48 h expiry when the runtime has Redis, else an `InboundEvent` row
(unique key). If Redis fails at callback time we fall back to the row: the callback must still be
answered. Values: "P" while the first delivery is being handled, "D" + reply once answered.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from models.wecom import InboundEvent
from services import clock

if TYPE_CHECKING:
    from runtime import Runtime

log = logging.getLogger(__name__)

TTL_SECONDS = 48 * 3600
_PENDING = "P"
_DONE = "D"

State = Literal["new", "done", "busy"]


@dataclass(frozen=True)
class Claim:
    key: str
    channel: str
    state: State  # new: we own it; done: answered before (reply); busy: first still running
    store: Literal["redis", "db"]
    reply: str = ""


def normalize_key(key: str) -> str:
    """Keys fit InboundEvent.dedupe_key (300): a card's event key alone may be 1024 bytes."""
    if len(key) <= 200:
        return key
    return key[:150] + "#" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _redis_key(rt: Runtime, key: str) -> str:
    return f"{rt.settings.redis_namespace}:inbound:{key}"


def claim(rt: Runtime, key: str, channel: str) -> Claim:
    key = normalize_key(key)
    if rt.redis is not None:
        try:
            return _claim_redis(rt, key, channel)
        except Exception as exc:  # redis-py raises ConnectionError/TimeoutError/...: all mean down
            log.warning("dedupe: Redis unavailable (%s); using the database", type(exc).__name__)
    return _claim_db(rt, key, channel)


def _claim_redis(rt: Runtime, key: str, channel: str) -> Claim:
    assert rt.redis is not None
    rkey = _redis_key(rt, key)
    if rt.redis.set(rkey, _PENDING, nx=True, ex=TTL_SECONDS):
        earlier = _claimed_in_db(rt, key, channel)
        if earlier is None:
            return Claim(key, channel, "new", "redis")
        # First seen while Redis was down (or before it lost its data): the database knows.
        rt.redis.delete(rkey)
        return earlier
    raw = rt.redis.get(rkey)
    value = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw or "")
    if value.startswith(_DONE):
        return Claim(key, channel, "done", "redis", value[1:])
    return Claim(key, channel, "busy", "redis")


def _claim_db(rt: Runtime, key: str, channel: str) -> Claim:
    try:
        with rt.db.transaction() as session:
            session.add(
                InboundEvent(dedupe_key=key, channel=channel, reply=None, received_at=clock.now())
            )
        return Claim(key, channel, "new", "db")
    except IntegrityError:
        pass
    with rt.db.transaction() as session:
        reply = session.scalar(select(InboundEvent.reply).where(InboundEvent.dedupe_key == key))
    if reply is None:
        return Claim(key, channel, "busy", "db")
    return Claim(key, channel, "done", "db", reply)


def _claimed_in_db(rt: Runtime, key: str, channel: str) -> Claim | None:
    """The claim a fallback made in the database, if any: an indexed read per new callback, so a
    retry that arrives just after a Redis outage is not handled twice."""
    with rt.db.transaction() as session:
        row = session.execute(
            select(InboundEvent.reply).where(InboundEvent.dedupe_key == key)
        ).first()
    if row is None:
        return None
    if row.reply is None:
        return Claim(key, channel, "busy", "db")
    return Claim(key, channel, "done", "db", row.reply)


def complete(rt: Runtime, c: Claim, reply: str) -> None:
    """Record the plaintext reply we answered with (may be "": no passive reply)."""
    if c.store == "redis" and rt.redis is not None:
        try:
            rt.redis.set(_redis_key(rt, c.key), _DONE + reply, ex=TTL_SECONDS)
            return
        except Exception as exc:
            log.warning("dedupe: could not cache the reply in Redis (%s)", type(exc).__name__)
            _claim_db(rt, c.key, c.channel)  # keep the claim somewhere durable
    with rt.db.transaction() as session:
        session.execute(
            update(InboundEvent).where(InboundEvent.dedupe_key == c.key).values(reply=reply)
        )


def release(rt: Runtime, c: Claim) -> None:
    """Forget a claim whose handling failed before any effect, so a retry may run it again."""
    try:
        if c.store == "redis" and rt.redis is not None:
            rt.redis.delete(_redis_key(rt, c.key))
            return
        with rt.db.transaction() as session:
            session.execute(delete(InboundEvent).where(InboundEvent.dedupe_key == c.key))
    except Exception:
        log.warning("dedupe: could not release %s", c.key, exc_info=True)


def prune(rt: Runtime, *, older_than_hours: int = 48) -> int:
    """Delete InboundEvent rows past the retry window (Redis keys expire by themselves).
    Meant for a daily scheduled job; returns how many rows went."""
    cutoff = clock.now() - timedelta(hours=older_than_hours)
    with rt.db.transaction() as session:
        result = session.execute(delete(InboundEvent).where(InboundEvent.received_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
