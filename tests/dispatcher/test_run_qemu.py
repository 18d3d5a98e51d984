"""End to end: lava-run boots the real guest under QEMU and runs real tests.

Each test runs a whole job (deploy, boot, test, finalize) and checks the
outcome, the error type and what the log and results say.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from lava.common import log, yamlio
from tools import example

pytestmark = pytest.mark.slow


def boot(definition: dict[str, Any]) -> dict[str, Any]:
    return next(a["boot"] for a in definition["actions"] if "boot" in a)


def images(definition: dict[str, Any]) -> dict[str, Any]:
    return next(a["deploy"] for a in definition["actions"] if "deploy" in a)["images"]


def block_of_tests(definition: dict[str, Any]) -> dict[str, Any]:
    return next(a["test"] for a in definition["actions"] if "test" in a)


def qemu_processes(marker: Path | str) -> list[int]:
    """QEMU processes started for one job: their command line names its directory."""
    out = subprocess.run(["pgrep", "-f", f"qemu-system.*{marker}"], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def test_demo_job_results(run_job: Any) -> None:
    job: example.JobRun = run_job()
    assert job.status == 0, job.result
    cases = {(r["suite"], r["name"]): r for r in job.results if r["suite"] != "lava"}
    assert set(cases) == {
        ("0_smoke", "kernel-version"),
        ("0_smoke", "always-fails"),
        ("0_smoke", "boot-entropy"),
        ("1_smoke-git", "greeting"),
    }
    assert cases["0_smoke", "kernel-version"]["result"] == "pass"
    assert cases["0_smoke", "always-fails"]["result"] == "fail"
    entropy = cases["0_smoke", "boot-entropy"]
    assert (entropy["result"], entropy["measurement"], entropy["units"]) == ("pass", 42.5, "bits")
    assert cases["1_smoke-git", "greeting"]["result"] == "pass"
    lava = {r["name"]: r for r in job.results if r["suite"] == "lava"}
    assert {"validate", "job", "0_smoke", "1_smoke-git"} <= set(lava)
    assert lava["0_smoke"]["result"] == "pass" and lava["job"]["result"] == "pass"
    assert all(r["units"] == "seconds" for r in lava.values() if "measurement" in r)
    assert not qemu_processes(job.out_dir)


def test_auto_login_with_password(run_job: Any) -> None:
    def edit(definition: dict[str, Any]) -> None:
        kernel = images(definition)["kernel"]
        kernel["image_arg"] = kernel["image_arg"].replace(
            'panic=-1"', 'panic=-1 lava_guest.login=1 lava_guest.password=lava"'
        )
        boot(definition)["auto_login"] = {
            "login_prompt": "login:",
            "username": "root",
            "password_prompt": "Password:",
            "password": "lava",
        }
        block_of_tests(definition)["definitions"] = block_of_tests(definition)["definitions"][:1]

    job = run_job(edit=edit)
    assert job.status == 0, job.result
    inputs = job.messages("input")
    assert ("root" in inputs and "lava" not in inputs) or "[MASKED]" in inputs
    assert any(r["name"] == "auto-login-action" for r in job.results)


def test_unreachable_image_fails_before_boot(run_job: Any) -> None:
    def edit(definition: dict[str, Any]) -> None:
        images(definition)["kernel"]["url"] = "http://127.0.0.1:9/vmlinuz"

    job = run_job(edit=edit)
    assert job.status == 1
    assert job.result["error_type"] == "Infrastructure"
    assert "127.0.0.1:9" in job.result["error_msg"]
    assert not any(str(m).startswith("start: 2 boot-image-retry") for m in job.messages())


def test_wrong_checksum_is_a_job_error(run_job: Any) -> None:
    def edit(definition: dict[str, Any]) -> None:
        images(definition)["initrd"]["sha256sum"] = "0" * 64

    job = run_job(edit=edit)
    assert job.status == 1
    assert job.result["error_type"] == "Job"
    assert "sha256" in job.result["error_msg"].lower()


def test_missing_prompt_is_a_boot_timeout(run_job: Any) -> None:
    def edit(definition: dict[str, Any]) -> None:
        boot(definition)["prompts"] = ["no-such-prompt#"]
        boot(definition)["timeout"] = {"seconds": 20}

    start = time.monotonic()
    job = run_job(edit=edit)
    assert job.status == 1
    assert job.result["error_type"] == "Infrastructure"
    assert "timed out" in job.result["error_msg"]
    assert time.monotonic() - start < 60
    assert not qemu_processes(job.out_dir)


def test_kernel_panic_fails_fast(run_job: Any) -> None:
    def edit(definition: dict[str, Any]) -> None:
        kernel = images(definition)["kernel"]
        kernel["image_arg"] = kernel["image_arg"].replace('panic=-1"', 'rdinit=/nonexistent"')
        boot(definition)["timeout"] = {"minutes": 2}

    start = time.monotonic()
    job = run_job(edit=edit)
    assert job.status == 1
    assert "panic" in job.result["error_msg"].lower()
    assert time.monotonic() - start < 60
    assert not qemu_processes(job.out_dir)


def test_hanging_definition_is_a_test_timeout(run_job: Any) -> None:
    def edit(definition: dict[str, Any]) -> None:
        block = block_of_tests(definition)
        block["timeout"] = {"seconds": 15}
        block["definitions"] = block["definitions"][:1]
        block["definitions"][0]["repository"]["run"]["steps"] = ["sleep 600"]

    start = time.monotonic()
    job = run_job(edit=edit)
    assert job.status == 1
    assert job.result["error_type"] == "Test"
    assert "lava-test-shell timed out" in job.result["error_msg"]
    assert time.monotonic() - start < 90
    unfinished = [r for r in job.results if r["suite"] == "lava" and r["name"] == "0_smoke"]
    assert unfinished and unfinished[0]["result"] == "fail"


def test_sigterm_mid_test_cancels_and_stops_qemu(guest: Path, tmp_path: Path) -> None:
    definition = yamlio.load(example.job_text(guest=guest))
    block = block_of_tests(definition)
    block["definitions"] = block["definitions"][:1]
    block["definitions"][0]["repository"]["run"]["steps"] = ["sleep 600"]
    text = yamlio.dump(definition)
    out_dir = tmp_path / "cancel"
    proc = example.lava_run(
        text,
        example.device_text(text),
        out_dir,
        extra=["--work-dir", str(out_dir / "work")],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        if "STARTRUN" in str(log.decode(line)["msg"]) or time.monotonic() > deadline:
            break
    qemu = qemu_processes(out_dir)
    assert qemu, "QEMU should be running mid-test"
    proc.send_signal(signal.SIGTERM)
    job = example.finish(proc, out_dir, timeout=60)
    assert job.status == 1
    assert job.result["error_type"] == "Canceled"
    assert job.lines[-1]["msg"]["error_type"] == "Canceled"
    for pid in qemu:
        assert not Path(f"/proc/{pid}").exists(), f"QEMU {pid} still exists (zombie?)"
    # No child of ours is left as a zombie either.
    zombies = subprocess.run(
        ["ps", "--ppid", str(os.getpid()), "-o", "stat="], capture_output=True, text=True
    ).stdout.split()
    assert "Z" not in "".join(zombies)


def test_overlay_over_the_serial_console(run_job: Any) -> None:
    """No image can carry the overlay (none is a ramdisk): it goes over the console."""

    def edit(definition: dict[str, Any]) -> None:
        found = images(definition)
        initrd = found.pop("initrd")
        initrd["image_arg"] = "-initrd {base}"
        found["base"] = initrd
        block = block_of_tests(definition)
        block["definitions"] = block["definitions"][:1]

    job = run_job(edit=edit)
    assert job.status == 0, job.result
    assert any("transferred over the serial" in str(m) for m in job.messages("info"))
    cases = {r["name"]: r["result"] for r in job.results if r["suite"] == "0_smoke"}
    assert cases == {"kernel-version": "pass", "always-fails": "fail", "boot-entropy": "pass"}


def test_interactive_script(run_job: Any) -> None:
    def edit(definition: dict[str, Any]) -> None:
        for position, action in enumerate(definition["actions"]):
            if "test" in action:
                definition["actions"][position] = {
                    "test": {
                        "timeout": {"minutes": 1},
                        "interactive": [
                            {
                                "name": "shell-checks",
                                "prompts": ["root@lava-guest:~#"],
                                "script": [
                                    {
                                        "command": "echo hello-$((6*7))",
                                        "name": "arith",
                                        "successes": [{"message": "hello-42"}],
                                    },
                                    {
                                        "command": "cat /nonexistent",
                                        "name": "missing-file",
                                        "failures": [{"message": "No such file"}],
                                    },
                                    {"command": "true", "name": "prompt-back"},
                                ],
                            }
                        ],
                    }
                }

    job = run_job(edit=edit)
    assert job.status == 0, job.result
    cases = {r["name"]: r["result"] for r in job.results if r["suite"] == "0_shell-checks"}
    assert cases == {"arith": "pass", "missing-file": "fail", "prompt-back": "pass"}
    lava = {r["name"]: r["result"] for r in job.results if r["suite"] == "lava"}
    assert lava["0_shell-checks"] == "pass"


def test_definition_timeout_bounds_one_definition(run_job: Any) -> None:
    def edit(definition: dict[str, Any]) -> None:
        block = block_of_tests(definition)
        block["timeout"] = {"minutes": 2}
        first = block["definitions"][0]
        first["timeout"] = {"seconds": 5}
        first["repository"]["run"]["steps"] = ["sleep 600"]

    start = time.monotonic()
    job = run_job(edit=edit)
    assert job.status == 1
    assert job.result["error_type"] == "Test"
    assert "test definition 0_smoke timed out after 5 seconds" in job.result["error_msg"]
    assert time.monotonic() - start < 40
