"""What runs when, and making sure it runs once.

The scheduler only enqueues (workers do the work). Several schedulers may be started; one holds
a Redis lock (expiry + heartbeat) and is the only one that fires. When it dies the lock expires
and another takes over within `ttl + heartbeat` seconds (30 + 10 by default, under a minute).

Each job's last scheduled run is stored in Redis and claimed atomically (compare-and-set on the
scheduled time), so a run fires once even if two schedulers think they lead for a moment, and a
run missed while no scheduler was up is caught up once (only the latest missed run), never twice.
A claim stands only together with a successful enqueue: when the enqueue fails (Redis down) the
claim is given back, and the leader's next heartbeat catches the run up.
Without Redis there is one in-process scheduler (inside `serve`) and a memory ledger: it never
catches up across restarts, because it cannot know what already ran.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from orderdesk.core import clock
from orderdesk.core.logs import request_scope
from orderdesk.jobs.outage import Outage
from orderdesk.money.schedule import MoneyConfig

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from redis import Redis

    from orderdesk.runtime import Runtime
    from orderdesk.settings import Settings

log = logging.getLogger(__name__)

LOOKBACKS = (timedelta(minutes=3), timedelta(hours=3), timedelta(days=2), timedelta(days=9))


@dataclass(frozen=True)
class JobSpec:
    name: str
    target: str  # "module:function"
    queue: str
    trigger: CronTrigger
    description: str

    def resolve(self) -> Callable[..., Any] | None:
        module, _, attr = self.target.partition(":")
        try:
            func: Callable[..., Any] = getattr(importlib.import_module(module), attr)
            return func
        except (ImportError, AttributeError):
            return None


def job_specs(settings: Settings) -> list[JobSpec]:
    """Every scheduled job, in the company time zone. Batch minutes avoid :00 and :30."""
    tz = settings.tz
    cfg = MoneyConfig.from_settings(settings)
    digest, weekly = cfg.digest_time, cfg.weekly_time
    return [
        JobSpec(
            "money.reminders",
            "orderdesk.jobs.money:due_soon_and_dunning",
            "default",
            CronTrigger(hour="9-19", minute=17, timezone=tz),
            "到期提醒与逾期催收(每小时,工作时间内发送)",
        ),
        JobSpec(
            "money.morning_digest",
            "orderdesk.jobs.money:morning_digest",
            "low",
            CronTrigger(day_of_week="mon-fri", hour=digest.hour, minute=digest.minute, timezone=tz),
            "每日早报(工作日,节假日跳过)",
        ),
        JobSpec(
            "projects.weekly_digest",
            "orderdesk.jobs.money:weekly_project_digest",
            "low",
            CronTrigger(
                day_of_week=cfg.weekly_day, hour=weekly.hour, minute=weekly.minute, timezone=tz
            ),
            "项目群周报",
        ),
        JobSpec(
            "money.client_reminders",
            "orderdesk.jobs.money:client_reminders",
            "low",
            CronTrigger(day_of_week="mon-fri", hour=10, minute=13, timezone=tz),
            "客户付款提醒(需销售确认发送,受每月上限约束)",
        ),
        JobSpec(
            "approvals.remind_and_escalate",
            "orderdesk.jobs.approvals:remind_and_escalate",
            "default",
            CronTrigger(minute="7,22,37,52", timezone=tz),
            "审批提醒与升级",
        ),
        JobSpec(
            "tickets.sla_scan",
            "orderdesk.jobs.tickets:sla_scan",
            "default",
            CronTrigger(minute="4,14,24,34,44,54", timezone=tz),
            "工单 SLA 提醒与超时升级(每 10 分钟;非全天候工单仅在工作时间内)",
        ),
        JobSpec(
            "outbox.sweep",
            "orderdesk.jobs.outbox:sweep",
            "high",
            CronTrigger(minute="*", second=41, timezone=tz),
            "消息外发补偿扫描",
        ),
        JobSpec(
            "inbound.prune",
            "orderdesk.jobs.outbox:prune_inbound",
            "low",
            CronTrigger(hour=3, minute=23, timezone=tz),
            "清理超过重试窗口的回调去重记录",
        ),
        *report_specs(tz),  # reports (issue 13)
    ]


def report_specs(tz: ZoneInfo) -> list[JobSpec]:
    """Reports (issue 13): each job fires daily and acts only on the first working day of the
    week / month (a holiday Monday moves the weekly report to the next working day)."""
    return [
        JobSpec(
            "reports.weekly_management",
            "orderdesk.jobs.reports:weekly_management_report",
            "low",
            # 09:03, not 09:00: the platform advises against sending at :00 and :30.
            CronTrigger(day_of_week="mon-fri", hour=9, minute=3, timezone=tz),
            "管理周报(每周第一个工作日 09:03,发到管理群)",
        ),
        JobSpec(
            "reports.monthly_finance_pack",
            "orderdesk.jobs.reports:monthly_finance_pack",
            "low",
            CronTrigger(day="1-15", hour=9, minute=7, timezone=tz),
            "财务月报工作簿(每月第一个工作日,发给财务)",
        ),
        JobSpec(
            "reports.ar_balances",
            "orderdesk.jobs.reports:rebuild_ar_balances",
            "low",
            # Just after midnight: the balances are bucketed per day (models.ar_balance).
            CronTrigger(hour=0, minute=7, timezone=tz),
            "应收账龄余额按新的一天重算(每天 00:07)",
        ),
    ]


def rq_job_id(name: str, scheduled: datetime) -> str:
    """The RQ job id of one scheduled run. RQ accepts only letters, digits, `_` and `-` (our job
    names have dots), and the id is the same for every attempt at the same run."""
    return f"sched-{re.sub(r'[^A-Za-z0-9_-]', '_', name)}-{int(scheduled.timestamp())}"


def previous_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time <= now (None if none within nine days)."""
    for window in LOOKBACKS:
        start = now - window
        last: datetime | None = None
        nxt = trigger.get_next_fire_time(None, start)
        for _ in range(500):
            if nxt is None or nxt > now:
                break
            last = nxt
            nxt = trigger.get_next_fire_time(nxt, nxt + timedelta(seconds=1))
        if last is not None:
            return last.astimezone(UTC)
    return None


def next_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    nxt = trigger.get_next_fire_time(None, now)
    return nxt.astimezone(UTC) if nxt is not None else None


def enqueue_run(
    rt: Runtime, spec: JobSpec, func: Callable[..., Any], scheduled: datetime, tag: str = ""
) -> Any:
    """Hand one run of `spec` to the job queue (RQ, or in-process without Redis): the one path
    by which both the scheduler's `fire` and a manual run start a job."""
    return rt.queue.enqueue(func, queue=spec.queue, job_id=rq_job_id(spec.name + tag, scheduled))


@dataclass(frozen=True)
class ManualRuns:
    """Scheduled jobs started by hand (the sandbox simulator's buttons). They go through
    `enqueue_run` like the scheduler's runs, but outside the run ledger: a manual run must not
    stand in for the scheduled run it happens to be near."""

    rt: Runtime

    def listing(self) -> list[tuple[str, str]]:
        return [(s.name, s.description) for s in job_specs(self.rt.settings)]

    def run(self, name: str) -> Any:
        """Start `name` now; KeyError for a job that is not in `job_specs`."""
        spec = {s.name: s for s in job_specs(self.rt.settings)}[name]
        func = spec.resolve()
        if func is None:
            raise KeyError(name)
        return enqueue_run(self.rt, spec, func, clock.now(), tag=".manual")


# --------------------------------------------------------------------------- coordination

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2]) return 1
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_CLAIM = """
local last = redis.call('hget', KEYS[1], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then return {0} end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
return {1, last or ''}
"""
_UNCLAIM = """
if redis.call('hget', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('hdel', KEYS[1], ARGV[1])
else redis.call('hset', KEYS[1], ARGV[1], ARGV[3]) end
return 1
"""


@dataclass(frozen=True)
class Claim:
    """A successful claim of one run: `previous` is what the ledger held before (to give back)."""

    name: str
    stamp: str
    previous: str


class RunLedger:
    """Last scheduled run per job; `claim` succeeds once per (job, scheduled time)."""

    def __init__(self, redis: Redis | None, key: str) -> None:
        self.redis, self.key = redis, key
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    def last(self, name: str) -> datetime | None:
        if self.redis is None:
            raw: Any = self._memory.get(name)
        else:
            raw = self.redis.hget(self.key, name)
        return datetime.fromtimestamp(float(raw), UTC) if raw is not None else None

    def claim(self, name: str, scheduled: datetime) -> Claim | None:
        stamp = repr(scheduled.timestamp())
        if self.redis is None:
            with self._lock:
                last = self._memory.get(name, "")
                if last and float(last) >= float(stamp):
                    return None
                self._memory[name] = stamp
                return Claim(name, stamp, last)
        result: Any = self.redis.eval(_CLAIM, 1, self.key, name, stamp)
        if not result[0]:
            return None
        previous = result[1].decode() if isinstance(result[1], bytes) else result[1]
        return Claim(name, stamp, previous)

    def unclaim(self, claim: Claim) -> bool:
        """Give a claim back (its enqueue failed), unless a later run has been claimed since."""
        if self.redis is None:
            with self._lock:
                if self._memory.get(claim.name) != claim.stamp:
                    return False
                if claim.previous:
                    self._memory[claim.name] = claim.previous
                else:
                    self._memory.pop(claim.name, None)
                return True
        args = (claim.name, claim.stamp, claim.previous)
        return bool(self.redis.eval(_UNCLAIM, 1, self.key, *args))


class LeaderLock:
    def __init__(self, redis: Redis | None, key: str, ident: str, ttl: float) -> None:
        self.redis, self.key, self.ident, self.ttl = redis, key, ident, ttl

    def acquire_or_renew(self) -> bool:
        if self.redis is None:
            return True
        try:
            return bool(self.redis.eval(_RENEW, 1, self.key, self.ident, int(self.ttl * 1000)))
        except Exception:
            log.warning("scheduler lock: Redis unreachable; not leading", exc_info=True)
            return False

    def holder(self) -> str | None:
        if self.redis is None:
            return self.ident
        raw = self.redis.get(self.key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def release(self) -> None:
        if self.redis is not None:
            try:
                self.redis.eval(_RELEASE, 1, self.key, self.ident)
            except Exception:
                log.warning("scheduler lock: release failed", exc_info=True)


class SchedulerNode:
    """One scheduler process: APScheduler triggers + leader lock + run ledger."""

    def __init__(
        self,
        rt: Runtime,
        *,
        redis: Redis | None = None,
        specs: list[JobSpec] | None = None,
        ttl: float = 30.0,
        heartbeat: float = 10.0,
        ident: str | None = None,
    ) -> None:
        self.rt = rt
        self.redis = redis if redis is not None else rt.redis
        self.specs = {s.name: s for s in (specs or job_specs(rt.settings))}
        self.ident = ident or f"sched-{uuid.uuid4().hex[:8]}"
        ns = rt.settings.redis_namespace
        self.lock = LeaderLock(self.redis, f"{ns}:scheduler:leader", self.ident, ttl)
        self.ledger = RunLedger(self.redis, f"{ns}:scheduler:last-run")
        self.heartbeat_every = heartbeat
        self.outage = Outage(f"scheduler {self.ident}", rt.settings.redis_give_up_seconds)
        self.gave_up = threading.Event()  # Redis stayed away too long: the process must exit 1
        self.leader = False
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._aps: BackgroundScheduler | None = None

    # -- leadership
    def heartbeat_once(self) -> bool:
        """Renew (or take) the lock; as leader, catch up any run that is due but not enqueued
        (missed while nobody led, or whose enqueue failed). Redis errors propagate."""
        was = self.leader
        self.leader = self.lock.acquire_or_renew()
        if self.leader and not was:
            log.info("scheduler %s is now the active scheduler", self.ident)
        if self.leader:
            self.catch_up()
        return self.leader

    def _beat_loop(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self._beat_safely())

    def _beat_safely(self) -> float:
        """One heartbeat; returns the wait before the next (backoff while Redis is away)."""
        try:
            self.heartbeat_once()
            if self.redis is not None:
                self.redis.ping()  # a standby must notice an outage too
        except Exception as exc:
            self.leader = False
            try:
                return min(self.outage.failed(exc), self.heartbeat_every)
            except Exception:  # RedisGaveUp: let the process exit non-zero
                self.gave_up.set()
                self._stop.set()
                return 0.0
        self.outage.ok()
        return self.heartbeat_every

    # -- firing
    def fire(self, name: str, scheduled: datetime) -> bool:
        """Enqueue `name` for its `scheduled` run: only as leader, only once per run."""
        spec = self.specs[name]
        if not self.leader or self.lock.holder() != self.ident:
            return False
        func = spec.resolve()
        if func is None:
            log.warning("scheduled job %s: %s does not exist", name, spec.target)
            return False
        claim = self.ledger.claim(name, scheduled)
        if claim is None:
            return False
        try:
            enqueue_run(self.rt, spec, func, scheduled)
        except Exception:
            if self.rt.queue.inline:
                raise  # the job itself ran and failed (JOBS_SYNC): retrying would loop on it
            log.warning("enqueue of %s failed; retried on the next heartbeat", name, exc_info=True)
            self._give_back(claim)
            raise
        log.info("enqueued %s for %s", name, scheduled.isoformat())
        return True

    def _give_back(self, claim: Claim) -> None:
        try:
            self.ledger.unclaim(claim)
        except Exception:
            # Redis is gone for the ledger too. The run stays claimed: it is lost unless a later
            # run of the same job comes round; logged so an operator can run it by hand.
            log.error("scheduled run %s @%s could not be given back", claim.name, claim.stamp)

    def on_time(self, name: str) -> bool:
        """APScheduler callback: fire the run that is due now."""
        with request_scope():  # the job's lines in the worker carry this firing's id
            scheduled = previous_fire(self.specs[name].trigger, clock.now())
            try:
                return scheduled is not None and self.fire(name, scheduled)
            except Exception:
                log.warning("scheduled job %s did not fire on time", name, exc_info=True)
                return False

    def catch_up(self, now: datetime | None = None) -> list[str]:
        """Fire, once, the latest run of each job that was missed while nobody led."""
        now = now or clock.now()
        fired = []
        for name, spec in self.specs.items():
            prev = previous_fire(spec.trigger, now)
            if prev is None:
                continue
            last = self.ledger.last(name)
            if last is None:
                # Never ran here before: record a baseline rather than guessing.
                self.ledger.claim(name, prev)
                continue
            if prev > last and self.fire(name, prev):
                fired.append(name)
        return fired

    # -- lifecycle
    def start(self, *, blocking_thread: bool = False) -> None:
        self._stop.clear()
        self._beat_safely()
        self._beat = threading.Thread(target=self._beat_loop, name="sched-heartbeat", daemon=True)
        self._beat.start()
        aps = BackgroundScheduler(
            timezone=self.rt.settings.tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 120},
        )
        for spec in self.specs.values():
            aps.add_job(self.on_time, trigger=spec.trigger, args=[spec.name], id=spec.name)
        aps.start()
        self._aps = aps

    def stop(self, *, release: bool = True) -> None:
        """Stop firing. `release=False` simulates a crash (the lock simply expires)."""
        self._stop.set()
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None
        if release and self.leader:
            self.lock.release()
        self.leader = False

    def listing(self, now: datetime | None = None) -> list[tuple[JobSpec, datetime | None]]:
        now = now or clock.now()
        return [(s, next_fire(s.trigger, now)) for s in self.specs.values()]
