"""`Power` from the device's commands: a PDU client, a relay script, anything.

Which operations exist depends on the dictionary: `power_on_command`,
`power_off_command`, `hard_reset_command` (each a string or a list). A device
with none of them (QEMU, whose console process is the board) has no power
control, and `can()` says so.
"""

from __future__ import annotations

from lava.common.exceptions import InfrastructureError
from lava.dispatcher.device import Commands
from lava.dispatcher.host_commands import run_commands
from lava.dispatcher.logger import JobLogger

OPERATIONS = ("on", "off", "hard_reset")


class CommandPower:
    """Runs the device's power commands on the worker (implements `interfaces.Power`)."""

    def __init__(self, commands: Commands, logger: JobLogger) -> None:
        self.logger = logger
        self.commands = {
            "on": commands.power_on,
            "off": commands.power_off,
            "hard_reset": commands.hard_reset,
        }

    def can(self, operation: str) -> bool:
        return bool(self.commands.get(operation))

    def on(self, deadline: float | None = None) -> None:
        self._run("on", deadline)

    def off(self, deadline: float | None = None) -> None:
        self._run("off", deadline)

    def hard_reset(self, deadline: float | None = None) -> None:
        self._run("hard_reset", deadline)

    def _run(self, operation: str, deadline: float | None) -> None:
        commands = self.commands.get(operation)
        what = "hard_reset" if operation == "hard_reset" else f"power_{operation}"
        if not commands:
            raise InfrastructureError(f"the device has no {what}_command")
        run_commands(commands, self.logger, what, deadline)
