"""`boot: method: minimal`: connect, reset, and wait for the system to come up by itself.

For a board whose firmware boots without help (or an emulator its reset
command starts): no bootloader interaction. Optional `pre_power_command`
and `pre_os_command` run the device's commands of those names first.
"""

from __future__ import annotations

from typing import Any

from lava.common.exceptions import InfrastructureError
from lava.dispatcher.actions.boot.connect import ConnectDevice
from lava.dispatcher.actions.boot.reset import ResetDevice
from lava.dispatcher.actions.boot.shell_steps import add_shell_steps
from lava.dispatcher.host_commands import run_commands
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action, RetryAction


class MinimalBoot(RetryAction):
    name = "minimal-boot"
    description = "connect and reset device"
    summary = "connect and reset device"
    timeout_exception = InfrastructureError
    section = "boot"

    def populate_children(self, parameters: dict[str, Any]) -> None:
        assert self.pipeline is not None
        self.pipeline.add_action(ConnectDevice())
        for key in ("pre_power_command", "pre_os_command"):
            if parameters.get(key):
                self.pipeline.add_action(DeviceCommand(key))
        if parameters.get("reset", True):
            self.pipeline.add_action(ResetDevice())
        add_shell_steps(self, self.pipeline, parameters)


class DeviceCommand(Action):
    """Runs one of the device's named commands (pre-power, pre-OS) on the worker."""

    description = "run a device command"
    summary = "device command"
    timeout_exception = InfrastructureError

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.name = key.replace("_", "-")  # type: ignore[misc]

    def validate(self) -> None:
        super().validate()
        if not getattr(self.job.device.commands, self.key):
            self.errors.append(f"{self.key} is set but the device has no {self.key}")

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        commands = getattr(self.job.device.commands, self.key)
        run_commands(commands, self.logger, self.key, max_end_time)
        return connection
