"""The rendered device configuration, parsed once into a typed object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lava.common.exceptions import ConfigurationError
from lava.common.timeout import Timeout

DEFAULT_SHELL_PROMPT = "lava-test: # "


@dataclass(frozen=True)
class Constants:
    """The device's `constants` that the dispatcher reads."""

    lava_test_sh_cmd: str = "/bin/sh"
    lava_test_results_dir: str = "/lava-%s"
    default_shell_prompt: str = DEFAULT_SHELL_PROMPT
    kernel_start_message: str = "Linux version [0-9]"
    shutdown_message: str = "The system is going down for reboot NOW"
    failure_retry: int = 1
    boot_retry: int | None = None


@dataclass(frozen=True)
class Device:
    """A device as `lava-run` sees it: what it can do and how to drive it."""

    hostname: str
    device_type: str
    constants: Constants
    commands: Mapping[str, Any]
    deploy_methods: Mapping[str, Any]
    boot_methods: Mapping[str, Any]
    test_methods: Mapping[str, Any]
    action_timeouts: Mapping[str, float]
    connection_timeouts: Mapping[str, float]
    available_architectures: tuple[str, ...] = ()
    character_delays: Mapping[str, int] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any, source: str = "device") -> Device:
        """Build from the rendered device dictionary (a mapping)."""
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"{source}: the device configuration must be a mapping")
        for key in ("actions", "timeouts"):
            if not isinstance(data.get(key), Mapping):
                raise ConfigurationError(f"{source}: missing or invalid '{key}' mapping")
        actions = data["actions"]
        constants = data.get("constants") or {}
        posix = constants.get("posix") or {}
        defaults = Constants()
        retry = constants.get("boot_retry")
        consts = Constants(
            lava_test_sh_cmd=str(posix.get("lava_test_sh_cmd", defaults.lava_test_sh_cmd)),
            lava_test_results_dir=str(
                posix.get("lava_test_results_dir", defaults.lava_test_results_dir)
            ),
            default_shell_prompt=str(
                constants.get("default-shell-prompt", defaults.default_shell_prompt)
            ),
            kernel_start_message=str(
                constants.get("kernel-start-message", defaults.kernel_start_message)
            ),
            shutdown_message=str(constants.get("shutdown-message", defaults.shutdown_message)),
            failure_retry=int(constants.get("failure_retry", defaults.failure_retry) or 1),
            boot_retry=int(retry) if retry not in (None, "") else None,
        )

        def methods(section: str) -> Mapping[str, Any]:
            block = actions.get(section) or {}
            return dict(block.get("methods") or {}) if isinstance(block, Mapping) else {}

        timeouts = data["timeouts"]
        try:
            action_timeouts = {
                name: Timeout.parse(value).seconds
                for name, value in (timeouts.get("actions") or {}).items()
            }
            connection_timeouts = {
                name: Timeout.parse(value).seconds
                for name, value in (timeouts.get("connections") or {}).items()
            }
        except (ValueError, AttributeError, TypeError) as exc:
            raise ConfigurationError(f"{source}: invalid timeouts: {exc}") from exc
        return cls(
            hostname=str(data.get("hostname") or "device"),
            device_type=str(data.get("devicetype") or data.get("device_type") or ""),
            constants=consts,
            commands=dict(data.get("commands") or {}),
            deploy_methods=methods("deploy"),
            boot_methods=methods("boot"),
            test_methods=methods("test"),
            action_timeouts=action_timeouts,
            connection_timeouts=connection_timeouts,
            available_architectures=tuple(
                str(a) for a in data.get("available_architectures") or ()
            ),
            character_delays=dict(data.get("character_delays") or {}),
            environment={str(k): str(v) for k, v in (data.get("environment") or {}).items()},
            parameters=dict(data.get("parameters") or {}),
            raw=data,
        )

    def results_dir(self, job_id: str) -> str:
        """The overlay root on the device, `/lava-<job id>` by default."""
        # Not `%`: any other conversion in the pattern would raise.
        return self.constants.lava_test_results_dir.replace("%s", job_id)
