"""`boot: method: qemu`: start QEMU on the deployed images, then log in on its console.

The command is the device's `qemu` boot method (`command`, `options`, `extra`)
followed by each image's `image_arg` with `{label}` replaced by the downloaded
file, in job order. We then make the console ours (the first serial port on
stdio, no monitor multiplexed into it, `-no-reboot`) and choose the
accelerator: KVM only when the device asks for it, the job allows it and a
real probe shows guests run under it; TCG otherwise.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import time
from collections.abc import Iterable, Mapping
from typing import Any

import pexpect

from lava.common.exceptions import ConfigurationError, InfrastructureError, JobError
from lava.dispatcher.actions.boot import kvm, qemu_args
from lava.dispatcher.actions.boot.shell_steps import add_shell_steps
from lava.dispatcher.connections.serial import ShellSession
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action, RetryAction

METHOD = "qemu"
MEDIA = ("tmpfs",)
# A bad option makes QEMU exit within ~30 ms; the guest boots meanwhile.
STARTUP_CHECK = 0.3
CONSOLE_ID = "lava-console"
CONSOLE = ["-chardev", f"stdio,id={CONSOLE_ID},signal=off", "-serial", f"chardev:{CONSOLE_ID}"]
QEMU_BINARY = re.compile(r"qemu-system-[A-Za-z0-9_]+")


class BootQemuRetryAction(RetryAction):
    """The boot block: QEMU, then login, shell, overlay and environment."""

    name = "boot-image-retry"
    description = "boot image with retry"
    summary = "boot with retry"
    timeout_exception = InfrastructureError

    section = "boot"

    def populate_children(self, parameters: dict[str, Any]) -> None:
        assert self.pipeline is not None
        self.pipeline.add_action(BootQemuAction())
        add_shell_steps(self, self.pipeline, parameters)

    def validate(self) -> None:
        super().validate()
        media = self.parameters.get("media")
        if media is None:
            self.errors.append("'media' is required for boot method qemu (media: tmpfs)")
        elif media not in MEDIA:
            self.errors.append(
                f"boot method qemu with media '{media}' is not supported yet (use media: tmpfs)"
            )
        if "docker" in self.parameters:
            self.errors.append("boot method qemu under docker is not supported yet")
        if "prompts" not in self.parameters and self.job.test_plan.get(self.namespace):
            self.errors.append(
                "Unable to identify boot prompts from job definition: 'prompts' is needed "
                "for the test shell that follows"
            )
        device = self.job.device
        if METHOD not in device.boot_methods:
            offered = ", ".join(sorted(device.boot_methods)) or "none"
            self.errors.append(
                f"device '{device.hostname}' has no qemu boot method (it offers: {offered})"
            )
        arch = (self.job.parameters.get("context") or {}).get("arch")
        if arch is not None and str(arch) not in device.available_architectures:
            self.errors.append(
                f"context arch '{arch}' is not one of the device's available_architectures "
                f"({', '.join(device.available_architectures) or 'none'})"
            )


class BootQemuAction(RetryAction):
    """Starts QEMU (retried on its own, as in LAVA)."""

    name = "boot-qemu-image"
    description = "boot image using QEMU command line"
    summary = "boot QEMU image"
    timeout_exception = InfrastructureError

    section = "boot"

    def populate_children(self, parameters: dict[str, Any]) -> None:
        assert self.pipeline is not None
        self.pipeline.add_action(CallQemuAction())


class CallQemuAction(Action):
    """Builds the QEMU command line and starts it; the session becomes the job's console."""

    name = "execute-qemu"
    description = "call qemu to boot the image"
    summary = "execute qemu to boot the image"
    timeout_exception = InfrastructureError

    def __init__(self) -> None:
        super().__init__()
        self.base: list[str] = []
        self.command: list[str] = []
        self.session: ShellSession | None = None
        # time.monotonic() when QEMU was started (boot timings are measured from it).
        self.started = 0.0

    def validate(self) -> None:
        super().validate()
        method = self.job.device.boot_methods.get(METHOD)
        params = method.get("parameters") if isinstance(method, Mapping) else None
        if not isinstance(params, Mapping) or not params.get("command"):
            raise ConfigurationError(
                f"device '{self.job.device.hostname}': the qemu boot method has no "
                "parameters.command (the QEMU binary)"
            )
        command = str(params["command"])
        if not QEMU_BINARY.fullmatch(os.path.basename(command)):
            # The qemu template names it after the job's context `arch`.
            raise JobError(f"'{command[:200]}' is not a QEMU system emulator (qemu-system-ARCH)")
        binary = shutil.which(command)
        if binary is None:
            raise InfrastructureError(
                f"the QEMU binary '{command}' is not on this worker's PATH: install it "
                "(Debian: qemu-system-x86 / qemu-system-arm / qemu-system-misc)"
            )
        try:
            self.base = [
                binary,
                *split_args(params.get("options")),
                *split_args(params.get("extra")),
            ]
        except ValueError as exc:
            raise ConfigurationError(f"invalid qemu options or extra in the device: {exc}") from exc
        # The job's context fills these in: refuse early what run() would refuse.
        qemu_args.check(console_on_stdio(self.base)[1:], self.allowed_files(device=True))

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        # A new QEMU replaces the console of an earlier boot or attempt.
        for previous in (self.session, connection, self.job.connection):
            if previous is not None and hasattr(previous, "close"):
                previous.close()
        command, accel = self.build_command()
        self.logger.info(f"Boot command: {shlex.join(command)}")
        self.command = command
        self.started = time.monotonic()
        session = ShellSession(
            command, self.logger, name="qemu", maxread=self.job.device.constants.spawn_maxread
        )
        # From now on finalize, cleanup and cancel stop QEMU, whatever happens here.
        self.job.connection = session
        self.session = session
        session.character_delay = float(self.job.device.character_delays.get("boot", 0) or 0)
        if session.expect([pexpect.EOF], STARTUP_CHECK) == 0:
            raise InfrastructureError(
                f"QEMU exited at once (status {session.exit_status()}): "
                + " | ".join(session.tail(5) or ["no output"])
            )
        self.results = {
            "accel": accel,
            "host_arch": os.uname().machine,
            "job_arch": str((self.job.parameters.get("context") or {}).get("arch", "")),
        }
        return session

    def cleanup(self, connection: Console | None) -> None:
        # Between retries and after a failure: no QEMU may outlive its attempt.
        session = self.session
        if session is not None:
            if session.alive():
                status = session.close()
                self.logger.debug(f"Stopped QEMU (pid {session.pid}), status {status}")
            if self.job.connection is session:
                self.job.connection = None

    def build_command(self) -> tuple[list[str], str]:
        """The QEMU command line for this job, and the accelerator it uses.

        Checked whole against the allow-list (qemu_args), and the images' part
        without the firmware directories, which only the device may name.
        """
        images = self._image_args()
        qemu_args.check(images, self.allowed_files(device=False))
        command = self.base + images
        uefi = self.state.uefi_dir
        if uefi:
            command += ["-L", str(uefi)]
        command, accel = self._accelerate(command)
        command = console_on_stdio(command)
        qemu_args.check(command[1:], self.allowed_files(device=True))
        return command, accel

    def allowed_files(self, device: bool) -> qemu_args.Where:
        """Where QEMU may find the files its options name: the job's directory, and for
        the device's own options the system's firmware."""
        firmware = qemu_args.FIRMWARE_DIRS if device else ()
        return qemu_args.Where(self.job.work_dir, firmware)

    def _image_args(self) -> list[str]:
        """Each image's `image_arg` in job order, `{label}` replaced by its file."""
        state = self.state
        labels = state.image_order
        files = {label: str(state.image_path(label) or "") or None for label in labels}
        args: list[str] = []
        for label in labels:
            image = state.images.get(label)
            image_arg = image.image_arg if image is not None else None
            if not image_arg:
                self.logger.debug(f"No image_arg for '{label}': not on the QEMU command line")
                continue
            if not files[label]:
                raise JobError(f"image '{label}' has an image_arg but was not downloaded")
            try:
                args += substitute(split_args([image_arg]), files)
            except ValueError as exc:
                raise JobError(f"invalid image_arg for '{label}': {image_arg}: {exc}") from exc
        return args

    def _accelerate(self, command: list[str]) -> tuple[list[str], str]:
        """KVM if asked for, allowed and working; TCG otherwise. Returns (command, accel)."""
        if not wants_kvm(command):
            return use_tcg(command)[0], "tcg"
        if (self.job.parameters.get("context") or {}).get("no_kvm"):
            tcg, changes = use_tcg(command)
            self.logger.info(f"KVM disabled by the job (context no_kvm): {', '.join(changes)}")
            return tcg, "tcg"
        verdict = kvm.probe(command[0], option_value(command, "cpu"), self.job.cache_dir)
        cached = " (cached verdict)" if verdict.cached else ""
        if verdict.usable:
            self.logger.info(f"Using KVM: {verdict.reason}{cached}")
            return command, "kvm"
        tcg, changes = use_tcg(command)
        self.logger.warning(
            f"Not using KVM: {verdict.reason}{cached}. Running under TCG instead: "
            + ", ".join(changes)
        )
        return tcg, "tcg"


# -- command line helpers (pure functions) -----------------------------------


def split_args(items: Iterable[Any] | str | None) -> list[str]:
    """Split option strings shell-style (`-append '...'` stays one argument)."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    return [arg for item in items if item is not None for arg in shlex.split(str(item))]


def substitute(args: list[str], files: Mapping[str, str | None]) -> list[str]:
    """Replace `{label}` in each argument by that image's file (after splitting, so
    paths with spaces stay one argument)."""
    out = []
    for arg in args:
        for label, path in files.items():
            if path:
                arg = arg.replace(f"{{{label}}}", str(path))
        out.append(arg)
    return out


def _option(arg: str) -> str | None:
    """`-cpu` and `--cpu` → `cpu`; None for a value."""
    return arg.lstrip("-") if arg.startswith("-") and len(arg) > 1 else None


def option_value(args: list[str], *names: str) -> str | None:
    """The value of the last of these options (QEMU keeps the last one)."""
    value = None
    for i, arg in enumerate(args[:-1]):
        if _option(arg) in names:
            value = args[i + 1]
    return value


def _is_kvm_accel(value: str) -> bool:
    return "kvm" in value.split(",")[0].split(":")


def wants_kvm(args: list[str]) -> bool:
    """Whether the command asks for KVM (-enable-kvm, -accel kvm, -machine accel=kvm)."""
    for i, arg in enumerate(args):
        name = _option(arg)
        if name == "enable-kvm":
            return True
        if i + 1 < len(args):
            value = args[i + 1]
            if name == "accel" and _is_kvm_accel(value):
                return True
            if name in ("machine", "M") and any(
                p.startswith("accel=") and "kvm" in p for p in value.split(",")
            ):
                return True
    return False


def use_tcg(args: list[str]) -> tuple[list[str], list[str]]:
    """The command without KVM: (new command, what changed, for the log)."""
    out: list[str] = []
    changes: list[str] = []
    has_accel = False
    i = 0
    while i < len(args):
        arg, name = args[i], _option(args[i])
        value = args[i + 1] if i + 1 < len(args) else None
        if name == "enable-kvm":
            changes.append(f"removed {arg}")
            i += 1
            continue
        if name == "accel" and value is not None:
            if _is_kvm_accel(value):
                changes.append(f"removed {arg} {value}")
                i += 2
                continue
            has_accel = True
        if name in ("machine", "M") and value is not None:
            parts = value.split(",")
            kept = [p for p in parts if not (p.startswith("accel=") and "kvm" in p)]
            if kept != parts:
                changes.append(f"{arg} {value} → {arg} {','.join(kept)}")
                value = ",".join(kept)
            if any(p.startswith("accel=") for p in kept):
                has_accel = True
            if not value:
                i += 2
                continue
            out += [arg, value]
            i += 2
            continue
        if name == "cpu" and value is not None:
            model, sep, features = value.partition(",")
            if model == "host":  # only KVM can pass the host CPU through
                changes.append(f"{arg} {value} → {arg} max{sep}{features}")
                value = f"max{sep}{features}"
            out += [arg, value]
            i += 2
            continue
        out.append(arg)
        i += 1
    if not has_accel:
        out += ["-accel", "tcg"]
        changes.append("added -accel tcg")
    return out, changes


def console_on_stdio(args: list[str]) -> list[str]:
    """The first serial port on our stdio, unmultiplexed; no display; -no-reboot.

    `-nographic` would put QEMU's monitor on the console (Ctrl-A is its escape
    key) and a plain `-serial stdio` lets Ctrl-C kill QEMU instead of reaching
    the guest: a stdio chardev with `signal=off` does neither.
    """
    out: list[str] = []
    i = 0
    has_display = False
    while i < len(args):
        arg, name = args[i], _option(args[i])
        value = args[i + 1] if i + 1 < len(args) else None
        if name == "nographic":
            i += 1
            continue
        if name == "serial" and value is not None and "stdio" in value.split(":"):
            i += 2
            continue
        if name == "monitor" and value is not None and "stdio" in value.split(":"):
            out += [arg, "none"]
            i += 2
            continue
        if name == "display":
            has_display = True
        out.append(arg)
        i += 1
    out[1:1] = CONSOLE
    if not has_display:
        out += ["-display", "none"]
    if "-no-reboot" not in out and "--no-reboot" not in out:
        out.append("-no-reboot")
    return out
