"""The environment the device's test shell gets: the overlay's `environment` file
and the `env_dut` variables (`deploy-device-env`) that the boot action exports.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Mapping
from typing import Any

from lava.common import yamlio
from lava.dispatcher.actions.deploy.testdef_scripts import SHELL_NAME
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action, Job

DEFAULT_SHELL_FILE = "~/.bashrc"


def export_lines(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten `data` into (NAME, shell-quoted value) pairs as LAVA does.

    Mappings add `_key` to the name, lists `_index`; booleans become 1/0.
    """
    if isinstance(data, Mapping):
        base = f"{prefix}_" if prefix else ""
        return [
            pair for key, value in data.items() for pair in export_lines(value, base + str(key))
        ]
    if isinstance(data, (list, tuple)):
        base = f"{prefix}_" if prefix else ""
        return [pair for i, value in enumerate(data) for pair in export_lines(value, f"{base}{i}")]
    if isinstance(data, bool):
        return [(prefix, "1" if data else "0")]
    if isinstance(data, int):
        return [(prefix, str(data))]
    return [(prefix, shlex.quote("" if data is None else str(data)))]


def job_environment(job: Job) -> Any:
    """The job's `environment` (a MultiNode role's one when there is one)."""
    multinode = (job.parameters.get("protocols") or {}).get("lava-multinode") or {}
    if isinstance(multinode, Mapping) and multinode.get("environment"):
        return multinode["environment"]
    return job.parameters.get("environment")


def environment_file(job: Job, warn: Any = None) -> str:
    """The text of `/lava-<id>/environment`: device, job, then LAVA metadata."""
    device = job.device
    pairs: list[tuple[str, str]] = []
    pairs += export_lines(dict(device.environment))
    for key, prefix in (
        ("device_info", "LAVA_DEVICE_INFO"),
        ("static_info", "LAVA_STATIC_INFO"),
        ("storage_info", "LAVA_STORAGE_INFO"),
    ):
        if device.info.get(key):
            pairs += export_lines([dict(item) for item in device.info[key]], prefix)
    pairs += export_lines(job_environment(job) or {})
    config = job.dispatcher_config or {}
    pairs.append(("LAVA_JOB_ID", shlex.quote(str(job.job_id))))
    if config.get("dispatcher_ip"):
        pairs.append(("LAVA_DISPATCHER_IP", shlex.quote(str(config["dispatcher_ip"]))))
    tags = ",".join(str(tag) for tag in job.parameters.get("tags") or [])
    pairs.append(("LAVA_JOB_TAGS", shlex.quote(tags)))
    pairs.append(("LAVA_DISPATCHER_PREFIX", shlex.quote(str(config.get("prefix") or ""))))
    if job.device.hostname:
        pairs.append(("LAVA_DEVICE_HOSTNAME", shlex.quote(job.device.hostname)))
    if job.device.device_type:
        pairs.append(("LAVA_DEVICE_TYPE", shlex.quote(job.device.device_type)))
    if config.get("http_url_format_string"):
        pairs.append(("HTTP_CACHE", shlex.quote(str(config["http_url_format_string"]))))
    lines = []
    for name, value in pairs:
        if not SHELL_NAME.match(name):
            if warn is not None:
                warn(f"environment: skipping '{name}', not a shell variable name")
            continue
        lines.append(f"export {name}={value}\n")
    return "".join(lines)


def env_dut_dict(env_dut: Any) -> dict[str, str]:
    """The device environment from an env-dut configuration (LAVA's semantics).

    `purge: true` starts empty, otherwise from the dispatcher's environment;
    `removes` drops names and `overrides` sets values.
    """
    conf = yamlio.load(env_dut) if isinstance(env_dut, (str, bytes)) else env_dut
    conf = conf or {}
    if not isinstance(conf, Mapping):
        raise ValueError("the env-dut configuration must be a mapping")
    environ = {} if conf.get("purge", False) else dict(os.environ)
    for name in conf.get("removes") or []:
        with contextlib.suppress(KeyError):
            del environ[str(name)]
    environ.update({str(k): str(v) for k, v in (conf.get("overrides") or {}).items()})
    return environ


class DeployDeviceEnvironment(Action):
    """Prepares the `env_dut` exports that the boot action sends once logged in."""

    name = "deploy-device-env"
    description = "deploy device environment"
    summary = "deploy device environment"

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def validate(self) -> None:
        super().validate()
        shell_file = self.job.device.constants.lava_test_shell_file or DEFAULT_SHELL_FILE
        self.lines = []
        if self.job.env_dut:
            try:
                environment = env_dut_dict(self.job.env_dut)
            except (ValueError, yamlio.YAMLError) as exc:
                self.errors.append(f"invalid env-dut configuration: {exc}")
                return
            names = [name for name in environment if SHELL_NAME.match(name)]
            environment = {name: environment[name] for name in names}
            # Each line appends one export to the shell's rc file, quoted twice:
            # once for this echo, once for when the file is sourced.
            self.lines = [
                f"echo {shlex.quote(f'export {k}={shlex.quote(v)}')} >> {shell_file}"
                for k, v in environment.items()
            ]
            self.lines.append(f". {shell_file}")
            self.state.environment.variables = environment
            self.state.environment.shell_file = shell_file
        self.state.environment.lines = self.lines

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        if self.lines:
            self.logger.debug(
                f"{len(self.lines) - 1} env-dut variable(s) will be exported after login"
            )
        return connection
