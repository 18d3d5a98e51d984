"""``lava-server manage device-types``: add, update, details, list."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from lava.server.scheduler.models import Alias, DeviceType
from lava.server.scheduler.states import DeviceHealth, HealthDenominator

HEALTH_CHECK = """job_name: qemu health check
device_type: qemu
visibility: public
timeouts: {job: {minutes: 5}}
actions:
- boot: {method: qemu, media: tmpfs, prompts: ['# ']}
"""


def manage(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("device-types", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("device-types", *args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


def test_add_with_options(db, dispatcher_config) -> None:
    out, _ = manage(
        "add", "qemu", "--alias", "qemu-x86", "--health-frequency", "5",
        "--health-denominator", "jobs", "--hide",
    )  # fmt: skip
    assert out == ""
    device_type = DeviceType.objects.get(name="qemu")
    assert device_type.health_frequency == 5
    assert device_type.health_denominator == HealthDenominator.JOBS
    assert device_type.display is False
    assert list(device_type.aliases.values_list("name", flat=True)) == ["qemu-x86"]


def test_add_uses_the_instance_templates_too(db, dispatcher_config) -> None:
    (dispatcher_config / "device-types" / "my-board.jinja2").write_text(
        "{% extends 'base.jinja2' %}\n"
    )
    manage("add", "my-board")
    device_type = DeviceType.objects.get(name="my-board")
    assert (device_type.health_frequency, device_type.display) == (24, True)
    assert device_type.health_denominator == HealthDenominator.HOURS


def test_add_refused(db, dispatcher_config) -> None:
    message = refused("add", "nosuch")
    assert message.startswith("no template for device type 'nosuch': looked for nosuch.jinja2 in ")
    assert str(dispatcher_config / "device-types") in message
    assert refused("add", "not/a/slug") == (
        "device type name 'not/a/slug' is not valid: use letters, digits, '_' and '-', "
        "starting with a letter or digit"
    )
    manage("add", "qemu", "--alias", "emu")
    assert refused("add", "qemu") == "device type 'qemu' already exists"
    assert refused("add", "kvm", "--alias", "emu") == (
        "alias 'emu' already belongs to device type 'qemu'"
    )
    assert refused("add", "kvm", "--alias", "qemu") == "alias 'qemu' is the name of a device type"
    assert refused("add", "emu") == "'emu' is already an alias of device type 'qemu'"
    assert "argument --health-frequency: 0 is not allowed" in refused(
        "add", "kvm", "--health-frequency", "0"
    )
    assert list(DeviceType.objects.values_list("name", flat=True)) == ["qemu"]


def test_add_every_template(db, dispatcher_config) -> None:
    manage("add", "qemu")
    out, _ = manage("add", "*")
    lines = out.splitlines()
    assert lines[0] == "Adding all known device types"
    assert "* qemu [skip]" in lines and "* kvm" in lines
    names = set(DeviceType.objects.values_list("name", flat=True))
    assert {"qemu", "kvm"} <= names and "base" not in names
    assert refused("add", "*", "--alias", "x") == (
        "--alias and --hide need a single device type, not '*'"
    )


def test_update(db, dispatcher_config) -> None:
    manage("add", "qemu")
    manage("update", "qemu", "--alias", "emu", "--health-frequency", "3",
           "--health-denominator", "jobs", "--hide", "--disable-health-check")  # fmt: skip
    device_type = DeviceType.objects.get(name="qemu")
    assert (device_type.health_frequency, device_type.display) == (3, False)
    assert device_type.disable_health_check is True
    assert Alias.objects.get(name="emu").device_type == device_type
    manage("update", "qemu", "--show", "--enable-health-check")
    device_type.refresh_from_db()
    assert device_type.display is True and device_type.disable_health_check is False
    assert refused("update", "nosuch", "--hide") == "device type 'nosuch' does not exist"
    assert "not allowed with argument" in refused("update", "qemu", "--hide", "--show")


def test_update_installs_a_checked_health_check(db, dispatcher_config, tmp_path) -> None:
    manage("add", "qemu")
    job = tmp_path / "hc.yaml"
    job.write_text(HEALTH_CHECK, encoding="utf-8")
    out, _ = manage("update", "qemu", "--health-check", str(job))
    target = dispatcher_config / "health-checks" / "qemu.yaml"
    assert out == f"Health check installed: {target}\n"
    assert target.read_text() == HEALTH_CHECK
    # a file that is not a job is refused, and the installed one stays
    job.write_text("job_name: [broken\n", encoding="utf-8")
    message = refused("update", "qemu", "--health-check", str(job), "--hide")
    assert message.startswith("health check for 'qemu' refused: not valid YAML")
    job.write_text("job_name: no actions\n", encoding="utf-8")
    assert refused("update", "qemu", "--health-check", str(job)).startswith(
        "health check for 'qemu' refused: not a valid job: "
    )
    assert target.read_text() == HEALTH_CHECK
    assert DeviceType.objects.get(name="qemu").display is True


def test_update_warns_of_another_device_type(db, dispatcher_config, tmp_path) -> None:
    manage("add", "qemu")
    manage("add", "kvm")
    job = tmp_path / "hc.yaml"
    job.write_text(HEALTH_CHECK, encoding="utf-8")
    _, err = manage("update", "kvm", "--health-check", str(job))
    assert "warning: health check for 'kvm': it asks for device_type 'qemu', not 'kvm'" in err


def test_details(lab, tmp_path) -> None:
    Alias.objects.create(name="emu", device_type=lab.device_type)
    table, _ = manage("details", "qemu")
    assert "name              : qemu" in table and "devices           : 2" in table
    data = json.loads(manage("details", "qemu", "--devices", "--format", "json")[0])
    assert data["devices"] == ["qemu-01", "qemu-02"]
    assert data["aliases"] == ["emu"]
    assert data["health_check"] == "every 24 hours"
    assert data["health_check_file"] is None
    assert Path(data["template"]).name == "qemu.jinja2"
    assert refused("details", "nosuch") == "device type 'nosuch' does not exist"


def test_list(lab) -> None:
    lab.device("qemu-03", health=DeviceHealth.RETIRED)
    DeviceType.objects.create(name="orphan")
    table, _ = manage("list")
    header, _rule, *lines = table.splitlines()
    assert header.split() == [
        "name", "installed", "template", "devices", "display", "health_check", "aliases",
    ]  # fmt: skip
    assert [line.split()[:4] for line in lines] == [
        ["orphan", "True", "False", "0"],
        ["qemu", "True", "True", "3"],
    ]
    rows = yaml.safe_load(manage("list", "-a", "--format", "yaml")[0])
    kvm = next(row for row in rows if row["name"] == "kvm")
    assert (kvm["installed"], kvm["template"], kvm["devices"]) == (False, True, 0)
    csv = manage("list", "--csv")[0].splitlines()
    assert csv[0] == "name,installed,template,devices,display,health_check,aliases"
    assert csv[2] == "qemu,True,True,3,True,every 24 hours,"
