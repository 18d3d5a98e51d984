"""What the worker API does, without HTTP: ping, fetch a job's files, start and end a job."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ...logs.store import log_store
from .. import dispatcher_config, transitions
from ..devicefiles import DeviceFiles
from ..models import TestJob, Worker
from ..states import JobHealth, JobState, WorkerState
from ..transitions import lock_job

RESULTS = {"pass": JobHealth.COMPLETE, "fail": JobHealth.INCOMPLETE}


class BadRequest(ValueError):
    """The worker asked for something the job's state or the input does not allow (400)."""


def _entries(jobs: Any) -> list[dict[str, Any]]:
    return [{"id": job_id, "token": token} for job_id, token in jobs]


# A ping may wait this long for its answer to change (the worker's long poll).
MAX_PING_WAIT = 30.0
PING_POLL_SECONDS = 0.1
# a worker pings at every change of its jobs: its last ping is written at most this often
PING_WRITE_SECONDS = 5.0


def _worker_jobs(worker: Worker) -> dict[str, list[dict[str, Any]]]:
    rows = (
        TestJob.objects.filter(
            actual_device__worker_host=worker,
            state__in=(JobState.SCHEDULED, JobState.CANCELING, JobState.RUNNING),
        )
        .order_by("id")
        .values_list("state", "id", "token")
    )
    by_state: dict[int, list[tuple[int, str]]] = {
        JobState.SCHEDULED: [],
        JobState.CANCELING: [],
        JobState.RUNNING: [],
    }
    for state, job_id, token in rows:
        by_state[state].append((job_id, token))
    return {
        "start": _entries(by_state[JobState.SCHEDULED]),
        "cancel": _entries(by_state[JobState.CANCELING]),
        "running": _entries(by_state[JobState.RUNNING]),
    }


def _etag(answer: dict[str, Any]) -> str:
    """What the worker has to act on: the jobs it should run, and those to cancel.

    A job going from Scheduled to Running is the worker's own doing: that
    change alone does not wake a held ping (it would cost every job a ping).
    """
    active = sorted(entry["id"] for key in ("start", "running") for entry in answer[key])
    cancel = sorted(entry["id"] for entry in answer["cancel"])
    text = json.dumps([active, cancel]).encode()
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def _ping_is_news(worker: Worker, version: str) -> bool:
    """Whether a ping must be written: the worker was not Online at this version, or its last
    ping is older than a tenth of the offline timeout (at most 5 s)."""
    if worker.state != WorkerState.ONLINE or worker.version != version[:50]:
        return True
    if worker.last_ping is None:
        return True
    fresh = min(PING_WRITE_SECONDS, settings.LAVA.worker_offline_timeout / 10)
    return (timezone.now() - worker.last_ping).total_seconds() >= fresh


def worker_ping(worker: Worker, version: str, wait: float = 0.0, seen: str = "") -> dict[str, Any]:
    """Record a ping; the jobs this worker should start, cancel and keep running.

    With ``wait``, a long poll: while the answer's ``etag`` is still ``seen``
    (what the worker already has), hold the answer up to ``wait`` seconds and
    send it as soon as it changes, so a worker learns of a new job or a cancel
    within a tenth of a second without pinging all the time.
    """
    if _ping_is_news(worker, version):  # else Online, same version, pinged a moment ago
        with transaction.atomic():
            worker = Worker.objects.select_for_update().get(pk=worker.pk)
            worker.last_ping = timezone.now()
            worker.version = version[:50]
            worker.save(update_fields=["last_ping", "version"])
            transitions.set_worker_state(worker, WorkerState.ONLINE, "ping")
    answer: dict[str, Any] = _worker_jobs(worker)
    etag = _etag(answer)
    # a held ping is not seen as a ping: hold it well under the offline timeout
    limit = min(MAX_PING_WAIT, settings.LAVA.worker_offline_timeout / 3)
    end = time.monotonic() + min(max(wait, 0.0), limit)
    while seen and etag == seen and time.monotonic() < end:
        time.sleep(PING_POLL_SECONDS)
        answer = _worker_jobs(worker)
        etag = _etag(answer)
    answer["etag"] = etag
    return answer


def worker_version_mismatch(worker: Worker, version: str) -> None:
    """A worker of another version may not run jobs: mark it Offline."""
    with transaction.atomic():
        worker = Worker.objects.select_for_update().get(pk=worker.pk)
        transitions.set_worker_state(
            worker, WorkerState.OFFLINE, f"version mismatch: worker has {version!r}"
        )


def job_files(job: TestJob) -> dict[str, str]:
    """The files lava-run needs: definition, rendered device, dispatcher and environments."""
    device = job.actual_device
    if device is None:
        raise BadRequest(f"job {job.id} has no device")
    rendered = DeviceFiles().rendered(device.hostname, device.device_type_id, job.definition)
    worker = device.worker_host_id

    def worker_file(name: str) -> str:
        return dispatcher_config.read_worker_file(worker, name) if worker else ""

    files = {
        "definition": job.definition,
        "device": rendered,
        "dispatcher": worker_file("dispatcher.yaml"),
        "env": worker_file("env.yaml"),
        "env-dut": worker_file("env-dut.yaml"),
    }
    names = {"definition": "job.yaml", "device": "device.yaml"}
    kept = {f"{key}.yaml": text for key, text in files.items() if text and key not in names}
    _save(job, {names[key]: files[key] for key in names} | kept)
    return files


def job_started(job: TestJob) -> None:
    """Scheduled -> Running; a retried or late report changes nothing."""
    with transaction.atomic():
        job = lock_job(job)
        if job.state == JobState.SCHEDULED:
            transitions.job_running(job)
        elif job.state not in (JobState.RUNNING, JobState.CANCELING, JobState.FINISHED):
            raise BadRequest(f"job {job.id} is {JobState(job.state).label}, not Scheduled")


def job_finished(
    job: TestJob, result: str, error_type: str = "", errors: str = "", description: str = ""
) -> None:
    """End a job as the worker reports it; a retried report changes nothing."""
    if result not in RESULTS:
        raise BadRequest(f"Invalid health '{result}'")
    with transaction.atomic():
        job = lock_job(job)
        if job.state == JobState.FINISHED:
            return
        if job.state == JobState.SUBMITTED:
            raise BadRequest(f"job {job.id} was never scheduled")
        transitions.job_finished(
            job,
            RESULTS[result],
            reason=f"the worker reported {result}",
            error_type=error_type[:32],
            failure_comment=errors or None,
        )
    # LAVA keeps the worker's description.yaml next to the log
    _save(job, {"description.yaml": description})


def _save(job: TestJob, files: dict[str, str]) -> None:
    """Keep copies of a job's files in its output directory, as LAVA does."""
    store = log_store()
    for name, text in files.items():
        store.write_file(job.id, name, text)
