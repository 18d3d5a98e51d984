"""What a job owes when it starts or ends: rows written with the state change that causes them.

``transitions`` calls ``job_changed`` inside the transaction that moves the
job to Running or Finished. When the job's ``notify`` criteria match, one
``Notification`` row per callback and per mail recipient is added in the
same transaction: the change and what it owes commit together or not at
all, and a sender delivers them later, outside any request.

As in LAVA: callbacks are owed at every match (twice with ``status: all``);
a mail recipient at most once per job; with neither ``recipients`` nor
callbacks, the submitter gets the mail. Unlike LAVA, a callback's URL
placeholders are filled in at each match, so ``{STATUS}`` says Finished at
the end even with ``status: all``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.contrib.auth.models import User

from lava.common import yamlio

from ..scheduler.models import AuthToken, Notification, TestJob
from ..scheduler.states import LEGACY_STATUS_WORDS, JobState, legacy_status
from . import body, criteria

LOG = logging.getLogger("lava.server.notifications")

DEVICE_OWNER = "{LAVA_DEVICE_OWNER}"
PLACEHOLDER = re.compile(r"{\s*[A-Z_-]*\s*}")
METHODS = {"GET", "POST"}


def job_changed(job: TestJob) -> list[Notification]:
    """Record what ``job``'s new state owes (call inside the transaction that saved it)."""
    if job.state not in criteria.NOTIFYING_STATES or "notify" not in job.definition:
        return []
    notify = notify_block(job)
    if notify is None:
        return []
    wanted = notify.get("criteria")
    if not isinstance(wanted, dict):
        return []
    previous = _previous_health(job) if criteria.wants_previous(wanted) else None
    if not criteria.matches(wanted, job.state, job.health, previous):
        return []
    event = JobState(job.state).label
    moment = body.snapshot(job)
    rows = [
        _callback_row(job, index, spec, event, moment)
        for index, spec in enumerate(callbacks_of(notify))
        if isinstance(spec, dict)
    ]
    rows += _mail_rows(job, notify, event, moment, bool(rows))
    created = Notification.objects.bulk_create(rows)
    if created:
        LOG.info("job %d: %d notifications owed (%s)", job.id, len(created), event)
    return created


def notify_block(job: TestJob) -> dict[str, Any] | None:
    try:
        data = yamlio.load(job.definition, f"job {job.id}")
    except yamlio.YAMLError as exc:  # stored by an older version: nothing to send, say why
        LOG.warning("job %d: its definition does not parse, no notifications: %s", job.id, exc)
        return None
    notify = data.get("notify") if isinstance(data, dict) else None
    return notify if isinstance(notify, dict) else None


def callbacks_of(notify: dict[str, Any]) -> list[Any]:
    """The callbacks of a notify block: ``callbacks`` (a list) or the legacy ``callback``."""
    if isinstance(notify.get("callbacks"), list):
        return list(notify["callbacks"])
    return [notify["callback"]] if "callback" in notify else []


def _previous_health(job: TestJob) -> int | None:
    """The health of the previous Finished job with the same name, type and submitter."""
    return (
        TestJob.objects.filter(
            description=job.description,
            requested_device_type_id=job.requested_device_type_id,
            submitter_id=job.submitter_id,
            state=JobState.FINISHED,
            id__lt=job.id,
        )
        .order_by("-id")
        .values_list("health", flat=True)
        .first()
    )


def substitute(url: str, job: TestJob) -> str:
    """The URL with LAVA's placeholders filled in: ``{ID}``, ``{STATUS}``, ``{DESCRIPTION}``...

    A placeholder names a job field in upper case; ``{STATUS}`` and
    ``{STATUS_STRING}`` give the legacy status. An unknown name stays as it is.
    """
    status = legacy_status(job.state, job.health)
    special = {"status": str(status), "status_string": LEGACY_STATUS_WORDS[status]}

    def value(match: re.Match[str]) -> str:
        name = match.group(0)[1:-1].strip().lower()
        if name in special:
            return special[name]
        field = _FIELDS.get(name)
        if field is None:
            LOG.warning("job %d: unknown placeholder %s in a callback url", job.id, match[0])
            return match.group(0)
        return str(getattr(job, field))

    return PLACEHOLDER.sub(value, url)


# placeholders a callback URL may use: TestJob's plain fields (never the job's token)
_FIELDS = {
    name: name
    for name in (
        "id",
        "sub_id",
        "description",
        "priority",
        "state",
        "health",
        "submit_time",
        "start_time",
        "end_time",
        "health_check",
        "target_group",
        "actual_device_id",
        "requested_device_type_id",
        "submitter_id",
        "failure_comment",
        "error_type",
    )
}


def resolve_token(job: TestJob, value: str) -> str:
    """A callback ``token`` as LAVA resolves it: the description of one of the submitter's
    API tokens gives that token's secret; anything else is sent as it is."""
    secret = (
        AuthToken.objects.filter(user_id=job.submitter_id, description=value)
        .order_by("id")
        .values_list("secret", flat=True)
        .first()
    )
    return secret if secret is not None else value


def _callback_row(
    job: TestJob, index: int, spec: dict[str, Any], event: str, moment: dict[str, Any]
) -> Notification:
    token = spec.get("token")
    token = resolve_token(job, str(token)) if token is not None else ""
    method = str(spec.get("method") or "GET").upper()
    return Notification(
        job=job,
        kind=Notification.CALLBACK,
        index=index,
        event=event,
        snapshot=moment,
        target=substitute(str(spec.get("url") or ""), job),
        method=method if method in METHODS else "GET",
        dataset=str(spec.get("dataset") or "minimal"),
        content_type=str(spec.get("content-type") or "urlencoded"),
        header=str(spec.get("header") or "Authorization") if token else "",
        token=token,
    )


def _mail_rows(
    job: TestJob, notify: dict[str, Any], event: str, moment: dict[str, Any], callbacks: bool
) -> list[Notification]:
    recipients = notify.get("recipients")
    if not isinstance(recipients, list):
        recipients = []
    if not recipients and not callbacks:
        recipients = [{"to": {"method": "email", "user": job.submitter.get_username()}}]
    done = set(
        Notification.objects.filter(job=job, kind__in=(Notification.EMAIL, Notification.IRC))
        .values_list("kind", "index")
        .distinct()
    )
    rows = []
    for index, recipient in enumerate(recipients):
        to = recipient.get("to") if isinstance(recipient, dict) else None
        if not isinstance(to, dict):
            continue
        kind = Notification.IRC if to.get("method") == "irc" else Notification.EMAIL
        if (kind, index) in done:  # once per job, as LAVA's "sent" flag does
            continue
        target = _address(job, to) if kind == Notification.EMAIL else str(to.get("handle") or "")
        if target is None:
            continue
        rows.append(
            Notification(
                job=job, kind=kind, index=index, event=event, snapshot=moment, target=target
            )
        )
    return rows


def _address(job: TestJob, to: dict[str, Any]) -> str | None:
    """Where a mail goes: ``email``, or the named user's (or the device owner's) address."""
    if to.get("email"):
        return str(to["email"])
    name = to.get("user")
    if name == DEVICE_OWNER:
        device = job.actual_device
        owner = device.physical_owner if device is not None else None
        if owner is None:
            LOG.info("job %d: no device owner to mail", job.id)
            return None
        return owner.email or None
    user = User.objects.filter(username=str(name)).first()
    if user is None or not user.email:
        LOG.warning("job %d: user %r has no email address to notify", job.id, name)
        return None
    return user.email
