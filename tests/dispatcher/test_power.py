"""CommandPower: the device's power commands, run on the worker in order."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from lava.common.exceptions import InfrastructureError
from lava.dispatcher.device import Commands
from lava.dispatcher.interfaces import Power
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.power import CommandPower


def appends(record: Path, word: str) -> str:
    return f"sh -c 'echo {word} >> {record}'"


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "record"


@pytest.fixture
def power(record: Path) -> CommandPower:
    commands = Commands.from_dict(
        {
            "power_on": appends(record, "on"),
            "power_off": [appends(record, "off1"), appends(record, "off2")],
            "hard_reset": [appends(record, "reset-off"), appends(record, "reset-on")],
        },
        "dev",
    )
    return CommandPower(commands, JobLogger(io.StringIO()))


def test_is_a_power(power: CommandPower) -> None:
    typed: Power = power  # structural: checked by the type checker
    assert all(callable(getattr(typed, op)) for op in ("can", "on", "off", "hard_reset"))


def test_can_follows_the_dictionary() -> None:
    power = CommandPower(Commands.from_dict({"power_off": "off"}, "dev"), JobLogger())
    assert power.can("off")
    assert not power.can("on") and not power.can("hard_reset") and not power.can("dance")


@pytest.mark.parametrize(
    ("operation", "expected"),
    [("on", ["on"]), ("off", ["off1", "off2"]), ("hard_reset", ["reset-off", "reset-on"])],
)
def test_operations_run_their_commands_in_order(
    power: CommandPower, record: Path, operation: str, expected: list[str]
) -> None:
    getattr(power, operation)()
    assert record.read_text().split() == expected


@pytest.mark.parametrize(("operation", "name"), [("on", "power_on"), ("off", "power_off")])
def test_missing_operation(operation: str, name: str) -> None:
    power = CommandPower(Commands(), JobLogger())
    with pytest.raises(InfrastructureError, match=f"the device has no {name}_command"):
        getattr(power, operation)()


def test_missing_hard_reset() -> None:
    with pytest.raises(InfrastructureError, match=r"the device has no hard_reset_command"):
        CommandPower(Commands(), JobLogger()).hard_reset()


def test_failing_command_is_named(record: Path) -> None:
    commands = Commands.from_dict({"hard_reset": ["pdu off 3", appends(record, "x")]}, "dev")
    power = CommandPower(commands, JobLogger())
    with pytest.raises(InfrastructureError, match=r"hard_reset: unable to run 'pdu off 3'"):
        power.hard_reset()
    commands = Commands.from_dict({"power_off": ["sh -c 'exit 2'", appends(record, "x")]}, "dev")
    with pytest.raises(
        InfrastructureError, match=r"^power_off: 'sh -c 'exit 2'' failed with exit status 2$"
    ):
        CommandPower(commands, JobLogger()).off()
    assert not record.exists()


def test_the_deadline_is_passed_on() -> None:
    power = CommandPower(Commands.from_dict({"power_on": "sleep 10"}, "dev"), JobLogger())
    start = time.monotonic()
    with pytest.raises(InfrastructureError, match="did not finish"):
        power.on(deadline=time.monotonic() + 0.2)
    assert time.monotonic() - start < 1.2
