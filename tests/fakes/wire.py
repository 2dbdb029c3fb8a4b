"""Redis of the test run without a database, for client and rate-limiter tests.

They need no tables, so they skip the `rt` fixture's truncation; each test gets a Redis
namespace of its own (inside the run's namespace, so the session cleanup catches leftovers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from redis import Redis

from tests.conftest import RUN_ID


@dataclass
class WireSettings:
    redis_url: str
    redis_namespace: str


@dataclass
class Wire:
    redis: Redis | None  # None on the SQLite run (no Redis): in-process variants
    settings: WireSettings


def make_wire(redis_url: str) -> Iterator[Wire]:
    namespace = f"odtest-{RUN_ID}-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url) if redis_url else None
    yield Wire(redis, WireSettings(redis_url, namespace))
    if redis is not None:
        for key in redis.scan_iter(match=f"{namespace}:*"):
            redis.delete(key)
        redis.close()
