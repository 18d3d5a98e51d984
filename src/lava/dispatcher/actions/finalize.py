"""The last action of every job: power the device off and close its console."""

from __future__ import annotations

from typing import Any

from lava.common.exceptions import InfrastructureError
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action


class PowerOffAction(Action):
    """Run the device's power-off command and stop the console process."""

    name = "power-off"
    description = "discontinue power to device"
    summary = "send power_off command"
    timeout_exception = InfrastructureError

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
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

    def cleanup(self, connection: Console | None) -> None:
        # Reached on every path, including errors and cancel: the device must
        # not stay powered and no console process may survive the job.
        power_off(self)


def power_off(action: Action) -> None:
    """Power the device off once, then close its console; safe to call again."""
    job = action.job
    power = job.power
    try:
        if power.can("off") and not job.powered_off:
            power.off()
    finally:
        # Marked even when it failed: a failing PDU is reported once, not again at cleanup.
        job.powered_off = True
        _close_console(action)


def _close_console(action: Action) -> None:
    """No console process survives the job, whatever happened to the power."""
    job = action.job
    session = job.connection
    if session is not None:
        was_running = session.alive()
        status = session.close()
        if was_running:
            action.logger.info(f"Stopped the console process ({session.name}), status {status}")
        job.connection = None
