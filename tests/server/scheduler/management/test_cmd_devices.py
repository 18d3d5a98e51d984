"""``lava-server manage devices``: through call_command, and once through the real entry point."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from lava.server.scheduler.models import (
    Alias,
    Device,
    DeviceType,
    GroupDevicePermission,
    Tag,
    Worker,
)
from lava.server.scheduler.states import DeviceHealth, DeviceState

LAVA_SERVER = Path(sys.executable).parent / "lava-server"
DICT = """{% extends 'qemu.jinja2' %}
{% set mac_addr = 'DE:AD:BE:EF:00:09' %}
{% set memory = 1024 %}
"""


def manage(*args: str) -> tuple[str, str]:
    """Run ``devices ARGS``; return (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("devices", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> str:
    """Run ``devices ARGS`` expecting a CommandError; return its message."""
    with pytest.raises(CommandError) as exc:
        call_command("devices", *args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


@pytest.fixture
def dict_file(tmp_path: Path) -> Path:
    path = tmp_path / "qemu-09.jinja2"
    path.write_text(DICT, encoding="utf-8")
    return path


def stored(lab, hostname: str) -> Path:
    return lab.root / "devices" / f"{hostname}.jinja2"


# add


def test_add_is_good_and_reminds_of_the_dictionary(lab) -> None:
    out, err = manage("add", "qemu-09", "--device-type", "qemu", "--worker", "worker-01")
    device = Device.objects.get(hostname="qemu-09")
    assert (device.device_type_id, device.worker_host_id) == ("qemu", "worker-01")
    assert (device.state, device.health) == (DeviceState.IDLE, DeviceHealth.GOOD)
    assert out == ""
    assert "Reminder: device 'qemu-09' has no device dictionary yet" in err


def test_add_with_every_option(lab, users, dict_file) -> None:
    out, err = manage(
        "add", "qemu-09", "--device-type", "qemu", "--worker", "worker-01",
        "--description", "on the shelf", "--offline", "--tags", "usb", "fast",
        "--physical-user", "owner", "--group", "lab", "--device-dict", str(dict_file),
    )  # fmt: skip
    device = Device.objects.get(hostname="qemu-09")
    assert device.health == DeviceHealth.MAINTENANCE
    assert device.description == "on the shelf"
    assert sorted(device.tags.values_list("name", flat=True)) == ["fast", "usb"]
    assert device.physical_owner == users["owner"] and device.physical_group is None
    rows = GroupDevicePermission.objects.filter(device=device)
    assert sorted((r.group.name, r.permission) for r in rows) == [
        ("lab", "submit"),
        ("lab", "view"),
    ]
    assert stored(lab, "qemu-09").read_text() == DICT
    assert (out, err) == ("", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("qemu-01",), "device 'qemu-01' already exists"),
        (("qemu-09", "--device-type", "nosuch"), "device type 'nosuch' does not exist"),
        (("qemu-09", "--worker", "nosuch"), "worker 'nosuch' does not exist"),
        (("../etc/x",), "device name '../etc/x' is not valid"),
        (("qemu-09", "--physical-user", "nobody"), "user 'nobody' does not exist"),
        (("qemu-09", "--physical-group", "nogroup"), "group 'nogroup' does not exist"),
        (("qemu-09", "--group", "nogroup"), "group 'nogroup' does not exist"),
        (("qemu-09", "--owner", "owner"), "--owner: devices are restricted to groups"),
        (("qemu-09", "--tags", "not a slug"), "tag name 'not a slug' is not valid"),
    ],
)
def test_add_refused(lab, users, args, message) -> None:
    defaults = {"--device-type": "qemu", "--worker": "worker-01"}
    given = list(args)
    for option, value in defaults.items():
        if option not in given:
            given += [option, value]
    assert message in refused("add", *given)
    assert not Device.objects.filter(hostname__in=["qemu-09", "../etc/x"]).exists()
    assert not Tag.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "device dictionary for 'qemu-09' is empty"),
        ("just text\n", "does not extend a device-type template"),
        ("{% extends 'kvm.jinja2' %}\n", "extends 'kvm.jinja2', but the device type is 'qemu'"),
        ("{% extends 'qemu.jinja2' %}\n{% set x = %}\n", "does not render: "),
        ("{% extends 'qemu.jinja2' %}\n{% set device_info = 'a: b: c' %}\n", "not valid YAML"),
    ],
)
def test_add_refuses_a_bad_dictionary_and_writes_nothing(lab, tmp_path, text, message) -> None:
    path = tmp_path / "bad.jinja2"
    path.write_text(text, encoding="utf-8")
    got = refused(
        "add", "qemu-09", "--device-type", "qemu", "--worker", "worker-01", "--device-dict",
        str(path),
    )  # fmt: skip
    assert message in got
    assert not Device.objects.filter(hostname="qemu-09").exists()
    assert not stored(lab, "qemu-09").exists()


def test_add_accepts_a_dictionary_extending_an_alias(lab, tmp_path) -> None:
    Alias.objects.create(name="kvm", device_type=lab.device_type)
    path = tmp_path / "alias.jinja2"
    path.write_text("{% extends 'kvm.jinja2' %}\n", encoding="utf-8")
    manage("add", "kvm-01", "--device-type", "qemu", "--worker", "worker-01", "--device-dict",
           str(path))  # fmt: skip
    assert stored(lab, "kvm-01").read_text() == "{% extends 'kvm.jinja2' %}\n"


def test_add_with_an_unreadable_dictionary_file(lab, tmp_path) -> None:
    missing = tmp_path / "missing.jinja2"
    message = refused(
        "add", "qemu-09", "--device-type", "qemu", "--worker", "worker-01", "--device-dict",
        str(missing),
    )  # fmt: skip
    assert message == f"cannot read device dictionary {missing}: No such file or directory"


# dictionaries: export and import


def test_device_dict_export_import_round_trip(lab, dict_file) -> None:
    manage("update", "qemu-01", "--device-dict", str(dict_file))
    exported, _ = manage("details", "qemu-01", "--device-dict")
    assert exported == DICT
    # export from one device, import into a new one: the same text is stored
    copy = dict_file.parent / "exported.jinja2"
    copy.write_text(exported, encoding="utf-8")
    manage("add", "qemu-10", "--device-type", "qemu", "--worker", "worker-01", "--device-dict",
           str(copy))  # fmt: skip
    assert manage("details", "qemu-10", "--device-dict")[0] == DICT


def test_details_device_dict_when_there_is_none(lab) -> None:
    stored(lab, "qemu-02").unlink()
    assert refused("details", "qemu-02", "--device-dict").startswith(
        "device 'qemu-02' has no device dictionary ("
    )


def test_a_refused_import_keeps_the_old_dictionary(lab, tmp_path) -> None:
    before = stored(lab, "qemu-01").read_text()
    bad = tmp_path / "bad.jinja2"
    bad.write_text("{% extends 'nosuch.jinja2' %}\n", encoding="utf-8")
    message = refused("update", "qemu-01", "--device-dict", str(bad), "--health", "BAD")
    assert "extends 'nosuch.jinja2', but the device type is 'qemu'" in message
    assert stored(lab, "qemu-01").read_text() == before
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD


# update


def test_update_health_goes_through_the_transitions(lab, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="lava.server.scheduler"):
        manage("update", "qemu-01", "--health", "maintenance", "--description", "resting")
    device = Device.objects.get(hostname="qemu-01")
    assert device.health == DeviceHealth.MAINTENANCE and device.description == "resting"
    assert "device qemu-01: health Good -> Maintenance (devices update (by " in caplog.text


def test_update_refused_changes_nothing(lab) -> None:
    message = refused("update", "qemu-01", "--health", "BAD", "--worker", "nosuch")
    assert message == "worker 'nosuch' does not exist"
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD
    assert refused("update", "nosuch", "--health", "BAD") == "device 'nosuch' does not exist"


def test_update_rejects_an_unknown_health_name(lab) -> None:
    message = refused("update", "qemu-01", "--health", "SHINY")
    assert "'SHINY' is not one of GOOD, UNKNOWN, LOOPING, BAD, MAINTENANCE, RETIRED" in message


def test_update_worker_tags_and_restrictions(lab, users) -> None:
    Worker.objects.create(hostname="worker-02")
    manage("update", "qemu-01", "--worker", "worker-02", "--tags", "a", "b", "--group", "lab",
           "--physical-group", "lab")  # fmt: skip
    device = Device.objects.get(hostname="qemu-01")
    assert device.worker_host_id == "worker-02"
    assert device.physical_group.name == "lab"
    assert sorted(device.tags.values_list("name", flat=True)) == ["a", "b"]
    assert device.permissions.count() == 2
    manage("update", "qemu-01", "--tags", "--public")
    assert not device.tags.exists() and not device.permissions.exists()


# details and list


def test_details_formats(lab) -> None:
    table, _ = manage("details", "qemu-01")
    assert "hostname      : qemu-01" in table and "device-dict   : True" in table
    data = json.loads(manage("details", "qemu-01", "--format", "json")[0])
    assert data["device-type"] == "qemu" and data["health"] == "Good"
    assert data["worker"] == "worker-01" and data["current_job"] is None
    assert yaml.safe_load(manage("details", "qemu-02", "--format", "yaml")[0]) == {
        **data,
        "hostname": "qemu-02",
    }
    assert refused("details", "nosuch") == "device 'nosuch' does not exist"


def test_list_hides_retired_devices(lab) -> None:
    lab.device("old-01", health=DeviceHealth.RETIRED, tags=("usb",))
    table, _ = manage("list")
    header, _rule, *lines = table.splitlines()
    assert header.split() == ["hostname", "device-type", "state", "health", "worker", "tags"]
    assert [line.split()[0] for line in lines] == ["qemu-01", "qemu-02"]
    rows = json.loads(manage("list", "-a", "--format", "json")[0])
    assert [r["hostname"] for r in rows] == ["old-01", "qemu-01", "qemu-02"]
    assert rows[0] == {
        "hostname": "old-01",
        "device-type": "qemu",
        "state": "Idle",
        "health": "Retired",
        "worker": "worker-01",
        "tags": ["usb"],
    }
    rows = yaml.safe_load(manage("list", "--health", "RETIRED", "--format", "yaml")[0])
    assert [r["hostname"] for r in rows] == ["old-01"]
    assert manage("list", "--state", "RUNNING")[0] == "(none)\n"
    csv = manage("list", "--csv")[0].splitlines()
    assert csv[0] == "hostname,device-type,state,health,worker,tags"
    assert csv[1] == "qemu-01,qemu,Idle,Good,worker-01,"
    assert "not allowed with argument" in refused("list", "-a", "--health", "GOOD")


# check


def test_check_reports_each_device(lab) -> None:
    out, _ = manage("check", "-a")
    assert out.splitlines() == ["* qemu-01: OK", "* qemu-02: OK"]
    stored(lab, "qemu-02").write_text("{% extends 'qemu.jinja2' %}\n{% if %}\n")
    out = StringIO()
    with pytest.raises(CommandError, match=r"^1 of 2 devices failed: qemu-02$"):
        call_command("devices", "check", "qemu-01", "qemu-02", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "* qemu-01: OK"
    assert lines[1].startswith("* qemu-02: FAILED: device dictionary for 'qemu-02' does not render")
    stored(lab, "qemu-01").unlink()
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 1 devices failed"):
        call_command("devices", "check", "qemu-01", stdout=out)
    assert "* qemu-01: FAILED: no device dictionary (" in out.getvalue()


def test_check_needs_devices(lab) -> None:
    assert refused("check", "qemu-01", "nosuch") == "no such device: nosuch"
    assert "one of the arguments -a/--all hostname is required" in refused("check")


# copy


def test_copy(lab, users) -> None:
    original = Device.objects.get(hostname="qemu-01")
    original.tags.add(Tag.objects.create(name="usb"))
    original.description = "the first"
    original.save()
    manage("update", "qemu-01", "--group", "lab")
    _, err = manage("copy", "qemu-01", "qemu-11", "--worker", "worker-01", "--offline",
                    "--copy-with-tags")  # fmt: skip
    device = Device.objects.get(hostname="qemu-11")
    assert (device.device_type_id, device.description) == ("qemu", "the first")
    assert device.health == DeviceHealth.MAINTENANCE
    assert list(device.tags.values_list("name", flat=True)) == ["usb"]
    assert device.permissions.count() == 2
    assert "Reminder: device 'qemu-11' has no device dictionary yet" in err


def test_copy_refused(lab) -> None:
    message = refused("copy", "qemu-01", "qemu-12", "--worker", "worker-01")
    assert message.startswith("refusing to add 'qemu-12' with health Good: it has no device")
    assert refused("copy", "nosuch", "x", "--worker", "worker-01") == (
        "device 'nosuch' does not exist"
    )
    assert refused("copy", "qemu-01", "qemu-02", "--worker", "worker-01") == (
        "device 'qemu-02' already exists"
    )
    assert refused("copy", "qemu-01", "qemu-12", "--worker", "nosuch", "--offline") == (
        "worker 'nosuch' does not exist"
    )
    assert not Device.objects.filter(hostname="qemu-12").exists()
    # a target dictionary written beforehand lets the copy be Good
    stored(lab, "qemu-12").write_text(DICT)
    manage("copy", "qemu-01", "qemu-12", "--worker", "worker-01")
    assert Device.objects.get(hostname="qemu-12").health == DeviceHealth.GOOD


# the real entry point


def committed_database_url(tmp_path: Path) -> str:
    """A URL another process can open to see the data this test committed.

    PostgreSQL: the test database itself. SQLite: pytest-django's test database
    lives in this process's memory, so hand over a file copy (SQLite's backup
    API); what the other process then writes, it also reads back itself.
    """
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = quote(settings["USER"], safe="")
        if settings["PASSWORD"]:
            auth += ":" + quote(settings["PASSWORD"], safe="")
        host = f"{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}"
        return f"postgresql://{auth}@{host}/{settings['NAME']}"
    copy = tmp_path / "committed.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(copy) as target:
        connection.connection.backup(target)
    return f"sqlite:///{copy}"


def test_lava_server_manage_devices_list_and_workers_add(transactional_db, lab, tmp_path) -> None:
    env = {
        **os.environ,
        "LAVA_DATABASE_URL": committed_database_url(tmp_path),
        "LAVA_DATA_DIR": str(tmp_path / "instance"),
        "LAVA_SETTINGS": os.devnull,
    }

    def lava_server(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LAVA_SERVER), "manage", *args], env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    done = lava_server("devices", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [r["hostname"] for r in json.loads(done.stdout)] == ["qemu-01", "qemu-02"]
    done = lava_server("workers", "add", "worker-09", "--description", "from the shell")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Token: ")
    token = done.stdout.split()[1]
    done = lava_server("workers", "details", "worker-09", "--format", "json")
    assert done.returncode == 0, done.stderr
    details = json.loads(done.stdout)
    assert (details["token"], details["description"]) == (token, "from the shell")
    done = lava_server("workers", "add", "worker-09")
    assert done.returncode == 1
    assert "CommandError: worker 'worker-09' already exists" in done.stderr


def test_a_dictionary_that_cannot_be_written_leaves_no_device(
    db, dispatcher_config, dict_file
) -> None:
    DeviceType.objects.create(name="qemu")
    Worker.objects.create(hostname="worker-01")
    (dispatcher_config / "devices").rmdir()
    (dispatcher_config / "devices").write_text("a file where the directory should be")
    message = refused(
        "add", "qemu-09", "--device-type", "qemu", "--worker", "worker-01", "--device-dict",
        str(dict_file),
    )  # fmt: skip
    assert message.startswith(str(dispatcher_config / "devices"))
    assert not Device.objects.filter(hostname="qemu-09").exists()
