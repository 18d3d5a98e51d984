"""The instance's sanity checks, in Django's checks framework (tag ``lava``).

They read the disk and the database, and a broken device must not stop
``migrate`` or every other command, so they report only while
``lava-server manage check`` runs them (inside ``active()``); other commands'
automatic system checks skip them.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, register
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError, connection

from .states import DeviceHealth, WorkerHealth

# Rendering, schemas and migrations are imported inside the checks: every
# command registers them at start-up, only `check` runs them.

TAG = "lava"
_ACTIVE: ContextVar[bool] = ContextVar("lava_checks_active", default=False)

Check = Callable[..., list[CheckMessage]]


@contextlib.contextmanager
def active() -> Iterator[None]:
    """Let the lava checks report while the block runs."""
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _lava_check(func: Callable[[], list[CheckMessage]]) -> Check:
    def run(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
        if not _ACTIVE.get():
            return []
        if app_configs is not None and not any(c.label == "scheduler" for c in app_configs):
            return []
        if settings.UNPRIVILEGED and func.__name__ in NEEDS_DATA:
            return []  # check_access says why
        return func()

    # not functools.wraps: Django reads the signature (it must take **kwargs) via __wrapped__
    run.__name__ = run.__qualname__ = func.__name__
    run.__doc__ = func.__doc__
    return run


def summary() -> dict[str, str]:
    """Which configuration the instance runs with, for the head of ``check``'s report."""
    lava = settings.LAVA
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        database = f"SQLite {db['NAME']}"
    else:
        where = f"{db.get('USER') or ''}@{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
        database = f"PostgreSQL {db['NAME']} ({where})"
    return {
        "settings file": ", ".join(lava.source) or "none (defaults and LAVA_* variables)",
        "data directory": str(lava.data_dir),
        "database": database,
        "dispatcher-config": str(lava.dispatcher_config_dir),
    }


@_lava_check
def check_data_dir() -> list[CheckMessage]:
    path = settings.LAVA.data_dir
    if not path.is_dir():
        return [
            Error(
                "does not exist",
                obj=f"data directory {path}",
                id="lava.E001",
                hint="create it, owned by the user the server runs as",
            )
        ]
    if not os.access(path, os.W_OK | os.X_OK):
        return [
            Error(
                "is not writable",
                obj=f"data directory {path}",
                id="lava.E001",
                hint="make it writable by the user the server runs as",
            )
        ]
    return []


@_lava_check
def check_secret_key() -> list[CheckMessage]:
    if settings.LAVA.secret_key:
        return []
    path = settings.LAVA.data_dir / "secret_key"
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        return [Error(exc.strerror, obj=f"secret key file {path}", id="lava.E002")]
    if mode & 0o077:
        return [
            Error(
                f"has mode {mode:04o}: others may read it",
                obj=f"secret key file {path}",
                id="lava.E002",
                hint=f"chmod 600 {path}",
            )
        ]
    return []


@_lava_check
def check_database() -> list[CheckMessage]:
    try:
        connection.ensure_connection()
    except Exception as exc:  # any driver's failure to connect
        return [
            Error(
                f"not reachable: {exc}".strip(),
                obj="database",
                id="lava.E003",
                hint="check DATABASE_URL in the settings (or LAVA_DATABASE_URL)",
            )
        ]
    try:
        plan = _unapplied_migrations()
    except DatabaseError as exc:
        return [Error(f"cannot read the applied migrations: {exc}", obj="database", id="lava.E004")]
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan)
        return [
            Error(
                f"{len(plan)} migrations not applied: {names}",
                obj="database",
                id="lava.E004",
                hint="run lava-server manage migrate",
            )
        ]
    return []


def _unapplied_migrations() -> list[Any]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


def _database_ready() -> bool:
    """Whether the checks that read tables can run (check_database says why not)."""
    try:
        connection.ensure_connection()
        return not _unapplied_migrations()
    except Exception:  # reported by check_database
        return False


@_lava_check
def check_dispatcher_config() -> list[CheckMessage]:
    lava = settings.LAVA
    return [
        CheckWarning(
            "does not exist",
            obj=f"dispatcher-config directory {path}",
            id="lava.W005",
            hint=f"mkdir -p {path}",
        )
        for path in (lava.devices_dir, lava.health_checks_dir)
        if not path.is_dir()
    ]


@_lava_check
def check_devices() -> list[CheckMessage]:
    from ..services.devices import device_problems
    from .models import Device

    if not _database_ready():
        return []
    devices = Device.objects.exclude(health=DeviceHealth.RETIRED).select_related("device_type")
    return [
        Error(
            problem,
            obj=f"device {device.hostname}",
            id="lava.E006",
            hint=f"lava-server manage devices update {device.hostname} --device-dict FILE",
        )
        for device in devices.order_by("hostname")
        for problem in device_problems(device)
    ]


@_lava_check
def check_device_types() -> list[CheckMessage]:
    from . import dispatcher_config
    from .models import DeviceType

    if not _database_ready():
        return []
    return [
        CheckWarning(
            f"has no template ({dt.name}.jinja2)",
            obj=f"device type {dt.name}",
            id="lava.W007",
            hint=f"write {settings.LAVA.device_types_dir / (dt.name + '.jinja2')}",
        )
        for dt in DeviceType.objects.order_by("name")
        if dispatcher_config.device_type_template(dt.name) is None
    ]


@_lava_check
def check_health_checks() -> list[CheckMessage]:
    from ..services.device_types import health_check_problems

    directory = settings.LAVA.health_checks_dir
    if not directory.is_dir() or not _database_ready():
        return []
    messages: list[CheckMessage] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            messages.append(
                Error(f"cannot read it: {exc}", obj=f"health check {path}", id="lava.E008")
            )
            continue
        errors, warnings = health_check_problems(text, path.name.removesuffix(".yaml"))
        messages += [Error(e, obj=f"health check {path}", id="lava.E008") for e in errors]
        messages += [CheckWarning(w, obj=f"health check {path}", id="lava.W008") for w in warnings]
    return messages


@_lava_check
def check_workers() -> list[CheckMessage]:
    from .models import Device

    if not _database_ready():
        return []
    devices = Device.objects.exclude(health=DeviceHealth.RETIRED).select_related("worker_host")
    messages: list[CheckMessage] = []
    for device in devices.order_by("hostname"):
        worker = device.worker_host
        if worker is None:
            messages.append(
                CheckWarning(
                    "has no worker",
                    obj=f"device {device.hostname}",
                    id="lava.W009",
                    hint=f"lava-server manage devices update {device.hostname} --worker WORKER",
                )
            )
        elif worker.health == WorkerHealth.RETIRED:
            messages.append(
                CheckWarning(
                    f"is on retired worker {worker.hostname}",
                    obj=f"device {device.hostname}",
                    id="lava.W010",
                    hint="move the device to another worker, or retire it",
                )
            )
    return messages


@_lava_check
def check_fair_share_weights() -> list[CheckMessage]:
    """FAIR_SHARE_WEIGHTS names users and groups that exist: a typo would weigh nobody."""
    from django.contrib.auth.models import Group, User

    weights = settings.LAVA.fair_share_weights
    if not weights or not _database_ready():
        return []
    named: dict[str, set[str]] = {"user": set(), "group": set()}
    for key in weights:
        kind, _, name = key.partition(":")
        named[kind].add(name)
    known = {
        "user": set(
            User.objects.filter(username__in=named["user"]).values_list("username", flat=True)
        ),
        "group": set(Group.objects.filter(name__in=named["group"]).values_list("name", flat=True)),
    }
    where = ", ".join(settings.LAVA.source) or "LAVA_FAIR_SHARE_WEIGHTS"
    return [
        CheckWarning(
            f"names {kind} {name!r}, which does not exist: its weight applies to nobody",
            obj="FAIR_SHARE_WEIGHTS",
            id="lava.W011",
            hint=f"correct the name in {where}",
        )
        for kind in ("user", "group")
        for name in sorted(named[kind] - known[kind])
    ]


# What another user than the instance's (``lava-server`` lets them run ``check``) cannot read
NEEDS_DATA = {
    "check_data_dir",
    "check_secret_key",
    "check_database",
    "check_devices",
    "check_workers",
    "check_fair_share_weights",
}


@_lava_check
def check_access() -> list[CheckMessage]:
    """As a user who may not read the instance's data: which checks were left out."""
    if not settings.UNPRIVILEGED:
        return []
    return [
        Info(
            f"the data directory belongs to {settings.UNPRIVILEGED!r} and is private: "
            "the data directory, secret key, database, device, worker and fair-share checks "
            "were not run",
            obj=str(settings.LAVA.data_dir),
            hint="run `sudo lava-server manage check` for every check",
            id="lava.I001",
        )
    ]


CHECKS: tuple[Check, ...] = (
    check_access,
    check_data_dir,
    check_secret_key,
    check_database,
    check_dispatcher_config,
    check_devices,
    check_device_types,
    check_health_checks,
    check_workers,
    check_fair_share_weights,
)


def register_all() -> None:
    """Register every check under the ``lava`` tag (the registry ignores repeats)."""
    for check in CHECKS:
        register(check, TAG)
