"""`- command: {name: X}`: run the device's `user_commands[X]` on the worker."""

from __future__ import annotations

from typing import Any

from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher.host_commands import run_command
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action


class CommandAction(Action):
    """Runs a named user command from the device dictionary; `undo` at cleanup."""

    name = "user-command"
    description = "execute a user command on the dispatcher"
    summary = "execute commands"
    timeout_exception = InfrastructureError

    def __init__(self) -> None:
        super().__init__()
        self.step: dict[str, Any] = {}
        self.ran = False

    def validate(self) -> None:
        super().validate()
        users = self.job.device.commands.users
        command = self.parameters.get("name")
        if command not in users:
            known = ", ".join(sorted(users)) or "none"
            self.errors.append(f"Unknown user command '{command}' (device has: {known})")
            return
        self.step = dict(users[command])
        if "do" not in self.step:
            self.errors.append(f"User command '{command}' has no 'do' command")

    def _call(self, cmd: str, max_end_time: float | None) -> None:
        run_command(cmd, self.logger, "user", max_end_time, error=JobError, limit=3600)

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        self.ran = True
        self._call(str(self.step["do"]), max_end_time)
        self.results = {"success": self.parameters.get("name")}
        return connection

    def cleanup(self, connection: Console | None) -> None:
        if self.ran and self.step.get("undo"):
            self._call(str(self.step["undo"]), None)
