"""Operations: request ids on log lines, JSON logs, /metrics (closed by default, outbox state,
callback latency, WeCom API calls)."""

from __future__ import annotations

import gzip
import io
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from orderdesk import metrics
from orderdesk.core import clock
from orderdesk.core.logs import logging_config, setup_logging
from orderdesk.models import OutboxMessage
from orderdesk.runtime import Runtime
from orderdesk.wecom.client import get_client


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The process's real logging setup (JSON), writing to a buffer; restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root.handlers = []
    logging.config.dictConfig(logging_config("json"))
    yield stream
    root.handlers, root.level = saved_handlers, saved_level


def test_a_request_log_line_comes_out_as_json_with_the_request_id(
    client: FlaskClient, log_stream: io.StringIO
) -> None:
    res = client.post("/wecom/callback", headers={"X-Request-Id": "edge-proxy-1234"})
    assert res.status_code == 400
    assert res.headers["X-Request-Id"] == "edge-proxy-1234"
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    refused = [x for x in lines if "callback refused" in x["message"]]
    assert refused and refused[0]["request_id"] == "edge-proxy-1234"
    assert refused[0]["level"] == "INFO" and refused[0]["logger"] == "orderdesk.bot.views"


def test_each_request_gets_its_own_id_and_odd_ids_are_replaced(client: FlaskClient) -> None:
    a = client.get("/healthz").headers["X-Request-Id"]
    b = client.get("/healthz").headers["X-Request-Id"]
    assert a != b and len(a) == 8
    odd = client.get("/healthz", headers={"X-Request-Id": "bad id; drop table"})
    assert (
        odd.headers["X-Request-Id"] != "bad id; drop table"
        and len(odd.headers["X-Request-Id"]) == 8
    )


def test_setup_logging_leaves_a_host_configured_root_logger_alone() -> None:
    # pytest's capture handler is on the root logger now, like a host application's would be.
    assert logging.getLogger().handlers
    assert setup_logging("json") is False


def _metrics(client: FlaskClient, addr: str = "127.0.0.1") -> tuple[int, str]:
    res = client.get("/metrics", environ_base={"REMOTE_ADDR": addr})
    return res.status_code, res.get_data(as_text=True)


def test_metrics_are_closed_to_other_networks_unless_allowed(app: Flask, rt: Runtime) -> None:
    client = app.test_client()
    assert _metrics(client)[0] == 200
    assert _metrics(client, "10.1.2.3")[0] == 404
    assert _metrics(client, "not-an-ip")[0] == 404
    rt.settings = rt.settings.with_overrides(metrics_allow="10.0.0.0/8")
    assert _metrics(client, "10.1.2.3")[0] == 200
    assert _metrics(client, "192.168.1.1")[0] == 404


def _value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} not in metrics:\n{text}")


def test_outbox_state_and_scheduler_leader_are_read_at_scrape_time(
    client: FlaskClient, rt: Runtime
) -> None:
    old = clock.now() - timedelta(minutes=12)
    with rt.db.transaction() as s:
        s.add(
            OutboxMessage(
                idempotency_key="k1", channel="app", recipient="u1", payload={}, status="dead"
            )
        )
        s.add(
            OutboxMessage(
                idempotency_key="k2", channel="app", recipient="u2", payload={}, status="pending",
                created_at=old, next_attempt_at=clock.now() + timedelta(days=1),
            )
        )  # fmt: skip
    status, text = _metrics(client)
    assert status == 200
    assert _value(text, "orderdesk_outbox_dead_messages") == 1
    assert _value(text, 'orderdesk_outbox_messages{status="pending"}') == 1
    assert _value(text, "orderdesk_outbox_oldest_pending_seconds") >= 12 * 60
    # Without Redis the scheduler runs in this process; with Redis nobody holds the lock here.
    assert _value(text, "orderdesk_scheduler_leader") == (1 if rt.redis is None else 0)


def test_callback_latency_is_labelled_by_channel_and_command(client: FlaskClient) -> None:
    sample = 'orderdesk_callback_seconds_count{channel="bot",command="refused"}'
    before = _metrics(client)[1]
    start = _value(before, sample) if sample + " " in before else 0.0
    client.post("/wecom/bot")  # no signature: refused
    assert _value(_metrics(client)[1], sample) == start + 1


@responses.activate
def test_wecom_api_calls_are_counted_by_endpoint_and_errcode(
    client: FlaskClient, rt: Runtime
) -> None:
    base = rt.settings.wecom_api_base
    responses.get(f"{base}/gettoken", json={"errcode": 0, "access_token": "T", "expires_in": 7200})
    responses.post(f"{base}/message/send", json={"errcode": 81013, "errmsg": "user invalid"})
    sample = 'orderdesk_wecom_api_calls_total{endpoint="message/send",errcode="81013"}'
    before = _metrics(client)[1]
    start = _value(before, sample) if sample + " " in before else 0.0
    with pytest.raises(Exception, match="81013"):
        get_client(rt).send_text("nobody", "你好")
    assert _value(_metrics(client)[1], sample) == start + 1


def test_sentry_is_off_without_a_dsn() -> None:
    import sentry_sdk

    from orderdesk.core.logs import setup_sentry

    assert setup_sentry("", "web") is False
    assert not sentry_sdk.get_client().is_active()


def test_sentry_reports_an_error_with_its_request_id(tmp_path: Path) -> None:
    """A real sentry-sdk client (in a child process: it patches Flask and logging globally)
    posting to a local stand-in for the Sentry server."""
    received: list[bytes] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    dsn = f"http://publickey@127.0.0.1:{server.server_port}/42"
    script = (
        "import sentry_sdk\n"
        "from orderdesk.core.logs import request_scope, setup_sentry\n"
        f"assert setup_sentry({dsn!r}, 'worker')\n"
        "with request_scope('REQ12345'):\n"
        "    try:\n"
        "        1 / 0\n"
        "    except ZeroDivisionError as exc:\n"
        "        sentry_sdk.capture_exception(exc)\n"
        "sentry_sdk.flush(5)\n"
    )
    root = Path(__file__).resolve().parents[2]
    try:
        subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    text = b"".join(received).decode("utf-8", "replace")
    assert "ZeroDivisionError" in text
    assert '"request_id":"REQ12345"' in text.replace(" ", "")
    assert '"component":"worker"' in text.replace(" ", "")


def test_in_process_jobs_are_counted_and_keep_the_request_id(rt: Runtime) -> None:
    """Without Redis a job runs on the web process's pool: counted in memory, logged under the
    id of the request that queued it."""
    from orderdesk.core.logs import current_request_id, request_scope
    from orderdesk.jobqueue import JobQueue

    queue = JobQueue(rt.settings.with_overrides(jobs_sync=False), None)
    ns = rt.settings.redis_namespace
    name = f"{current_request_id.__module__}.{current_request_id.__name__}"
    # Counted where the queue lives: no Redis, so this process's memory (as in `serve`).
    before = metrics.shared.read(queue.redis, ns, "job_runs").get((name, "ok"), 0)
    try:
        with request_scope("QUEUEDBY1"):
            future = queue.enqueue(current_request_id)
        assert future.result(timeout=10) == "QUEUEDBY1"
    finally:
        queue.shutdown()
    assert metrics.shared.read(queue.redis, ns, "job_runs")[(name, "ok")] == before + 1
