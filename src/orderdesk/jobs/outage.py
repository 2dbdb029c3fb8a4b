"""How a long-running process (worker, scheduler) lives through a Redis outage.

It keeps retrying with exponential backoff and logs the outage once when it starts, about once a
minute while it lasts, and once when it ends. After `give_up_after` seconds of continuous failure
it gives up (`RedisGaveUp`): the command exits with status 1 and the supervisor (systemd
`Restart=always`) starts it again, so an operator sees the restarts rather than a silent process.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


class RedisGaveUp(RuntimeError):
    """Redis stayed unreachable longer than the process is willing to wait."""


class Outage:
    def __init__(
        self, what: str, give_up_after: float, *, first: float = 1.0, cap: float = 30.0
    ) -> None:
        self.what, self.give_up_after, self.first, self.cap = what, give_up_after, first, cap
        self.since: float | None = None
        self._wait = first
        self._last_log = 0.0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException) -> float:
        """Record a failed attempt; return how long to wait before the next one."""
        now = time.monotonic()
        if self.since is None:
            self.since, self._wait, self._last_log = now, self.first, now
            log.warning("%s: Redis unreachable (%s); retrying with backoff", self.what, error)
        else:
            self._wait = min(self._wait * 2, self.cap)
            if now - self._last_log >= 60:
                self._last_log = now
                log.warning(
                    "%s: Redis still unreachable after %.0f s (%s)",
                    self.what,
                    now - self.since,
                    error,
                )
        down_for = now - self.since
        if down_for >= self.give_up_after:
            log.error("%s: Redis unreachable for %.0f s; giving up", self.what, down_for)
            raise RedisGaveUp(f"{self.what}: Redis unreachable for {down_for:.0f} s")
        return min(self._wait, self.give_up_after - down_for + 0.1)

    def ok(self) -> None:
        if self.since is not None:
            log.warning(
                "%s: Redis reachable again after %.0f s", self.what, time.monotonic() - self.since
            )
        self.since, self._wait = None, self.first
