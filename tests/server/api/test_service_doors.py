"""Every door to a change of the lab reaches the same service, with the same effect and the
same refusal: XML-RPC (lavacli), REST and ``lava-server manage``.

Each operation below lists how each interface asks for it. The tests check:
the admin's request has the effect; a signed-in user without the right is
refused with 403 by both APIs; after every refusal, the row count of every
table and the lab's files on disk are exactly as before.
"""

from __future__ import annotations

import hashlib
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from rpc_helpers import basic, rpc

from lava.server.scheduler import dispatcher_config
from lava.server.scheduler.models import (
    Alias,
    AuthToken,
    Device,
    DeviceType,
    GroupDevicePermission,
    Tag,
    TestJob,
    Worker,
)
from lava.server.scheduler.states import DeviceHealth, JobState, WorkerHealth
from lava.server.scheduler.submission import submit_job

JOB = (
    "job_name: doors\ndevice_type: qemu\nvisibility: public\n"
    "timeouts:\n  job: {minutes: 5}\nactions: []\n"
)
DICTIONARY = "{% extends 'qemu.jinja2' %}\n{% set arch = 'arm64' %}\n"
TEMPLATE = "{% extends 'base.jinja2' %}\n"
REST = "/api/v0.2"


@dataclass
class Doors:
    """One operation, as each interface asks for it; ``done`` says whether it happened."""

    done: Callable[[], bool]
    xmlrpc: tuple[str, tuple[Any, ...]] | None = None
    rest: tuple[str, str, dict[str, Any]] | None = None  # method, path, body
    manage: tuple[str, ...] | None = None
    setup: Callable[[Any], None] = lambda lab: None
    files: dict[str, str] = field(default_factory=dict)  # name -> text, for manage's FILE


def _job(lab: Any) -> None:
    submit_job(JOB, User.objects.get(username="owner"))


def _first_job() -> int:
    return TestJob.objects.order_by("id").values_list("id", flat=True).first() or 0


def _health(model: Any, name: str, health: int) -> bool:
    return model.objects.filter(hostname=name, health=health).exists()


OPERATIONS: dict[str, Doors] = {
    "create a tag": Doors(
        done=lambda: Tag.objects.filter(name="hub", description="a hub").exists(),
        xmlrpc=("scheduler.tags.add", ("hub", "a hub")),
        rest=("post", "/tags/", {"name": "hub", "description": "a hub"}),
        manage=("device-tags", "create", "hub", "a hub"),
    ),
    "delete a tag": Doors(
        setup=lambda lab: Tag.objects.create(name="hub"),
        done=lambda: not Tag.objects.filter(name="hub").exists(),
        xmlrpc=("scheduler.tags.delete", ("hub",)),
        rest=("delete", "/tags/{tag}/", {}),
    ),
    "tag a device": Doors(
        setup=lambda lab: Tag.objects.create(name="usb"),
        done=lambda: Device.objects.filter(hostname="qemu-01", tags__name="usb").exists(),
        xmlrpc=("scheduler.devices.tags.add", ("qemu-01", "usb")),
        manage=("device-tags", "add", "qemu-01", "--tags", "usb"),
    ),
    "add an alias": Doors(
        done=lambda: Alias.objects.filter(name="kvm", device_type="qemu").exists(),
        xmlrpc=("scheduler.aliases.add", ("kvm", "qemu")),
        rest=("post", "/aliases/", {"name": "kvm", "device_type": "qemu"}),
        manage=("aliases", "add", "kvm", "qemu"),
    ),
    "remove an alias": Doors(
        setup=lambda lab: Alias.objects.create(name="kvm", device_type_id="qemu"),
        done=lambda: not Alias.objects.exists(),
        xmlrpc=("scheduler.aliases.delete", ("kvm",)),
        rest=("delete", "/aliases/kvm/", {}),
        manage=("aliases", "remove", "kvm"),
    ),
    "put a device into maintenance": Doors(
        done=lambda: _health(Device, "qemu-01", DeviceHealth.MAINTENANCE),
        xmlrpc=("scheduler.devices.update", ("qemu-01", None, None, None, None, "MAINTENANCE")),
        rest=("post", "/devices/qemu-01/set_health/", {"health": "MAINTENANCE", "reason": "x"}),
        manage=("devices", "update", "qemu-01", "--health", "MAINTENANCE"),
    ),
    "put a worker into maintenance": Doors(
        done=lambda: _health(Worker, "worker-01", WorkerHealth.MAINTENANCE),
        xmlrpc=("scheduler.workers.update", ("worker-01", None, "MAINTENANCE")),
        rest=("post", "/workers/worker-01/set_health/", {"health": "MAINTENANCE"}),
        manage=("workers", "update", "worker-01", "--health", "MAINTENANCE"),
    ),
    "add a device": Doors(
        done=lambda: Device.objects.filter(hostname="qemu-09", device_type="qemu").exists(),
        xmlrpc=("scheduler.devices.add", ("qemu-09", "qemu", "worker-01")),
        manage=("devices", "add", "qemu-09", "--device-type", "qemu", "--worker", "worker-01"),
    ),
    "delete a device": Doors(
        done=lambda: not Device.objects.filter(hostname="qemu-02").exists(),
        xmlrpc=("scheduler.devices.delete", ("qemu-02",)),
    ),
    "add a worker": Doors(
        done=lambda: Worker.objects.filter(hostname="worker-09").exists(),
        xmlrpc=("scheduler.workers.add", ("worker-09",)),
        manage=("workers", "add", "worker-09"),
    ),
    "delete a worker": Doors(
        setup=lambda lab: Worker.objects.create(hostname="worker-09"),
        done=lambda: not Worker.objects.filter(hostname="worker-09").exists(),
        xmlrpc=("scheduler.workers.delete", ("worker-09",)),
    ),
    "add a device type": Doors(
        done=lambda: DeviceType.objects.filter(name="bbb").exists(),
        xmlrpc=("scheduler.device_types.add", ("bbb",)),
    ),
    "replace a device dictionary": Doors(
        done=lambda: False,  # checked on disk: see test_the_admin_has_the_effect
        xmlrpc=("scheduler.devices.set_dictionary", ("qemu-01", DICTIONARY)),
        rest=("post", "/devices/qemu-01/dictionary/", {"dictionary": DICTIONARY}),
        manage=("devices", "update", "qemu-01", "--device-dict", "{dictionary}"),
        files={"dictionary": DICTIONARY},
    ),
    "replace a worker's env.yaml": Doors(
        done=lambda: False,
        xmlrpc=("scheduler.workers.set_env", ("worker-01", "purge: true\n")),
        rest=("post", "/workers/worker-01/env/", {"env": "purge: true\n"}),
    ),
    "replace a device-type template": Doors(
        done=lambda: False,
        xmlrpc=("scheduler.device_types.set_template", ("qemu", TEMPLATE)),
        rest=("post", "/devicetypes/qemu/template/", {"template": TEMPLATE}),
    ),
    "restrict a device to a group": Doors(
        done=lambda: GroupDevicePermission.objects.filter(device="qemu-01").exists(),
        xmlrpc=("scheduler.devices.perms_add", ("qemu-01", "lab", "view_device")),
    ),
    "cancel a job": Doors(
        setup=_job,
        done=lambda: TestJob.objects.filter(state=JobState.FINISHED).exists(),
        xmlrpc=("scheduler.jobs.cancel", ("{job}",)),
        rest=("post", "/jobs/{job}/cancel/", {}),
        manage=("jobs", "cancel", "{job}"),
    ),
    "create a group": Doors(
        done=lambda: Group.objects.filter(name="testers").exists(),
        xmlrpc=("auth.groups.add", ("testers",)),
        manage=("groups", "add", "testers"),
    ),
}
# what each operation writes on disk, when it does (relative to the dispatcher-config root)
FILES = {
    "replace a device dictionary": ("devices/qemu-01.jinja2", DICTIONARY),
    "replace a worker's env.yaml": (None, "purge: true\n"),
    "replace a device-type template": ("device-types/qemu.jinja2", TEMPLATE),
}


def doors(*kinds: str) -> list[Any]:
    """(operation, interface) for every interface that offers the operation."""
    return [
        pytest.param(name, kind, id=f"{name} / {kind}")
        for name, op in OPERATIONS.items()
        for kind in kinds
        if getattr(op, kind) is not None
    ]


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str) and "{" in value and not value.startswith("{%"):
        return value.format(**values)
    return value


def _values(tmp_path: Path, op: Doors) -> dict[str, str]:
    values = {"job": str(_first_job())}
    tag = Tag.objects.filter(name="hub").first()
    values["tag"] = str(tag.pk) if tag else "0"
    for name, text in op.files.items():
        path = tmp_path / f"{name}.txt"
        path.write_text(text)
        values[name] = str(path)
    return values


def ask(door: str, op: Doors, client: Client, auth: dict[str, dict[str, str]], who: str, tmp_path):
    """Ask ``door`` for ``op`` as ``who``; None when done, else the status or fault code."""
    values = _values(tmp_path, op)
    if door == "xmlrpc":
        name, params = op.xmlrpc
        params = tuple(_fill(p, values) for p in params)
        if name == "scheduler.jobs.cancel":
            params = (int(params[0]),)
        try:
            rpc(client, name, *params, auth=auth["xmlrpc"].get(who))
        except xmlrpc.client.Fault as fault:
            return fault.faultCode
        return None
    if door == "rest":
        method, path, body = op.rest
        headers = auth["rest"].get(who, {})
        answer = getattr(client, method)(
            REST + _fill(path, values), body, content_type="application/json", **headers
        )
        return None if answer.status_code < 300 else answer.status_code
    call_command(*(_fill(arg, values) for arg in op.manage))
    return None


@pytest.fixture
def auth(users, lab, data_dir) -> dict[str, dict[str, dict[str, str]]]:
    found: dict[str, dict[str, dict[str, str]]] = {"xmlrpc": {}, "rest": {}}
    for name, user in users.items():
        secret = AuthToken.objects.create(user=user).secret
        found["xmlrpc"][name] = basic(name, secret)
        found["rest"][name] = {"HTTP_AUTHORIZATION": f"Token {secret}"}
    return found


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="localhost")


def snapshot(root: Path) -> tuple[dict[str, int], dict[str, str]]:
    """The row count of every table, and every file under the lab's root with its digest."""
    rows = {
        model._meta.db_table: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
    }
    files = {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for place in (root, root.parent / "dispatcher.d")  # worker files are beside the root
        for path in sorted(place.rglob("*"))
        if path.is_file()
    }
    return rows, files


def _done(name: str, op: Doors, root: Path) -> bool:
    if name in FILES:
        relative, text = FILES[name]
        path = (
            root / relative if relative else dispatcher_config.worker_file("worker-01", "env.yaml")
        )
        return path.is_file() and path.read_text() == text
    return op.done()


@pytest.mark.parametrize(("name", "door"), doors("xmlrpc", "rest", "manage"))
def test_the_admin_has_the_effect(name, door, client, auth, lab, tmp_path) -> None:
    op = OPERATIONS[name]
    op.setup(lab)
    assert not _done(name, op, lab.root)
    assert ask(door, op, client, auth, "admin", tmp_path) is None
    assert _done(name, op, lab.root), f"{name} over {door} had no effect"


@pytest.mark.parametrize(("name", "door"), doors("xmlrpc", "rest"))
def test_a_caller_without_the_right_is_refused_and_nothing_changes(
    name, door, client, auth, lab, tmp_path
) -> None:
    op = OPERATIONS[name]
    op.setup(lab)
    before = snapshot(lab.root)
    assert ask(door, op, client, auth, "stranger", tmp_path) == 403
    assert snapshot(lab.root) == before
    assert ask(door, op, client, auth, "anonymous", tmp_path) in (401, 403)
    assert snapshot(lab.root) == before
    assert not _done(name, op, lab.root)


def test_every_door_is_tested() -> None:
    """A new XML-RPC or REST write method, or manage sub-command, belongs in OPERATIONS."""
    counted = sum(
        getattr(op, door) is not None for op in OPERATIONS.values() for door in ("xmlrpc", "rest")
    )
    assert counted >= 28
