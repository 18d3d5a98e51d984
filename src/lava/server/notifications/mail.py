"""The mail a job's recipients get: LAVA's subject, and a plain-text body by verbosity.

``status-only``: who, which job, its state and health, and its page.
``quiet`` adds, once the job is Finished, the error, the device and the times;
``verbose`` (LAVA's default) adds the metadata and each suite's cases. Plain
text, never HTML-escaped (LAVA's template escapes ``<`` and ``&`` in a mail).
"""

from __future__ import annotations

import datetime
import socket
from typing import Any

from django.conf import settings

from ..results.exports import job_cases, job_metadata
from ..results.models import TestCase
from ..scheduler.definitions import shown
from ..scheduler.models import Notification, TestJob
from ..scheduler.states import JobHealth, JobState

SUBJECT_DESCRIPTION = 200  # characters of the description in the subject, as LAVA
TIME_FORMAT = "%Y-%m-%d %H:%M:%S (%z %Z)"
CASES_SHOWN = 500  # cases listed in a verbose mail; the page has the rest


def subject(job: TestJob) -> str:
    return f"LAVA notification for Test Job {job.id} {job.description[:SUBJECT_DESCRIPTION]}"


def base_url() -> str:
    """The lab's address in mails: INSTANCE_URL, else http:// and this host's full name."""
    return (settings.LAVA.instance_url or f"http://{socket.getfqdn()}").rstrip("/")


def job_url(job: TestJob) -> str:
    return f"{base_url()}/scheduler/job/{job.id}"


def _when(value: str) -> str:
    if value in ("", "None"):
        return "-"
    try:
        return datetime.datetime.fromisoformat(value).strftime(TIME_FORMAT)
    except ValueError:
        return value


def text(notification: Notification, verbosity: str) -> str:
    """The body of one mail."""
    job = notification.job
    moment = notification.snapshot
    state, health = JobState(moment["state"]).label, JobHealth(moment["health"]).label
    user = job.submitter
    lines = [f"Hello {user.get_full_name()}," if user.get_full_name() else "Hello,", ""]
    lines.append(
        f"Test job {job.id} is {state}, health {health}, submitted by {user.get_username()}."
    )
    lines += [job_url(job), ""]
    if moment["state"] == JobState.FINISHED and verbosity in ("verbose", "quiet"):
        lines += _details(job, moment)
        if verbosity == "verbose":
            lines += _results(job)
    lines += ["-- ", "LAVA", ""]
    return "\n".join(lines)


def _details(job: TestJob, moment: dict[str, Any]) -> list[str]:
    lines = []
    if moment["health"] == JobHealth.INCOMPLETE:
        kind = job.error_type or "Unknown"
        lines += [f"{kind} error: {moment.get('failure_comment') or 'no reason given'}", ""]
    device = job.actual_device
    if device is not None:
        owner = device.physical_owner.get_username() if device.physical_owner else "-"
        lines.append(
            f"Device: {device.hostname} ({device.device_type_id}), owner {owner}, "
            f"worker {device.worker_host_id or '-'}"
        )
    lines += [
        f"Priority: {job.priority}",
        f"Description: {job.description}",
        f"Submitted: {_when(str(job.submit_time))}",
        f"Started: {_when(moment['start_time'])}",
        f"Ended: {_when(moment['end_time'])}",
    ]
    try:
        start = datetime.datetime.fromisoformat(moment["start_time"])
        end = datetime.datetime.fromisoformat(moment["end_time"])
        lines.append(f"Duration: {end - start}")
    except (TypeError, ValueError):
        pass
    return [*lines, ""]


def _results(job: TestJob) -> list[str]:
    lines = []
    metadata = job_metadata(shown(job, None)["metadata"])
    if metadata:
        lines.append("Metadata:")
        lines += [f"  {key}: {value}" for item in metadata for key, value in item.items()]
        lines.append("")
    suite = None
    base = base_url()
    for count, case in enumerate(job_cases(job)):
        if count == CASES_SHOWN:
            lines.append(f"  ... more on {base}/results/{job.id}")
            break
        if case.suite.name != suite:
            suite = case.suite.name
            lines.append(f"{suite}: {base}/results/{job.id}/{suite}")
        measured = (
            f" {case.measurement} {case.units}".rstrip() if case.measurement is not None else ""
        )
        lines.append(f"  {case.name}: {TestCase.Result(case.result).label}{measured}")
    return [*lines, ""] if lines else []
