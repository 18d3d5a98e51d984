"""Run a device's commands on the worker: split like a shell would, run without one.

Power, pre-power and user commands come from the device dictionary, which a
lab admin writes. As in LAVA, each string is split with shlex and executed
directly: no shell expands anything in it, so `sh -c '...'` is the way to ask
for one. Every command has a time limit and its output goes to the job log.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence

from lava.common.exceptions import InfrastructureError, LAVAError
from lava.dispatcher.deadline import remaining
from lava.dispatcher.logger import JobLogger

# A command that has not finished after this long is stuck (a PDU that never answers).
DEFAULT_LIMIT = 120.0
# Lines of a command's output kept in the job log.
MAX_OUTPUT_LINES = 50


def run_commands(
    commands: Sequence[str],
    logger: JobLogger,
    what: str,
    deadline: float | None = None,
    error: type[LAVAError] = InfrastructureError,
    limit: float = DEFAULT_LIMIT,
) -> None:
    """Run each command in turn; raise `error` naming `what` and the command on failure."""
    for command in commands:
        run_command(command, logger, what, deadline, error, limit)


def run_command(
    command: str,
    logger: JobLogger,
    what: str,
    deadline: float | None = None,
    error: type[LAVAError] = InfrastructureError,
    limit: float = DEFAULT_LIMIT,
) -> None:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise error(f"{what}: cannot split '{command}': {exc}") from exc
    if not argv:
        raise error(f"{what}: empty command")
    logger.info(f"Calling {what} command: {command}")
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        # A missing or unusable program is the worker's problem, whatever `error` is.
        raise InfrastructureError(
            f"{what}: unable to run '{command}': {exc.strerror or exc}"
        ) from exc
    try:
        output, _ = proc.communicate(timeout=remaining(deadline, limit))
    except BaseException as exc:  # a timeout, or the job canceled meanwhile
        # The command and whatever it started (its own session) go together.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        if isinstance(exc, subprocess.TimeoutExpired):
            raise error(
                f"{what}: '{command}' did not finish within {time.monotonic() - start:.0f} s"
            ) from exc
        raise
    lines = output.splitlines()
    for line in lines[-MAX_OUTPUT_LINES:]:
        logger.debug(f">> {line}")
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise error(f"{what}: '{command}' failed with exit status {proc.returncode}")
    logger.debug(f"{what}: '{argv[0]}' done in {elapsed:.2f} s")
