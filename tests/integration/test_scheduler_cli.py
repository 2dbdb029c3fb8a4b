"""`orderdesk scheduler --list / --once JOB` and `orderdesk worker` as operators run them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from orderdesk import metrics
from orderdesk.cli import main
from orderdesk.core import clock
from orderdesk.jobs import money
from orderdesk.models import OutboxMessage
from orderdesk.money.plans import generate_plan
from orderdesk.runtime import Runtime, build_runtime
from tests.money_world import contract_of, order_with_contract, private_redis, staff


def env_of(rt: Runtime, **extra: str) -> dict[str, str]:
    s = rt.settings
    return {
        "DATABASE_URL": s.database_url,
        "REDIS_URL": s.redis_url,
        "REDIS_NAMESPACE": s.redis_namespace,
        "JOBS_SYNC": "true",
        "WECOM_API_BASE": s.wecom_api_base,
        **extra,
    }


def overdue_world(rt: Runtime) -> None:
    yesterday = clock.today(rt.settings.tz) - timedelta(days=1)
    with rt.db.transaction() as s:
        owner = staff(s, "sales1", "sales")
        terms: list[dict[str, Any]] = [
            {"name": "全款", "percent": "100", "trigger": "on_date", "date": yesterday.isoformat()}
        ]
        order = order_with_contract(s, owner=owner, terms=terms)
        generate_plan(s, contract=contract_of(order), order=order)


def test_list_prints_every_job_with_next_run(rt: Runtime) -> None:
    result = CliRunner().invoke(main, ["scheduler", "--list"], env=env_of(rt))
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    names = [line.split()[0] for line in lines]
    assert names == [
        "money.reminders",
        "money.morning_digest",
        "projects.weekly_digest",
        "money.client_reminders",
        "approvals.remind_and_escalate",
        "tickets.sla_scan",
        "outbox.sweep",
        "inbound.prune",
        "reports.weekly_management",
        "reports.monthly_finance_pack",
        "reports.ar_balances",
    ]
    assert all("CST" in line for line in lines)  # next run shown in the company time zone
    assert "未实现" not in result.output


def test_once_runs_a_job_now_and_unknown_jobs_are_refused(rt: Runtime) -> None:
    overdue_world(rt)
    runner = CliRunner()
    result = runner.invoke(main, ["scheduler", "--once", "money.reminders"], env=env_of(rt))
    assert result.exit_code == 0, result.output
    assert "'dunning': 1" in result.output
    with rt.db.transaction() as s:
        keys = s.scalars(select(OutboxMessage.idempotency_key)).all()
    assert len(keys) == 1 and keys[0].startswith("dun:") and keys[0].endswith(":1")
    bad = runner.invoke(main, ["scheduler", "--once", "nope"], env=env_of(rt))
    assert bad.exit_code == 2 and "未知任务" in bad.output


def test_worker_runs_enqueued_jobs_from_all_queues(rt: Runtime) -> None:
    overdue_world(rt)
    if not rt.settings.redis_url:
        no_redis = CliRunner().invoke(main, ["worker"], env=env_of(rt))
        assert no_redis.exit_code == 0 and "serve" in no_redis.output
    with private_redis() as (_client, url):
        env = env_of(rt, REDIS_URL=url, JOBS_SYNC="false")
        producer = build_runtime(rt.settings.with_overrides(redis_url=url, jobs_sync=False))
        try:
            producer.queue.enqueue(money.due_soon_and_dunning, queue="default")
            producer.queue.enqueue(money.client_reminders, queue="low")
            assert producer.queue.rq_queue("default").count == 1
            result = CliRunner().invoke(main, ["worker", "--burst"], env=env)
            assert result.exit_code == 0, result.output
            assert producer.queue.rq_queue("default").count == 0
            assert producer.queue.rq_queue("low").count == 0
            # Each run is counted (in Redis: the work horse is a forked child) for /metrics.
            runs = metrics.shared.read(_client, producer.settings.redis_namespace, "job_runs")
            assert runs[("orderdesk.jobs.money.due_soon_and_dunning", "ok")] == 1
            assert runs[("orderdesk.jobs.money.client_reminders", "ok")] == 1
        finally:
            producer.close()
    with rt.db.transaction() as s:
        keys = s.scalars(select(OutboxMessage.idempotency_key)).all()
    assert [k.split(":")[0] for k in keys] == ["dun"]


def test_standalone_scheduler_needs_redis(rt: Runtime) -> None:
    env = env_of(rt, REDIS_URL="")
    result = CliRunner().invoke(main, ["scheduler"], env=env)
    assert result.exit_code == 1 and "serve" in result.output
