"""The two ways a job definition can be wrong, and how error paths are spelled."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from voluptuous import Marker


class JobSyntaxError(ValueError):
    """The text is not a YAML mapping; ``line`` and ``column`` are 1-based."""

    def __init__(self, problem: str, line: int = 1, column: int = 1) -> None:
        self.problem = problem
        self.line = line
        self.column = column
        super().__init__(f"line {line}, column {column}: {problem}")


class JobSchemaError(ValueError):
    """The job is YAML but breaks the schema; ``path`` names the offending key."""

    def __init__(self, msg: str, path: str = "") -> None:
        self.msg = msg
        self.path = path
        super().__init__(f"{msg} @ {path}" if path else msg)


def format_path(parts: Iterable[Hashable]) -> str:
    """Spell a voluptuous path as ``actions[1].boot.qemu.media``.

    Integers are list indexes and attach to the previous part; keys that stand
    for "any key of this type" (``Required(str)``) add nothing a reader can use
    and are left out.
    """
    text = ""
    for part in parts:
        if isinstance(part, Marker):
            part = part.schema
        if isinstance(part, type):
            continue
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
