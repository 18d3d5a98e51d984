"""auto-login-action, expect-shell-connection and export-device-env on a scripted console.

The console is a real pty session on a small program that prints a boot log
and then acts as getty, login and shell; the real guest is booted in
methods/test_qemu.py.
"""

from __future__ import annotations

import io
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lava.common import log
from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher.actions.boot.login import (
    AutoLoginAction,
    ExpectShellSession,
    ExportDeviceEnvironment,
)
from lava.dispatcher.connections.serial import ShellSession
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.pipeline import Action, Job

PROMPT = "root@fake:~# "

# Prints a boot log, then optional login, then a shell that logs what it runs.
FAKE_DUT = textwrap.dedent(
    r"""
    import sys, time
    opts = dict(arg.split("=", 1) for arg in sys.argv[1:])
    def out(text):
        sys.stdout.write(text)
        sys.stdout.flush()
    if opts.get("quiet") != "1":
        out("[    0.000000] Linux version 6.1.0-fake (gcc 12) #1 SMP\n")
    out("[    0.100000] Booting the fake kernel\n")
    if opts.get("oops") == "1":
        out("[    0.200000] ------------[ cut here ]------------\n")
        out("[    0.200001] WARNING: CPU: 0 PID: 1 at fake.c:12 fake_probe+0x10/0x20\n")
        out("[    0.200002] Call Trace:\n")
        out("[    0.200003] ---[ end trace 0000000000000000 ]---\n")
        out("[    0.300000] BUG: unable to handle page fault for address: 0000000000000008\n")
    if opts.get("panic") == "1":
        time.sleep(0.2)
        out("[    0.400000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x100\n")
        out("[    0.400001] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0-fake #1\n")
        out("[    0.400002] ---[ end Kernel panic - not syncing: Attempted to kill init! ]---\n")
        time.sleep(600)
    if opts.get("panic") == "exit":  # panic=-1 with -no-reboot: QEMU ends at once
        out("[    0.400000] Kernel panic - not syncing: No working init found.\n")
        sys.exit(0)
    if opts.get("hang") == "1":
        time.sleep(600)
    password = opts.get("password")
    if "login" in opts:
        while True:
            out("fake login: ")
            user = sys.stdin.readline().strip()
            out(user + "\n")
            given = None
            if password is not None:
                out("Password: ")
                given = sys.stdin.readline().strip()
                out("\n")
            if user == opts["login"] and given == password:
                break
            out("Login incorrect\n")
    record = open(opts["record"], "a") if "record" in opts else None
    prompt = opts.get("prompt", "root@fake:~# ")
    while True:
        out(prompt + "\x1b[6n")
        line = sys.stdin.readline()
        if not line:
            break
        line = line.rstrip("\n")
        out(line + "\n")
        if record:
            record.write(line + "\n")
            record.flush()
        if line == "hang":
            time.sleep(600)
        if line.startswith("echo "):
            out(line[5:] + "\n")
    """
)

DEVICE: dict[str, Any] = {
    "hostname": "fake-01",
    "actions": {"deploy": {"methods": {}}, "boot": {"methods": {"qemu": {}}}},
    "timeouts": {"actions": {}, "connections": {}},
    "constants": {"failure_retry": 1, "kernel-start-message": "Linux version [0-9]"},
}


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def fake(tmp_path: Path, stream: io.StringIO) -> Iterator[Any]:
    """Start the fake DUT with options; yields a function returning the session."""
    script = tmp_path / "fake_dut.py"
    script.write_text(FAKE_DUT)
    sessions: list[ShellSession] = []

    def start(**opts: Any) -> ShellSession:
        args = [f"{key}={value}" for key, value in opts.items()]
        session = ShellSession([sys.executable, str(script), *args], JobLogger(stream), name="fake")
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.close(grace=0.5)


def make_job(
    tmp_path: Path, stream: io.StringIO, device: dict[str, Any] | None = None, **timeouts: Any
) -> Job:
    definition = {"timeouts": {"job": {"minutes": 5}, **timeouts}, "actions": []}
    dev = Device.from_dict(device or DEVICE)
    return Job("7", definition, dev, JobLogger(stream), tmp_path)


def boot_params(**extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"namespace": "common", "method": "qemu", "prompts": [PROMPT.strip()]}
    params.update(extra)
    return params


def run(job: Job, action: Action, params: dict[str, Any], session: ShellSession) -> Any:
    job.pipeline.add_action(action, params)
    job.pipeline.validate_actions()
    assert not job.pipeline.errors(), job.pipeline.errors()
    with job.deadlines.frame("job", job.timeout.seconds, JobError) as deadline:
        return job.pipeline.run_actions(session, deadline)


def records(stream: io.StringIO, lvl: str | None = None) -> list[Any]:
    lines = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [line["msg"] for line in lines if lvl is None or line["lvl"] == lvl]


def results(stream: io.StringIO) -> dict[str, dict[str, Any]]:
    return {r["case"]: r for r in records(stream, "results")}


def test_kernel_start_then_prompt(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    session = fake()
    job = make_job(tmp_path, stream)
    action = AutoLoginAction()
    assert run(job, action, boot_params(), session) is session
    assert session.prompts == [PROMPT.strip()]
    assert "The kernel has started" in records(stream, "info")
    found = results(stream)
    assert found["kernel-messages"]["result"] == "pass"
    assert found["login-action"]["extra"]["prompt"] == PROMPT.strip()
    assert found["login-action"]["extra"]["success"] == "No kernel warnings or errors detected."
    # The boot block's duration is always in the results (as the e2e tests expect).
    assert found["auto-login-action"]["result"] == "pass"


def test_quiet_kernel_still_reaches_the_prompt(
    tmp_path: Path, stream: io.StringIO, fake: Any
) -> None:
    session = fake(quiet=1)
    job = make_job(tmp_path, stream)
    start = time.monotonic()
    run(job, AutoLoginAction(), boot_params(), session)
    assert time.monotonic() - start < 3
    assert any("was not seen (a quiet kernel?)" in str(m) for m in records(stream, "debug"))


def test_auto_login_with_password_masks_it(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    session = fake(login="root", password="s3cret")
    job = make_job(tmp_path, stream)
    params = boot_params(
        auto_login={
            "login_prompt": "login:",
            "username": "root",
            "password_prompt": "Password:",
            "password": "s3cret",
        }
    )
    run(job, AutoLoginAction(), params, session)
    inputs = records(stream, "input")
    assert inputs[:2] == ["root", "[MASKED]"]
    assert not any("s3cret" in str(m) for m in records(stream))


def test_login_commands_run_after_login(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    record = tmp_path / "commands"
    session = fake(login="root", record=record)
    job = make_job(tmp_path, stream)
    params = boot_params(
        auto_login={
            "login_prompt": "login:",
            "username": "root",
            "login_commands": ["export A=1", "echo hello"],
        }
    )
    run(job, AutoLoginAction(), params, session)
    assert record.read_text().splitlines() == ["export A=1", "echo hello"]


def test_login_incorrect_is_a_job_error(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    session = fake(login="root", password="right")
    job = make_job(tmp_path, stream)
    params = boot_params(
        auto_login={
            "login_prompt": "login:",
            "username": "root",
            "password_prompt": "Password:",
            "password": "wrong",
        }
    )
    with pytest.raises(JobError, match="Login incorrect"):
        run(job, AutoLoginAction(), params, session)


def test_kernel_panic_fails_fast_with_its_message(
    tmp_path: Path, stream: io.StringIO, fake: Any
) -> None:
    session = fake(panic=1)
    job = make_job(tmp_path, stream)
    start = time.monotonic()
    with pytest.raises(JobError) as info:
        run(job, AutoLoginAction(), boot_params(), session)
    assert time.monotonic() - start < 3
    assert str(info.value) == "Kernel panic - not syncing: Attempted to kill init! exitcode=0x100"
    kernel = results(stream)["kernel-messages"]
    assert kernel["result"] == "fail"
    [message] = kernel["extra"]["extra"]
    assert message["kind"] == "panic"
    assert "end Kernel panic" in message["message"]


def test_kernel_panic_then_end_of_console(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    session = fake(panic="exit")
    job = make_job(tmp_path, stream)
    with pytest.raises(JobError, match=r"^Kernel panic - not syncing: No working init found\.$"):
        run(job, AutoLoginAction(), boot_params(), session)
    [message] = results(stream)["kernel-messages"]["extra"]["extra"]
    assert message["kind"] == "panic"


def test_non_fatal_kernel_messages_are_recorded(
    tmp_path: Path, stream: io.StringIO, fake: Any
) -> None:
    session = fake(oops=1)
    job = make_job(tmp_path, stream)
    run(job, AutoLoginAction(), boot_params(), session)
    found = results(stream)
    assert found["kernel-messages"]["result"] == "pass"
    kinds = [m["kind"] for m in found["kernel-messages"]["extra"]["extra"]]
    assert kinds == ["warning", "bug"]
    assert found["login-action"]["extra"]["kernel_messages"] == 2
    warnings = records(stream, "warning")
    assert any("kernel 'warning'" in w for w in warnings)
    assert any("kernel 'bug'" in w for w in warnings)


def test_ignore_kernel_messages(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    session = fake(oops=1)
    job = make_job(tmp_path, stream)
    run(job, AutoLoginAction(), boot_params(ignore_kernel_messages=True), session)
    assert "kernel-messages" not in results(stream)
    assert results(stream)["login-action"]["extra"]["kernel_messages"] == 0


def test_wrong_prompt_times_out_naming_the_prompt(
    tmp_path: Path, stream: io.StringIO, fake: Any
) -> None:
    session = fake()
    job = make_job(tmp_path, stream, connections={"login-action": {"seconds": 1}})
    start = time.monotonic()
    with pytest.raises(InfrastructureError) as info:
        run(job, AutoLoginAction(), boot_params(prompts=["no-such-prompt#"]), session)
    assert time.monotonic() - start < 3
    assert type(info.value) is InfrastructureError
    assert "timed out" in str(info.value)
    assert "the prompt 'no-such-prompt#'" in str(info.value)


def test_action_deadline_names_the_prompt_too(
    tmp_path: Path, stream: io.StringIO, fake: Any
) -> None:
    session = fake()
    job = make_job(tmp_path, stream)
    params = boot_params(prompts="no-such-prompt#", timeout={"seconds": 1})
    start = time.monotonic()
    with pytest.raises(InfrastructureError) as info:
        run(job, AutoLoginAction(), params, session)
    assert time.monotonic() - start < 3
    assert "timed out after 1 seconds" in str(info.value)
    assert "the prompt 'no-such-prompt#'" in str(info.value)


def test_failure_message_is_a_job_error(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    session = fake()
    job = make_job(tmp_path, stream)
    with pytest.raises(JobError, match="failure message: 'Booting the fake'"):
        run(job, AutoLoginAction(), boot_params(failure_message="Booting the fake"), session)


def test_kernel_start_message_from_the_job(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    session = fake()
    job = make_job(tmp_path, stream)
    params = boot_params(parameters={"kernel-start-message": "Booting the fake kernel"})
    run(job, AutoLoginAction(), params, session)
    assert any("kernel start message 'Booting the fake kernel'" in str(m) for m in records(stream))


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"prompts": None}, "'prompts' is mandatory"),
        ({"prompts": {"a": 1}}, "should be a list or a str"),
        ({"prompts": []}, "cannot be empty"),
        ({"prompts": ["ok#", ""]}, "can't be empty"),
        ({"prompts": ["(unclosed"]}, "not a valid regular expression"),
        ({"auto_login": "root"}, "should be a dictionary"),
        ({"auto_login": {"username": "root"}}, "'login_prompt' is mandatory"),
        ({"auto_login": {"login_prompt": "login:"}}, "'username' is mandatory"),
        (
            {"auto_login": {"login_prompt": "l:", "username": "u", "password_prompt": "P:"}},
            "'password' is mandatory",
        ),
        (
            {"auto_login": {"login_prompt": "l:", "username": "u", "login_commands": []}},
            "'login_commands' must be a non-empty list",
        ),
    ],
)
def test_validation_errors(
    tmp_path: Path, stream: io.StringIO, params: dict[str, Any], error: str
) -> None:
    job = make_job(tmp_path, stream)
    block = boot_params(**params)
    if block["prompts"] is None:
        del block["prompts"]
    job.pipeline.add_action(AutoLoginAction(), block)
    job.pipeline.validate_actions()
    assert any(error in e for e in job.pipeline.errors()), job.pipeline.errors()


def test_boot_retry_overrides_failure_retry(tmp_path: Path, stream: io.StringIO) -> None:
    constants = {"failure_retry": 2, "boot_retry": 4}
    job = make_job(
        tmp_path, stream, {**DEVICE, "constants": {"failure_retry": 3, "boot_retry": ""}}
    )
    assert job.pipeline.add_action(AutoLoginAction(), boot_params()).max_retries == 3
    job = make_job(tmp_path, stream, {**DEVICE, "constants": constants})
    action = job.pipeline.add_action(AutoLoginAction(), boot_params())
    assert action.max_retries == 4
    assert action.pipeline is not None
    assert [(a.level, a.name) for a in action.pipeline.actions] == [("1.1", "login-action")]


def test_expect_shell_needs_a_live_shell_not_a_stale_prompt(
    tmp_path: Path, stream: io.StringIO, fake: Any
) -> None:
    session = fake(quiet=1)
    session.prompts = [PROMPT.strip()]
    session.sendline("hang")  # the shell stops answering after this line
    assert session.wait_for_prompt(5)  # the prompt printed before "hang" was read
    session.sendline("")  # a prompt would be buffered if the shell answered
    job = make_job(tmp_path, stream, connections={"expect-shell-connection": {"seconds": 1}})
    with pytest.raises(InfrastructureError, match="no shell prompt"):
        run(job, ExpectShellSession(), boot_params(), session)


def test_expect_shell_is_quick(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    session = fake(quiet=1)
    session.prompts = [PROMPT.strip()]
    assert session.wait_for_prompt(5)
    job = make_job(tmp_path, stream)
    action = ExpectShellSession()
    run(job, action, boot_params(), session)
    assert action.elapsed < 0.5


def test_export_device_env_sends_each_line(tmp_path: Path, stream: io.StringIO, fake: Any) -> None:
    record = tmp_path / "commands"
    session = fake(quiet=1, record=record)
    session.prompts = [PROMPT.strip()]
    assert session.wait_for_prompt(5)
    job = make_job(tmp_path, stream)
    lines = ["echo 'export A=1' >> ~/.bashrc", "echo 'export B=2' >> ~/.bashrc", ". ~/.bashrc"]
    job.state("common").environment.lines = lines
    action = ExportDeviceEnvironment()
    start = time.monotonic()
    run(job, action, boot_params(), session)
    assert time.monotonic() - start < 1  # no pause per line
    assert record.read_text().splitlines() == lines
    assert action.results == {"exported": 3}


def test_export_device_env_without_lines_does_nothing(tmp_path: Path, stream: io.StringIO) -> None:
    job = make_job(tmp_path, stream)
    action = ExportDeviceEnvironment()
    job.pipeline.add_action(action, boot_params())
    assert job.pipeline.run_actions("connection", None) == "connection"
    assert not action.results
