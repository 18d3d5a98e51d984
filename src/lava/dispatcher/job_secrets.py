"""The job's `secrets`: for the device only, never for a process on the worker.

As in LAVA they reach the device in the overlay's `secrets` file (`KEY=value`
lines, here shell-quoted), and are masked in the log. Unlike LAVA, lava-run
does not export them into its own environment, which every host program it
starts (git, QEMU) would inherit: a secret named `LD_PRELOAD` or
`GIT_SSH_COMMAND` would run code on the worker. Their names are checked with
the job's limits (`lava.common.joblimits`). A test repository URL may
still name them (`https://${USER}:${TOKEN}@host/repo.git`): `expand` fills in
the job's secrets there, and nothing else.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from lava.dispatcher.actions.deploy.testdef_scripts import SHELL_NAME

_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def job_secrets(parameters: Mapping[str, Any]) -> dict[str, str]:
    """The job's secrets as names and strings (empty when it has none)."""
    secrets = parameters.get("secrets")
    if not isinstance(secrets, Mapping):
        return {}
    return {str(key): "" if value is None else str(value) for key, value in secrets.items()}


def secrets_file(*sources: Mapping[str, str]) -> str:
    """The overlay's `secrets` file: one `NAME='value'` line per valid name, in order."""
    return "".join(
        f"{name}={shlex.quote(value)}\n"
        for source in sources
        for name, value in source.items()
        if SHELL_NAME.match(name)
    )


def expand(text: str, secrets: Mapping[str, str]) -> str:
    """`text` with `$NAME` and `${NAME}` replaced by the job's secret NAME, others kept."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return secrets.get(name, match.group(0))

    return _REFERENCE.sub(value, text)
