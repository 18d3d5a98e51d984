"""One scheduler pass: free workers gone quiet, health checks, user jobs, queue timeouts.

A pass reads the database in a few queries (``snapshot``), decides in memory
(``healthcheck``, ``matching``), checks that each chosen device renders with
its job's ``context`` (``devicefiles``, cached), then claims its choices in
one short transaction: the devices with ``SELECT ... FOR UPDATE SKIP
LOCKED`` (PostgreSQL; on SQLite the transaction takes the write lock when it
begins, so passes take turns), the jobs with ``FOR UPDATE`` in id order, and
both moved by compare-and-set UPDATEs (``transitions.jobs_scheduled``). What
another scheduler claimed first is left to it, and the pass plans again
with what is left, a few rounds at most. Two schedulers may run at once.
Queued jobs are matched in ``fair_share.service_order``.
"""

from __future__ import annotations

import datetime
import functools
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from lava.common import log
from lava.common.limits import limit

from ..logs.store import log_store
from ..services import Actor, ServiceError, jobs
from . import transitions
from .devicefiles import DeviceFiles, JobContextError
from .fair_share import service_order
from .healthcheck import HealthCheckPlan, create_health_checks, plan_health_checks
from .matching import QueuedJob, SubmitRights, match_jobs, queued_jobs
from .models import Device, TestJob, Worker
from .reasons import short, unexpected
from .snapshot import BUSY_STATES, HEALTH_CHECK_HEALTH, JOB_HEALTH, IdleDevice, load
from .states import DeviceHealth, DeviceState, JobHealth, JobState, WorkerHealth, WorkerState

SCHEDULER = Actor.lab("scheduler")
LOG = logging.getLogger("lava.server.scheduler")

# Plans after the first only happen when another scheduler or a broken device got in the way.
MAX_ROUNDS = 4
LOCK_DEVICES = {"skip_locked": True, "of": ("self",)}


@dataclass
class PassReport:
    """What one pass did, and how long each part took (seconds)."""

    assigned: list[tuple[int, str]] = field(default_factory=list)  # (job id, hostname)
    health_checks: list[tuple[int, str]] = field(default_factory=list)
    workers_offline: list[str] = field(default_factory=list)
    abandoned: list[int] = field(default_factory=list)  # jobs of workers silent past the grace
    canceled: list[int] = field(default_factory=list)  # queue timeout
    devices_bad: list[str] = field(default_factory=list)
    jobs_failed: list[int] = field(default_factory=list)  # ended: they cannot be scheduled
    rounds: int = 0
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.durations.get("total", 0.0)

    def summary(self) -> str:
        """One log line with the counts and the time taken."""
        parts = [
            f"{len(self.assigned)} jobs scheduled",
            f"{len(self.health_checks)} health checks",
            f"{len(self.workers_offline)} workers offline",
            f"{len(self.abandoned)} jobs of silent workers ended",
            f"{len(self.canceled)} jobs canceled (queue timeout)",
            f"{len(self.devices_bad)} devices Bad",
        ]
        if self.jobs_failed:
            parts.append(f"{len(self.jobs_failed)} jobs ended Incomplete (cannot be scheduled)")
        rounds = "round" if self.rounds == 1 else "rounds"
        return f"pass: {', '.join(parts)} in {self.duration:.3f} s ({self.rounds} {rounds})"

    def _time(self, name: str, start: float) -> None:
        self.durations[name] = self.durations.get(name, 0.0) + time.perf_counter() - start


def mark_workers_offline(now: datetime.datetime) -> list[str]:
    """Online workers silent for longer than ``worker_offline_timeout`` go Offline."""
    timeout = settings.LAVA.worker_offline_timeout
    silent = Worker.objects.filter(
        state=WorkerState.ONLINE, last_ping__lt=now - datetime.timedelta(seconds=timeout)
    )
    if not silent.exists():  # the usual case, without taking a write lock
        return []
    names = []
    with transaction.atomic():
        for worker in silent.select_for_update(skip_locked=True):
            transitions.set_worker_state(
                worker, WorkerState.OFFLINE, f"no ping for more than {timeout:g} s"
            )
            names.append(worker.hostname)
    return names


def end_jobs_of_silent_workers(now: datetime.datetime) -> list[int]:
    """End the jobs of workers silent for ``worker_offline_timeout + worker_grace_period``.

    Each becomes Incomplete with an Infrastructure error (Canceled if it was
    being canceled) and its device goes back to Idle, health Unknown, so that
    a health check runs before more work; a lost health check does not make
    its device Bad either. The reason is also the log's last line.
    """
    offline = settings.LAVA.worker_offline_timeout
    grace = settings.LAVA.worker_grace_period
    cutoff = now - datetime.timedelta(seconds=offline + grace)
    silent = Q(actual_device__worker_host__last_ping__lt=cutoff) | Q(
        actual_device__worker_host__last_ping__isnull=True
    )
    stuck = list(
        TestJob.objects.filter(
            silent,
            state__in=transitions.STUCK_STATES,
            actual_device__worker_host__state=WorkerState.OFFLINE,
        ).values_list(
            "id", "actual_device__worker_host_id", "actual_device__worker_host__last_ping"
        )
    )
    ended = []
    for job_id, worker, last_ping in stuck:
        quiet = (
            f"sent no ping for {(now - last_ping).total_seconds():.0f} s"
            if last_ping
            else "never sent a ping"
        )
        reason = (
            f"worker {worker!r} {quiet} (Offline after {offline:g} s, "
            f"grace period {grace:g} s): the job is lost"
        )
        try:
            with transaction.atomic():
                job = jobs.fail_job(SCHEDULER, TestJob(pk=job_id), reason)
                device = job.actual_device
                if job.health_check and device is not None and device.health == DeviceHealth.BAD:
                    # the worker failed, not the device: check it again rather than take it out
                    transitions.set_device_health(
                        device, DeviceHealth.UNKNOWN, f"health check {job_id} lost with {worker!r}"
                    )
        except (ServiceError, TestJob.DoesNotExist):  # it ended or went meanwhile
            continue
        except DatabaseError:
            raise  # the database's trouble, not this job's: the pass ends
        except Exception as exc:  # this job's: the others still end, and the pass goes on
            LOG.error("job %d: could not end it: %s", job_id, unexpected(exc))
            continue
        ended.append(job_id)
        LOG.warning("job %d: %s", job_id, reason)
        try:
            store = log_store()
            store.append(job_id, store.count(job_id), log.encode("error", reason) + "\n")
        except (OSError, ValueError) as exc:  # the database says it all already
            LOG.error("job %d: could not write the reason to its log: %s", job_id, exc)
    return ended


def _expired(submitted: datetime.datetime, timeout: int, now: datetime.datetime) -> bool:
    """Whether a queue timeout has passed; OverflowError for one no date can hold."""
    return submitted + datetime.timedelta(seconds=timeout) < now


def cancel_timed_out_jobs(now: datetime.datetime, report: PassReport) -> list[int]:
    """Cancel queued jobs that waited longer than their ``queue_timeout``.

    Each ends Finished, Canceled, started when it ended, with the reason as its
    failure comment (LAVA's rule; no worker ever hears of it). A queue timeout
    too long to compute (stored before it had a limit) ends its job Incomplete
    instead: it must not stop the pass for every job.
    """
    waiting = TestJob.objects.filter(state=JobState.SUBMITTED, queue_timeout__isnull=False)
    expired = {}
    for job_id, submitted, timeout in waiting.values_list("id", "submit_time", "queue_timeout"):
        try:
            if _expired(submitted, timeout, now):
                expired[job_id] = timeout
        except (OverflowError, ValueError, TypeError) as exc:
            reason = (
                f"queue timeout of {timeout} s cannot be used ({exc}); the limit is "
                f"{limit('queue_timeout'):,} s (queue_timeout)"
            )
            if end_queued_job(job_id, reason, "Job"):
                report.jobs_failed.append(job_id)
    if not expired:
        return []
    canceled = []
    with transaction.atomic():
        jobs = TestJob.objects.select_for_update(skip_locked=True).filter(
            id__in=list(expired), state=JobState.SUBMITTED
        )
        for job in jobs.order_by("id"):
            reason = f"queue timeout: not scheduled within {expired[job.id]:,} s of submission"
            # Submitted, so straight to Finished, Canceled; the reason shows on the job's page
            transitions.job_finished(job, JobHealth.CANCELED, reason=reason, failure_comment=reason)
            canceled.append(job.id)
    return canceled


def mark_device_bad(hostname: str, reason: str) -> bool:
    """Set an idle device's health Bad (it cannot be used as configured); False if it moved on."""
    LOG.warning("device %s cannot be used: %s", hostname, reason)
    with transaction.atomic():
        device = (
            Device.objects.select_for_update()
            .filter(hostname=hostname, state=DeviceState.IDLE, health__in=HEALTH_CHECK_HEALTH)
            .first()
        )
        if device is None:
            return False
        transitions.set_device_health(device, DeviceHealth.BAD, reason)
    return True


def end_queued_job(job_id: int, reason: str, error_type: str) -> bool:
    """End a queued job the scheduler cannot run, Incomplete with ``reason``; False if it moved on.

    Its device is not touched: nothing was reserved for it yet.
    """
    reason = short(reason)
    LOG.warning("job %d cannot be scheduled: %s", job_id, reason)
    with transaction.atomic():
        job = (
            TestJob.objects.select_for_update().filter(id=job_id, state=JobState.SUBMITTED).first()
        )
        if job is None:
            return False
        transitions.job_finished(
            job,
            JobHealth.INCOMPLETE,
            reason=f"not scheduled: {reason}",
            error_type=error_type,
            failure_comment=reason,
        )
    return True


@dataclass
class _Claim:
    health_checks: list[tuple[int, str]]
    assigned: list[tuple[int, str]]
    lost: int  # choices another process took first


def _claim(plans: list[HealthCheckPlan], pairs: list[tuple[int, str]]) -> _Claim:
    """Lock the chosen devices and jobs still free, create the checks, move them all."""
    with transaction.atomic():
        devices = Device.objects.select_for_update(**LOCK_DEVICES).filter(state=DeviceState.IDLE)
        hc_hosts = [plan.hostname for plan in plans]
        got_hc = set()
        if hc_hosts:
            got_hc = set(
                devices.filter(hostname__in=hc_hosts, health__in=HEALTH_CHECK_HEALTH).values_list(
                    "hostname", flat=True
                )
            )
        got_devices = set()
        if pairs:
            got_devices = set(
                devices.filter(
                    hostname__in=[h for _, h in pairs], health__in=JOB_HEALTH
                ).values_list("hostname", flat=True)
            )
        wanted_jobs = [job_id for job_id, hostname in pairs if hostname in got_devices]
        got_jobs = set()
        if wanted_jobs:
            # in id order, so that two schedulers waiting on each other's jobs cannot deadlock
            got_jobs = set(
                TestJob.objects.select_for_update(of=("self",))
                .filter(id__in=wanted_jobs, state=JobState.SUBMITTED)
                .order_by("id")
                .values_list("id", flat=True)
            )
        health_checks = create_health_checks([p for p in plans if p.hostname in got_hc])
        transitions.jobs_scheduled(health_checks, reason="health check")
        assigned = [(j, h) for j, h in pairs if h in got_devices and j in got_jobs]
        transitions.jobs_scheduled(assigned)
    lost = len(plans) - len(health_checks) + len(pairs) - len(assigned)
    return _Claim(health_checks, assigned, lost)


def _check_renders(
    files: DeviceFiles, pairs: list[tuple[QueuedJob, IdleDevice]], report: PassReport
) -> tuple[list[tuple[int, str]], bool]:
    """Keep the pairs whose device renders with the job's context; deal with the others.

    Whatever one job's definition does, only that job ends: Incomplete with the reason.
    """
    definitions = dict(
        TestJob.objects.filter(id__in=[job.id for job, _ in pairs]).values_list("id", "definition")
    )
    kept: list[tuple[int, str]] = []
    dropped = False
    broken: set[str] = set()
    for job, device in pairs:
        if device.hostname in broken:
            dropped = True
            continue
        try:
            error = files.render_error(device.hostname, device.device_type)
        except Exception as exc:  # the device's files, not the job: take the device out
            error = unexpected(exc)
        if error is not None:
            broken.add(device.hostname)
            if mark_device_bad(device.hostname, f"invalid device configuration: {error}"):
                report.devices_bad.append(device.hostname)
            dropped = True
            continue
        failure = _job_failure(files, job, device, definitions.get(job.id) or "")
        if failure is not None:
            if end_queued_job(job.id, *failure):
                report.jobs_failed.append(job.id)
            dropped = True
            continue
        kept.append((job.id, device.hostname))
    return kept, dropped


def _job_failure(
    files: DeviceFiles, job: QueuedJob, device: IdleDevice, definition: str
) -> tuple[str, str] | None:
    """Why the job cannot run on the device, and the error type; None when it can."""
    try:
        error = files.job_render_error(device.hostname, device.device_type, definition)
    except JobContextError as exc:
        return str(exc), "Job"
    except Exception as exc:  # a job no check has seen (stored by an older version, a bug)
        return f"the scheduler cannot prepare the job: {unexpected(exc)}", "Bug"
    if error is None:
        return None
    return f"device {device.hostname} cannot be configured with the job's context: {error}", (
        "Configuration"
    )


def _round(now: datetime.datetime, files: DeviceFiles, report: PassReport) -> bool:
    """Plan and claim once; True when another round could assign more."""
    start = time.perf_counter()
    snapshot = load()
    report._time("snapshot", start)
    if not snapshot.devices:
        return False

    start = time.perf_counter()
    decision = plan_health_checks(snapshot, files, now)
    report._time("health_checks", start)
    for hostname, reason in decision.bad.items():
        if mark_device_bad(hostname, f"invalid device configuration: {reason}"):
            report.devices_bad.append(hostname)

    start = time.perf_counter()
    types = {device.device_type for device in decision.for_jobs}
    jobs = queued_jobs(types, exclude=report.jobs_failed)
    report._time("queue", start)
    start = time.perf_counter()
    jobs = service_order(jobs)
    report._time("order", start)
    start = time.perf_counter()
    pairs: list[tuple[QueuedJob, IdleDevice]] = []
    unmatched: dict[int, str] = {}
    if jobs:
        rights = SubmitRights({job.submitter for job in jobs}, decision.for_jobs)
        pairs = match_jobs(jobs, decision.for_jobs, snapshot.capacity, rights, unmatched)
    report._time("match", start)
    for job_id, error in unmatched.items():
        if end_queued_job(job_id, f"the scheduler cannot match the job: {error}", "Bug"):
            report.jobs_failed.append(job_id)

    start = time.perf_counter()
    chosen, dropped = _check_renders(files, pairs, report) if pairs else ([], False)
    report._time("render", start)
    if not chosen and not decision.plans:
        return dropped

    start = time.perf_counter()
    try:
        claim = _claim(decision.plans, chosen)
    except transitions.ConcurrentChange as exc:  # rolled back whole: plan again
        LOG.warning("claim rolled back, another process changed its rows: %s", exc)
        report._time("claim", start)
        return True
    report._time("claim", start)
    report.health_checks.extend(claim.health_checks)
    report.assigned.extend(claim.assigned)
    return dropped or claim.lost > 0


def schedule_pass(now: datetime.datetime | None = None) -> PassReport:
    """Run one scheduler pass and say what it did (see the module's docstring)."""
    now = now or timezone.now()
    report = PassReport()
    begin = time.perf_counter()

    start = time.perf_counter()
    report.workers_offline = mark_workers_offline(now)
    report.abandoned = end_jobs_of_silent_workers(now)
    report._time("workers", start)

    files = DeviceFiles()
    while report.rounds < MAX_ROUNDS:
        report.rounds += 1
        if not _round(now, files, report):
            break

    start = time.perf_counter()
    report.canceled = cancel_timed_out_jobs(now, report)
    report._time("queue_timeout", start)
    report.durations["total"] = time.perf_counter() - begin
    return report


@functools.cache
def _signature_sql() -> str:
    """One statement for `queue_signature`, its tables' names filled in once a process."""
    quote = connection.ops.quote_name
    job, device, worker = (quote(m._meta.db_table) for m in (TestJob, Device, Worker))
    return (
        f"SELECT (SELECT COUNT(*) FROM {job} WHERE state = %s),"
        f" (SELECT MAX(id) FROM {job} WHERE state = %s),"
        f" (SELECT COUNT(*) FROM {job} WHERE state IN (%s, %s, %s)),"
        f" (SELECT COUNT(*) FROM {device} WHERE state = %s AND health IN (%s, %s, %s)),"
        f" (SELECT COUNT(*) FROM {worker} WHERE state = %s AND health = %s)"
    )


def queue_signature() -> tuple[object, ...]:
    """A cheap fingerprint of what a pass depends on; when it changes, a pass may assign more.

    Covers new and canceled queued jobs, jobs ending (only a scheduler adds
    busy jobs), devices becoming Idle and usable, and workers coming online.
    One statement: the daemon asks ten times a second.
    """
    params = [
        JobState.SUBMITTED,
        JobState.SUBMITTED,
        *BUSY_STATES,
        DeviceState.IDLE,
        *HEALTH_CHECK_HEALTH,
        WorkerState.ONLINE,
        WorkerHealth.ACTIVE,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_signature_sql(), [int(value) for value in params])
        row = cursor.fetchone()
    return tuple(row)
