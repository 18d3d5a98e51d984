"""`lava-run` as a process, on jobs that need no QEMU: `command` actions."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lava.common import log, yamlio
from tests.support.processes import children

LAVA_RUN = str(Path(sys.executable).parent / "lava-run")

DEVICE: dict[str, Any] = {
    "hostname": "host-01",
    "devicetype": "qemu",
    "actions": {"deploy": {"methods": {}}, "boot": {"methods": {}}},
    "timeouts": {"actions": {}, "connections": {}},
    "commands": {
        "users": {
            "hello": {"do": "echo hello from the worker", "undo": "true"},
            "broken": {"do": "false"},
            "sleep": {"do": "sleep 60"},
        }
    },
}


def job(*commands: str, action_timeout: int = 30) -> dict[str, Any]:
    return {
        "job_name": "user commands",
        "device_type": "qemu",
        "visibility": "public",
        "timeouts": {"job": {"minutes": 2}, "action": {"seconds": action_timeout}},
        "secrets": {"API_KEY": "s3cr3t-value"},
        "actions": [{"command": {"name": name}} for name in commands],
    }


def start(
    tmp_path: Path, definition: dict[str, Any], *args: str, device: dict[str, Any] = DEVICE
) -> subprocess.Popen[str]:
    (tmp_path / "job.yaml").write_text(yamlio.dump(definition))
    (tmp_path / "device.yaml").write_text(yamlio.dump(device))
    return subprocess.Popen(
        [
            LAVA_RUN,
            "--job-id",
            "42",
            "--device",
            str(tmp_path / "device.yaml"),
            "--output-dir",
            str(tmp_path / "out"),
            *args,
            str(tmp_path / "job.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]]]:
    out, _err = proc.communicate(timeout=60)
    return proc.returncode, [log.decode(line) for line in out.splitlines()]


def outcome(tmp_path: Path) -> dict[str, Any]:
    return yamlio.load((tmp_path / "out" / "result.yaml").read_text())


def test_complete_job_writes_every_file(tmp_path: Path) -> None:
    status, lines = finish(start(tmp_path, job("hello")))
    assert status == 0
    out = tmp_path / "out"
    assert outcome(tmp_path) == {"definition": "lava", "case": "job", "result": "pass"}
    stored = (out / "output.yaml").read_text().splitlines()
    assert [log.decode(line) for line in stored] == lines
    messages = [line["msg"] for line in lines]
    assert "start: 1 user-command (timeout 00:00:30) [common]" in messages
    assert "Job finished correctly" in messages
    assert any(m == ">> hello from the worker" for m in messages)
    description = yamlio.load((out / "description.yaml").read_text())
    assert [a["name"] for a in description["pipeline"]] == ["user-command", "finalize"]
    rows = yamlio.load((out / "results.yaml").read_text())
    assert [(r["suite"], r["name"], r["result"]) for r in rows] == [
        ("lava", "validate", "pass"),
        ("lava", "user-command", "pass"),
        ("lava", "job", "pass"),
    ]
    assert rows[1]["units"] == "seconds"
    assert out.stat().st_mode & 0o777 == 0o700  # lava-run made it: the job's, privately


def test_failed_command_is_a_job_error(tmp_path: Path) -> None:
    status, lines = finish(start(tmp_path, job("broken")))
    assert status == 1
    result = outcome(tmp_path)
    assert result["error_type"] == "Job"
    assert "failed with exit status 1" in result["error_msg"]
    assert lines[-1]["lvl"] == "results" and lines[-1]["msg"]["error_type"] == "Job"
    assert lines[-2]["lvl"] == "error" and lines[-2]["msg"].startswith("JobError")


def test_unknown_command_fails_validation_before_running(tmp_path: Path) -> None:
    status, lines = finish(start(tmp_path, job("hello", "missing")))
    assert status == 1
    assert "Unknown user command 'missing'" in outcome(tmp_path)["error_msg"]
    assert not any(line["msg"] == ">> hello from the worker" for line in lines)


def test_action_timeout_interrupts_the_command(tmp_path: Path) -> None:
    started = time.monotonic()
    status, _lines = finish(start(tmp_path, job("sleep", action_timeout=1)))
    assert status == 1
    assert time.monotonic() - started < 15
    result = outcome(tmp_path)
    assert result["error_type"] == "Infrastructure"
    assert "user-command timed out after 1 seconds" in result["error_msg"]


def test_secrets_are_masked(tmp_path: Path) -> None:
    device = copy.deepcopy(DEVICE)
    device["commands"]["users"]["leak"] = {"do": "echo key=s3cr3t-value"}
    status, lines = finish(start(tmp_path, job("hello", "leak"), device=device))
    assert status == 0
    text = (tmp_path / "out" / "output.yaml").read_text()
    assert "s3cr3t-value" not in text
    assert any(line["msg"] == ">> key=[MASKED]" for line in lines)


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    return dict(item.partition("=")[::2] for item in raw.split("\0") if item)


def test_secrets_stay_out_of_every_host_environment(tmp_path: Path) -> None:
    """Secret names that host programs obey must not reach lava-run or what it starts."""
    definition = job("sleep")
    definition["secrets"] = {
        "LD_PRELOAD": "/tmp/evil.so",
        "GIT_SSH_COMMAND": "touch /tmp/pwned",
        "BASH_ENV": "/tmp/evil.sh",
        "API_KEY": "s3cr3t-value",
    }
    proc = start(tmp_path, definition)
    try:
        deadline = time.monotonic() + 20
        while not (kids := children(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert kids, "the user command never started"
        for pid in (proc.pid, *kids):
            env = environ(pid)
            for name, value in definition["secrets"].items():
                assert name not in env, (pid, name)
                assert value not in env.values(), (pid, value)
    finally:
        proc.send_signal(signal.SIGTERM)
        finish(proc)


def test_secret_names_must_be_shell_names(tmp_path: Path) -> None:
    definition = job("hello")
    definition["secrets"] = {"NOT-A-NAME": "x", "ok": "y"}
    status, _lines = finish(start(tmp_path, definition))
    assert status == 1
    result = outcome(tmp_path)
    assert result["error_type"] == "Job"
    assert "a secret's name must be a shell identifier" in result["error_msg"]
    assert "@ secrets.NOT-A-NAME" in result["error_msg"]


def test_sigterm_cancels_cleanly(tmp_path: Path) -> None:
    proc = start(tmp_path, job("sleep"))
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    status, lines = finish(proc)
    assert status == 1
    result = outcome(tmp_path)
    assert result["error_type"] == "Canceled"
    assert lines[-1]["msg"]["error_type"] == "Canceled"
    # The sleep child is gone: no process of ours still runs `sleep 60`.
    children = subprocess.run(["pgrep", "-f", "sleep 60", "-P", str(os.getpid())], check=False)
    assert children.returncode == 1


def test_validate_only_prints_the_pipeline(tmp_path: Path) -> None:
    proc = start(tmp_path, job("hello"), "--validate")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert yamlio.load(out)["pipeline"][0]["name"] == "user-command"
    assert "hello from the worker" not in err


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("job_name: x\nactions: [", "line"),
        ("job_name: x\ndevice_type: qemu\nvisibility: public\nactions: []\n", "timeouts"),
    ],
)
def test_invalid_definition_is_a_job_error(tmp_path: Path, text: str, needle: str) -> None:
    proc = start(tmp_path, {})
    proc.kill()
    proc.wait()
    (tmp_path / "job.yaml").write_text(text)
    status = subprocess.run(
        [
            LAVA_RUN,
            "--device",
            str(tmp_path / "device.yaml"),
            "--output-dir",
            str(tmp_path / "out"),
            str(tmp_path / "job.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 1
    result = outcome(tmp_path)
    assert result["error_type"] == "Job"
    assert needle in result["error_msg"]


def test_a_cancel_while_reading_the_device_file_stays_a_cancel(tmp_path: Path, monkeypatch) -> None:
    # the SIGTERM handler's JobCanceled may land inside the YAML load: not a Configuration error
    from lava.common.exceptions import ConfigurationError, JobCanceled
    from lava.dispatcher import run

    def canceled(*_args: object) -> None:
        raise JobCanceled("The job was canceled (SIGTERM)")

    device = tmp_path / "device.yaml"
    device.write_text("hostname: x\n")
    monkeypatch.setattr(run.yamlio, "load", canceled)
    with pytest.raises(JobCanceled):
        run._load_yaml_file(device, "device file", ConfigurationError)
