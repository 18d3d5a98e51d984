"""What users and admins do to jobs once submitted: cancel, resubmit, fail, remove.

Web views, APIs and ``lava-server manage jobs`` all call these; permission
checks live here and in ``permissions``, state changes in ``transitions``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from ..logs.store import log_store
from . import permissions, transitions
from .definitions import hides_secrets
from .models import Device, TestJob
from .states import JobHealth, JobState
from .submission import submit_job

# states a job can hang in when its worker lost it; Submitted jobs are canceled instead
STUCK_STATES = frozenset(
    {JobState.SCHEDULING, JobState.SCHEDULED, JobState.RUNNING, JobState.CANCELING}
)
DELETE_BATCH = 500


class JobError(ValueError):
    """A job cannot be changed as asked; the message says why."""


class JobPermissionError(JobError):
    """The user may not change this job."""


def cancel_job(job: TestJob, user: User | None, reason: str = "") -> TestJob:
    """Cancel a job: a queued one ends Canceled at once, a started one goes Canceling.

    ``user`` None is an admin at the server's console (``lava-server manage``).
    """
    if user is not None and not permissions.can_change_job(user, job):
        raise JobPermissionError(f"user {user.get_username()!r} may not cancel job {job.id}")
    who = user.get_username() if user is not None else "an admin"
    with transaction.atomic():
        locked = TestJob.objects.select_for_update().get(pk=job.pk)
        if locked.state == JobState.FINISHED:
            raise JobError(f"job {locked.id} has already finished")
        transitions.job_canceling(locked, reason or f"canceled by {who}")
    return locked


def resubmit_job(job: TestJob, user: User) -> TestJob:
    """Submit the job's original definition again, as ``user``; the new job is returned.

    Not by someone who may not read its secrets: the new job would be theirs, and
    its secrets with it.
    """
    if not permissions.can_view_job(user, job):
        raise JobPermissionError(f"job {job.id} does not exist")
    if hides_secrets(job, user):
        raise JobPermissionError(
            f"job {job.id} holds secrets that only its submitter and admins may read: "
            f"user {user.get_username()!r} may not resubmit it"
        )
    text = job.original_definition or job.definition
    return submit_job(text, user)


def lock_job(job: TestJob) -> TestJob:
    """The job's row and then its device's row, locked (the order every writer takes them in).

    Call inside ``transaction.atomic()``; the fresh job is returned.
    """
    locked = TestJob.objects.select_for_update().get(pk=job.pk)
    if locked.actual_device_id is not None:
        locked.actual_device = Device.objects.select_for_update().get(pk=locked.actual_device_id)
    return locked


def fail_job(job: TestJob, reason: str = "", error_type: str = "Infrastructure") -> TestJob:
    """Finish a stuck job as Incomplete (an admin's act) and give its device back.

    A job that was Canceling ends Canceled, as every canceled job does. The
    default error type makes the scheduler check the device's health again.
    """
    with transaction.atomic():
        locked = lock_job(job)
        if locked.state not in STUCK_STATES:
            label = JobState(locked.state).label
            hint = "cancel it instead" if locked.state == JobState.SUBMITTED else "nothing to do"
            raise JobError(f"job {locked.id} is {label}, not stuck: {hint}")
        comment = reason or "the job was stuck"
        transitions.job_finished(
            locked,
            JobHealth.INCOMPLETE,
            reason=f"failed by an admin: {comment}",
            error_type=error_type,
            failure_comment=comment,
        )
    return locked


def remove_jobs(jobs: QuerySet[TestJob] | Iterable[int], dry_run: bool = False) -> list[int]:
    """Delete finished jobs, their results and their log directories; refuse unfinished ones.

    Returns the ids removed (or that would be, with ``dry_run``).
    """
    if isinstance(jobs, QuerySet):
        selected = jobs
        wanted: list[int] = []
    else:
        wanted = sorted({int(pk) for pk in jobs})
        selected = TestJob.objects.filter(pk__in=wanted)
    with transaction.atomic():
        rows = list(selected.order_by("id").values_list("id", "state"))
        missing = sorted(set(wanted) - {pk for pk, _ in rows})
        if missing:
            raise JobError(f"no such job: {', '.join(map(str, missing))}")
        busy = [pk for pk, state in rows if state != JobState.FINISHED]
        if busy:
            raise JobError(
                f"not finished: job {', '.join(map(str, busy))}; "
                "cancel or fail them first, then remove them"
            )
        ids = [pk for pk, _ in rows]
        if not dry_run:
            # in slices: SQLite caps the number of parameters of one statement
            for start in range(0, len(ids), DELETE_BATCH):
                TestJob.objects.filter(pk__in=ids[start : start + DELETE_BATCH]).delete()
    if not dry_run:  # the rows are gone for good: now their logs and files
        store = log_store()
        for pk in ids:
            store.remove(pk)
    return ids
