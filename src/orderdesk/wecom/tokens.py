"""The access token, shared by every process.

WeCom issues one token per app secret and invalidates older ones when fetched too eagerly, so the
token lives in Redis: one process refreshes it under a `SET NX` lock while the others wait and
read. It is cached until `expires_in - 300` seconds. A caller that saw a token rejected calls
`invalidate(stale)`, which only drops the cached token if it is still that stale one, so twenty
callers hitting 42001 together cause one refetch, not twenty.

Without Redis (or when Redis fails) the cache is in-process, guarded by a lock.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

EARLY_REFRESH = 300  # seconds before expiry at which the token is considered stale
MIN_TTL = 30

Fetcher = Callable[[], tuple[str, int]]  # -> (access_token, expires_in seconds)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _ttl(expires_in: int) -> int:
    return max(MIN_TTL, int(expires_in) - EARLY_REFRESH)


class _Local:
    """Process-wide in-memory cache shared by every client with the same key."""

    lock = threading.Lock()
    values: dict[str, tuple[str, float]] = {}


class TokenStore:
    def __init__(
        self,
        *,
        fetch: Fetcher,
        corp_id: str,
        secret: str,
        redis: Redis | None = None,
        namespace: str = "orderdesk",
        lock_seconds: float = 10.0,
        poll_seconds: float = 0.05,
    ) -> None:
        self._fetch = fetch
        ident = hashlib.sha256(f"{corp_id}:{secret}".encode()).hexdigest()[:16]
        self.key = f"{namespace}:wecom:token:{ident}"
        self.lock_key = f"{self.key}:lock"
        self.redis = redis
        self.lock_seconds = lock_seconds
        self.poll_seconds = poll_seconds

    # ------------------------------------------------------------------ public

    def get(self) -> str:
        if self.redis is not None:
            try:
                return self._get_shared(self.redis)
            except _RedisUnavailable:
                log.warning("Redis unavailable for the WeCom token; using the in-process cache")
        return self._get_local()

    def invalidate(self, stale: str) -> None:
        """Forget `stale` (only if it is still the cached token)."""
        if self.redis is not None:
            try:
                self.redis.eval(_RELEASE, 1, self.key, stale)
            except Exception:
                log.warning("Redis unavailable while invalidating the WeCom token", exc_info=True)
        with _Local.lock:
            cached = _Local.values.get(self.key)
            if cached is not None and cached[0] == stale:
                del _Local.values[self.key]

    # ------------------------------------------------------------------ in-process

    def _get_local(self) -> str:
        with _Local.lock:
            cached = _Local.values.get(self.key)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
            # Holding the lock while fetching makes concurrent threads wait for one fetch.
            token, expires_in = self._fetch()
            _Local.values[self.key] = (token, time.monotonic() + _ttl(expires_in))
            return token

    # ------------------------------------------------------------------ Redis

    def _get_shared(self, redis: Redis) -> str:
        deadline = time.monotonic() + self.lock_seconds * 2
        while True:
            token = self._read(redis)
            if token:
                return token
            owner = uuid.uuid4().hex
            if self._acquire(redis, owner):
                try:
                    # Someone may have stored a fresh token between our read and the lock.
                    token = self._read(redis)
                    if token:
                        return token
                    token, expires_in = self._fetch()
                    self._store(redis, token, expires_in)
                    return token
                finally:
                    self._release(redis, owner)
            if time.monotonic() > deadline:
                raise TimeoutError("timed out waiting for another process to fetch the token")
            time.sleep(self.poll_seconds)

    def _read(self, redis: Redis) -> str | None:
        try:
            raw = redis.get(self.key)
        except Exception as exc:
            raise _RedisUnavailable from exc
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def _acquire(self, redis: Redis, owner: str) -> bool:
        try:
            return bool(redis.set(self.lock_key, owner, nx=True, px=int(self.lock_seconds * 1000)))
        except Exception as exc:
            raise _RedisUnavailable from exc

    def _store(self, redis: Redis, token: str, expires_in: int) -> None:
        try:
            redis.set(self.key, token, ex=_ttl(expires_in))
        except Exception:
            log.warning("could not store the WeCom token in Redis", exc_info=True)

    def _release(self, redis: Redis, owner: str) -> None:
        try:
            redis.eval(_RELEASE, 1, self.lock_key, owner)
        except Exception:
            log.warning("could not release the WeCom token lock", exc_info=True)


class _RedisUnavailable(Exception):
    pass


def clear_local_cache() -> None:
    """Forget every in-process token (tests; a process that changed its secret)."""
    with _Local.lock:
        _Local.values.clear()
