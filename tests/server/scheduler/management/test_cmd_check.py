"""``lava-server manage check``: Django's checks plus the instance's own (tag ``lava``)."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from lava.server.scheduler import checks
from lava.server.scheduler.models import Device, DeviceType, Worker
from lava.server.scheduler.states import DeviceHealth, WorkerHealth

LAVA_SERVER = Path(sys.executable).parent / "lava-server"


def check(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("check", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing(*args: str) -> str:
    with pytest.raises(SystemCheckError) as exc:
        call_command("check", *args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


def test_a_healthy_instance(lab) -> None:
    out, err = check()
    assert "settings file     : " in out
    assert f"data directory    : {settings.LAVA.data_dir}" in out
    assert f"dispatcher-config : {lab.root}" in out
    assert "System check identified no issues" in out
    assert err == ""


def test_problems_with_devices_types_health_checks_and_workers(lab) -> None:
    (lab.root / "devices" / "qemu-01.jinja2").unlink()
    (lab.root / "devices" / "qemu-02.jinja2").write_text("{% extends 'qemu.jinja2' %}\n{% if %}\n")
    lab.device("old-01", health=DeviceHealth.RETIRED, dictionary="broken")  # not checked
    DeviceType.objects.create(name="orphan")
    lab.device("loose-01", worker=None)
    Device.objects.filter(hostname="loose-01").update(worker_host=None)
    retired = Worker.objects.create(hostname="worker-00", health=WorkerHealth.RETIRED)
    lab.device("stale-01", worker=retired)
    (lab.root / "health-checks" / "qemu.yaml").write_text("job_name: [broken\n")
    report = failing()
    assert "device qemu-01: (lava.E006) no device dictionary (" in report
    assert "device qemu-02: (lava.E006) device dictionary for 'qemu-02' does not render" in report
    assert "old-01" not in report
    assert "device type orphan: (lava.W007) has no template (orphan.jinja2)" in report
    assert "health-checks/qemu.yaml: (lava.E008) not valid YAML" in report
    assert "device loose-01: (lava.W009) has no worker" in report
    assert "device stale-01: (lava.W010) is on retired worker worker-00" in report
    assert "HINT: lava-server manage devices update qemu-01 --device-dict FILE" in report


def test_warnings_alone_do_not_fail(lab) -> None:
    DeviceType.objects.create(name="orphan")
    out, err = check("--tag", checks.TAG)
    assert "System check" not in out
    assert "(lava.W007)" in err
    assert "System check identified 1 issue" in err


def test_data_dir_and_secret_key(lab, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(settings.LAVA, "secret_key", "")
    monkeypatch.setattr(settings.LAVA, "data_dir", tmp_path / "missing")
    report = failing("--tag", checks.TAG)
    assert f"data directory {tmp_path / 'missing'}: (lava.E001) does not exist" in report
    assert "secret_key: (lava.E002) No such file or directory" in report
    data = tmp_path / "data"
    data.mkdir()
    key = data / "secret_key"
    key.write_text("k\n")
    key.chmod(0o644)
    monkeypatch.setattr(settings.LAVA, "data_dir", data)
    report = failing("--tag", checks.TAG)
    assert f"secret key file {key}: (lava.E002) has mode 0644: others may read it" in report
    assert f"HINT: chmod 600 {key}" in report
    key.chmod(0o600)
    check("--tag", checks.TAG)
    # a key given in the settings needs no file
    monkeypatch.setattr(settings.LAVA, "secret_key", "configured")
    key.unlink()
    check("--tag", checks.TAG)


def test_missing_dispatcher_config_directories(lab) -> None:
    (lab.root / "health-checks").rmdir()
    _, err = check("--tag", checks.TAG)
    assert f"dispatcher-config directory {lab.root / 'health-checks'}: (lava.W005)" in err


def test_the_checks_are_quiet_outside_the_check_command(lab) -> None:
    (lab.root / "devices" / "qemu-01.jinja2").unlink()
    # what every other command runs before it starts: none of the lava checks report
    assert not [m for m in run_checks() if m.id and m.id.startswith("lava.")]
    assert checks.check_devices() == []
    with checks.active():
        assert [m.id for m in checks.check_devices()] == ["lava.E006"]


def test_a_database_without_migrations(tmp_path) -> None:
    env = {
        **os.environ,
        "LAVA_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "LAVA_DATA_DIR": str(tmp_path / "instance"),
        "LAVA_DISPATCHER_CONFIG": str(tmp_path / "dispatcher-config"),
        "LAVA_SETTINGS": os.devnull,
    }
    done = subprocess.run(
        [str(LAVA_SERVER), "manage", "check"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "database: (lava.E004) " in done.stderr and "migrations not applied" in done.stderr
    assert "HINT: run lava-server manage migrate" in done.stderr
    assert f"database          : SQLite {tmp_path / 'empty.sqlite3'}" in done.stdout


def test_fair_share_weights_name_users_and_groups_that_exist(lab, users, monkeypatch) -> None:
    weights = {"user:owner": 2.0, "user:onwer": 2.0, "group:lab": 1.0, "group:cl": 0.5}
    monkeypatch.setattr(settings.LAVA, "fair_share_weights", weights)
    _, err = check("--tag", checks.TAG)
    assert (
        "FAIR_SHARE_WEIGHTS: (lava.W011) names user 'onwer', which does not exist: "
        "its weight applies to nobody"
    ) in err
    assert "names group 'cl'" in err and "'owner'" not in err and "'lab'" not in err
    assert "System check identified 2 issues" in err
