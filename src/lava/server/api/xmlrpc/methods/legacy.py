"""LAVA's older ``scheduler.*`` methods, which scripts written before lavacli still call.

Each answers from the same visibility rules and services as the newer
namespaces; a job or device the caller may not see reads as a missing one.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from django.db.models import Count, Q

from lava.common import yamlio

from ....logs.store import log_store
from ....scheduler import permissions, states
from ....scheduler.definitions import TEXTS, shown
from ....scheduler.models import Device, TestJob
from ....scheduler.states import (
    LEGACY_STATUS_WORDS,
    DeviceHealth,
    DeviceState,
    JobHealth,
    JobState,
    WorkerState,
)
from ....services import devices as device_ops
from ....services import dictionaries
from ....services import jobs as job_services
from ..registry import Call, Text, method, text
from .devices import current_jobs, get_dictionary, visible_device
from .jobs import job_case_metadata, visible_job

Fault = xmlrpc.client.Fault
ACTIVE = (DeviceHealth.GOOD, DeviceHealth.UNKNOWN)


def status(state: int, health: int) -> str:
    """LAVA's one-word device status: idle, offline, retired, reserved or running."""
    if state == DeviceState.IDLE:
        if health in ACTIVE:
            return "idle"
        return "retired" if health == DeviceHealth.RETIRED else "offline"
    return "reserved" if state == DeviceState.RESERVED else "running"


def legacy_status(job: TestJob) -> str:
    """A job's status before LAVA split it into state and health."""
    return LEGACY_STATUS_WORDS[states.legacy_status(job.state, job.health)].capitalize()


def _count(value: Any) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise Fault(400, f"Bad request: count must be a number, not {value!r}") from None
    if count < 0:
        raise Fault(400, "Bad request: count must not be negative.")
    return count


@method("scheduler.validate_yaml", ["undef", "str"])
def validate_yaml(call: Call, yaml_string: str) -> None:
    """Whether a job passes the submission checks (None), else fault 400 saying why."""
    problem = job_services.validate(yaml_string)
    if problem is not None:
        raise Fault(400, f"Invalid YAML submission: {problem}")


@method("scheduler.job_output", ["base64", "int", "int"])
def job_output(call: Call, job_id: int, offset: int = 0) -> xmlrpc.client.Binary:
    """The job's log (output.yaml) from byte ``offset``."""
    job = visible_job(call, job_id)
    data = log_store().read_from(job.id, int(offset))
    if data is None:
        raise Fault(404, "Job output not found.")
    return xmlrpc.client.Binary(data)


@method("scheduler.job_details", ["struct", "int"])
def job_details(call: Call, job_id: int) -> dict[str, Any]:
    """Every field of a job, with its legacy status, submitter and error."""
    job = visible_job(call, job_id)
    metadata = job_case_metadata(job)
    texts = {name: value for name, value in shown(job, call.user).items() if name in TEXTS}
    return {
        "id": job.id,
        "sub_id": job.sub_id,
        "target_group": job.target_group,
        "description": job.description,
        "submitter_id": job.submitter_id,
        "submitter_username": job.submitter.username,
        "submitter_email": job.submitter.email,
        "is_public": job.is_public,
        "is_pipeline": True,
        "health_check": job.health_check,
        "requested_device_type_id": job.requested_device_type_id,
        "actual_device_id": job.actual_device_id,
        "priority": job.priority,
        "status": legacy_status(job),
        "state": JobState(job.state).label,
        "health": JobHealth(job.health).label,
        "submit_time": job.submit_time,
        "start_time": job.start_time,
        "end_time": job.end_time,
        **texts,
        "failure_comment": job.failure_comment,
        "error_msg": metadata.get("error_msg"),
        "error_type": metadata.get("error_type"),
        "absolute_url": f"/scheduler/job/{job.id}",
    }


@method("scheduler.job_health", ["struct", "int"])
def job_health(call: Call, job_id: int) -> dict[str, Any]:
    """``{job_id, job_health}``: Unknown, Complete, Incomplete or Canceled."""
    job = visible_job(call, job_id)
    return {"job_id": job.id, "job_health": JobHealth(job.health).label}


@method("scheduler.job_state", ["struct", "int"])
def job_state(call: Call, job_id: int) -> dict[str, Any]:
    """``{job_id, job_state}``: Submitted, Scheduling, Scheduled, Running, Canceling, Finished."""
    job = visible_job(call, job_id)
    return {"job_id": job.id, "job_state": JobState(job.state).label}


@method("scheduler.all_jobs", ["array"])
def all_jobs(call: Call) -> list[list[Any]]:
    """Every unfinished job: [id, description, status, device, device type, sub_id]."""
    jobs = permissions.visible_jobs(call.user).exclude(state=JobState.FINISHED).order_by("-id")
    return [
        [
            job.id,
            job.description,
            legacy_status(job).lower(),
            job.actual_device_id,
            job.requested_device_type_id,
            job.sub_id or None,
        ]
        for job in jobs
    ]


@method("scheduler.all_devices", ["array"])
def all_devices(call: Call) -> list[list[Any]]:
    """Every device not retired: [hostname, type, status, current job]."""
    devices = permissions.visible_devices(call.user).exclude(health=DeviceHealth.RETIRED)
    rows = list(
        devices.order_by("hostname").values_list("hostname", "device_type_id", "state", "health")
    )
    jobs = current_jobs([row[0] for row in rows])
    return [
        [hostname, device_type, status(state, health), jobs.get(hostname)]
        for hostname, device_type, state, health in rows
    ]


@method("scheduler.all_device_types", ["array"])
def all_device_types(call: Call) -> list[dict[str, Any]]:
    """Each device type's devices counted: idle, busy and offline."""
    online = Q(worker_host__state=WorkerState.ONLINE)
    counts = (
        permissions.visible_devices(call.user)
        .exclude(health=DeviceHealth.RETIRED)
        .values("device_type")
        .annotate(
            idle=Count("pk", filter=Q(state=DeviceState.IDLE, health__in=ACTIVE) & online),
            busy=Count("pk", filter=Q(state__in=(DeviceState.RESERVED, DeviceState.RUNNING))),
            offline=Count(
                "pk",
                filter=Q(state=DeviceState.IDLE)
                & ~Q(health=DeviceHealth.MAINTENANCE)
                & (~online | ~Q(health__in=ACTIVE)),
            ),
        )
        .order_by("device_type")
    )
    return [
        {
            "name": row["device_type"],
            "idle": row["idle"],
            "busy": row["busy"],
            "offline": row["offline"],
        }
        for row in counts
    ]


def _recent(call: Call, count: Any, restrict_to_user: bool, **which: Any) -> Any:
    jobs = permissions.visible_jobs(call.user).filter(state=JobState.FINISHED, **which)
    jobs = jobs.order_by("-id")
    if restrict_to_user:
        jobs = jobs.filter(submitter=call.need_user())
    return jobs[: _count(count)]


@method("scheduler.get_recent_jobs_for_device_type", ["array", "str", "int", "bool"])
def recent_jobs_for_type(
    call: Call, device_type: str, count: int = 1, restrict_to_user: bool = False
) -> list[dict[str, Any]]:
    """The last ``count`` finished jobs of a device type, youngest first."""
    found = permissions.visible_device_types(call.user).filter(name=str(device_type), display=True)
    if not found.exists():
        raise Fault(404, f"DeviceType '{device_type}' was not found.")
    return [
        {
            "id": job.id,
            "description": job.description,
            "status": legacy_status(job),
            "device": job.actual_device_id or "",
        }
        for job in _recent(call, count, restrict_to_user, requested_device_type=str(device_type))
    ]


@method("scheduler.get_recent_jobs_for_device", ["array", "str", "int", "bool"])
def recent_jobs_for_device(
    call: Call, device: str, count: int = 1, restrict_to_user: bool = False
) -> list[dict[str, Any]]:
    """The last ``count`` finished jobs of a device, youngest first."""
    found = visible_device(call, device)
    return [
        {"id": job.id, "description": job.description, "status": legacy_status(job)}
        for job in _recent(call, count, restrict_to_user, actual_device=found)
    ]


@method("scheduler.get_device_type_by_alias", ["struct", "str"])
def device_type_by_alias(call: Call, alias: str) -> dict[str, list[str]]:
    """``{alias: [device types]}``: the types with an alias containing ``alias``."""
    types = permissions.visible_device_types(call.user).filter(aliases__name__contains=str(alias))
    return {str(alias): sorted(set(types.values_list("name", flat=True)))}


@method("scheduler.get_device_status", ["struct", "str"])
def device_status(call: Call, hostname: str) -> dict[str, Any]:
    """A device's status, current job and whether it is a pipeline device (always)."""
    device = visible_device(call, hostname)
    return {
        "hostname": device.hostname,
        "status": status(device.state, device.health),
        "job": current_jobs([device.hostname]).get(device.hostname),
        "offline_since": None,
        "offline_by": None,
        "is_pipeline": True,
    }


def _set_health(call: Call, hostname: str, reason: str, health: int) -> None:
    if not reason:
        raise Fault(400, "Bad request: Reason was not specified.")
    device_ops.update_device(call.actor, str(hostname), health=health, reason=reason)


@method("scheduler.put_into_maintenance_mode", ["undef", "str", "str", "str"])
def maintenance(call: Call, hostname: str, reason: str, notify: str | None = None) -> None:
    """Put a device into Maintenance: it finishes its job and takes no more."""
    _set_health(call, hostname, reason, DeviceHealth.MAINTENANCE)


@method("scheduler.put_into_online_mode", ["undef", "str", "str", "bool"])
def online(call: Call, hostname: str, reason: str, skip_health_check: bool = False) -> None:
    """Bring a device back: Unknown health (a health check runs), or Good if it is skipped."""
    health = DeviceHealth.GOOD if skip_health_check else DeviceHealth.UNKNOWN
    _set_health(call, hostname, reason, health)


@method("scheduler.pending_jobs_by_device_type", ["struct", "bool"])
def pending_jobs(call: Call, include_all: bool = False) -> dict[str, int]:
    """``{device type: jobs waiting}``; types with no devices left only with ``all`` (True)."""
    waiting = (
        permissions.visible_jobs(call.user)
        .filter(state=JobState.SUBMITTED)
        .exclude(requested_device_type__isnull=True)
        .values_list("requested_device_type")
        .annotate(count=Count("id"))
    )
    answer = {name: count for name, count in waiting.order_by()}
    types = permissions.visible_device_types(call.user)
    if not include_all:
        active = Device.objects.exclude(health=DeviceHealth.RETIRED).values("device_type")
        types = types.filter(display=True, name__in=active)
    for name in types.values_list("name", flat=True):
        answer.setdefault(name, 0)
    return answer


@method("scheduler.get_device_config", ["base64", "str", "str"])
def device_config(
    call: Call, device_hostname: str, context: str | None = None
) -> xmlrpc.client.Binary:
    """The device configuration the dispatcher would get, for an optional job context (YAML)."""
    return get_dictionary(call, device_hostname, True, context)


@method("scheduler.import_device_dictionary", ["str", "str", "str"])
def import_dictionary(call: Call, hostname: str, jinja_str: Text) -> str:
    """Replace a device's dictionary, once it renders (superusers, as set_dictionary)."""
    device_ops.set_dictionary(call.actor, str(hostname), text(jinja_str))
    return f"Device dictionary updated for {hostname}"


@method("scheduler.export_device_dictionary", ["base64", "str"])
def export_dictionary(call: Call, hostname: str) -> xmlrpc.client.Binary:
    """A device's dictionary (needs change_device)."""
    call.need_perm("change_device")
    return xmlrpc.client.Binary(dictionaries.read(call.actor, str(hostname)).encode("utf-8"))


@method("scheduler.validate_pipeline_devices", ["base64", "str"])
def validate_devices(call: Call, name: str | None = None) -> xmlrpc.client.Binary:
    """Whether each device (of a type, or one host) renders: YAML ``{host: {Valid|Invalid}}``."""
    devices = permissions.visible_devices(call.user).exclude(health=DeviceHealth.RETIRED)
    if name:
        chosen = devices.filter(device_type=str(name))
        devices = chosen if chosen.exists() else devices.filter(hostname=str(name))
    devices = list(devices.select_related("device_type").order_by("hostname"))
    if not devices:
        raise Fault(404, f"No devices found with hostname or device type name {name or ''}")
    results: dict[str, dict[str, Any]] = {}
    for device in devices:
        problems = device_ops.device_problems(device)
        results[device.hostname] = {"Invalid": "; ".join(problems)} if problems else {"Valid": None}
    return xmlrpc.client.Binary(yamlio.dump(results).encode("utf-8"))
