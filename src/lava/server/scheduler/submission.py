"""Job submission: the one function every entry point (API, web, manage) calls.

LAVA's two layers: the submission check decides, problems found by the full
(strict) schema are kept on the job as warnings. Then what the definition
names (device type or alias, pinned device and worker, tags, groups, notify
users) must exist and be visible to the submitter. A refused definition writes
nothing; the message says what is wrong and where.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Count, Q

from lava.common.joblimits import check_definition_size, check_job
from lava.common.limits import LimitExceeded, RefusedValue
from lava.common.schema import (
    JobSchemaError,
    JobSyntaxError,
    load_job,
    validate_job,
    validate_submission,
)
from lava.common.timeout import Timeout

from ..events import emit
from ..postgresql import prepared_cursor
from ..services.errors import Invalid
from ..services.orm_rows import Converters, written_once
from . import permissions
from .models import Alias, Device, DeviceType, Tag, TestJob, Worker
from .states import (
    PRIORITY_DEFAULT,
    PRIORITY_MAX,
    PRIORITY_MIN,
    PRIORITY_NAMES,
    DeviceHealth,
    Visibility,
)

DESCRIPTION_MAX = 200
DEVICE_OWNER = "{LAVA_DEVICE_OWNER}"  # notify: whoever owns the device the job ran on


class SubmissionError(Invalid):
    """A job definition was refused; the message says what is wrong and where (``path``:
    the key at fault, when the schema named one)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Problem:
    """What submission would refuse in a definition: the key at fault and why."""

    path: str
    msg: str

    def __str__(self) -> str:
        """The message, with the path as the schema writes it ("... @ actions[1].boot")."""
        return self.msg if not self.path or self.path in self.msg else f"{self.msg} @ {self.path}"


def submit_job(text: str, user: User) -> TestJob:
    """Check ``text`` and queue it as a job of ``user``; raise SubmissionError if refused."""
    data = _checked_data(text)
    if not (user.is_authenticated and user.is_active):
        raise SubmissionError(f"user {user.get_username()!r} is not active and may not submit")
    warnings = full_schema_problems(data, strict=True)
    # Reads first, outside the transaction: under READ COMMITTED it made them no safer. A
    # job without tags or groups is one INSERT, which commits by itself: BEGIN and COMMIT
    # were two more round trips to PostgreSQL (bench/submit_rate.py).
    target = _resolve(data, user)
    with transaction.atomic() if target.tags or target.groups else contextlib.nullcontext():
        job = TestJob.objects.create(
            submitter=user,
            definition=text,
            original_definition=text,
            description=str(data["job_name"])[:DESCRIPTION_MAX],
            requested_device_type=target.device_type,
            requested_device=target.device,
            requested_worker=target.worker,
            visibility=target.visibility,
            is_public=target.visibility == Visibility.PUBLIC,
            priority=target.priority,
            queue_timeout=target.queue_timeout,
            metadata=job_metadata(data),
            warnings=warnings,
        )
        if target.tags:
            job.tags.set(target.tags)
        if target.groups:
            job.viewing_groups.set(target.groups)
        emit.job(job)
    return job


def definition_problem(text: str, strict: bool = False, schema: bool = True) -> Problem | None:
    """What submission would refuse in ``text`` before it looks at the lab's devices, or
    (``schema``) what the full schema says (``strict``: unknown keys too); None when valid.

    Every validating interface asks here, so none accepts what submission refuses.
    """
    try:
        data = _checked_data(text)
        if schema:
            validate_job(data, strict=strict, extra_context_variables=_extra_context())
    except JobSchemaError as exc:
        return Problem(exc.path, exc.msg)
    except SubmissionError as exc:
        return Problem(exc.path, str(exc))
    return None


def full_schema_problems(data: dict[Any, Any], strict: bool = True) -> list[str]:
    """The full schema's complaint about a job, as a list (empty when it is valid)."""
    try:
        validate_job(data, strict=strict, extra_context_variables=_extra_context())
    except JobSchemaError as exc:
        return [str(exc)]
    return []


def _extra_context() -> tuple[str, ...]:
    return tuple(settings.LAVA.extra_context_variables)


def _checked_data(text: str) -> dict[Any, Any]:
    """The job mapping, after the size, syntax and submission checks that need no database."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SubmissionError(
                f"the job definition is not UTF-8 text (byte {exc.start})"
            ) from None
    size = len(text.encode("utf-8", errors="surrogatepass"))
    try:
        check_definition_size(size, settings.LAVA.max_job_size, "the server setting MAX_JOB_SIZE")
        data = load_job(text)
        check_job(data)
    except JobSyntaxError as exc:
        raise SubmissionError(f"the job definition is not valid YAML: {exc}") from None
    except (LimitExceeded, RefusedValue) as exc:
        raise SubmissionError(f"the job definition is refused: {exc}") from None
    protocols = data.get("protocols")
    if isinstance(protocols, dict) and "lava-multinode" in protocols:
        raise SubmissionError(
            "protocols.lava-multinode: MultiNode jobs are not supported yet; "
            "submit one job per device instead"
        )
    try:
        validate_submission(data, extra_context_variables=_extra_context())
    except JobSchemaError as exc:
        raise SubmissionError(f"the job definition is invalid: {exc}", exc.path) from None
    if data.get("secrets") and data.get("visibility") == "public":
        # LAVA's own words; anyone, anonymous callers too, may read a public job's definition
        raise SubmissionError(
            "secrets: When 'secrets' is used, 'visibility' shouldn't be 'public': anyone, "
            "anonymous users included, may read a public job's definition and so its "
            "secrets; use visibility: personal or {group: [...]}"
        )
    return data


@dataclass
class _Target:
    """What a definition asks for, resolved against the database."""

    device_type: DeviceType
    device: Device | None = None
    worker: Worker | None = None
    tags: list[Tag] = field(default_factory=list)
    visibility: int = Visibility.PUBLIC
    groups: list[Group] = field(default_factory=list)
    priority: int = PRIORITY_DEFAULT
    queue_timeout: int | None = None


def _resolve(data: dict[Any, Any], user: User) -> _Target:
    # the user's permission rows, read once for every check; a superuser passes each check
    # before it looks at them
    known = None if permissions.is_superuser(user) else permissions.access(user)
    device_type = _device_type(data.get("device_type"), user, known)
    target = _Target(device_type=device_type)
    target.worker = _worker(data.get("worker"))
    target.device = _device(data.get("device"), device_type, target.worker, user)
    if target.device is not None and target.worker is None:
        target.worker = target.device.worker_host  # as LAVA: the job follows the device's worker
    allowed = permissions.submittable_devices(user, known).filter(device_type=device_type)
    if target.worker is not None:
        allowed = allowed.filter(worker_host=target.worker)
    if target.device is not None:
        allowed = allowed.filter(pk=target.device.pk)
    elif not permissions.can_submit_to_some_device(
        user, device_type, None if target.worker is None else target.worker.pk, known
    ):
        raise SubmissionError(_no_devices(device_type, user, target.worker))
    target.tags = _tags(data.get("tags"), allowed, device_type, target.device)
    target.visibility, target.groups = _visibility(data.get("visibility"))
    target.priority = _priority(data.get("priority", PRIORITY_DEFAULT))
    target.queue_timeout = _queue_timeout(data.get("timeouts"))
    _check_notify(data.get("notify"))
    return target


def _device_type(name: Any, user: User, known: permissions.Access | None) -> DeviceType:
    if not isinstance(name, str) or not name:
        raise SubmissionError("device_type: a job must name the device type it runs on")
    device_type = _named_device_type(name)
    # a hidden type is reported like a missing one, so names do not leak
    if device_type is None or not permissions.can_view_device_type(user, device_type, known):
        raise SubmissionError(f"device_type: device type {name!r} does not exist")
    if not permissions.can_submit_to_device_type(user, device_type, known):
        raise SubmissionError(
            f"device_type: user {user.get_username()!r} may not submit jobs "
            f"to device type {device_type.name!r}"
        )
    return device_type


def _named_device_type(name: str) -> DeviceType | None:
    """The device type an alias ``name`` stands for, else the one named ``name``.

    One query for both: the alias's type and the same-named type, when both exist,
    are two rows, and the alias wins. Written once (`_type_sql`): the ORM took 0.6 ms
    of each submission to build it, three times what PostgreSQL takes to answer.
    """
    database = connections[DEFAULT_DB_ALIAS]
    with prepared_cursor(database) as cursor:
        cursor.execute(_type_sql(database), [name, name, name])
        found = cursor.fetchall()
    if not found:
        return None
    *values, _ = min(found, key=lambda row: bool(row[-1]))  # the alias's type first
    values = _TYPE_CONVERTERS.row(database, values)
    return DeviceType.from_db(database.alias, _TYPE_ATTNAMES, values)


_TYPE_FIELDS = DeviceType._meta.concrete_fields
_TYPE_ATTNAMES = [f.attname for f in _TYPE_FIELDS]
_TYPE_CONVERTERS = Converters(DeviceType, [(f, DeviceType._meta.db_table) for f in _TYPE_FIELDS])


@written_once
def _type_sql(q: Callable[[str], str], vendor: str) -> str:
    """The types named or aliased ``name`` (each ``%s``), each with whether it is the one
    named so."""
    name = q(DeviceType._meta.pk.column)
    columns = ", ".join(f"t.{q(f.column)}" for f in _TYPE_FIELDS)
    alias = Alias._meta
    return (
        f"SELECT {columns}, t.{name} = %s FROM {q(DeviceType._meta.db_table)} t WHERE "
        f"t.{name} = %s OR t.{name} IN (SELECT a.{q(alias.get_field('device_type').column)} "
        f"FROM {q(alias.db_table)} a WHERE a.{q(alias.pk.column)} = %s)"
    )


def _no_devices(device_type: DeviceType, user: User, worker: Worker | None) -> str:
    where = f" on worker {worker.hostname!r}" if worker else ""
    devices = Device.objects.filter(device_type=device_type).exclude(health=DeviceHealth.RETIRED)
    if worker is not None:
        devices = devices.filter(worker_host=worker)
    if devices.exists():
        return (
            f"device_type: user {user.get_username()!r} may not submit jobs to any "
            f"device of type {device_type.name!r}{where}"
        )
    return f"device_type: no devices of type {device_type.name!r} are available{where}"


def _worker(name: Any) -> Worker | None:
    if name is None:
        return None
    worker = Worker.objects.filter(hostname=str(name)).first()
    if worker is None:
        raise SubmissionError(f"worker: worker {name!r} does not exist")
    return worker


def _device(name: Any, device_type: DeviceType, worker: Worker | None, user: User) -> Device | None:
    if name is None:
        return None
    device = Device.objects.filter(hostname=str(name)).first()
    if device is None or not permissions.can_view_device(user, device):
        raise SubmissionError(f"device: device {name!r} does not exist")
    if device.device_type_id != device_type.pk:
        raise SubmissionError(
            f"device: device {device.hostname!r} is of type {device.device_type_id!r}, "
            f"not {device_type.name!r}"
        )
    if worker is not None and device.worker_host_id != worker.pk:
        raise SubmissionError(
            f"device: device {device.hostname!r} is not attached to worker {worker.hostname!r}"
        )
    if device.health == DeviceHealth.RETIRED:
        raise SubmissionError(f"device: device {device.hostname!r} is retired")
    if not permissions.can_submit_to_device(user, device):
        raise SubmissionError(
            f"device: user {user.get_username()!r} may not submit jobs "
            f"to device {device.hostname!r}"
        )
    return device


def _tags(names: Any, allowed: Any, device_type: DeviceType, device: Device | None) -> list[Tag]:
    if not names:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SubmissionError("tags: must be a list of tag names")
    wanted = list(dict.fromkeys(names))
    tags = {tag.name: tag for tag in Tag.objects.filter(name__in=wanted)}
    for name in wanted:
        if name not in tags:
            raise SubmissionError(f"tags: device tag {name!r} does not exist")
    carrying = allowed.annotate(
        matched=Count("tags", filter=Q(tags__in=tags.values()), distinct=True)
    ).filter(matched=len(tags))
    if not carrying.exists():
        listed = ", ".join(wanted)
        if device is not None:
            raise SubmissionError(
                f"tags: device {device.hostname!r} does not have all of the tags '{listed}'"
            )
        raise SubmissionError(
            f"tags: no devices of type {device_type.name!r} are available "
            f"which have all of the tags '{listed}'"
        )
    return [tags[name] for name in wanted]


def _visibility(value: Any) -> tuple[int, list[Group]]:
    if value == "public":
        return Visibility.PUBLIC, []
    if value == "personal":
        return Visibility.PERSONAL, []
    names = value.get("group") if isinstance(value, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise SubmissionError(
            f"visibility: must be public, personal or {{group: [NAME, ...]}}, not {value!r}"
        )
    groups = {group.name: group for group in Group.objects.filter(name__in=names)}
    for name in names:
        if name not in groups:
            raise SubmissionError(f"visibility.group: group {name!r} does not exist")
    return Visibility.GROUP, list(groups.values())


def _priority(value: Any) -> int:
    if isinstance(value, str):
        number = PRIORITY_NAMES.get(value.strip().lower())
        if number is None:
            raise SubmissionError(
                f"priority: unknown job priority {value!r} "
                f"(use low, medium, high or {PRIORITY_MIN}..{PRIORITY_MAX})"
            )
        return number
    if isinstance(value, bool) or not isinstance(value, int):
        raise SubmissionError(f"priority: must be low, medium, high or a number, not {value!r}")
    if not PRIORITY_MIN <= value <= PRIORITY_MAX:
        raise SubmissionError(
            f"priority: job priority {value} is not between {PRIORITY_MIN} and {PRIORITY_MAX}"
        )
    return value


def _queue_timeout(timeouts: Any) -> int | None:
    """Seconds the job may wait in the queue: ``timeouts: queue``, else QUEUE_TIMEOUT_HOURS."""
    if not isinstance(timeouts, dict) or timeouts.get("queue") is None:
        hours = settings.LAVA.queue_timeout_hours
        return None if hours is None else round(hours * 3600)
    try:
        seconds = Timeout.parse(timeouts["queue"], default=0).seconds
    except ValueError as exc:
        raise SubmissionError(f"timeouts.queue: {exc}") from None
    return int(seconds) or None


def _check_notify(notify: Any) -> None:
    """Users a notification goes to must exist (the schema has checked the shape)."""
    if not isinstance(notify, dict) or not isinstance(notify.get("recipients"), list):
        return
    for index, recipient in enumerate(notify["recipients"]):
        to = recipient.get("to") if isinstance(recipient, dict) else None
        name = to.get("user") if isinstance(to, dict) else None
        if name is None or name == DEVICE_OWNER:
            continue
        if not User.objects.filter(username=str(name)).exists():
            raise SubmissionError(
                f"notify.recipients[{index}].to.user: user {name!r} does not exist"
            )


def job_metadata(data: dict[Any, Any]) -> dict[str, Any]:
    """The definition's ``metadata``, scalars as strings so filters match 1234 and '1234'."""
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        return {}
    return {str(key): _metadata_value(value) for key, value in metadata.items()}


def _metadata_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _metadata_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_metadata_value(item) for item in value]
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
