"""A device's power and console commands, the ``commands:`` of its rendered configuration.

Read with the device dictionary's rule (``dictionaries.readable_device``): these
commands are the dictionary's, shown to whoever may read it, as the dictionary
page shows them. A dictionary that does not render is an answer here, not an
error: the device page says why and carries on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lava.common.device import command_list

from . import dictionaries
from .actors import Actor
from .errors import Invalid

# (key under ``commands:``, label): the main ones are always listed, "not set" when absent
MAIN_COMMANDS = (
    ("hard_reset", "Hard reset"),
    ("power_on", "Power on"),
    ("power_off", "Power off"),
    ("soft_reboot", "Soft reboot"),
)
OTHER_COMMANDS = (
    ("pre_power_command", "Pre-power"),
    ("pre_os_command", "Pre-OS"),
    ("recovery_mode", "Recovery mode"),
    ("recovery_exit", "Recovery exit"),
)
# any of these lets the dispatcher switch the device off and on; without, it can only
# ask the running system to reboot
POWER_CONTROL = ("hard_reset", "power_on", "power_off")


@dataclass(frozen=True)
class Connection:
    """A console connection: the command that opens it and its tags (``primary``...)."""

    name: str  # "" for the single ``connect`` command (LAVA's connection_command)
    command: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PowerCommand:
    """One power command of the device configuration; ``commands`` empty: not set."""

    key: str
    label: str
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class PowerAndConsole:
    """What the device page shows of a device's commands, or ``problem``: why nothing."""

    connections: tuple[Connection, ...] = ()
    power: tuple[PowerCommand, ...] = ()  # the main commands, then the others that are set
    problem: str = ""

    @property
    def power_control(self) -> bool:
        """Whether the dispatcher can switch the device off and on (else: soft reboot only)."""
        return any(p.commands for p in self.power if p.key in POWER_CONTROL)


def power_and_console(actor: Actor, hostname: str) -> PowerAndConsole:
    """The device's connections and power commands; Missing for a device whose dictionary
    the actor may not read."""
    try:
        config = dictionaries.configuration(actor, hostname)
    except Invalid as exc:
        return PowerAndConsole(problem=f"the device dictionary does not render: {exc}")
    if config is None:
        return PowerAndConsole(problem="the device has no device dictionary")
    return from_configuration(config)


def from_configuration(config: Mapping[str, Any]) -> PowerAndConsole:
    """The commands of a rendered device configuration, whatever shape an admin gave them."""
    commands = config.get("commands")
    if not isinstance(commands, Mapping):
        commands = {}
    main = [
        PowerCommand(key, label, command_list(commands.get(key))) for key, label in MAIN_COMMANDS
    ]
    others = [
        PowerCommand(key, label, command_list(commands.get(key)))
        for key, label in OTHER_COMMANDS
        if command_list(commands.get(key))
    ]
    return PowerAndConsole(_connections(commands), (*main, *others))


def _connections(commands: Mapping[str, Any]) -> tuple[Connection, ...]:
    found = [Connection("", line) for line in command_list(commands.get("connect"))]
    named = commands.get("connections")
    if isinstance(named, Mapping):
        for name, entry in named.items():
            if isinstance(entry, Mapping):
                command = " ".join(command_list(entry.get("connect")))
                found.append(Connection(str(name), command, command_list(entry.get("tags"))))
            else:
                found.append(Connection(str(name), " ".join(command_list(entry))))
    return tuple(found)
