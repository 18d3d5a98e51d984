"""What a callback sends: LAVA's job data, field by field, with LAVA's types.

KernelCI reads it: ``status`` as the legacy integer, ``results`` as one YAML
string per suite, ``log`` as the whole ``output.yaml`` text, ``definition``
as YAML text, times as ``str(datetime)`` (a space, not a ``T``) or the
string ``"None"``. The definition is the one anybody may see: secret values
are masked (LAVA sends them).
"""

from __future__ import annotations

import datetime
import json
import urllib.parse
from typing import Any

from lava.common import yamlio

from ..logs.store import log_store
from ..results.exports import export_testcase, job_cases, job_metadata
from ..scheduler.definitions import shown, shown_definition
from ..scheduler.models import Notification, TestJob
from ..scheduler.states import LEGACY_STATUS_WORDS, JobHealth, JobState, legacy_status

JOB_DATA = "job_data.json"  # kept with the job; served gzip'd as LAVA's job_data.gz


def _time(value: datetime.datetime | None) -> str:
    return str(value)  # "None" for a time not reached: LAVA's str() of None


def snapshot(job: TestJob) -> dict[str, Any]:
    """What a notification reports of the job's moment: kept with the row, used when sent."""
    return {
        "state": int(job.state),
        "health": int(job.health),
        "start_time": _time(job.start_time),
        "end_time": _time(job.end_time),
        "failure_comment": job.failure_comment,
    }


def job_data(
    job: TestJob,
    moment: dict[str, Any],
    *,
    output: bool,
    results: bool,
    log_limit: int,
) -> dict[str, Any]:
    """The callback body for ``job`` as it was at ``moment`` (``snapshot``'s mapping)."""
    state, health = moment["state"], moment["health"]
    status = legacy_status(state, health)
    submitter = job.submitter
    data: dict[str, Any] = {
        "id": job.id,
        "status": status,
        "status_string": LEGACY_STATUS_WORDS[status],
        "state": state,
        "state_string": JobState(state).label,
        "health": health,
        "health_string": JobHealth(health).label,
        "submit_time": _time(job.submit_time),
        "start_time": moment["start_time"],
        "end_time": moment["end_time"],
        "submitter_username": submitter.get_username(),
        "submitter_email": submitter.email or "",
        "failure_comment": moment["failure_comment"],
        "priority": job.priority,
        "description": job.description,
        "actual_device_id": job.actual_device_id,
        "definition": shown_definition(job, None),
        "metadata": job_metadata(shown(job, None)["metadata"]),
        "health_check": job.health_check,
    }
    if output:
        text = _log(job.id, log_limit)
        if text is not None:
            data["log"] = text
    if results:
        data["results"] = suites(job)
    return data


def _log(job_id: int, limit: int) -> str | None:
    """The job's ``output.yaml`` up to ``limit`` bytes, in whole lines; None if unreadable."""
    try:
        raw = log_store().read_from(job_id)
    except OSError:
        return None
    if raw is None:
        return None
    if len(raw) > limit:
        raw = raw[: raw.rfind(b"\n", 0, limit) + 1]
    return raw.decode("utf-8", "replace")


def suites(job: TestJob) -> dict[str, str]:
    """Each suite's cases as a YAML text, by suite name (the body's ``results``)."""
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for case in job_cases(job):
        by_suite.setdefault(case.suite.name, []).append(export_testcase(case))
    return {name: yamlio.dump(cases) for name, cases in by_suite.items()}


def encoded(data: dict[str, Any]) -> bytes:
    """The body form-encoded as LAVA's ``urlencoded`` callbacks are (through ``requests``).

    A None value is left out, a list repeats its key (``metadata`` gives each
    one-key mapping's key), a mapping gives its keys (``results`` loses its
    cases, as in LAVA: use ``json`` for results).
    """
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            items = value if isinstance(value, list) else list(value)
            for item in items:
                pairs.append((key, str(next(iter(item))) if isinstance(item, dict) else str(item)))
            continue
        pairs.append((key, str(value)))
    return urllib.parse.urlencode(pairs).encode()


def keep(job_id: int, data: dict[str, Any]) -> None:
    """Keep the first POST callback's body with the job (LAVA's ``job_data.gz``)."""
    store = log_store()
    if not store.has_file(job_id, JOB_DATA):
        store.write_file(job_id, JOB_DATA, json.dumps(data))


def for_notification(notification: Notification, log_limit: int) -> dict[str, Any]:
    """The body of one callback row, by its dataset."""
    dataset = notification.dataset or "minimal"
    return job_data(
        notification.job,
        notification.snapshot,
        output=dataset in ("logs", "all"),
        results=dataset in ("results", "all"),
        log_limit=log_limit,
    )
