"""Class 1: job values never reach the environment of a process on the worker.

mallory's secrets are named after variables that host programs obey
(LD_PRELOAD, GIT_SSH_COMMAND, PATH, ...). While QEMU runs, no process of the
job (lava-run, QEMU, what they started) may carry one of them, yet the guest
gets each value in the overlay's secrets file.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from lava.common import yamlio

pytestmark = pytest.mark.slow

CHECK_CASE = "secret-reached-the-device"


def secret_check(name: str, value: str) -> dict[str, Any]:
    """A test definition run in the guest: pass when the secrets file gives NAME its value."""
    digest = hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()
    return {
        "from": "inline",
        "name": "secret-check",
        "path": "inline/secret-check.yaml",
        "repository": {
            "metadata": {"format": "Lava-Test Test Definition 1.0", "name": "secret-check"},
            "run": {
                "steps": [
                    # A subshell: the other secrets (PATH...) must not change this shell.
                    f'value=$(. ../../../secrets; printf %s "${name}")',
                    'sum=$(printf %s "$value" | md5sum | cut -d" " -f1)',
                    f'if [ "$sum" = {digest} ]; then result=pass; else result=fail; fi',
                    f"lava-test-case {CHECK_CASE} --result $result",
                ]
            },
        },
    }


def job_with_secrets(security_lab: Any, secrets: dict[str, str], checked: str) -> str:
    """The demo job (a local git clone, QEMU), private, with these secrets and their check."""
    definition = yamlio.load(security_lab.demo_job(visibility="personal", secrets=secrets))
    definition["actions"][2]["test"]["definitions"].append(secret_check(checked, secrets[checked]))
    return yamlio.dump(definition)


def assert_no_secret_in_any_environment(
    processes: list[dict[str, Any]], secrets: dict[str, str], unique: str
) -> None:
    """No process has a secret as its variable's value, nor the unique secret anywhere."""
    assert any(
        "lava-run" in " ".join(p["argv"][:2]) or p["comm"] == "lava-run" for p in processes
    ), processes
    for process in processes:
        environ, argv = process["environ"], process["argv"][:2]
        for name, value in secrets.items():
            assert environ.get(name) != value, (argv, name)
        assert not any(unique in text for text in environ.values()), argv
        assert not any(unique in arg for arg in process["argv"]), argv


@pytest.mark.parametrize(
    "names",
    [
        ("LD_PRELOAD", "GIT_SSH_COMMAND", "BASH_ENV", "PYTHONSTARTUP"),
        ("PATH", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0", "PYTHONPATH"),
    ],
)
def test_secrets_reach_the_device_only(security_lab: Any, canary: Any, names: tuple) -> None:
    pwned = canary.path("pwned")
    payloads = {
        "LD_PRELOAD": str(canary.path("evil.so")),
        "GIT_SSH_COMMAND": f"touch {pwned}",
        "BASH_ENV": str(canary.path("evil.sh")),
        "PYTHONSTARTUP": str(canary.path("evil.py")),
        "PATH": str(canary.root),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.fsmonitor",
        "GIT_CONFIG_VALUE_0": f"touch {pwned}",
        "PYTHONPATH": str(canary.root),
    }
    secrets = {name: payloads[name] for name in names}
    secrets["LAVA_CANARY_SECRET"] = "mallory-" + hashlib.sha256(str(names).encode()).hexdigest()
    job_id = security_lab.submit(job_with_secrets(security_lab, secrets, "LAVA_CANARY_SECRET"))
    processes = security_lab.wait_for_qemu(job_id)
    assert_no_secret_in_any_environment(processes, secrets, secrets["LAVA_CANARY_SECRET"])
    record = security_lab.wait(job_id)
    assert record["health"] == "Complete", (record, security_lab.lab.log_tail())
    cases = {row["name"]: row["result"] for row in security_lab.lab.testcases(job_id)}
    assert cases[CHECK_CASE] == "pass", cases
    log = "\n".join(security_lab.lab.log_lines(job_id))
    assert secrets["LAVA_CANARY_SECRET"] not in log and "[MASKED]" in log
    assert not pwned.exists()
    security_lab.assert_runs_jobs()


def test_secret_names_must_be_shell_names(security_lab: Any, refused: Any, canary: Any) -> None:
    secrets = {"LD_PRELOAD=/x": "1", "A-B": "2"}
    definition = security_lab.demo_job(visibility="personal", secrets=secrets)
    refused(definition, "secrets.LD_PRELOAD=/x", "a secret's name must be a shell identifier")
    canary.assert_untouched()
    security_lab.assert_runs_jobs()
