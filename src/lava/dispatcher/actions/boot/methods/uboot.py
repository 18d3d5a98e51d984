"""`boot: method: u-boot`: a board whose U-Boot loads the deployed files over TFTP.

The tree, as LAVA's: `uboot-action` (retried whole) → `bootloader-overlay`,
`connect-device`, `uboot-commands` → `reset-device`, `bootloader-interrupt`,
`bootloader-commands`, then the login and shell steps every boot shares.
"""

from __future__ import annotations

from typing import Any

from lava.common.exceptions import InfrastructureError
from lava.dispatcher.actions.boot.bootloader import (
    BootloaderCommandOverlay,
    BootloaderCommandsAction,
    BootloaderInterruptAction,
)
from lava.dispatcher.actions.boot.connect import ConnectDevice
from lava.dispatcher.actions.boot.reset import ResetDevice
from lava.dispatcher.actions.boot.shell_steps import add_shell_steps
from lava.dispatcher.pipeline import Action, RetryAction

METHOD = "u-boot"


class UBootAction(RetryAction):
    """The boot block: commands ready, console open, then the board driven to a shell."""

    name = "uboot-action"
    description = "interactive uboot action"
    summary = "pass uboot commands"
    timeout_exception = InfrastructureError
    section = "boot"

    def populate_children(self, parameters: dict[str, Any]) -> None:
        assert self.pipeline is not None
        self.pipeline.add_action(BootloaderCommandOverlay())
        self.pipeline.add_action(ConnectDevice())
        self.pipeline.add_action(UBootCommandsAction())


class UBootCommandsAction(Action):
    """Reset, interrupt, type the commands, then log in."""

    name = "uboot-commands"
    description = "interactive uboot commands action"
    summary = "uboot commands"
    timeout_exception = InfrastructureError

    def populate(self, parameters: dict[str, Any]) -> None:
        pipeline = self.make_pipeline()
        if parameters.get("reset", True):
            pipeline.add_action(ResetDevice())
        pipeline.add_action(BootloaderInterruptAction())
        pipeline.add_action(BootloaderCommandsAction())
        add_shell_steps(self, pipeline, parameters)
