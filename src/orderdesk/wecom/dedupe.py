"""Inbound dedupe: claim an event before any effect, remember the reply for retried deliveries.

WeCom delivers a callback up to three times (no answer in 5 s, or a non-200). The first delivery
claims the event's key; a retry finds the claim and gets the cached plaintext reply (re-sealed),
so a reply lost on the way reaches the user on the retry without the command running twice.

Store: Redis `SET NX` with a 48 h expiry when the runtime has Redis, else an `InboundEvent` row
(unique key). If Redis fails at callback time we fall back to the row: the callback must still be
answered. Values: "P" while the first delivery is being handled, "W" once a retry found it still
running and answered "processing" (WeCom has dropped the first connection then, so the first
delivery's reply must go through the outbox), "D" + reply once answered.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from orderdesk.core import clock
from orderdesk.models.wecom import InboundEvent

if TYPE_CHECKING:
    from orderdesk.runtime import Runtime

log = logging.getLogger(__name__)

TTL_SECONDS = 48 * 3600
_PENDING = "P"
_WAITING = "W"  # Redis value; in the database the row's reply holds it (a real reply never is)
_DONE = "D"

# Atomic on Redis: a retry marks a running claim, and the first delivery learns of the mark.
_MARK_WAITING = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end
return 0
"""
_COMPLETE = """
local was = redis.call('GET', KEYS[1])
if was == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4]) return 1 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[4]) return 0
"""

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
    # The row exists (its insert just clashed); it can only vanish if pruned meanwhile: busy.
    return _claimed_in_db(rt, key, channel) or Claim(key, channel, "busy", "db")


def _claimed_in_db(rt: Runtime, key: str, channel: str) -> Claim | None:
    """The claim a fallback made in the database, if any: an indexed read per new callback, so a
    retry that arrives just after a Redis outage is not handled twice."""
    with rt.db.transaction() as session:
        row = session.execute(
            select(InboundEvent.reply).where(InboundEvent.dedupe_key == key)
        ).first()
    if row is None:
        return None
    if row.reply is None or row.reply == _WAITING:
        return Claim(key, channel, "busy", "db")
    return Claim(key, channel, "done", "db", row.reply)


def wait_for_first(rt: Runtime, c: Claim) -> str | None:
    """A retry found the first delivery still running (`busy`): mark the claim so the first
    delivery sends its reply through the outbox, and answer "processing" (None). If the first
    finished in the meantime, return its cached reply instead."""
    try:
        if c.store == "redis" and rt.redis is not None:
            args = (_PENDING, _WAITING, TTL_SECONDS)
            if rt.redis.eval(_MARK_WAITING, 1, _redis_key(rt, c.key), *args):
                return None
        else:
            with rt.db.transaction() as session:
                marked = session.execute(
                    update(InboundEvent)
                    .where(InboundEvent.dedupe_key == c.key, InboundEvent.reply.is_(None))
                    .values(reply=_WAITING)
                )
            if getattr(marked, "rowcount", 0):
                return None
    except Exception:
        log.warning("dedupe: could not mark %s as waited for", c.key, exc_info=True)
        return None
    again = claim(rt, c.key, c.channel)
    return again.reply if again.state == "done" else None


def complete(rt: Runtime, c: Claim, reply: str, *, late: str = "") -> bool:
    """Record the plaintext reply we answered with (may be "": no passive reply).

    True when a retry answered "processing" while we ran: WeCom has dropped this delivery's
    connection, so the caller sends the reply through the outbox; `late` (what the retry
    said) is then what later retries get."""
    if c.store == "redis" and rt.redis is not None:
        try:
            args = (_WAITING, _DONE + reply, _DONE + late, TTL_SECONDS)
            return bool(rt.redis.eval(_COMPLETE, 1, _redis_key(rt, c.key), *args))
        except Exception as exc:
            log.warning("dedupe: could not cache the reply in Redis (%s)", type(exc).__name__)
            _claim_db(rt, c.key, c.channel)  # keep the claim somewhere durable
    with rt.db.transaction() as session:
        done = session.execute(
            update(InboundEvent)
            .where(
                InboundEvent.dedupe_key == c.key,
                or_(InboundEvent.reply.is_(None), InboundEvent.reply != _WAITING),
            )
            .values(reply=reply)
        )
        if getattr(done, "rowcount", 0):
            return False
        session.execute(
            update(InboundEvent).where(InboundEvent.dedupe_key == c.key).values(reply=late)
        )
        return True


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
