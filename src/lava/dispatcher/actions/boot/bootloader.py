"""Driving a bootloader on the console: stop its autoboot, type the boot commands.

`bootloader-overlay` builds the command list (the device's list the job
names with `commands:`, or the job's own list) with every placeholder filled
in from the deploy's `BootFiles`; `bootloader-interrupt` waits for the
autoboot prompt and presses the interrupt key; `bootloader-commands` types
each command, waiting for the prompt in between. Any of the bootloader's
error messages ends the boot at once with the line that carried it.
"""

from __future__ import annotations

import re

from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher.actions.boot.login import session_of
from lava.dispatcher.actions.boot.substitutions import bootx, substitute
from lava.dispatcher.device import Bootloader, BootloaderMethod
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action
from lava.dispatcher.tftp import server_ip

NEWLINES = re.compile(r"\r*\n")


def _method(action: Action) -> BootloaderMethod:
    return action.job.device.bootloader_method(str(action.parameters.get("method", "")))


def _constants(action: Action) -> Bootloader:
    name = str(action.parameters.get("method", ""))
    return action.job.device.constants.bootloaders.get(name) or Bootloader()


def _line_of(session: Console) -> str:
    """The console line that holds the last match (for error messages)."""
    before = NEWLINES.split(session.before)[-1]
    match = session.match
    matched = match.group(0) if match is not None and hasattr(match, "group") else ""
    return (before + str(matched)).strip()


class BootloaderCommandOverlay(Action):
    """Fills in the boot commands; they are logged as "Parsed boot commands"."""

    name = "bootloader-overlay"
    description = "substitute job data into bootloader command list"
    summary = "replace placeholders with job data"

    def __init__(self) -> None:
        super().__init__()
        self.commands: list[str] = []

    def source_commands(self) -> list[str]:
        commands = self.parameters.get("commands")
        if isinstance(commands, list):
            return [str(c) for c in commands]
        return list(_method(self).command_lists.get(str(commands), ()))

    def validate(self) -> None:
        super().validate()
        commands = self.parameters.get("commands")
        method = _method(self)
        if commands is None:
            self.errors.append(f"boot method {method.name} needs 'commands'")
        elif isinstance(commands, list):
            if not all(isinstance(c, str) for c in commands):
                self.errors.append("'commands' must be a list of strings")
        elif str(commands) not in method.command_lists:
            offered = ", ".join(sorted(method.command_lists)) or "none"
            self.errors.append(
                f"the device has no '{commands}' command list for {method.name} (it has: {offered})"
            )

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        if isinstance(self.parameters.get("commands"), list):
            self.logger.warning("Using the job's boot commands instead of the device's")
        self.commands = substitute(self.source_commands(), self.values())
        self.logger.info("Parsed boot commands:")
        for command in self.commands:
            self.logger.info(f"- {command}")
        self.state.boot_commands = list(self.commands)
        return connection

    def values(self) -> dict[str, str | None]:
        """Placeholder → value for this job on this device."""
        files = self.state.boot_files
        names = files.names if files is not None else {}
        device = self.job.device
        command = files.boot_command if files is not None else ""
        addresses = device.load_addresses.get(command)
        ip = server_ip(self.job.dispatcher_config or {})
        values: dict[str, str | None] = {
            "SERVER_IP": ip,
            "LAVA_DISPATCHER_IP": ip,
            "KERNEL": names.get("kernel"),
            "RAMDISK": names.get("ramdisk"),
            "INITRD": names.get("ramdisk"),
            "DTB": names.get("dtb"),
            "TEE": names.get("tee"),
            "LAVA_JOB_ID": self.job.job_id,
        }
        if addresses is not None:
            values.update(
                {
                    "KERNEL_ADDR": addresses.kernel,
                    "RAMDISK_ADDR": addresses.ramdisk,
                    "DTB_ADDR": addresses.dtb,
                    "TEE_ADDR": addresses.tee,
                    "DTBO_ADDR": addresses.dtbo,
                    "BOOTX": bootx(
                        command,
                        addresses,
                        "ramdisk" in names,
                        files.ramdisk_header if files is not None else "",
                        "tee" in names,
                    ),
                }
            )
        return values


class BootloaderInterruptAction(Action):
    """Waits for the autoboot prompt and stops it with the interrupt key."""

    name = "bootloader-interrupt"
    description = "interrupt the bootloader"
    summary = "interrupt bootloader"
    timeout_exception = InfrastructureError

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        session = session_of(self, connection)
        method, constants = _method(self), _constants(self)
        self.state.at_bootloader_prompt = False
        if not method.needs_interrupt:
            self._wait(session, method.bootloader_prompt, "bootloader prompt", max_end_time)
            self.state.at_bootloader_prompt = True
            return session
        prompt = method.interrupt_prompt or constants.interrupt_prompt
        self._wait(session, prompt, "interrupt prompt", max_end_time)
        if constants.interrupt_ctrl_list:
            for char in constants.interrupt_ctrl_list:
                session.sendcontrol(char)
        else:
            # The method's `interrupt_char` wins over the constant; '' means just Enter.
            char = (
                method.interrupt_char
                if method.interrupt_char is not None
                else constants.interrupt_character
            )
            if constants.interrupt_newline:
                session.sendline(char)
            else:
                session.send(char)
        return session

    def _wait(self, session: Console, text: str, what: str, max_end_time: float) -> None:
        index = session.expect([re.escape(text)], self.timeout.seconds, max_end_time)
        if index != 0:
            raise InfrastructureError(
                f"The bootloader's {what} '{text}' did not appear: "
                + (" | ".join(session.tail(3)) or "no output from the device")
            )


class BootloaderCommandsAction(Action):
    """Types the boot commands, each after the prompt; fails on any error message."""

    name = "bootloader-commands"
    description = "send commands to bootloader"
    summary = "interactive bootloader"
    timeout_exception = InfrastructureError

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        session = session_of(self, connection)
        commands = list(self.state.boot_commands)
        if not commands:
            raise JobError("No boot commands to send (bootloader-overlay built none)")
        method, constants = _method(self), _constants(self)
        errors = list(constants.error_messages)
        params = self.parameters.get("parameters") or {}
        final = str(params.get("bootloader-final-message") or constants.final_message)
        wait = self.connection_timeout.seconds
        prompt = re.escape(method.bootloader_prompt)
        if not self.state.at_bootloader_prompt:
            self._expect(session, [prompt], errors, wait, max_end_time, "the bootloader prompt")
        self.state.at_bootloader_prompt = False
        for position, command in enumerate(commands, 1):
            session.sendline(command)
            if position == len(commands):
                # The boot command: wait for the final message, if there is one to wait for.
                if final:
                    self._expect(
                        session, [re.escape(final)], errors, wait, max_end_time,
                        f"'{final}' after '{command}'",
                    )  # fmt: skip
                break
            self._expect(
                session, [prompt], errors, wait, max_end_time,
                f"the bootloader prompt after '{command}'",
            )  # fmt: skip
        self.results = {"commands": len(commands)}
        return session

    def _expect(
        self,
        session: Console,
        wanted: list[str],
        errors: list[str],
        wait: float,
        max_end_time: float,
        what: str,
    ) -> None:
        index = session.expect([*wanted, *errors], wait, max_end_time)
        if index < 0:
            raise InfrastructureError(
                f"Timed out after {wait:.0f} s waiting for {what}: "
                + (" | ".join(session.tail(3)) or "no output")
            )
        if index >= len(wanted):
            pattern = errors[index - len(wanted)]
            raise InfrastructureError(
                f"matched a bootloader error message: '{pattern}' ({index - len(wanted)}): "
                f"{_line_of(session)}"
            )
