"""The real lavacli against a live lab: each command a lab's scripts use, its exit and its output.

The lab (tools/livelab.py) runs gunicorn, the scheduler and lava-worker, so
`jobs submit` boots the guest under QEMU for real. On the PostgreSQL run of
the server tests, the lab's database is PostgreSQL too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.databases import database_for_tests
from tools import example
from tools.livelab import LiveLab

pytestmark = pytest.mark.slow

VENV_LAVACLI = Path(sys.executable).parent / "lavacli"  # the newest, from PyPI
DEBIAN_LAVACLI = Path("/usr/bin/lavacli")  # Debian's older package (1.2 in bookworm)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveLab, dict[str, str]]]:
    if not VENV_LAVACLI.exists():
        pytest.fail(f"lavacli is not installed beside {sys.executable} (make venv installs it)")
    root = tmp_path_factory.mktemp("lavacli")
    lab = LiveLab(root / "instance", port=0, settings=database_for_tests("lava_lavacli"))
    with lab.running_lab():
        token = lab.manage("tokens", "add", "--user", "admin", quiet=True).stdout.split()[-1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAVA_")}
        env["XDG_CONFIG_HOME"] = str(root / "config")
        yield lab, env | {"TOKEN": token}


def lavacli(env: dict[str, str], *args: str, check: bool = True) -> str:
    proc = subprocess.run(
        [env["LAVACLI"], "-i", "lab", *args], env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


@pytest.mark.parametrize("client", [VENV_LAVACLI, DEBIAN_LAVACLI], ids=["pypi", "debian"])
def test_a_lavacli_session(live, guest: Path, tmp_path: Path, client: Path) -> None:
    if not client.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{client} is missing: make deps installs Debian's lavacli")
        pytest.skip(f"{client} is not installed (apt install lavacli)")
    lab, env = live
    env = env | {"LAVACLI": str(client)}
    identity = ["--uri", f"{lab.url}RPC2", "--username", "admin", "--token", env["TOKEN"]]
    subprocess.run([str(client), "identities", "add", *identity, "lab"], env=env, check=True)
    assert lavacli(env, "system", "version").strip() == lab.query(
        "import lava, json; print(json.dumps(lava.__version__))"
    )
    assert lavacli(env, "system", "whoami").strip() == "admin"
    assert "* qemu (1)" in lavacli(env, "device-types", "list")
    assert "* qemu-01 (qemu): Idle,Good" in lavacli(env, "devices", "list")
    shown = lavacli(env, "devices", "show", "qemu-01")
    assert "device-dict : True" in shown and f"worker      : {lab.worker_name}" in shown
    dictionary = lavacli(env, "devices", "dict", "get", "qemu-01")
    assert "extends 'qemu.jinja2'" in dictionary
    changed = tmp_path / "qemu-01.jinja2"
    changed.write_text(dictionary.rstrip("\n") + "\n{% set memory = 256 %}\n")
    lavacli(env, "devices", "dict", "set", "qemu-01", str(changed))
    assert lavacli(env, "devices", "dict", "get", "qemu-01") == changed.read_text()
    assert lab.worker_name in lavacli(env, "workers", "list")
    assert "Tags:" in lavacli(env, "tags", "list")

    definition = tmp_path / "job.yaml"
    definition.write_text(example.job_text(guest=guest))
    job_id = int(lavacli(env, "jobs", "submit", str(definition)).strip())
    lavacli(env, "jobs", "wait", str(job_id), "--polling", "1", "--timeout", "300")
    shown = yaml.safe_load(lavacli(env, "jobs", "show", str(job_id), "--yaml"))
    assert (shown["state"], shown["health"], shown["device"]) == ("Finished", "Complete", "qemu-01")
    logs = lavacli(env, "jobs", "logs", str(job_id), "--raw")
    # lavacli re-dumps each line (keys sorted): compare what the lines say
    stored = lab.log_lines(job_id)
    assert yaml.safe_load(logs) == yaml.safe_load("\n".join(stored)) and len(stored) > 100
    # lavacli prints the definition with print(): one more newline
    assert lavacli(env, "jobs", "definition", str(job_id)) == definition.read_text() + "\n"
    results = lavacli(env, "results", str(job_id))
    assert "* 0_smoke.always-fails [fail]" in results and "* lava.job [pass]" in results
    suite = lavacli(env, "results", str(job_id), "0_smoke")
    assert "* 0_smoke.boot-entropy [pass]" in suite

    second = int(lavacli(env, "jobs", "submit", str(definition)).strip())
    lavacli(env, "jobs", "cancel", str(second))
    lavacli(env, "jobs", "wait", str(second), "--polling", "1", "--timeout", "120")
    assert (
        yaml.safe_load(lavacli(env, "jobs", "show", str(second), "--yaml"))["health"] == "Canceled"
    )
    third = int(lavacli(env, "jobs", "resubmit", str(second)).strip())
    assert third > second
    lavacli(env, "jobs", "cancel", str(third))
    lavacli(env, "jobs", "wait", str(third), "--polling", "1", "--timeout", "120")
    # however early the cancel caught it, a canceled job leaves its device as it was
    assert "* qemu-01 (qemu): Idle,Good" in lavacli(env, "devices", "list")
    shutil.rmtree(Path(env["XDG_CONFIG_HOME"]), ignore_errors=True)


def same(printed: str, text: str) -> bool:
    """lavacli prints some files with one more newline than they have, some without."""
    return printed.rstrip("\n") == text.rstrip("\n")


def _identity(env: dict[str, str], lab: LiveLab, client: Path) -> dict[str, str]:
    env = env | {"LAVACLI": str(client)}
    identity = ["--uri", f"{lab.url}RPC2", "--username", "admin", "--token", env["TOKEN"]]
    subprocess.run([str(client), "identities", "add", *identity, "lab"], env=env, check=True)
    return env


@pytest.mark.parametrize("client", [VENV_LAVACLI, DEBIAN_LAVACLI], ids=["pypi", "debian"])
def test_lavacli_lab_admin(live, tmp_path: Path, client: Path) -> None:
    """What an admin scripts: aliases, templates, health checks, worker configuration."""
    if not client.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{client} is missing: make deps installs Debian's lavacli")
        pytest.skip(f"{client} is not installed (apt install lavacli)")
    lab, env = live
    env = _identity(env, lab, client)
    # a device type of this test's own, with no devices (so no health check runs)
    name = "admin-debian" if client == DEBIAN_LAVACLI else "admin-pypi"
    try:
        lavacli(env, "device-types", "aliases", "add", "qemu", f"{name}-alias")
        assert f"{name}-alias" in lavacli(env, "device-types", "aliases", "list", "qemu")
        lavacli(env, "device-types", "aliases", "delete", "qemu", f"{name}-alias")
        assert f"{name}-alias" not in lavacli(env, "device-types", "aliases", "list", "qemu")

        shipped = lavacli(env, "device-types", "template", "get", "qemu")
        assert "base.jinja2" in shipped
        # as LAVA: the type first, then its template
        lavacli(env, "device-types", "add", name)
        template = tmp_path / f"{name}.jinja2"
        template.write_text("{% extends 'qemu.jinja2' %}\n")
        lavacli(env, "device-types", "template", "set", name, str(template))
        assert same(lavacli(env, "device-types", "template", "get", name), template.read_text())
        check = tmp_path / "health.yaml"
        check.write_text(
            f"job_name: {name} health check\ndevice_type: {name}\nvisibility: public\n"
            "timeouts:\n  job: {minutes: 5}\nactions: []\n"
        )
        lavacli(env, "device-types", "health-check", "set", name, str(check))
        got = lavacli(env, "device-types", "health-check", "get", name)
        assert same(got, check.read_text())
        broken = tmp_path / "broken.jinja2"
        broken.write_text("{% if %}\n")
        refused = subprocess.run(
            [str(client), "-i", "lab", "device-types", "template", "set", name, str(broken)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert refused.returncode != 0 and "line 1" in refused.stdout + refused.stderr
        assert same(lavacli(env, "device-types", "template", "get", name), template.read_text())

        # Debian's lavacli 1.2 has no env-dut command
        for kind in ("config", "env") + (("env-dut",) if client == VENV_LAVACLI else ()):
            text = tmp_path / f"{kind}.yaml"
            text.write_text(f"# {kind} of the worker, set by lavacli\npurge: false\n")
            lavacli(env, "workers", kind, "set", lab.worker_name, str(text))
            assert same(lavacli(env, "workers", kind, "get", lab.worker_name), text.read_text())
    finally:
        shutil.rmtree(Path(env["XDG_CONFIG_HOME"]), ignore_errors=True)


def test_lavacli_users_and_groups(live) -> None:
    """lavacli's users and groups commands (the newest lavacli: Debian's 1.2 has neither)."""
    lab, env = live
    env = _identity(env, lab, VENV_LAVACLI)
    try:
        lavacli(env, "users", "add", "ann", "--email", "ann@example.com", "--first-name", "Ann")
        assert "ann" in lavacli(env, "users", "list")
        shown = yaml.safe_load(lavacli(env, "users", "show", "ann", "--yaml"))
        assert (shown["email"], shown["first_name"], shown["is_active"]) == (
            "ann@example.com",
            "Ann",
            True,
        )
        lavacli(env, "groups", "add", "ops")
        assert "ops" in lavacli(env, "groups", "list")
        lavacli(env, "users", "groups", "add", "ann", "ops")
        assert "ops" in lavacli(env, "users", "groups", "list", "ann")
        lavacli(
            env, "users", "perms", "add", "ann", "lava_scheduler_app", "device", "change_device"
        )
        assert "change_device" in lavacli(env, "users", "perms", "list", "ann")
        lavacli(env, "groups", "perms", "add", "ops", "scheduler", "worker", "change_worker")
        assert "change_worker" in lavacli(env, "groups", "perms", "list", "ops")
        group = yaml.safe_load(lavacli(env, "groups", "show", "ops", "--yaml"))
        assert group["users"] == ["ann"]
        lavacli(env, "users", "groups", "delete", "ann", "ops")
        lavacli(env, "groups", "delete", "ops")
        lavacli(env, "users", "delete", "ann")
        assert "ann" not in lavacli(env, "users", "list")
    finally:
        shutil.rmtree(Path(env["XDG_CONFIG_HOME"]), ignore_errors=True)
