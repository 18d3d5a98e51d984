"""`- command: {name: X}`: run the device's `user_commands[X]` on the worker."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher.deadline import remaining
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
        users = self.job.device.commands.get("users") or {}
        command = self.parameters.get("name")
        if command not in users:
            known = ", ".join(sorted(users)) or "none"
            self.errors.append(f"Unknown user command '{command}' (device has: {known})")
            return
        self.step = dict(users[command])
        if "do" not in self.step:
            self.errors.append(f"User command '{command}' has no 'do' command")

    def _call(self, cmd: str, max_end_time: float | None) -> None:
        self.logger.info(f"Running user command: {cmd}")
        try:
            proc = subprocess.run(
                shlex.split(cmd),
                capture_output=True,
                text=True,
                timeout=remaining(max_end_time, 3600),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise InfrastructureError(f"Unable to run '{cmd}': {exc}") from exc
        for line in (proc.stdout + proc.stderr).splitlines():
            self.logger.debug(f">> {line}")
        if proc.returncode != 0:
            raise JobError(f"User command '{cmd}' failed with exit status {proc.returncode}")

    def run(self, connection: Any, max_end_time: float) -> Any:
        self.ran = True
        self._call(str(self.step["do"]), max_end_time)
        self.results = {"success": self.parameters.get("name")}
        return connection

    def cleanup(self, connection: Any) -> None:
        if self.ran and self.step.get("undo"):
            self._call(str(self.step["undo"]), None)
