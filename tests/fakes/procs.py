"""Entry points run in other processes by the tests (multiprocessing / subprocess)."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any


def fetch_tokens(api_base: str, redis_url: str, namespace: str, barrier: Any, out: Any) -> None:
    """Five threads of this process ask for the token at the same moment."""
    from redis import Redis

    from orderdesk.wecom.client import WeComClient

    client = WeComClient(
        corp_id="wwtest",
        secret="multi-process-secret",
        agent_id=1000002,
        api_base=api_base,
        redis=Redis.from_url(redis_url) if redis_url else None,
        namespace=namespace,
    )

    def one() -> None:
        barrier.wait(timeout=30)
        out.put(client.access_token)

    threads = [threading.Thread(target=one) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_delivery_worker() -> None:
    """`python -m tests.fakes.procs`: one outbox delivery pass with settings from the env."""
    from orderdesk import runtime
    from orderdesk.settings import load_settings
    from orderdesk.wecom.delivery import deliver_due

    rt = runtime.install(runtime.build_runtime(load_settings(dict(os.environ), dotenv=False)))
    print("delivered", deliver_due(rt), flush=True)
    rt.close()


if __name__ == "__main__":
    run_delivery_worker()
    sys.exit(0)
