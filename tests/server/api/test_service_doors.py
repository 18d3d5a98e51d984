"""Every door to a change of the lab reaches the same service, with the same effect and the
same refusal: XML-RPC (lavacli), REST, ``lava-server manage`` and the Django admin.

Each operation below lists how each interface asks for it. The tests check:
the admin's request has the effect; a signed-in user without the right is
refused with 403 by both APIs; after every refusal, the row count of every
table and the lab's files on disk are exactly as before.
"""

from __future__ import annotations

import hashlib
import re
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib import messages
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rpc_helpers import basic, rpc

from lava.server.scheduler import dispatcher_config
from lava.server.scheduler.models import (
    Alias,
    AuthToken,
    Device,
    DeviceType,
    GroupDevicePermission,
    GroupDeviceTypePermission,
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


HEALTH_CHECK = JOB.replace("job_name: doors", "job_name: health check")
PERSONAL = JOB.replace("visibility: public", "visibility: personal")
PERM_CODENAME = ("lava_scheduler_app", "device", "change_device")


@dataclass
class Doors:
    """One operation, as each interface asks for it; ``done`` says whether it happened.

    ``xmlrpc`` lists every XML-RPC spelling (LAVA's older names included).
    ``refused`` is what a signed-in user without the right gets.
    """

    done: Callable[[], bool]
    xmlrpc: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    rest: tuple[str, str, dict[str, Any]] | None = None  # method, path, body
    manage: tuple[str, ...] | None = None
    admin: tuple[str, str, str] | None = None  # model, action, the object's pk
    setup: Callable[[Any], None] = lambda lab: None
    files: dict[str, str] = field(default_factory=dict)  # name -> text, for manage's FILE
    refused: int = 403


def _job(lab: Any, text: str = JOB) -> None:
    submit_job(text, User.objects.get(username="owner"))


def _first_job() -> int:
    return TestJob.objects.order_by("id").values_list("id", flat=True).first() or 0


def _health(model: Any, name: str, health: int) -> bool:
    return model.objects.filter(hostname=name, health=health).exists()


def _tagged(lab: Any) -> None:
    Device.objects.get(hostname="qemu-01").tags.add(Tag.objects.create(name="usb"))


def _restricted(kind: str) -> Callable[[Any], None]:
    def setup(lab: Any) -> None:
        group = Group.objects.get(name="lab")
        if kind == "device":
            GroupDevicePermission.objects.create(
                device_id="qemu-01", group=group, permission="view"
            )
        else:
            GroupDeviceTypePermission.objects.create(
                devicetype_id="qemu", group=group, permission="view"
            )

    return setup


def _granted(kind: str) -> Callable[[], bool]:
    def done() -> bool:
        if kind == "device":
            return GroupDevicePermission.objects.filter(device="qemu-01").exists()
        return GroupDeviceTypePermission.objects.filter(devicetype="qemu").exists()

    return done


def _user_perm(lab: Any) -> None:
    user = User.objects.get(username="owner")
    user.user_permissions.add(Permission.objects.get(codename="change_device"))


def _group_perm(lab: Any) -> None:
    Group.objects.get(name="lab").permissions.add(Permission.objects.get(codename="change_device"))


def _in_group(name: str) -> bool:
    return User.objects.filter(username="stranger", groups__name=name).exists()


OPERATIONS: dict[str, Doors] = {
    "create a tag": Doors(
        done=lambda: Tag.objects.filter(name="hub", description="a hub").exists(),
        xmlrpc=[("scheduler.tags.add", ("hub", "a hub"))],
        rest=("post", "/tags/", {"name": "hub", "description": "a hub"}),
        manage=("device-tags", "create", "hub", "a hub"),
    ),
    "delete a tag": Doors(
        setup=lambda lab: Tag.objects.create(name="hub"),
        done=lambda: not Tag.objects.filter(name="hub").exists(),
        xmlrpc=[("scheduler.tags.delete", ("hub",))],
        rest=("delete", "/tags/{tag}/", {}),
        admin=("tag", "delete_selected", "{tag}"),
    ),
    "tag a device": Doors(
        setup=lambda lab: Tag.objects.create(name="usb"),
        done=lambda: Device.objects.filter(hostname="qemu-01", tags__name="usb").exists(),
        xmlrpc=[("scheduler.devices.tags.add", ("qemu-01", "usb"))],
        manage=("device-tags", "add", "qemu-01", "--tags", "usb"),
    ),
    "untag a device": Doors(
        setup=_tagged,
        done=lambda: not Device.objects.filter(hostname="qemu-01", tags__name="usb").exists(),
        xmlrpc=[("scheduler.devices.tags.delete", ("qemu-01", "usb"))],
        manage=("device-tags", "remove", "qemu-01", "--tags", "usb"),
    ),
    "add an alias": Doors(
        done=lambda: Alias.objects.filter(name="kvm", device_type="qemu").exists(),
        xmlrpc=[
            ("scheduler.aliases.add", ("kvm", "qemu")),
            ("scheduler.device_types.aliases.add", ("qemu", "kvm")),
        ],
        rest=("post", "/aliases/", {"name": "kvm", "device_type": "qemu"}),
        manage=("aliases", "add", "kvm", "qemu"),
    ),
    "remove an alias": Doors(
        setup=lambda lab: Alias.objects.create(name="kvm", device_type_id="qemu"),
        done=lambda: not Alias.objects.exists(),
        xmlrpc=[
            ("scheduler.aliases.delete", ("kvm",)),
            ("scheduler.device_types.aliases.delete", ("qemu", "kvm")),
        ],
        rest=("delete", "/aliases/kvm/", {}),
        manage=("aliases", "remove", "kvm"),
    ),
    "put a device into maintenance": Doors(
        done=lambda: _health(Device, "qemu-01", DeviceHealth.MAINTENANCE),
        xmlrpc=[
            ("scheduler.devices.update", ("qemu-01", None, None, None, None, "MAINTENANCE")),
            ("scheduler.put_into_maintenance_mode", ("qemu-01", "a new cable")),
        ],
        rest=("post", "/devices/qemu-01/set_health/", {"health": "MAINTENANCE", "reason": "x"}),
        manage=("devices", "update", "qemu-01", "--health", "MAINTENANCE"),
        admin=("device", "set_health_maintenance", "qemu-01"),
    ),
    "bring a device back online": Doors(
        setup=lambda lab: Device.objects.filter(hostname="qemu-01").update(
            health=DeviceHealth.MAINTENANCE
        ),
        done=lambda: _health(Device, "qemu-01", DeviceHealth.UNKNOWN),
        xmlrpc=[("scheduler.put_into_online_mode", ("qemu-01", "fixed"))],
        admin=("device", "set_health_unknown", "qemu-01"),
    ),
    "put a worker into maintenance": Doors(
        done=lambda: _health(Worker, "worker-01", WorkerHealth.MAINTENANCE),
        xmlrpc=[("scheduler.workers.update", ("worker-01", None, "MAINTENANCE"))],
        rest=("post", "/workers/worker-01/set_health/", {"health": "MAINTENANCE"}),
        manage=("workers", "update", "worker-01", "--health", "MAINTENANCE"),
        admin=("worker", "set_health_maintenance", "worker-01"),
    ),
    "add a device": Doors(
        done=lambda: Device.objects.filter(hostname="qemu-09", device_type="qemu").exists(),
        xmlrpc=[("scheduler.devices.add", ("qemu-09", "qemu", "worker-01"))],
        manage=("devices", "add", "qemu-09", "--device-type", "qemu", "--worker", "worker-01"),
    ),
    "delete a device": Doors(
        done=lambda: not Device.objects.filter(hostname="qemu-02").exists(),
        xmlrpc=[("scheduler.devices.delete", ("qemu-02",))],
        admin=("device", "delete_selected", "qemu-02"),
    ),
    "add a worker": Doors(
        done=lambda: Worker.objects.filter(hostname="worker-09").exists(),
        xmlrpc=[("scheduler.workers.add", ("worker-09",))],
        manage=("workers", "add", "worker-09"),
    ),
    "delete a worker": Doors(
        setup=lambda lab: Worker.objects.create(hostname="worker-09"),
        done=lambda: not Worker.objects.filter(hostname="worker-09").exists(),
        xmlrpc=[("scheduler.workers.delete", ("worker-09",))],
        admin=("worker", "delete_selected", "worker-09"),
    ),
    "add a device type": Doors(
        done=lambda: DeviceType.objects.filter(name="bbb").exists(),
        xmlrpc=[("scheduler.device_types.add", ("bbb",))],
    ),
    "disable a type's health checks": Doors(
        done=lambda: DeviceType.objects.filter(name="qemu", disable_health_check=True).exists(),
        xmlrpc=[("scheduler.device_types.update", ("qemu", None, None, None, None, None, True))],
        manage=("device-types", "update", "qemu", "--disable-health-check"),
    ),
    "replace a health check": Doors(
        done=lambda: False,  # checked on disk: FILES
        xmlrpc=[("scheduler.device_types.set_health_check", ("qemu", HEALTH_CHECK))],
        rest=("post", "/devicetypes/qemu/health_check/", {"config": HEALTH_CHECK}),
        manage=("device-types", "update", "qemu", "--health-check", "{health_check}"),
        files={"health_check": HEALTH_CHECK},
    ),
    "replace a device dictionary": Doors(
        done=lambda: False,
        xmlrpc=[
            ("scheduler.devices.set_dictionary", ("qemu-01", DICTIONARY)),
            ("scheduler.import_device_dictionary", ("qemu-01", DICTIONARY)),
        ],
        rest=("post", "/devices/qemu-01/dictionary/", {"dictionary": DICTIONARY}),
        manage=("devices", "update", "qemu-01", "--device-dict", "{dictionary}"),
        files={"dictionary": DICTIONARY},
    ),
    "replace a worker's dispatcher.yaml": Doors(
        done=lambda: False,
        xmlrpc=[("scheduler.workers.set_config", ("worker-01", "purge: true\n"))],
        rest=("post", "/workers/worker-01/config/", {"config": "purge: true\n"}),
    ),
    "replace a worker's env.yaml": Doors(
        done=lambda: False,
        xmlrpc=[("scheduler.workers.set_env", ("worker-01", "purge: true\n"))],
        rest=("post", "/workers/worker-01/env/", {"env": "purge: true\n"}),
    ),
    "replace a worker's env-dut.yaml": Doors(
        done=lambda: False,
        xmlrpc=[("scheduler.workers.set_env_dut", ("worker-01", "purge: true\n"))],
        rest=("post", "/workers/worker-01/env-dut/", {"env": "purge: true\n"}),
    ),
    "replace a device-type template": Doors(
        done=lambda: False,
        xmlrpc=[("scheduler.device_types.set_template", ("qemu", TEMPLATE))],
        rest=("post", "/devicetypes/qemu/template/", {"template": TEMPLATE}),
    ),
    "restrict a device to a group": Doors(
        done=_granted("device"),
        xmlrpc=[
            ("scheduler.devices.perms_add", ("qemu-01", "lab", "view_device")),
            ("system.assign_perm_device", ("view_device", "qemu-01", "lab")),
        ],
    ),
    "lift a device's restriction": Doors(
        setup=_restricted("device"),
        done=lambda: not _granted("device")(),
        xmlrpc=[
            ("scheduler.devices.perms_delete", ("qemu-01", "lab", "view_device")),
            ("system.revoke_perm_device", ("view_device", "qemu-01", "lab")),
        ],
    ),
    "restrict a device type to a group": Doors(
        done=_granted("devicetype"),
        xmlrpc=[
            ("scheduler.device_types.perms_add", ("qemu", "lab", "view_devicetype")),
            ("system.assign_perm_device_type", ("view_devicetype", "qemu", "lab")),
        ],
    ),
    "lift a device type's restriction": Doors(
        setup=_restricted("devicetype"),
        done=lambda: not _granted("devicetype")(),
        xmlrpc=[
            ("scheduler.device_types.perms_delete", ("qemu", "lab", "view_devicetype")),
            ("system.revoke_perm_device_type", ("view_devicetype", "qemu", "lab")),
        ],
    ),
    "submit a job": Doors(
        done=lambda: TestJob.objects.filter(description="doors").exists(),
        xmlrpc=[("scheduler.jobs.submit", (JOB,)), ("scheduler.submit_job", (JOB,))],
        rest=("post", "/jobs/", {"definition": JOB}),
        manage=("jobs", "submit", "{job_file}", "--submitter", "admin"),
        files={"job_file": JOB},
        refused=0,  # any signed-in user may submit: only anonymous callers are refused
    ),
    "resubmit a job": Doors(
        setup=lambda lab: _job(lab, PERSONAL),
        done=lambda: TestJob.objects.count() == 2,
        xmlrpc=[("scheduler.jobs.resubmit", ("{job}",)), ("scheduler.resubmit_job", ("{job}",))],
        rest=("post", "/jobs/{job}/resubmit/", {}),
        manage=("jobs", "resubmit", "{job}"),
        refused=404,  # a personal job: others may not know it exists
    ),
    "cancel a job": Doors(
        setup=_job,
        done=lambda: TestJob.objects.filter(state=JobState.FINISHED).exists(),
        xmlrpc=[("scheduler.jobs.cancel", ("{job}",)), ("scheduler.cancel_job", ("{job}",))],
        rest=("post", "/jobs/{job}/cancel/", {}),
        manage=("jobs", "cancel", "{job}"),
        admin=("testjob", "cancel", "{job}"),
    ),
    "create a group": Doors(
        done=lambda: Group.objects.filter(name="testers").exists(),
        xmlrpc=[("auth.groups.add", ("testers",))],
        manage=("groups", "add", "testers"),
    ),
    "delete a group": Doors(
        setup=lambda lab: Group.objects.create(name="testers"),
        done=lambda: not Group.objects.filter(name="testers").exists(),
        xmlrpc=[("auth.groups.delete", ("testers",))],
    ),
    "create a user": Doors(
        done=lambda: User.objects.filter(username="newcomer").exists(),
        xmlrpc=[("auth.users.add", ("newcomer",))],
        manage=("users", "add", "newcomer", "--passwd", "a long passphrase"),
    ),
    "change a user": Doors(
        done=lambda: User.objects.filter(username="owner", email="o@lab.example").exists(),
        xmlrpc=[("auth.users.update", ("owner", None, None, "o@lab.example"))],
        manage=("users", "update", "owner", "--email", "o@lab.example"),
    ),
    "delete a user": Doors(
        setup=lambda lab: User.objects.create_user("newcomer"),
        done=lambda: not User.objects.filter(username="newcomer").exists(),
        xmlrpc=[("auth.users.delete", ("newcomer",))],
    ),
    "put a user in a group": Doors(
        done=lambda: _in_group("lab"),
        xmlrpc=[("auth.users.groups.add", ("stranger", "lab"))],
        manage=("groups", "update", "lab", "--username", "stranger"),
    ),
    "take a user out of a group": Doors(
        setup=lambda lab: User.objects.get(username="stranger").groups.add(
            Group.objects.get(name="lab")
        ),
        done=lambda: not _in_group("lab"),
        xmlrpc=[("auth.users.groups.delete", ("stranger", "lab"))],
        manage=("groups", "update", "lab", "--remove-username", "stranger"),
    ),
    "set a user's groups": Doors(
        done=lambda: _in_group("lab"),
        xmlrpc=[("system.set_user_groups", ("stranger@example.com", ["lab"]))],
    ),
    "grant a user a permission": Doors(
        done=lambda: User.objects.filter(
            username="owner", user_permissions__codename="change_device"
        ).exists(),
        xmlrpc=[("auth.users.perms.add", ("owner", *PERM_CODENAME))],
    ),
    "withdraw a user's permission": Doors(
        setup=_user_perm,
        done=lambda: not User.objects.filter(user_permissions__codename="change_device").exists(),
        xmlrpc=[("auth.users.perms.delete", ("owner", *PERM_CODENAME))],
    ),
    "grant a group a permission": Doors(
        done=lambda: Group.objects.filter(
            name="lab", permissions__codename="change_device"
        ).exists(),
        xmlrpc=[("auth.groups.perms.add", ("lab", *PERM_CODENAME))],
    ),
    "withdraw a group's permission": Doors(
        setup=_group_perm,
        done=lambda: not Group.objects.filter(permissions__codename="change_device").exists(),
        xmlrpc=[("auth.groups.perms.delete", ("lab", *PERM_CODENAME))],
    ),
}
# what each operation writes on disk, when it does
FILES = {
    "replace a device dictionary": ("devices/qemu-01.jinja2", DICTIONARY),
    "replace a device-type template": ("device-types/qemu.jinja2", TEMPLATE),
    "replace a health check": ("health-check", HEALTH_CHECK),
    "replace a worker's dispatcher.yaml": ("worker dispatcher.yaml", "purge: true\n"),
    "replace a worker's env.yaml": ("worker env.yaml", "purge: true\n"),
    "replace a worker's env-dut.yaml": ("worker env-dut.yaml", "purge: true\n"),
}


def doors(*kinds: str, refusable: bool = False) -> list[Any]:
    """(operation, interface) for every interface that offers the operation; each XML-RPC
    spelling is a door of its own (``xmlrpc:scheduler.submit_job``)."""
    found = []
    for name, op in OPERATIONS.items():
        if refusable and op.refused == 0:
            continue  # every signed-in user has the right: anonymous callers are refused
        for kind in kinds:
            if kind == "xmlrpc":
                found += [
                    pytest.param(name, f"xmlrpc:{method}", id=f"{name} / {method}")
                    for method, _ in op.xmlrpc
                ]
            elif getattr(op, kind) is not None:
                found.append(pytest.param(name, kind, id=f"{name} / {kind}"))
    return found


def _fill(value: Any, values: dict[str, str]) -> Any:
    """``value`` with ``{job}``, ``{tag}`` and the FILE names replaced (and nothing else)."""
    if isinstance(value, str):
        for key, text in values.items():
            value = value.replace("{" + key + "}", text)
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
    if door.startswith("xmlrpc:"):
        name, params = door.partition(":")[2], dict(op.xmlrpc)[door.partition(":")[2]]
        params = tuple(_fill(p, values) for p in params)
        if "{job}" in op.xmlrpc[0][1]:
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
    if door == "admin":
        model, action, pk = op.admin
        if who != "anonymous":
            client.force_login(User.objects.get(username=who))
        data = {"action": action, "_selected_action": [_fill(pk, values)], "post": "yes"}
        answer = client.post(reverse(f"admin:scheduler_{model}_changelist"), data, follow=True)
        client.logout()
        said = list(answer.context["messages"]) if answer.context else []
        if not answer.redirect_chain:  # no action offered to this user: the list again
            return 403
        if "/login/" in answer.redirect_chain[-1][0]:  # the admin lets in staff only
            return 403
        if any(m.level == messages.ERROR or "Nothing was deleted" in str(m) for m in said):
            return 403  # the service refused: the admin says so, in red
        if any("No action selected" in str(m) for m in said):
            return 403  # the action is not offered to this user
        return None if answer.status_code == 200 else answer.status_code
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
        where, text = FILES[name]
        if where == "health-check":
            path = dispatcher_config.health_check_file("qemu")
        elif where.startswith("worker "):
            path = dispatcher_config.worker_file("worker-01", where.partition(" ")[2])
        else:
            path = root / where
        return path.is_file() and path.read_text() == text
    return op.done()


@pytest.mark.parametrize(("name", "door"), doors("xmlrpc", "rest", "manage", "admin"))
def test_the_admin_has_the_effect(name, door, client, auth, lab, tmp_path) -> None:
    op = OPERATIONS[name]
    op.setup(lab)
    assert not _done(name, op, lab.root)
    assert ask(door, op, client, auth, "admin", tmp_path) is None
    assert _done(name, op, lab.root), f"{name} over {door} had no effect"


@pytest.mark.parametrize(("name", "door"), doors("xmlrpc", "rest", "admin", refusable=True))
def test_a_caller_without_the_right_is_refused_and_nothing_changes(
    name, door, client, auth, lab, tmp_path
) -> None:
    op = OPERATIONS[name]
    op.setup(lab)
    if door == "admin":  # staff who may look but not change: the admin lets them in
        stranger = User.objects.get(username="stranger")
        stranger.is_staff = True
        stranger.save()
        view = f"view_{op.admin[0]}"
        stranger.user_permissions.add(Permission.objects.get(codename=view))
    before = snapshot(lab.root)
    assert ask(door, op, client, auth, "stranger", tmp_path) == op.refused
    assert snapshot(lab.root) == before
    assert not _done(name, op, lab.root)


@pytest.mark.parametrize(("name", "door"), doors("xmlrpc", "rest"))
def test_an_anonymous_caller_is_refused_and_nothing_changes(
    name, door, client, auth, lab, tmp_path
) -> None:
    op = OPERATIONS[name]
    op.setup(lab)
    before = snapshot(lab.root)
    assert ask(door, op, client, auth, "anonymous", tmp_path) in (401, 403, 404)
    assert snapshot(lab.root) == before
    assert not _done(name, op, lab.root)


WRITE_METHOD = re.compile(
    r"(^|\.)(add|update|delete|set_\w+|perms_add|perms_delete|submit|resubmit|cancel|"
    r"assign_perm_\w+|revoke_perm_\w+|put_into_\w+|import_\w+|\w+_job)$"
)


def test_every_xmlrpc_write_method_is_driven_here() -> None:
    """A new XML-RPC method that changes the lab belongs in OPERATIONS."""
    from lava.server.api.xmlrpc.registry import METHODS

    writes = {name for name in METHODS if WRITE_METHOD.search(name)}
    driven = {method for op in OPERATIONS.values() for method, _ in op.xmlrpc}
    assert len(writes) >= 50
    assert sorted(writes - driven) == []
