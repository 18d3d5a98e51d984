"""boot method qemu: the command line, validation, and real boots of the project's guest."""

from __future__ import annotations

import io
import os
import shlex
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from lava.common import log
from lava.common.device import load_device
from lava.common.exceptions import ConfigurationError, InfrastructureError, JobError
from lava.dispatcher.actions.boot import kvm
from lava.dispatcher.actions.boot.login import LoginAction
from lava.dispatcher.actions.boot.methods import qemu
from lava.dispatcher.actions.boot.methods.qemu import (
    CONSOLE,
    BootQemuRetryAction,
    CallQemuAction,
    console_on_stdio,
    option_value,
    split_args,
    substitute,
    use_tcg,
    wants_kvm,
)
from lava.dispatcher.actions.finalize import FinalizeAction, power_off
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.parser import TestStage
from lava.dispatcher.pipeline import Action, Job
from lava.dispatcher.state import DeployedImage

PROMPT = "root@lava-guest:~#"
APPEND = "console=ttyS0 quiet panic=-1"
DICTIONARY = """{% extends 'qemu.jinja2' %}
{% set arch = 'amd64' %}
{% set memory = 256 %}
{% set no_network = True %}
"""


def device(no_kvm: bool = True, **extra: str) -> Device:
    """A qemu device rendered from our device-type template."""
    text = DICTIONARY + ("{% set no_kvm = True %}\n" if no_kvm else "")
    text += "".join(f"{{% set {key} = {value} %}}\n" for key, value in extra.items())
    return Device.from_dict(load_device(text, {}, hostname="qemu-test"))


def boot_block(**extra: Any) -> dict[str, Any]:
    block: dict[str, Any] = {
        "namespace": "common",
        "method": "qemu",
        "media": "tmpfs",
        "timeout": {"minutes": 2},
        "prompts": [PROMPT],
    }
    block.update(extra)
    return block


def make_job(
    tmp_path: Path,
    dev: Device | None = None,
    shell: bool = True,
    context: dict[str, Any] | None = None,
    **boot: Any,
) -> Job:
    definition = {
        "timeouts": {"job": {"minutes": 5}, "connection": {"minutes": 1}},
        "context": {"arch": "amd64", **(context or {})},
        "actions": [{"boot": boot_block(**boot)}],
    }
    job = Job("1", definition, dev or device(), JobLogger(io.StringIO()), tmp_path)
    job.cache_dir = tmp_path / "cache"
    if shell:  # as the parser plans it for a job with test definitions
        job.test_plan = {"common": [TestStage(0, 0, [{"name": "smoke"}])]}
    job.pipeline.add_action(BootQemuRetryAction(), boot_block(**boot))
    job.pipeline.add_action(FinalizeAction(), {"namespace": "common"})
    return job


def deploy(job: Job, kernel: Path, initrd: Path, append: str = APPEND) -> None:
    """What deploy to tmpfs leaves for the boot action: the images in the job's directory."""
    downloads = job.work_dir / "downloads"
    if kernel.exists() and not kernel.is_relative_to(job.work_dir):
        downloads.mkdir(parents=True, exist_ok=True)
        kernel = Path(shutil.copy(kernel, downloads))
        initrd = Path(shutil.copy(initrd, downloads))
    state = job.state("common")
    state.image_order = ["kernel", "initrd"]
    state.images["kernel"] = DeployedImage(
        "kernel", kernel, image_arg=f"-kernel {{kernel}} -append '{append}'"
    )
    state.images["initrd"] = DeployedImage("initrd", initrd, image_arg="-initrd {initrd}")


def find(job: Job, cls: type[Action]) -> Any:
    def walk(actions: list[Action]) -> Any:
        for action in actions:
            if isinstance(action, cls):
                return action
            if action.pipeline is not None and (found := walk(action.pipeline.actions)):
                return found
        return None

    return walk(job.pipeline.actions)


def messages(job: Job, lvl: str | None = None) -> list[Any]:
    stream = job.logger._stream
    assert isinstance(stream, io.StringIO)
    lines = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [line["msg"] for line in lines if lvl is None or line["lvl"] == lvl]


def gone(pid: int) -> bool:
    """No such process, not even a zombie."""
    return not Path(f"/proc/{pid}").exists()


# -- the command line ------------------------------------------------------------


def test_split_keeps_quoted_append_whole() -> None:
    args = split_args(["-kernel {kernel} -append 'console=ttyS0 root=/dev/ram0'", "-m 256"])
    assert args == ["-kernel", "{kernel}", "-append", "console=ttyS0 root=/dev/ram0", "-m", "256"]
    assert split_args(None) == [] and split_args("-S") == ["-S"]
    with pytest.raises(ValueError):
        split_args(["-append 'unbalanced"])


def test_substitute_after_splitting_keeps_paths_with_spaces_whole() -> None:
    args = split_args(['-kernel {kernel} -append "console=ttyS0" -drive file={disk},if=virtio'])
    files = {"kernel": "/tmp/a dir/vmlinuz", "disk": "/tmp/d.img", "unused": None}
    assert substitute(args, files) == [
        "-kernel",
        "/tmp/a dir/vmlinuz",
        "-append",
        "console=ttyS0",
        "-drive",
        "file=/tmp/d.img,if=virtio",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-enable-kvm"], True),
        (["--enable-kvm"], True),
        (["-accel", "kvm"], True),
        (["-accel", "kvm,kernel-irqchip=on"], True),
        (["-machine", "q35,accel=kvm:tcg"], True),
        (["-M", "pc"], False),
        (["-accel", "tcg"], False),
        (["-cpu", "host"], False),
        (["-append", "kvm"], False),
    ],
)
def test_wants_kvm(args: list[str], expected: bool) -> None:
    assert wants_kvm(["qemu-system-x86_64", *args]) is expected


def test_use_tcg_rewrites_every_kvm_form() -> None:
    cmd = [
        "qemu",
        "-cpu",
        "host,+x2apic",
        "-enable-kvm",
        "-accel",
        "kvm",
        "-M",
        "q35,accel=kvm",
        "-m",
        "256",
    ]
    tcg, changes = use_tcg(cmd)
    assert tcg == ["qemu", "-cpu", "max,+x2apic", "-M", "q35", "-m", "256", "-accel", "tcg"]
    assert "removed -enable-kvm" in changes and "added -accel tcg" in changes
    assert not wants_kvm(tcg)


def test_use_tcg_keeps_an_explicit_tcg_accelerator() -> None:
    assert use_tcg(["qemu", "-accel", "tcg,thread=single"])[0] == [
        "qemu",
        "-accel",
        "tcg,thread=single",
    ]
    assert use_tcg(["qemu", "-machine", "pc,accel=tcg"]) == (
        ["qemu", "-machine", "pc,accel=tcg"],
        [],
    )
    assert use_tcg(["qemu", "-machine", "accel=kvm"])[0] == ["qemu", "-accel", "tcg"]


def test_console_on_stdio() -> None:
    cmd = ["qemu", "-nographic", "-serial", "mon:stdio", "-monitor", "stdio", "-m", "256"]
    assert console_on_stdio(cmd) == [
        "qemu",
        *CONSOLE,
        "-monitor",
        "none",
        "-m",
        "256",
        "-display",
        "none",
        "-no-reboot",
    ]
    kept = console_on_stdio(["qemu", "-display", "none", "-serial", "file:/tmp/s", "-no-reboot"])
    assert kept == ["qemu", *CONSOLE, "-display", "none", "-serial", "file:/tmp/s", "-no-reboot"]


def test_option_value_is_the_last_one() -> None:
    assert option_value(["q", "-cpu", "host", "-m", "1", "--cpu", "max"], "cpu") == "max"
    assert option_value(["q", "-m", "1"], "cpu") is None


def command_for(tmp_path: Path, job: Job) -> list[str]:
    """The command execute-qemu would start (validate and build, without starting it)."""
    action = find(job, CallQemuAction)
    action.validate()
    return action.build_command()[0]


def test_command_for_the_guest(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    deploy(job, tmp_path / "vm linuz", tmp_path / "initrd.gz")
    assert command_for(tmp_path, job) == [
        qemu.shutil.which("qemu-system-x86_64"),
        *CONSOLE,
        *(["-nographic", "-net", "none", "-m", "256", "-monitor", "none"][1:]),
        *("-kernel", str(tmp_path / "vm linuz"), "-append", APPEND),
        *("-initrd", str(tmp_path / "initrd.gz")),
        *("-accel", "tcg", "-display", "none", "-no-reboot"),
    ]


def test_kvm_device_falls_back_to_tcg_when_the_probe_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str | None]] = []

    def probe(binary: str, cpu: str | None, cache: Path) -> kvm.Verdict:
        calls.append((binary, cpu))
        return kvm.Verdict(False, "guests hang under KVM here")

    monkeypatch.setattr(kvm, "probe", probe)
    job = make_job(tmp_path, device(no_kvm=False))
    deploy(job, tmp_path / "vmlinuz", tmp_path / "initrd.gz")
    cmd = command_for(tmp_path, job)
    assert calls == [(cmd[0], "host")]
    assert option_value(cmd, "cpu") == "max" and option_value(cmd, "accel") == "tcg"
    assert "-enable-kvm" not in cmd
    [warning] = messages(job, "warning")
    assert "Not using KVM: guests hang under KVM here" in warning
    assert "-cpu host → -cpu max" in warning


def test_kvm_kept_when_the_probe_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kvm, "probe", lambda *args: kvm.Verdict(True, "KVM works", cached=True))
    job = make_job(tmp_path, device(no_kvm=False))
    deploy(job, tmp_path / "vmlinuz", tmp_path / "initrd.gz")
    cmd = command_for(tmp_path, job)
    assert "-enable-kvm" in cmd and option_value(cmd, "cpu") == "host"
    assert "-accel" not in cmd
    assert "Using KVM: KVM works (cached verdict)" in messages(job, "info")


def test_context_no_kvm_never_probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def probe(*args: Any) -> kvm.Verdict:
        raise AssertionError("no probe with no_kvm")

    monkeypatch.setattr(kvm, "probe", probe)
    # The device still asks for KVM (rendered without the job's context).
    job = make_job(tmp_path, device(no_kvm=False), context={"no_kvm": True})
    deploy(job, tmp_path / "vmlinuz", tmp_path / "initrd.gz")
    cmd = command_for(tmp_path, job)
    assert option_value(cmd, "accel") == "tcg" and "-enable-kvm" not in cmd
    assert any("context no_kvm" in m for m in messages(job, "info"))


def test_image_without_image_arg_is_left_out(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    deploy(job, tmp_path / "vmlinuz", tmp_path / "initrd.gz")
    job.state("common").images["initrd"].image_arg = None
    assert "-initrd" not in command_for(tmp_path, job)


def test_uefi_directory_goes_to_minus_l(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    deploy(job, tmp_path / "vmlinuz", tmp_path / "initrd.gz")
    uefi = tmp_path / "downloads" / "common" / "uefi"
    job.state("common").uefi_dir = uefi
    assert option_value(command_for(tmp_path, job), "L") == str(uefi)


# -- the pipeline and validation -------------------------------------------------


def test_pipeline_names_and_levels_follow_lava(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    boot = job.pipeline.actions[0]
    rows = []

    def walk(action: Action) -> None:
        rows.append((action.level, action.name, type(action).__name__))
        for child in action.pipeline.actions if action.pipeline else []:
            walk(child)

    walk(boot)
    assert rows == [
        ("1", "boot-image-retry", "BootQemuRetryAction"),
        ("1.1", "boot-qemu-image", "BootQemuAction"),
        ("1.1.1", "execute-qemu", "CallQemuAction"),
        ("1.2", "auto-login-action", "AutoLoginAction"),
        ("1.2.1", "login-action", "LoginAction"),
        ("1.3", "expect-shell-connection", "ExpectShellSession"),
        ("1.4", "transfer-overlay-serial", "OverlaySerialTransferAction"),
        ("1.5", "export-device-env", "ExportDeviceEnvironment"),
    ]
    assert all(a.timeout_exception is InfrastructureError for a in [boot, *boot.pipeline.actions])


def test_without_test_shell_or_prompts(tmp_path: Path) -> None:
    job = make_job(tmp_path, shell=False)
    names = [a.name for a in job.pipeline.actions[0].pipeline.actions]
    assert names == ["boot-qemu-image", "auto-login-action"]
    block = boot_block()
    del block["prompts"]
    job = make_job(tmp_path)
    job.pipeline.actions.clear()
    job.pipeline.add_action(BootQemuRetryAction(), block)
    assert [a.name for a in job.pipeline.actions[0].pipeline.actions] == ["boot-qemu-image"]


def test_boot_retry_constant_sets_the_retries(tmp_path: Path) -> None:
    data = load_device(DICTIONARY + "{% set boot_retry = 3 %}\n", {}, hostname="q")
    job = make_job(tmp_path, Device.from_dict(data))
    boot = job.pipeline.actions[0]
    assert boot.max_retries == 3
    assert boot.pipeline.actions[0].max_retries == 3
    job = make_job(tmp_path, failure_retry=2)
    assert job.pipeline.actions[0].max_retries == 2


def validation_errors(job: Job) -> str:
    with pytest.raises(JobError) as info:
        job.validate()
    return str(info.value)


def test_validate_accepts_the_guest_job(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.validate()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"media": "nfs"}, "media 'nfs' is not supported yet"),
        ({"media": None}, "'media' is required"),
        ({"docker": {"image": "x"}}, "under docker is not supported yet"),
        ({"prompts": []}, "'prompts' cannot be empty"),
        ({"auto_login": {"username": "root"}}, "'login_prompt' is mandatory"),
    ],
)
def test_validate_boot_block(tmp_path: Path, change: dict[str, Any], error: str) -> None:
    job = make_job(tmp_path, **change)
    if change.get("media", "") is None:
        for action in job.pipeline.actions:
            action.parameters.pop("media", None)
    assert error in validation_errors(job)


def test_validate_prompts_needed_for_a_test_shell(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    for action in job.pipeline.actions:
        action.parameters.pop("prompts", None)
    assert "Unable to identify boot prompts" in validation_errors(job)


def test_validate_arch(tmp_path: Path) -> None:
    job = make_job(tmp_path, context={"arch": "z80"})
    assert "context arch 'z80' is not one of the device's" in validation_errors(job)


def test_validate_names_a_missing_qemu_binary(tmp_path: Path) -> None:
    """A worker without the binary is the lab's problem: InfrastructureError, at once."""
    data = load_device(DICTIONARY + "{% set arch = 'tricore' %}\n", {}, hostname="q")
    job = make_job(tmp_path, Device.from_dict(data), context={"arch": "tricore"})
    with pytest.raises(InfrastructureError, match="'qemu-system-tricore' is not on this worker"):
        job.validate()


def test_validate_device_without_qemu_parameters(tmp_path: Path) -> None:
    data = load_device(DICTIONARY, {}, hostname="q")
    data["actions"]["boot"]["methods"]["qemu"] = None
    job = make_job(tmp_path, Device.from_dict(data))
    with pytest.raises(ConfigurationError, match=r"has no parameters\.command"):
        job.validate()


def test_validate_refuses_options_that_reach_the_host(tmp_path: Path) -> None:
    """The job's context fills in the device's options: refused before anything runs."""
    job = make_job(tmp_path, dev=device(extra_options="['-chardev file,id=x,path=/tmp/x']"))
    with pytest.raises(JobError, match="QEMU option -chardev file is not allowed"):
        job.validate()


def test_image_arg_may_name_only_the_job_files(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    deploy(job, tmp_path / "vmlinuz", tmp_path / "initrd.gz")
    for image_arg, message in (
        ("-initrd {initrd} -device loader,file=/etc/shadow", "'/etc/shadow' is outside"),
        ("-initrd {initrd} -L /usr/share/qemu", "'/usr/share/qemu' is outside the job's"),
        ("-initrd {initrd} -monitor tcp::4444,server", "-monitor tcp::4444,server is not"),
    ):
        job.state("common").images["initrd"].image_arg = image_arg
        with pytest.raises(JobError, match="QEMU") as info:
            command_for(tmp_path, job)
        assert message in str(info.value)


def test_qemu_binary_must_be_a_system_emulator(tmp_path: Path) -> None:
    data = load_device(DICTIONARY, {}, hostname="q")
    data["actions"]["boot"]["methods"]["qemu"]["parameters"]["command"] = "../../bin/sh"
    with pytest.raises(JobError, match="is not a QEMU system emulator"):
        make_job(tmp_path, Device.from_dict(data)).validate()


# -- real boots of the guest -------------------------------------------------------


def boot(job: Job) -> tuple[Any, float]:
    """Validate and run the boot block; returns the session and the elapsed time."""
    job.validate()
    start = time.monotonic()
    with job.deadlines.frame("job", job.timeout.seconds, JobError) as deadline:
        session = job.pipeline.actions[0].pipeline.run_actions(None, deadline)
    return session, start


@pytest.mark.slow
def test_boot_to_the_root_shell_and_power_off(tmp_path: Path, guest: Path) -> None:
    job = make_job(tmp_path)
    deploy(job, guest / "vmlinuz", guest / "initrd.gz")
    job.state("common").environment.lines = ["export LAVA_FROM_ENV=42"]
    try:
        session, start = boot(job)
        end = time.monotonic()
        assert job.connection is session and session.prompts == [PROMPT]
        assert "cloud-amd64" in session.run_command("uname -r", 10)
        assert session.run_command("echo $LAVA_FROM_ENV", 10) == "42"
        call, login = find(job, CallQemuAction), find(job, LoginAction)
        before, after = call.started - start, end - login.prompt_found
        print(
            f"\nQEMU start → prompt {login.prompt_found - call.started:.2f} s; "
            f"our actions add {before + after:.3f} s "
            f"({before:.3f} s before QEMU, {after:.3f} s after the prompt)"
        )
        assert before + after < 0.5
        results = {r["case"]: r for r in messages(job, "results")}
        assert results["execute-qemu"]["extra"]["accel"] == "tcg"
        assert results["kernel-messages"]["result"] == "pass"
    finally:
        pid = job.connection.pid if job.connection else None
        power_off(job.pipeline.actions[-1])
    assert job.connection is None
    assert pid is not None and gone(pid), "QEMU still exists (or is a zombie)"


@pytest.mark.slow
def test_login_prompt_and_password(tmp_path: Path, guest: Path) -> None:
    auto_login = {
        "login_prompt": "login:",
        "username": "root",
        "password_prompt": "Password:",
        "password": "lava",
    }
    job = make_job(tmp_path, auto_login=auto_login)
    deploy(
        job,
        guest / "vmlinuz",
        guest / "initrd.gz",
        APPEND + " lava_guest.login=1 lava_guest.password=lava",
    )
    try:
        session, _ = boot(job)
        assert session.run_command("id -u", 10) == "0"
        inputs = messages(job, "input")
        assert "root" in inputs and "[MASKED]" in inputs and "lava" not in inputs
    finally:
        job.cleanup()
    assert not find(job, CallQemuAction).session.alive()


@pytest.mark.slow
def test_wrong_prompt_is_a_boot_timeout(tmp_path: Path, guest: Path) -> None:
    job = make_job(tmp_path, prompts=["no-such-prompt#"], timeout={"seconds": 15})
    deploy(job, guest / "vmlinuz", guest / "initrd.gz")
    start = time.monotonic()
    try:
        with pytest.raises(InfrastructureError) as info:
            boot(job)
        assert 14 < time.monotonic() - start < 20
        assert "timed out" in str(info.value)
        assert "the prompt 'no-such-prompt#'" in str(info.value)
        pid = find(job, CallQemuAction).session.pid
    finally:
        job.cleanup()
    assert gone(pid), "QEMU still exists (or is a zombie) after cleanup"


@pytest.mark.slow
def test_kernel_panic_fails_fast(tmp_path: Path, guest: Path) -> None:
    job = make_job(tmp_path, timeout={"minutes": 2})
    deploy(job, guest / "vmlinuz", guest / "initrd.gz", "console=ttyS0 quiet rdinit=/nonexistent")
    start = time.monotonic()
    try:
        with pytest.raises(JobError) as info:
            boot(job)
        assert time.monotonic() - start < 30  # the boot timeout is 2 minutes
        assert str(info.value).startswith("Kernel panic - not syncing: VFS: Unable to mount root")
    finally:
        job.cleanup()


@pytest.mark.slow
def test_bad_qemu_option_is_reported_at_once(tmp_path: Path, guest: Path) -> None:
    job = make_job(tmp_path, dev=device(extra_options="['-m lots']"))
    deploy(job, guest / "vmlinuz", guest / "initrd.gz")
    start = time.monotonic()
    try:
        with pytest.raises(InfrastructureError) as info:
            boot(job)
        assert time.monotonic() - start < 5
        assert "QEMU exited at once (status 1)" in str(info.value)
        assert "-m lots" in str(info.value)
    finally:
        job.cleanup()


@pytest.mark.slow
def test_kvm_device_boots_whatever_the_probe_says(tmp_path: Path, guest: Path) -> None:
    """The device asks for KVM (-cpu host -enable-kvm); the real probe decides."""
    job = make_job(tmp_path, dev=device(no_kvm=False), shell=False)
    deploy(job, guest / "vmlinuz", guest / "initrd.gz")
    try:
        boot(job)
        verdict = kvm.probe(str(qemu.shutil.which("qemu-system-x86_64")), "host", job.cache_dir)
        assert verdict.cached  # the boot probed and saved its verdict
        command = find(job, CallQemuAction).command
        if verdict.usable:
            assert "-enable-kvm" in command
        else:
            assert option_value(command, "cpu") == "max" and "-enable-kvm" not in command
            assert any(verdict.reason in m for m in messages(job, "warning"))
    finally:
        job.cleanup()


@pytest.mark.slow
def test_overhead_against_qemu_driven_directly(tmp_path: Path, guest: Path) -> None:
    """The boot block versus pexpect on the same command line, alternated; prints medians."""
    ours, raw = [], []
    for run in range(2):
        job = make_job(tmp_path / str(run), shell=True)
        deploy(job, guest / "vmlinuz", guest / "initrd.gz")
        try:
            _, start = boot(job)
            ours.append(time.monotonic() - start)
            command = find(job, CallQemuAction).command
        finally:
            job.cleanup()
        start = time.monotonic()
        child = pexpect.spawn(command[0], command[1:], encoding="utf-8", timeout=120)
        try:
            child.expect_exact(PROMPT)
            raw.append(time.monotonic() - start)
        finally:
            child.close(force=True)
    print(
        f"\nboot block {statistics.median(ours):.2f} s, QEMU directly "
        f"{statistics.median(raw):.2f} s (runs {[round(x, 2) for x in ours]} vs "
        f"{[round(x, 2) for x in raw]}); command: {shlex.join(command)}"
    )
    assert os.path.basename(command[0]) == "qemu-system-x86_64"
