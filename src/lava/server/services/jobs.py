"""Jobs: find one the actor may see, submit, cancel, resubmit, fail, remove.

Web views, APIs, the Django admin and ``lava-server manage jobs`` all call
these; permission checks live here and in ``scheduler.permissions``, the
submission checks in ``scheduler.submission``, state changes in
``scheduler.transitions``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from ..logs.store import log_store
from ..scheduler import permissions, transitions
from ..scheduler.definitions import hides_secrets
from ..scheduler.models import TestJob
from ..scheduler.states import JobHealth, JobState
from ..scheduler.submission import Problem, definition_problem, submit_job
from ..scheduler.transitions import STUCK_STATES, lock_job
from .actors import Actor
from .errors import Conflict, Invalid, Missing, Refused
from .names import whole_number

DELETE_BATCH = 500


def visible_job(actor: Actor, job_id: object, *, related: bool = True) -> TestJob:
    """The job numbered ``job_id`` if the actor may see it; Missing otherwise, with the same
    words as for a job that does not exist. Every interface reads a job id here."""
    number = whole_number(job_id)
    jobs = TestJob.objects if actor.at_console else permissions.visible_jobs(actor.user)
    if related:
        jobs = jobs.select_related("submitter", "requested_device_type", "actual_device")
    job = None if number is None else jobs.filter(pk=number).first()
    if job is None:
        raise Missing(f"Job '{str(job_id)[:40]}' was not found.")
    return job


def submit(actor: Actor, text: object) -> TestJob:
    """Queue the job definition ``text`` (YAML) as the actor's job."""
    user = actor.need_user()
    if user is None:
        raise Invalid("a job needs a submitter: lava-server manage jobs submit --user NAME")
    if not isinstance(text, str):
        raise Invalid("the job definition must be a string of YAML")
    return submit_job(text, user)


def validate(text: object, strict: bool = False) -> Problem | None:
    """What submission would refuse in the definition ``text``, or the full schema (with
    ``strict``, unknown keys too); None when it is valid. Every interface validates here."""
    if not isinstance(text, str):
        return Problem("", "the job definition must be a string of YAML")
    return definition_problem(text, strict)


def cancel_job(actor: Actor, job: TestJob, reason: str = "") -> TestJob:
    """Cancel a job: a queued one ends Canceled at once, a started one goes Canceling."""
    user = actor.need_user()
    if user is not None and not permissions.can_change_job(user, job):
        raise Refused(f"user {user.get_username()!r} may not cancel job {job.id}")
    with transaction.atomic():
        locked = TestJob.objects.select_for_update().get(pk=job.pk)
        if locked.state == JobState.FINISHED:
            raise Conflict(f"job {locked.id} has already finished")
        transitions.job_canceling(locked, actor.signed(reason or "canceled"))
    return locked


def resubmit_job(actor: Actor, job: TestJob) -> TestJob:
    """Submit the job's original definition again, as the actor; the new job is returned.

    Not by someone who may not read its secrets: the new job would be theirs, and
    its secrets with it.
    """
    user = actor.need_user()
    if user is None:
        raise Invalid("resubmit a job as a user: lava-server manage jobs resubmit --user NAME")
    if not permissions.can_view_job(user, job):
        raise Missing(f"Job '{job.id}' was not found.")
    if hides_secrets(job, user):
        raise Refused(
            f"job {job.id} holds secrets that only its submitter and admins may read: "
            f"user {user.get_username()!r} may not resubmit it"
        )
    text = job.original_definition or job.definition
    return submit_job(text, user)


def fail_job(
    actor: Actor, job: TestJob, reason: str = "", error_type: str = "Infrastructure"
) -> TestJob:
    """Finish a stuck job as Incomplete (an admin's act) and give its device back.

    A job that was Canceling ends Canceled, as every canceled job does. The
    default error type makes the scheduler check the device's health again.
    """
    actor.require_superuser("fail a job")
    with transaction.atomic():
        locked = lock_job(job)
        if locked.state not in STUCK_STATES:
            label = JobState(locked.state).label
            hint = "cancel it instead" if locked.state == JobState.SUBMITTED else "nothing to do"
            raise Conflict(f"job {locked.id} is {label}, not stuck: {hint}")
        comment = reason or "the job was stuck"
        transitions.job_finished(
            locked,
            JobHealth.INCOMPLETE,
            reason=actor.signed(f"failed: {comment}"),
            error_type=error_type,
            failure_comment=comment,
        )
    return locked


def remove_jobs(
    actor: Actor, jobs: QuerySet[TestJob] | Iterable[int], dry_run: bool = False
) -> list[int]:
    """Delete finished jobs, their results and their log directories; refuse unfinished ones.

    Returns the ids removed (or that would be, with ``dry_run``).
    """
    actor.require("delete_testjob")
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
            raise Missing(f"no such job: {', '.join(map(str, missing))}")
        busy = [pk for pk, state in rows if state != JobState.FINISHED]
        if busy:
            raise Conflict(
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
