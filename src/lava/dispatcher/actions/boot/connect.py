"""`connect-device`: open the device's console from its connection command.

The command (`connection_command`, or the `primary` one of
`connection_list`) is split like a shell would and run without one, as LAVA
does: `telnet serial-server 7001`, `ser2net`-style TCP clients, `cu`, ... A
live console from an earlier action is reused; a dead one is opened again
("Dead connection, reconnecting"). The connection may drop later (a serial
server restarted): the console reconnects when an action asks it to.
"""

from __future__ import annotations

import shlex
import shutil
import time

import pexpect

from lava.common.exceptions import (
    ConfigurationError,
    ConnectionClosedError,
    InfrastructureError,
    JobError,
)
from lava.dispatcher.connections.serial import ShellSession
from lava.dispatcher.deadline import remaining
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action

# A console command that exits this soon after starting could not connect.
STARTUP_CHECK = 0.2
# Tries to open the console before giving up (a serial server restarting).
CONNECT_ATTEMPTS = 5
CONNECT_PAUSE = 1.0


def connection_argv(command: str) -> list[str]:
    """The connection command as an argument list (ConfigurationError if unusable)."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigurationError(f"invalid connection command '{command}': {exc}") from exc
    if not argv:
        raise ConfigurationError("the device's connection command is empty")
    return argv


class ConnectDevice(Action):
    """Opens (or reuses) the console of a device reached through a connection command."""

    name = "connect-device"
    description = "use the configured command to connect serial to the device"
    summary = "run connection command"
    timeout_exception = InfrastructureError

    def validate(self) -> None:
        super().validate()
        connection = self.job.device.commands.primary_connection()
        if connection is None:
            raise JobError(
                f"Unable to connect to device {self.job.device.hostname}: its dictionary has "
                "no connection_command (or connection_list)"
            )
        argv = connection_argv(connection.command)
        if shutil.which(argv[0]) is None:
            # Not an error yet: the plan is valid, this worker just cannot run it (run says so).
            self.logger.warning(
                f"the connection command '{argv[0]}' is not installed on this worker"
            )

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        current = connection if connection is not None else self.job.connection
        if current is not None and current.alive():
            self.logger.debug(f"Already connected to {current.name}")
            return current
        spec = self.job.device.commands.primary_connection()
        assert spec is not None
        argv = connection_argv(spec.command)
        self.logger.info(f"Connecting to the device using '{shlex.join(argv)}'")
        session: ShellSession | None = None
        if current is not None:
            try:
                current.reconnect(max_end_time)  # the same command, in the same session
                session = current  # type: ignore[assignment]
            except ConnectionClosedError:
                current.close(grace=0.5)  # a console that is the board itself: not ours to reopen
        if session is None:
            session = ShellSession(
                argv,
                self.logger,
                name=spec.name if spec.name != "default" else "serial",
                maxread=self.job.device.constants.spawn_maxread,
                reconnectable=True,
            )
            session.character_delay = float(self.job.device.character_delays.get("boot", 0) or 0)
        self.job.connection = self._started(session, max_end_time)
        self.results = {"connection": spec.name, "command": spec.command}
        return self.job.connection

    def _started(self, session: ShellSession, max_end_time: float) -> ShellSession:
        """The session once its command stays up; it is run again a few times if it exits."""
        last = ""
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            if session.expect([pexpect.EOF], STARTUP_CHECK) != 0:
                return session
            last = session.closed_message()
            if attempt == CONNECT_ATTEMPTS or remaining(max_end_time) < CONNECT_PAUSE:
                break
            self.logger.warning(f"Connection attempt {attempt} failed: {last}")
            time.sleep(CONNECT_PAUSE)
            session.restart(grace=0.1)
        session.close(grace=0.1)
        self.job.connection = None
        raise InfrastructureError(f"Unable to connect to the device's console: {last}")
