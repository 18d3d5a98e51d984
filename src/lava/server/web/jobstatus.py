"""How the web pages say where a job is: its badge (state, or health once finished), duration."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from lava.server.scheduler.models import TestJob
from lava.server.scheduler.states import JobHealth, JobState

STATE_CLASS = {
    JobState.SUBMITTED: "secondary",
    JobState.SCHEDULING: "info",
    JobState.SCHEDULED: "info",
    JobState.RUNNING: "primary",
    JobState.CANCELING: "warning",
}
HEALTH_CLASS = {
    JobHealth.UNKNOWN: "secondary",
    JobHealth.COMPLETE: "success",
    JobHealth.INCOMPLETE: "danger",
    JobHealth.CANCELED: "warning",
}


def duration(job: TestJob, now: datetime | None = None) -> timedelta | None:
    """How long the job ran (or has been running), to the second; None before it starts."""
    if job.start_time is None:
        return None
    end = job.end_time or now or timezone.now()
    return timedelta(seconds=max(0, int((end - job.start_time).total_seconds())))


def status_label(job: TestJob) -> tuple[str, str]:
    """What the job's badge says and its Bootstrap colour: the state, or the health once
    finished (as LAVA's tables show it)."""
    if job.state == JobState.FINISHED:
        health = JobHealth(job.health)
        return health.label, HEALTH_CLASS[health]
    state = JobState(job.state)
    return state.label, STATE_CLASS.get(state, "secondary")
