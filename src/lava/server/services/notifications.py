"""A job's notifications as its readers may see them: the delivery log the APIs show.

Whoever may see a job sees what it owed and how delivery went: each callback's
URL, state, attempts, last answer and error. Mail addresses are personal:
only the job's submitter and superusers read them. A callback's token never
leaves the database.
"""

from __future__ import annotations

import datetime
import gzip
from typing import Any

from ..logs.store import log_store
from ..notifications.body import JOB_DATA
from ..scheduler import permissions
from ..scheduler.models import Notification
from ..scheduler.states import JobState
from .actors import Actor
from .errors import Missing
from .jobs import visible_job

HIDDEN = "(hidden)"


def _time(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def delivery_log(actor: Actor, job_id: object) -> list[dict[str, Any]]:
    """Every notification of the job numbered ``job_id``, oldest first (Missing if unseen)."""
    job = visible_job(actor, job_id, related=False)
    personal = actor.at_console or permissions.can_read_secrets(actor.user, job)
    rows = []
    for row in Notification.objects.filter(job=job).order_by("id"):
        target = row.target
        if row.kind != Notification.CALLBACK and not personal:
            target = HIDDEN
        pending = row.status == Notification.Status.PENDING
        rows.append(
            {
                "id": row.id,
                "job": job.id,
                "kind": row.kind,
                "index": row.index,
                "event": row.event,
                "target": target,
                "method": row.method,
                "dataset": row.dataset,
                "content_type": row.content_type,
                "status": Notification.Status(row.status).label,
                "attempts": row.attempts,
                "created": _time(row.created),
                "last_attempt": _time(row.last_attempt),
                "next_attempt": _time(row.next_attempt) if pending else None,
                "sent": _time(row.sent),
                "response": row.response,
                "error": row.error,
            }
        )
    return rows


def kept_job_data(actor: Actor, job_id: object) -> bytes:
    """The body of the job's first POST callback, gzip'd (LAVA's ``job_data.gz``).

    Missing unless the job is Finished and sent one. Whoever may see the job may
    download it (LAVA: its submitter and staff): it holds the job's log, results
    and definition with secrets masked, which they may read anyway.
    """
    job = visible_job(actor, job_id, related=False)
    text = log_store().read_file(job.id, JOB_DATA) if job.state == JobState.FINISHED else None
    if text is None:
        raise Missing(f"Job {job.id} has no job data: no POST callback was sent when it ended.")
    return gzip.compress(text.encode())
