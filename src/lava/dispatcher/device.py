"""The rendered device configuration, parsed once into a typed object.

Actions read these fields, never the YAML: the shape of a device
configuration is known here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lava.common.device import command_list
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
    lava_test_shell_file: str = "~/.bashrc"
    spawn_maxread: int = 4096
    # Per bootloader (`u-boot`, `grub`, ...): its prompts, interrupt and error messages.
    bootloaders: Mapping[str, Bootloader] = field(default_factory=dict)


@dataclass(frozen=True)
class Bootloader:
    """A bootloader's `constants` block: how to interrupt it, what it prints."""

    interrupt_prompt: str = ""
    interrupt_character: str = " "
    interrupt_newline: bool = True
    interrupt_ctrl_list: tuple[str, ...] = ()
    final_message: str = "Starting kernel"
    error_messages: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bootloader:
        d = cls()
        return cls(
            interrupt_prompt=str(data.get("interrupt-prompt", d.interrupt_prompt) or ""),
            interrupt_character=str(data.get("interrupt-character", d.interrupt_character)),
            interrupt_newline=bool(data.get("interrupt-newline", d.interrupt_newline)),
            interrupt_ctrl_list=tuple(str(c) for c in data.get("interrupt_ctrl_list") or ()),
            final_message=str(data.get("final-message", d.final_message) or ""),
            error_messages=tuple(str(m) for m in data.get("error-messages") or ()),
        )


@dataclass(frozen=True)
class Connection:
    """One way to reach the device's console: a command and its tags."""

    name: str
    command: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Commands:
    """The device's `commands`: console connections, power and user commands.

    Power commands are run on the worker without a shell, each split like a
    shell would (LAVA's rule); a list runs its commands in order.
    """

    connections: tuple[Connection, ...] = ()
    hard_reset: tuple[str, ...] = ()
    power_on: tuple[str, ...] = ()
    power_off: tuple[str, ...] = ()
    soft_reboot: tuple[str, ...] = ()
    pre_power_command: tuple[str, ...] = ()
    pre_os_command: tuple[str, ...] = ()
    users: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> Commands:
        connections: list[Connection] = []
        if data.get("connect"):
            connections.append(Connection("default", str(data["connect"]), ("primary",)))
        named = data.get("connections") or {}
        if not isinstance(named, Mapping):
            raise ConfigurationError(f"{source}: commands.connections must be a mapping")
        for name, spec in named.items():
            if not isinstance(spec, Mapping):
                raise ConfigurationError(f"{source}: connection '{name}' must be a mapping")
            if not spec.get("connect"):
                # LAVA ignores a listed UART without a command until a job needs it.
                continue
            tags = spec.get("tags") or ()
            tags = (tags,) if isinstance(tags, str) else tuple(str(t) for t in tags)
            connections.append(Connection(str(name), str(spec["connect"]), tags))
        users = data.get("users") or {}
        if not isinstance(users, Mapping):
            raise ConfigurationError(f"{source}: commands.users must be a mapping")
        return cls(
            connections=tuple(connections),
            hard_reset=command_list(data.get("hard_reset")),
            power_on=command_list(data.get("power_on")),
            power_off=command_list(data.get("power_off")),
            soft_reboot=command_list(data.get("soft_reboot")),
            pre_power_command=command_list(data.get("pre_power_command")),
            pre_os_command=command_list(data.get("pre_os_command")),
            users={str(k): dict(v) for k, v in users.items() if isinstance(v, Mapping)},
        )

    def primary_connection(self) -> Connection | None:
        """The console the dispatcher drives: the one tagged `primary`, else the first."""
        for connection in self.connections:
            if "primary" in connection.tags:
                return connection
        return self.connections[0] if self.connections else None


@dataclass(frozen=True)
class LoadAddresses:
    """Where a bootloader's boot command (`bootm`, `bootz`, `booti`) wants each file."""

    kernel: str = ""
    ramdisk: str = ""
    dtb: str = ""
    tee: str = ""
    dtbo: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadAddresses:
        return cls(
            **{k: str(data.get(k) or "") for k in ("kernel", "ramdisk", "dtb", "tee", "dtbo")}
        )


@dataclass(frozen=True)
class BootloaderMethod:
    """A bootloader boot method of the device (`u-boot`, ...): prompts and command lists."""

    name: str
    bootloader_prompt: str = "=>"
    interrupt_prompt: str | None = None
    interrupt_char: str | None = None
    needs_interrupt: bool = True
    # `ramdisk`, `nfs`, ... → the commands the job selects with `commands:`.
    command_lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, name: str, data: Any) -> BootloaderMethod:
        data = data if isinstance(data, Mapping) else {}
        params = data.get("parameters") if isinstance(data.get("parameters"), Mapping) else {}
        lists = {
            str(key): tuple(str(c) for c in value["commands"] or ())
            for key, value in data.items()
            if isinstance(value, Mapping) and isinstance(value.get("commands"), list)
        }
        prompt = params.get("interrupt_prompt")
        char = params.get("interrupt_char")
        return cls(
            name=name,
            bootloader_prompt=str(params.get("bootloader_prompt") or "=>"),
            interrupt_prompt=str(prompt) if prompt is not None else None,
            interrupt_char=str(char) if char is not None else None,
            needs_interrupt=bool(params.get("needs_interrupt", True)),
            command_lists=lists,
        )


@dataclass(frozen=True)
class DeployParameters:
    """The device's `actions.deploy.parameters` (how a ramdisk or kernel is prepared)."""

    add_header: str = ""
    mkimage_arch: str = ""
    append_dtb: bool = False
    use_xip: bool = False


@dataclass(frozen=True)
class Device:
    """A device as `lava-run` sees it: what it can do and how to drive it."""

    hostname: str
    device_type: str
    constants: Constants
    commands: Commands
    deploy_methods: Mapping[str, Any]
    boot_methods: Mapping[str, Any]
    test_methods: Mapping[str, Any]
    action_timeouts: Mapping[str, float]
    connection_timeouts: Mapping[str, float]
    available_architectures: tuple[str, ...] = ()
    character_delays: Mapping[str, int] = field(default_factory=dict)
    # The device's `environment` block, exported as is into the overlay.
    environment: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # `bootm`, `bootz`, `booti` → their load addresses (device `parameters`).
    load_addresses: Mapping[str, LoadAddresses] = field(default_factory=dict)
    deploy_parameters: DeployParameters = DeployParameters()
    # Exported into the overlay's environment file (LAVA_DEVICE_INFO_0_..., ...).
    info: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)

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
            lava_test_shell_file=str(
                posix.get("lava_test_shell_file") or defaults.lava_test_shell_file
            ),
            spawn_maxread=_positive_int(constants.get("spawn_maxread"), defaults.spawn_maxread),
            bootloaders={
                str(name): Bootloader.from_dict(block)
                for name, block in constants.items()
                if isinstance(block, Mapping) and name != "posix"
            },
        )

        def methods(section: str) -> Mapping[str, Any]:
            block = actions.get(section) or {}
            return dict(block.get("methods") or {}) if isinstance(block, Mapping) else {}

        timeouts = data["timeouts"]
        parameters = _mapping(data, "parameters", source)
        deploy_block = actions.get("deploy") or {}
        deploy_params = deploy_block.get("parameters") if isinstance(deploy_block, Mapping) else {}
        deploy_params = deploy_params if isinstance(deploy_params, Mapping) else {}
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
            commands=Commands.from_dict(_mapping(data, "commands", source), source),
            deploy_methods=methods("deploy"),
            boot_methods=methods("boot"),
            test_methods=methods("test"),
            action_timeouts=action_timeouts,
            connection_timeouts=connection_timeouts,
            available_architectures=tuple(
                str(a) for a in data.get("available_architectures") or ()
            ),
            character_delays=dict(data.get("character_delays") or {}),
            environment=_mapping(data, "environment", source),
            parameters=parameters,
            load_addresses={
                name: LoadAddresses.from_dict(parameters[name])
                for name in ("bootm", "bootz", "booti")
                if isinstance(parameters.get(name), Mapping)
            },
            deploy_parameters=DeployParameters(
                add_header=str(deploy_params.get("add_header") or ""),
                mkimage_arch=str(deploy_params.get("mkimage_arch") or ""),
                append_dtb=bool(deploy_params.get("append_dtb", False)),
                use_xip=bool(deploy_params.get("use_xip", False)),
            ),
            info={
                key: tuple(item for item in data.get(key) or () if isinstance(item, Mapping))
                for key in ("device_info", "static_info", "storage_info")
            },
        )

    def missing_deploy_method(self, method: str, to: str) -> str | None:
        """Why this device cannot `deploy to:` `to` (its type lacks `method`), or None."""
        if method in self.deploy_methods:
            return None
        offered = ", ".join(sorted(self.deploy_methods)) or "none"
        return (
            f"Device '{self.hostname}' cannot deploy to {to}: its device type has no "
            f"'{method}' deploy method (it offers: {offered})"
        )

    def bootloader_method(self, name: str) -> BootloaderMethod:
        """The typed view of boot method `name` (a bootloader's)."""
        return BootloaderMethod.from_dict(name, self.boot_methods.get(name))

    def results_dir(self, job_id: str) -> str:
        """The overlay root on the device, `/lava-<job id>` by default."""
        # Not `%`: any other conversion in the pattern would raise.
        return self.constants.lava_test_results_dir.replace("%s", job_id)


def _mapping(data: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{source}: '{key}' must be a mapping")
    return dict(value)


def _positive_int(value: Any, default: int) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default
