"""Switch a test runtime to WECOM_MODE=live against the fake WeCom server.

One helper for every test that needs real delivery over HTTP (outbox, collections, CLI), so the
live settings and the fast-failing client are set up the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orderdesk.runtime import Runtime
from orderdesk.wecom import tokens
from orderdesk.wecom.client import WeComClient
from tests.fakes.wecom_server import FakeWeCom

LIVE_AES_KEY = "TGl2ZU1vZGVLZXlGb3JPdXRib3hUZXN0c09ubHkxMjM"


@contextmanager
def fake_wecom() -> Iterator[FakeWeCom]:
    server = FakeWeCom().start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def go_live(
    rt: Runtime,
    fake: FakeWeCom,
    *,
    timeout: tuple[float, float] = (1.0, 1.0),
    busy_retries: int | None = None,
    busy_backoff: float | None = None,
    **settings: Any,
) -> Iterator[Runtime]:
    """`rt` in live mode against `fake`, with short client timeouts; token caches cleared."""
    tokens.clear_local_cache()
    rt.settings = rt.settings.with_overrides(
        wecom_mode="live",
        wecom_api_base=fake.base,
        wecom_secret="live-test-secret",
        wecom_token="livetoken",
        wecom_aes_key=LIVE_AES_KEY,
        secret_key="x" * 32,
        **settings,
    )
    options: dict[str, Any] = {}
    if busy_retries is not None:
        options["busy_retries"] = busy_retries
    if busy_backoff is not None:
        options["busy_backoff"] = busy_backoff
    rt.extensions["orderdesk.wecom.client"] = WeComClient(
        corp_id=rt.settings.wecom_corp_id,
        secret=rt.settings.wecom_secret,
        agent_id=rt.settings.wecom_agent_id,
        api_base=fake.base,
        redis=rt.redis,
        namespace=rt.settings.redis_namespace,
        timeout=timeout,
        **options,
    )
    try:
        yield rt
    finally:
        tokens.clear_local_cache()
