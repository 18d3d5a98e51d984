"""The last action of every job: power the device off and close its console."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

from lava.common.exceptions import InfrastructureError
from lava.dispatcher.pipeline import Action


class PowerOffAction(Action):
    """Run the device's power-off command and stop the console process."""

    name = "power-off"
    description = "discontinue power to device"
    summary = "send power_off command"
    timeout_exception = InfrastructureError

    def run(self, connection: Any, max_end_time: float) -> Any:
        power_off(self)
        return None


class FinalizeAction(Action):
    """Ends the job: power-off, then nothing more is read from the device."""

    name = "finalize"
    description = "finish the process and cleanup"
    summary = "finalize the job"
    timeout_exception = InfrastructureError

    def populate(self, parameters: dict[str, Any]) -> None:
        self.make_pipeline().add_action(PowerOffAction())

    def cleanup(self, connection: Any) -> None:
        # Reached on every path, including errors and cancel: the device must
        # not stay powered and no console process may survive the job.
        power_off(self)


def power_off(action: Action) -> None:
    """Power the device off once; safe to call again."""
    job = action.job
    session = job.connection
    command = job.device.commands.get("power_off")
    if command and not job.get_data("common", "finalize", "power", "off", False):
        commands = command if isinstance(command, list) else [command]
        for cmd in commands:
            action.logger.debug(f"Calling power_off command: {cmd}")
            try:
                subprocess.run(shlex.split(str(cmd)), check=True, timeout=60)
            except (OSError, subprocess.SubprocessError) as exc:
                raise InfrastructureError(f"power_off command failed: {cmd}: {exc}") from exc
    job.set_data("common", "finalize", "power", "off", True)
    if session is not None and hasattr(session, "close"):
        was_running = session.alive()
        status = session.close()
        if was_running:
            action.logger.info(f"Stopped the console process ({session.name}), status {status}")
        job.connection = None
