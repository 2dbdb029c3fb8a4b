"""Send-rate limits shared by every process (Redis), or per process without Redis.

WeCom silently DROPS app messages beyond 30/min or 1000/h per member, so the limit must be
strict. A classic token bucket of capacity N refilling N per window lets up to 2N through in
some window; we therefore keep a sliding-window log per bucket (a Redis sorted set of send
times): a send is admitted only if every bucket it touches has room in its trailing window, and
then it is recorded in all of them atomically (one Lua script). When a bucket is full the caller
learns how long to wait, and the outbox reschedules the message for then: it is never dropped.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis import Redis


@dataclass(frozen=True)
class Limit:
    key: str
    count: int
    window_seconds: float


@dataclass(frozen=True)
class RateLimits:
    """The platform limits (WECOM.md). Tests may pass smaller ones."""

    member_per_minute: int = 30
    member_per_hour: int = 1000
    webhook_per_minute: int = 20
    api_per_minute: int = 10_000
    api_per_hour: int = 150_000
    minute: float = 60.0
    hour: float = 3600.0


def _h(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def limits_for(
    limits: RateLimits, *, channel: str, recipient: str, agent_id: int, api: str
) -> list[Limit]:
    """Every bucket a message on `channel` to `recipient` counts against."""
    out: list[Limit] = []
    if channel == "webhook":
        out.append(Limit(f"webhook:{_h(recipient)}", limits.webhook_per_minute, limits.minute))
        return out
    if channel == "bot_response":
        return out  # one POST per response_url; no documented rate
    out.append(Limit(f"api:{api}", limits.api_per_minute, limits.minute))
    out.append(Limit(f"api:{api}:h", limits.api_per_hour, limits.hour))
    if channel == "app_message":
        for uid in sorted({u for u in recipient.split("|") if u and u != "@all"}):
            member = f"member:{agent_id}:{uid}"
            out.append(Limit(f"{member}:m", limits.member_per_minute, limits.minute))
            out.append(Limit(f"{member}:h", limits.member_per_hour, limits.hour))
    return out


_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  if n >= limit then
    local oldest = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w < 1 then w = 1 end
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, id)
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return 0
"""


class RateLimiter:
    """`acquire(limits)` -> 0.0 when the send may go now, else seconds to wait."""

    def __init__(self, redis: Redis | None = None, namespace: str = "orderdesk") -> None:
        self.redis = redis
        self.prefix = f"{namespace}:wecom:rl:"
        self._lock = threading.Lock()
        self._logs: dict[str, deque[float]] = {}

    def acquire(self, limits: list[Limit]) -> float:
        if not limits:
            return 0.0
        if self.redis is not None:
            keys = [self.prefix + lim.key for lim in limits]
            args: list[str | int] = [uuid.uuid4().hex]
            for lim in limits:
                args += [lim.count, int(lim.window_seconds * 1000)]
            wait_ms = int(self.redis.eval(_ACQUIRE, len(keys), *keys, *args))
            return wait_ms / 1000.0
        return self._acquire_local(limits)

    def _acquire_local(self, limits: list[Limit]) -> float:
        now = time.monotonic()
        with self._lock:
            wait = 0.0
            for lim in limits:
                log = self._logs.setdefault(lim.key, deque())
                while log and log[0] <= now - lim.window_seconds:
                    log.popleft()
                if len(log) >= lim.count:
                    oldest = log[len(log) - lim.count]
                    wait = max(wait, oldest + lim.window_seconds - now, 0.001)
            if wait > 0:
                return wait
            for lim in limits:
                self._logs[lim.key].append(now)
            return 0.0
