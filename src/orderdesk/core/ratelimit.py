"""Fixed-window login rate limit per client IP: Redis when configured (shared by every web
worker), otherwise in-process (one worker, tests)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from redis import Redis, RedisError

from orderdesk.core import clock

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
DEFAULT_LOGIN_LIMIT = 10


@dataclass
class LoginLimiter:
    limit: int
    redis: Redis | None
    namespace: str
    _counts: dict[tuple[str, int], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # What is counted (the key's middle part): API logins, client page views, ...
    scope: str = "api:login"

    def hit(self, ip: str) -> int | None:
        """Count one attempt; None when allowed, else seconds until the window resets."""
        now = int(clock.now().timestamp())
        window = now // WINDOW_SECONDS
        retry_after = (window + 1) * WINDOW_SECONDS - now
        count = None
        if self.redis is not None:
            try:
                count = self._hit_shared(self.redis, ip, window)
            except RedisError as exc:
                # Redis down must not lock everybody out (nor let everybody through): count in
                # this process until it is back.
                log.warning("login limiter falls back to in-process counting: %s", exc)
        if count is None:
            count = self._hit_local(ip, window)
        return retry_after if count > self.limit else None

    def _hit_shared(self, redis: Redis, ip: str, window: int) -> int:
        key = f"{self.namespace}:{self.scope}:{ip}:{window}"
        pipe = redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS * 2)
        return int(pipe.execute()[0])

    def _hit_local(self, ip: str, window: int) -> int:
        with self._lock:
            # Old windows are dropped so the dict cannot grow without bound.
            for stale in [k for k in self._counts if k[1] < window]:
                del self._counts[stale]
            count = self._counts.get((ip, window), 0) + 1
            self._counts[(ip, window)] = count
            return count
