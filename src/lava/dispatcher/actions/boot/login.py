"""After a boot: watch the kernel, log in, find the shell and export the environment.

Shared by every boot method that ends on a serial console with a POSIX shell:
`auto-login-action` (→ `login-action`), `expect-shell-connection` and
`export-device-env`, named and nested as in LAVA.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pexpect

from lava.common.exceptions import InfrastructureError, JobError
from lava.common.timeout import format_duration
from lava.dispatcher.interfaces import Console
from lava.dispatcher.kernel import KERNEL_PATTERNS, KernelMessage, KernelMonitor
from lava.dispatcher.pipeline import Action, RetryAction

LOGIN_INCORRECT = "Login incorrect"
LOGIN_TIMED_OUT = "Login timed out"
# Kernel messages end on their own line; a panic's stack trace follows within
# milliseconds. How long to wait for the rest of a fatal message before failing.
FATAL_TAIL_SECONDS = 2.0
TIMESTAMP = re.compile(r"^\s*\[\s*\d+\.\d+\]\s*")


def job_prompts(parameters: Mapping[str, Any]) -> list[str]:
    """The boot block's `prompts` as a list (LAVA accepts a string or a list)."""
    prompts = parameters.get("prompts")
    if isinstance(prompts, str):
        return [prompts]
    if isinstance(prompts, list):
        return [str(p) for p in prompts]
    return []


def session_of(action: Action, connection: Console | None) -> Console:
    """The console to use: the one passed along, else the job's; JobError if none."""
    session = connection if connection is not None else action.job.connection
    if session is None:
        raise JobError(f"{action.name}: no connection to the device (no boot action opened one)")
    return session


def validate_prompts(action: Action) -> None:
    prompts = action.parameters.get("prompts")
    if prompts is None:
        action.errors.append("'prompts' is mandatory for a boot with a shell")
    elif not isinstance(prompts, (list, str)):
        action.errors.append("'prompts' should be a list or a str")
    elif not prompts:
        action.errors.append("Value for 'prompts' cannot be empty")
    elif isinstance(prompts, list) and not all(prompts):
        action.errors.append("Items of 'prompts' can't be empty")
    else:
        for prompt in [prompts] if isinstance(prompts, str) else prompts:
            try:
                re.compile(str(prompt))
            except re.error as exc:
                action.errors.append(f"prompt '{prompt}' is not a valid regular expression: {exc}")


class AutoLoginAction(RetryAction):
    """Waits for the kernel and the login or shell prompt, logging in if asked."""

    name = "auto-login-action"
    description = "automatically login after boot using job parameters and checking for messages."
    summary = "Auto-login after boot with support for kernel messages."
    timeout_exception = InfrastructureError

    def __init__(self, booting: bool = True) -> None:
        super().__init__()
        # False when attaching to an already running system (no kernel to wait for).
        self.booting = booting

    section = "boot"

    def populate_children(self, parameters: dict[str, Any]) -> None:
        assert self.pipeline is not None
        self.login = LoginAction(self.booting)
        self.pipeline.add_action(self.login)

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        session = super().run(connection, max_end_time)
        # A result of its own, so the boot's duration is always in the results.
        self.results = dict(self.login.results)
        return session

    def validate(self) -> None:
        super().validate()
        validate_prompts(self)
        params = self.parameters.get("auto_login")
        if params is None:
            return
        if not isinstance(params, dict):
            self.errors.append("'auto_login' should be a dictionary")
            return
        if not params.get("login_prompt"):
            self.errors.append("'login_prompt' is mandatory for auto_login and cannot be empty")
        if "username" not in params:
            self.errors.append("'username' is mandatory for auto_login")
        if "password_prompt" in params and "password" not in params:
            self.errors.append("'password' is mandatory if 'password_prompt' is used in auto_login")
        if "login_commands" in params:
            commands = params["login_commands"]
            if not isinstance(commands, list) or not commands:
                self.errors.append("'login_commands' must be a non-empty list")


@dataclass
class _Step:
    """One kind of console output the login waits for."""

    kind: str
    regex: str
    label: str


@dataclass
class _Progress:
    """Where the login stands."""

    kernel_started: bool = False
    username_sent: bool = False
    password_sent: bool = False
    messages: list[KernelMessage] = field(default_factory=list)


class LoginAction(Action):
    """The console side of auto-login-action: one wait loop over every expected output.

    Waits for the kernel start message, fails fast on a fatal kernel message
    (panic), answers the login and password prompts, then waits for a shell
    prompt. Non-fatal kernel messages (oops, BUG, warnings) are recorded.
    """

    name = "login-action"
    description = "Real login action."
    summary = "Login after boot."
    timeout_exception = InfrastructureError

    def __init__(self, booting: bool = True) -> None:
        super().__init__()
        self.booting = booting
        # time.monotonic() when the shell prompt was found.
        self.prompt_found = 0.0

    def _kernel_start(self) -> str:
        boot_params = self.parameters.get("parameters") or {}
        if "kernel-start-message" in boot_params:
            return str(boot_params["kernel-start-message"] or "")
        return self.job.device.constants.kernel_start_message

    def _error_messages(self) -> list[str]:
        """The device's boot-loader error messages for this boot method, if any."""
        bootloader = self.job.device.constants.bootloaders.get(
            str(self.parameters.get("method", ""))
        )
        return list(bootloader.error_messages) if bootloader else []

    def _steps(self, progress: _Progress) -> list[_Step]:
        """What may come next, given where the login stands."""
        steps: list[_Step] = []
        start = self._kernel_start()
        if self.booting and start and not progress.kernel_started:
            steps.append(_Step("kernel-start", start, f"the kernel start message '{start}'"))
            steps += [_Step("boot-error", m, f"boot error '{m}'") for m in self._error_messages()]
        if not self.parameters.get("ignore_kernel_messages", False):
            steps += [
                _Step("fatal", p.regex, f"kernel {p.kind}") for p in KERNEL_PATTERNS if p.fatal
            ]
        failure = self.parameters.get("failure_message")
        if failure:
            steps.append(_Step("failure", str(failure), f"failure message '{failure}'"))
        login = self.parameters.get("auto_login") or {}
        if login:
            if not progress.username_sent:
                prompt = str(login["login_prompt"])
                steps.append(_Step("login", prompt, f"the login prompt '{prompt}'"))
            elif login.get("password_prompt") and not progress.password_sent:
                prompt = str(login["password_prompt"])
                steps.append(_Step("password", prompt, f"the password prompt '{prompt}'"))
            steps.append(_Step("incorrect", LOGIN_INCORRECT, LOGIN_INCORRECT))
            steps.append(_Step("login-timeout", LOGIN_TIMED_OUT, LOGIN_TIMED_OUT))
        steps += [_Step("prompt", p, f"the prompt '{p}'") for p in job_prompts(self.parameters)]
        return steps

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        session = session_of(self, connection)
        prompts = job_prompts(self.parameters)
        monitor = KernelMonitor()
        watch = not self.parameters.get("ignore_kernel_messages", False)
        if watch:
            session.add_listener(monitor)
        else:
            self.logger.debug("Skipping kernel messages (ignore_kernel_messages)")
        progress = _Progress()
        start = time.monotonic()
        matched_prompt = ""
        try:
            matched_prompt = self._follow(session, progress, monitor, max_end_time)
        finally:
            if watch:
                session.remove_listener(monitor)
                failed = monitor.fatal is not None
                monitor.close()  # a message cut short (QEMU gone) is kept, as incomplete
                progress.messages = list(monitor.messages)
                self._report(progress, start, failed)
        session.prompts = prompts
        for command in (self.parameters.get("auto_login") or {}).get("login_commands") or []:
            self.logger.debug(f"Running login command: {command}")
            session.run_command(str(command), self.connection_timeout.seconds, max_end_time)
        kernel = progress.messages
        self.results = {
            "prompt": matched_prompt,
            "kernel_messages": len(kernel),
            **(
                {"extra": [m.as_result() for m in kernel]}
                if kernel
                else {"success": "No kernel warnings or errors detected."}
            ),
        }
        return session

    def _follow(
        self, session: Any, progress: _Progress, monitor: KernelMonitor, max_end_time: float
    ) -> str:
        """Wait loop until a shell prompt; returns the prompt that matched."""
        login = self.parameters.get("auto_login") or {}
        steps: list[_Step] = []
        while True:
            previous = [s.kind for s in steps]
            steps = self._steps(progress)
            if [s.kind for s in steps] != previous:
                wanted = [s.label for s in steps if s.kind not in ("fatal", "boot-error")]
                self.logger.debug(
                    f"{self.name}: waiting for {', '.join(wanted)} "
                    f"(timeout {format_duration(self.connection_timeout.seconds)})"
                )
            step = steps[self._wait(session, steps, max_end_time)]
            if step.kind != "kernel-start" and not progress.kernel_started and self.booting:
                progress.kernel_started = True
                if self._kernel_start():
                    self.logger.debug(
                        f"The kernel start message '{self._kernel_start()}' was not seen "
                        f"(a quiet kernel?) before {step.label}"
                    )
            if step.kind == "kernel-start":
                progress.kernel_started = True
                self.logger.info("The kernel has started")
            elif step.kind == "boot-error":
                raise InfrastructureError(f"matched a boot error message: '{step.regex}'")
            elif step.kind == "fatal":
                raise JobError(self._fatal(session, monitor, step, max_end_time))
            elif step.kind == "failure":
                raise JobError(f"Matched job-specific failure message: '{step.regex}'")
            elif step.kind == "login":
                self.logger.info(f"Login prompt found: sending the username {login['username']}")
                session.sendline(str(login["username"]))
                progress.username_sent = True
            elif step.kind == "password":
                self.logger.info("Password prompt found: sending the password")
                session.sendline(str(login["password"]), secret=True)
                progress.password_sent = True
            elif step.kind == "incorrect":
                raise JobError(f"{LOGIN_INCORRECT}: check auto_login's username and password")
            elif step.kind == "login-timeout":
                raise JobError(f"{LOGIN_TIMED_OUT}: check auto_login's password_prompt")
            else:
                self.prompt_found = time.monotonic()
                self.logger.info(f"Found the prompt '{step.regex}'")
                return step.regex

    def _wait(self, session: Any, steps: list[_Step], max_end_time: float) -> int:
        """One expect bounded by the connection timeout and the deadline."""
        start = time.monotonic()
        waiting_for = "; ".join(
            s.label for s in steps if s.kind not in ("fatal", "boot-error", "incorrect")
        )
        try:
            index = session.expect(
                [s.regex for s in steps], self.connection_timeout.seconds, max_end_time
            )
        except InfrastructureError as exc:
            # The deadline's alarm: say what was awaited.
            if type(exc) is InfrastructureError and time.monotonic() >= max_end_time:
                raise InfrastructureError(f"{exc}, waiting for {waiting_for}") from exc
            raise
        if index < 0:
            raise self.timeout_exception(
                f"{self.name} timed out after {time.monotonic() - start:.0f} seconds, "
                f"waiting for {waiting_for}"
            )
        return int(index)

    def _fatal(self, session: Any, monitor: KernelMonitor, step: _Step, max_end_time: float) -> str:
        """Read the rest of a fatal kernel message (briefly); return its first line."""
        end = min(max_end_time, time.monotonic() + FATAL_TAIL_SECONDS)
        # The end marker (`---[ end Kernel panic`) completes the message for the results.
        while monitor.fatal is None or not any(m.fatal for m in monitor.messages):
            # With panic=N and -no-reboot, QEMU may exit right after the message.
            if session.expect([r"\n", pexpect.EOF], FATAL_TAIL_SECONDS, end) != 0:
                break
        message = monitor.fatal
        first = message.message.splitlines()[0] if message else step.label
        text = TIMESTAMP.sub("", first).strip()
        self.logger.error(f"{self.name}: kernel {message.kind if message else step.label}: {text}")
        return text

    def _report(self, progress: _Progress, start: float, failed: bool) -> None:
        """Log each kernel message and the `kernel-messages` result, as LAVA does."""
        for message in progress.messages:
            if not message.fatal:
                first = message.message.splitlines()[0] if message.message else ""
                self.logger.warning(f"{self.name}: kernel '{message.kind}': {first.strip()}")
        self.logger.results(
            {
                "definition": "lava",
                "namespace": self.namespace,
                "case": "kernel-messages",
                "level": self.level,
                "duration": f"{time.monotonic() - start:.02f}",
                "result": "fail" if failed else "pass",
                "extra": {"extra": [m.as_result() for m in progress.messages]},
            }
        )


class ExpectShellSession(Action):
    """Makes sure the shell answers: an empty line brings the prompt back."""

    name = "expect-shell-connection"
    description = "Wait for a shell"
    summary = "Expect a shell prompt"
    timeout_exception = InfrastructureError

    def validate(self) -> None:
        super().validate()
        validate_prompts(self)

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        session = session_of(self, connection)
        session.prompts = job_prompts(self.parameters)
        wait = self.connection_timeout.seconds
        self.logger.debug(
            f"Forcing a shell prompt, looking for {session.prompts} "
            f"(timeout {format_duration(wait)})"
        )
        start = time.monotonic()
        session.discard()  # the prompt login-action matched must not answer for the shell
        session.sendline("")
        if not session.wait_for_prompt(wait, max_end_time):
            raise InfrastructureError(
                f"{self.name}: no shell prompt {session.prompts} after an empty line "
                f"({time.monotonic() - start:.0f} s)"
            )
        return session


class ExportDeviceEnvironment(Action):
    """Sends the `export` lines the deploy prepared (env-dut), one prompt wait each."""

    name = "export-device-env"
    description = "Exports environment variables to the device"
    summary = "Exports environment variables action"
    timeout_exception = InfrastructureError

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        lines = self.state.environment.lines
        if not lines:
            return connection
        session = session_of(self, connection)
        for line in lines:
            session.run_command(str(line), self.connection_timeout.seconds, max_end_time)
        self.results = {"exported": len(lines)}
        return session
