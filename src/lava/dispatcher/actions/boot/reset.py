"""`reset-device`: restart the board, by its power or by asking its OS.

With a `hard_reset_command` the child is `pdu-reboot`; without one,
`send-reboot-commands` types the job's or the device's `soft_reboot`
commands (or `reboot`) on the console and waits for the shutdown message.
A boot with `reset: false` has no reset at all (the parent leaves it out).
"""

from __future__ import annotations

from typing import Any

from lava.common.exceptions import InfrastructureError
from lava.dispatcher.actions.boot.login import session_of
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action

DEFAULT_SOFT_REBOOT = ("reboot", "reboot -n", "reboot -nf")


class ResetDevice(Action):
    """Power-cycles the device if it can, else reboots it from its console."""

    name = "reset-device"
    description = "reboot or power-cycle the device"
    summary = "reboot the device"
    timeout_exception = InfrastructureError

    def populate(self, parameters: dict[str, Any]) -> None:
        pipeline = self.make_pipeline()
        if self.job.device.commands.hard_reset:
            pipeline.add_action(PDUReboot())
        else:
            pipeline.add_action(SendRebootCommands())


class PDUReboot(Action):
    """Runs the device's `hard_reset` command(s)."""

    name = "pdu-reboot"
    description = "issue commands to a PDU to power cycle a device"
    summary = "hard reboot using PDU"
    timeout_exception = InfrastructureError

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        self.job.power.hard_reset(max_end_time)
        self.job.powered_off = False
        self.results = {"status": "success"}
        return connection


class SendRebootCommands(Action):
    """Types reboot commands on the console and waits for the shutdown message."""

    name = "send-reboot-commands"
    description = "send reboot commands to the device"
    summary = "send reboot commands"
    timeout_exception = InfrastructureError

    def commands(self) -> list[str]:
        job_value = self.parameters.get("soft_reboot")
        if job_value:
            return [job_value] if isinstance(job_value, str) else [str(c) for c in job_value]
        return list(self.job.device.commands.soft_reboot or DEFAULT_SOFT_REBOOT)

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        session = session_of(self, connection)
        params = self.parameters.get("parameters") or {}
        message = str(params.get("shutdown-message") or self.job.device.constants.shutdown_message)
        wait = self.connection_timeout.seconds
        # The whole list goes at once (`sync`, `reboot`; or reboot's fallbacks, the later
        # ones typed while the first takes effect), then one wait for the message.
        commands = self.commands()
        for command in commands:
            session.sendline(command)
        if session.expect([message], wait, max_end_time) != 0:
            raise InfrastructureError(
                f"Unable to reboot the device: '{message}' did not appear within {wait:.0f} s "
                f"of {commands}"
            )
        self.results = {"status": "success", "commands": commands}
        return session
