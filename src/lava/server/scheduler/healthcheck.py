"""Health checks: which idle devices need one now, and the jobs that run them.

LAVA's rules: a device on a type that does not disable health checks, whose
dictionary extends a template with a file ``health-checks/NAME.yaml``, gets
a health check when its health is Unknown or Looping, when it never had one,
or when the last one is due again — ``health_frequency`` hours after it was
submitted, or after ``health_frequency`` other jobs started on the device.
The check is submitted by ``lava-health``, pinned to the device and goes
straight to Scheduled.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import User
from django.db.models import Count, F

from ..events import emit
from .devicefiles import DeviceDictionaryError, DeviceFiles, HealthCheckFile
from .models import TestJob
from .reasons import short, unexpected
from .snapshot import JOB_HEALTH, IdleDevice, Snapshot
from .states import DeviceHealth, HealthDenominator, JobState, Visibility

HEALTH_USER = "lava-health"
DESCRIPTION_MAX = TestJob._meta.get_field("description").max_length


@dataclass(frozen=True)
class HealthCheckPlan:
    """A health check to schedule on ``hostname``, and why it is due."""

    hostname: str
    device_type: str
    check: HealthCheckFile
    reason: str


@dataclass
class HealthCheckDecision:
    """One pass's verdict on every idle device."""

    plans: list[HealthCheckPlan] = field(default_factory=list)
    for_jobs: list[IdleDevice] = field(default_factory=list)  # may take user jobs
    bad: dict[str, str] = field(default_factory=dict)  # hostname -> why it cannot be used


def _last_check_times(devices: list[IdleDevice]) -> dict[int, datetime.datetime]:
    ids = [d.last_health_check for d in devices if d.last_health_check is not None]
    if not ids:
        return {}
    return dict(TestJob.objects.filter(id__in=ids).values_list("id", "submit_time"))


def _jobs_since_check(devices: list[IdleDevice]) -> dict[str, int]:
    """Non-health-check jobs started on each device since its last health check was submitted."""
    hostnames = [d.hostname for d in devices]
    if not hostnames:
        return {}
    rows = (
        TestJob.objects.filter(
            actual_device__in=hostnames,
            health_check=False,
            start_time__gte=F("actual_device__last_health_report_job__submit_time"),
        )
        .values_list("actual_device")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def _due_reasons(
    snapshot: Snapshot, devices: list[IdleDevice], now: datetime.datetime
) -> dict[str, str]:
    """hostname -> why a health check is due, for devices that have a health-check file."""
    reasons: dict[str, str] = {}
    by_hours: list[IdleDevice] = []
    by_jobs: list[IdleDevice] = []
    for device in devices:
        if device.health == DeviceHealth.UNKNOWN:
            reasons[device.hostname] = "health is Unknown"
        elif device.health == DeviceHealth.LOOPING:
            reasons[device.hostname] = "health is Looping"
        elif device.last_health_check is None:
            reasons[device.hostname] = "no previous health check"
        elif snapshot.types[device.device_type].health_denominator == HealthDenominator.JOBS:
            by_jobs.append(device)
        else:
            by_hours.append(device)
    submitted = _last_check_times(by_hours)
    for device in by_hours:
        hours = snapshot.types[device.device_type].health_frequency
        last = submitted.get(device.last_health_check or 0)
        if last is None or last + datetime.timedelta(hours=hours) < now:
            reasons[device.hostname] = f"last health check over {hours} h ago"
    counts = _jobs_since_check(by_jobs)
    for device in by_jobs:
        jobs = snapshot.types[device.device_type].health_frequency
        if counts.get(device.hostname, 0) >= jobs:
            reasons[device.hostname] = f"{jobs} jobs since the last health check"
    return reasons


def plan_health_checks(
    snapshot: Snapshot, files: DeviceFiles, now: datetime.datetime
) -> HealthCheckDecision:
    """Decide, for every idle device, health check now / free for user jobs / Bad.

    Spends the workers' capacity in ``snapshot`` on the health checks it plans.
    """
    decision = HealthCheckDecision()
    with_checks: list[tuple[IdleDevice, Path]] = []
    ordered = sorted(snapshot.devices, key=lambda d: (d.device_type, d.hostname))
    for device in ordered:
        if snapshot.types[device.device_type].disable_health_check:
            if device.health in JOB_HEALTH:
                decision.for_jobs.append(device)
            continue
        try:
            path = files.health_check_path(device.hostname)
        except Exception as exc:  # one device's files must not stop the pass
            decision.bad[device.hostname] = _problem(exc)
            continue
        if path is None:
            if device.health in JOB_HEALTH:
                decision.for_jobs.append(device)
            continue
        with_checks.append((device, path))
    reasons = _due_reasons(snapshot, [d for d, _ in with_checks], now)
    for device, path in with_checks:
        reason = reasons.get(device.hostname)
        if reason is None:
            decision.for_jobs.append(device)
            continue
        if snapshot.capacity[device.worker] <= 0:
            continue  # its worker is at its job_limit: neither check nor job this pass
        try:
            check = files.health_check(path)
            error = files.render_error(device.hostname, device.device_type, check.context)
        except Exception as exc:  # a health-check file that cannot be read, say
            decision.bad[device.hostname] = _problem(exc)
            continue
        if error is not None:
            decision.bad[device.hostname] = error
            continue
        snapshot.capacity[device.worker] -= 1
        decision.plans.append(HealthCheckPlan(device.hostname, device.device_type, check, reason))
    return decision


def _problem(exc: Exception) -> str:
    return short(str(exc)) if isinstance(exc, DeviceDictionaryError) else unexpected(exc)


def health_user() -> User:
    """The user health checks are submitted as (created, without a password, if missing)."""
    user, created = User.objects.get_or_create(username=HEALTH_USER)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def create_health_checks(plans: list[HealthCheckPlan]) -> list[tuple[int, str]]:
    """Queue one health-check job per plan; (job id, hostname) pairs, for jobs_scheduled()."""
    if not plans:
        return []
    user = health_user()
    jobs = TestJob.objects.bulk_create(
        TestJob(
            submitter=user,
            definition=plan.check.text,
            original_definition=plan.check.text,
            description=(plan.check.job_name or f"{plan.device_type} health check")[
                :DESCRIPTION_MAX
            ],
            health_check=True,
            requested_device_type_id=plan.device_type,
            requested_device_id=plan.hostname,
            visibility=Visibility.PUBLIC,
            is_public=True,
            state=JobState.SUBMITTED,
        )
        for plan in plans
    )
    emit.jobs([job.id for job in jobs])
    return [(job.id, plan.hostname) for job, plan in zip(jobs, plans, strict=True)]
