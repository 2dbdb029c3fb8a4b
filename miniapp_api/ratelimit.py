"""Fixed-window login rate limit per client IP: Redis when configured (shared by every web
worker), otherwise in-process (one worker, tests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from redis import Redis

from services import clock

WINDOW_SECONDS = 60
DEFAULT_LOGIN_LIMIT = 10


@dataclass
class LoginLimiter:
    limit: int
    redis: Redis | None
    namespace: str
    _counts: dict[tuple[str, int], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, ip: str) -> int | None:
        """Count one attempt; None when allowed, else seconds until the window resets."""
        now = int(clock.now().timestamp())
        window = now // WINDOW_SECONDS
        retry_after = (window + 1) * WINDOW_SECONDS - now
        if self.redis is not None:
            key = f"{self.namespace}:api:login:{ip}:{window}"
            pipe = self.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS * 2)
            count = int(pipe.execute()[0])
        else:
            with self._lock:
                # Old windows are dropped so the dict cannot grow without bound.
                for stale in [k for k in self._counts if k[1] < window]:
                    del self._counts[stale]
                count = self._counts.get((ip, window), 0) + 1
                self._counts[(ip, window)] = count
        return retry_after if count > self.limit else None
