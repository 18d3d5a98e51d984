"""Jobs: find one the actor may see, submit, cancel, resubmit, fail, remove.

Web views, APIs, the Django admin and ``lava-server manage jobs`` all call
these; permission checks live here and in ``scheduler.permissions``, the
submission checks in ``scheduler.submission``, state changes in
``scheduler.transitions``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from lava.common import yamlio
from lava.common.log import MASK

from ..logs.store import log_store
from ..scheduler import permissions, transitions
from ..scheduler.definitions import UNREADABLE, _documents, _secret_values, hides_secrets
from ..scheduler.models import FavoriteJob, TestJob
from ..scheduler.states import PRIORITY_MAX, PRIORITY_MIN, JobHealth, JobState
from ..scheduler.submission import Problem, definition_problem, submit_job
from ..scheduler.transitions import STUCK_STATES, lock_job
from .actors import Actor
from .errors import Conflict, Invalid, Missing, Refused
from .job_query import ShownJob, find_shown_job
from .names import whole_number

DELETE_BATCH = 500
# A multinode sub-job's id as LAVA shows it: "<first sub-job's id>.<n>".
SUB_ID = re.compile(r"([0-9]{1,18})\.([0-9]{1,6})")
# Sub-jobs are created together, so each is numbered shortly after the first: a
# bounded primary-key range finds one without scanning the unindexed sub_id column.
SUB_JOB_SPAN = 10_000


def visible_job(actor: Actor, job_id: object, *, related: bool = True) -> TestJob:
    """The job numbered ``job_id`` if the actor may see it; Missing otherwise, with the same
    words as for a job that does not exist. Every interface reads a job id here."""
    number = whole_number(job_id)
    if number is None:
        raise _missing(job_id)
    jobs = TestJob.objects.all() if actor.at_console else permissions.visible_jobs(actor.user)
    if related:
        jobs = jobs.select_related("submitter", "requested_device_type", "actual_device")
    # the primary key names one row: no ORDER BY (first() would add one) to build or plan
    job = next(iter(jobs.filter(pk=number).order_by()), None)
    if job is None:
        raise _missing(job_id)
    return job


def shown_job(actor: Actor, job_id: object) -> ShownJob:
    """The job numbered ``job_id`` as ``scheduler.jobs.show`` reads it (`job_query`: the
    fields it shows, the rest deferred), if the actor may see it; Missing as `visible_job`."""
    # the rules first, job or no job: a hidden job costs the queries a missing one does
    known = None if actor.at_console else permissions.access(actor.user)
    number = whole_number(job_id)
    found = None if number is None else find_shown_job(number)
    if found is None or not (
        actor.at_console
        or permissions.sees_job(actor.user, found.job, found.device_type, found.groups, known)
    ):
        raise _missing(job_id)
    return found


def _missing(job_id: object) -> Missing:
    return Missing(f"Job '{str(job_id)[:40]}' was not found.")


def visible_job_by_display_id(actor: Actor, job_id: object) -> TestJob:
    """Like ``visible_job``, also taking a multinode sub-job's ``N.M`` (LAVA's URLs do)."""
    text = str(job_id)
    if "." not in text:
        return visible_job(actor, text)
    match = SUB_ID.fullmatch(text) if text.isascii() else None
    jobs = TestJob.objects if actor.at_console else permissions.visible_jobs(actor.user)
    job = None
    if match is not None:
        first = int(match[1])
        job = (
            jobs.select_related("submitter", "requested_device_type", "actual_device")
            .filter(pk__gte=first, pk__lte=first + SUB_JOB_SPAN, sub_id=text)
            .order_by("pk")
            .first()
        )
    if job is None:
        raise Missing(f"Job '{text[:40]}' was not found.")
    return job


def sub_jobs(actor: Actor, job: TestJob) -> list[TestJob]:
    """The visible sub-jobs of ``job``'s multinode group (itself included); [] for a plain job."""
    match = SUB_ID.fullmatch(job.sub_id) if job.sub_id else None
    if match is None:
        return []
    first = int(match[1])
    jobs = TestJob.objects if actor.at_console else permissions.visible_jobs(actor.user)
    group = jobs.filter(pk__gte=first, pk__lte=first + SUB_JOB_SPAN, sub_id__startswith=f"{first}.")
    return list(group.only("id", "sub_id", "state", "health").order_by("pk")[:100])


def set_priority(actor: Actor, job: TestJob, priority: object) -> TestJob:
    """Change a queued job's priority (0 to 100): its submitter's or an admin's act."""
    user = actor.need_user()
    if user is not None and not permissions.can_change_job(user, job):
        raise Refused(f"user {user.get_username()!r} may not change the priority of job {job.id}")
    number = priority if isinstance(priority, int) else whole_number(priority)
    if isinstance(number, bool) or number is None or not PRIORITY_MIN <= number <= PRIORITY_MAX:
        raise Invalid(
            f"priority must be a whole number from {PRIORITY_MIN} to {PRIORITY_MAX}, "
            f"not {str(priority)[:40]!r}"
        )
    with transaction.atomic():
        locked = TestJob.objects.select_for_update().get(pk=job.pk)
        if locked.state != JobState.SUBMITTED:
            label = JobState(locked.state).label
            raise Conflict(f"job {locked.id} is {label}: only a queued job's priority can change")
        locked.priority = number
        locked.save(update_fields=["priority"])
    return locked


def toggle_favorite(actor: Actor, job: TestJob) -> bool:
    """Mark ``job`` as one of the actor's favourites, or unmark it; True when it now is one."""
    user = actor.need_user()
    if user is None:
        raise Invalid("favourites belong to users: sign in to mark a job")
    if not permissions.can_view_job(user, job):
        raise Missing(f"Job '{job.id}' was not found.")
    with transaction.atomic():
        removed, _ = FavoriteJob.objects.filter(user=user, job=job).delete()
        if removed:
            return False
        FavoriteJob.objects.get_or_create(user=user, job=job)
    return True


def shown_kept_file(actor: Actor, job: TestJob, name: str) -> str | None:
    """A file kept beside the job's log (``description.yaml``...), None when absent; for those
    who may not read the job's secrets, every secret value in it is ``[MASKED]``."""
    text = log_store().read_file(job.id, name)
    if text is None or actor.at_console or not hides_secrets(job, actor.user):
        return text
    try:  # the definitions' own secret values, as `definitions.shown` masks them
        fields = {getattr(job, field) for field in ("definition", "original_definition")}
        values = _secret_values(_documents(fields))
    except yamlio.YAMLError:
        return UNREADABLE
    for value in values:
        text = text.replace(value, MASK)
    return text


def submit(actor: Actor, text: object) -> TestJob:
    """Queue the job definition ``text`` (YAML) as the actor's job."""
    user = actor.need_user()
    if user is None:
        raise Invalid("a job needs a submitter: lava-server manage jobs submit --user NAME")
    if not isinstance(text, str):
        raise Invalid("the job definition must be a string of YAML")
    return submit_job(text, user)


def validate(text: object, strict: bool = False, schema: bool = True) -> Problem | None:
    """What submission would refuse in the definition ``text``, or (``schema``) what the full
    schema says (with ``strict``, unknown keys too); None when it is valid. Every interface
    validates here; without ``schema``, a problem is exactly what submitting would refuse."""
    if not isinstance(text, str):
        return Problem("", "the job definition must be a string of YAML")
    return definition_problem(text, strict, schema)


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
