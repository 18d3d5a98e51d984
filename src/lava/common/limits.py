"""The one table of limits on what a submitter controls, and the checks that apply it.

Every size, depth, count, duration and name length that a job definition (or
a caller's YAML or JSON) can set is bounded here, once, for the server at
submission and in its APIs, and for ``lava-run`` when it is run directly.
A refusal is a `LimitExceeded` naming the key at fault and the limit.

YAML is checked from its event stream, before any object is built: the
nesting depth and the size the document reaches once its aliases are
expanded are counted without expanding anything, so an alias bomb or a
thousand nested lists costs a linear scan, not memory or recursion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

KiB = 1024
MiB = 1024 * KiB
DAY = 86400


@dataclass(frozen=True)
class Limit:
    """One bound: its value, its unit and what it bounds (for messages and the README)."""

    value: int
    unit: str
    what: str


LIMITS: dict[str, Limit] = {
    "definition_size": Limit(1 * MiB, "bytes", "a job definition as submitted"),
    "expanded_size": Limit(2 * MiB, "characters", "a YAML document once aliases are expanded"),
    "nesting_depth": Limit(50, "levels", "mappings and lists inside each other"),
    "actions": Limit(200, "actions", "top-level deploy, boot, test and command blocks"),
    "test_definitions": Limit(1000, "definitions", "test definitions in one job"),
    "metadata_size": Limit(16 * KiB, "characters", "the job's metadata, as JSON"),
    "context_size": Limit(16 * KiB, "characters", "the job's context, as JSON"),
    "secrets": Limit(100, "keys", "entries of the job's secrets"),
    "secret_size": Limit(4 * KiB, "characters", "one secret's value"),
    "job_timeout": Limit(7 * DAY, "seconds", "timeouts: job"),
    "action_timeout": Limit(7 * DAY, "seconds", "any action, connection or block timeout"),
    "queue_timeout": Limit(30 * DAY, "seconds", "timeouts: queue (time in the queue)"),
    "job_name_length": Limit(200, "characters", "job_name"),
    "name_length": Limit(64, "characters", "namespaces, image labels, definition names"),
    "tags": Limit(100, "tags", "device tags one job asks for"),
    "tag_length": Limit(100, "characters", "one device tag's name (as the database keeps it)"),
    "retries": Limit(1000, "times", "repeat or failure_retry of one action block"),
    "device_size": Limit(
        1 * MiB, "characters", "a device configuration rendered with a job's context"
    ),
    "submodule_depth": Limit(8, "levels", "git submodules inside submodules of a test repository"),
}


def limit(key: str) -> int:
    """The value of the limit ``key``."""
    return LIMITS[key].value


class LimitExceeded(yaml.YAMLError, ValueError):
    """Something is over one of the limits; the message names where and which limit.

    A ``YAMLError`` too, so that every reader of YAML reports it as a bad document.
    """

    def __init__(
        self,
        key: str,
        where: str,
        found: str,
        position: tuple[int, int] | None = None,
        *,
        value: int | None = None,
        source: str | None = None,
    ) -> None:
        bound = LIMITS[key]
        self.key = key
        self.where = where
        self.position = position  # 1-based line and column in a text, when known
        # ``value`` and ``source``: an admin's setting that stands in for the table's value
        value = bound.value if value is None else value
        named = f"({source or key}: {bound.what})"
        self.problem = f"{found}; the limit is {value:,} {bound.unit} {named}"
        super().__init__(f"{where}: {self.problem}")


class RefusedValue(ValueError):
    """A job value that cannot be used as it is (an unsafe name, a secret that is not text).

    ``where`` is the key path, ``problem`` what is wrong with it.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


# -- names that become file names, directory names or arguments on a host ----

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


def safe_name_problem(value: object, what: str, length_key: str = "name_length") -> str | None:
    """Why ``value`` cannot be a name on the host (None when it can).

    A safe name is a single path component that cannot be taken for an
    option: ASCII letters, digits and ``_ . + -``, starting with a letter or
    digit, at most the ``length_key`` limit long.
    """
    if not isinstance(value, str):
        return f"{what} must be a string, not {type(value).__name__}"
    longest = limit(length_key)
    if len(value) > longest:
        return f"{what} is {len(value)} characters long: at most {longest} ({length_key})"
    if not SAFE_NAME.fullmatch(value):
        return (
            f"{what} {value[:80]!r} is not a safe name: use letters, digits and _ . + - "
            "only, starting with a letter or a digit"
        )
    return None


def check_safe_name(value: object, what: str, length_key: str = "name_length") -> str:
    """``value`` when it is a safe name; else ValueError saying why."""
    problem = safe_name_problem(value, what, length_key)
    if problem:
        raise ValueError(problem)
    return value  # type: ignore[return-value]


# -- the shape of parsed documents --------------------------------------------


def check_yaml_text(
    text: str | bytes,
    where: str = "the document",
    *,
    max_depth: int | None = None,
    max_size: int | None = None,
) -> None:
    """Refuse YAML nested deeper than ``nesting_depth`` or larger than ``expanded_size``
    once its aliases are expanded; reads events only, builds nothing.

    YAML syntax errors are left for the loader that follows to report, with
    their line and column.
    """
    from lava.common.yamlio import SafeLoader  # yamlio loads through this check

    max_depth = limit("nesting_depth") if max_depth is None else max_depth
    max_size = limit("expanded_size") if max_size is None else max_size
    # per anchor: (expanded size, depth below it)
    anchors: dict[str, tuple[int, int]] = {}
    # per open collection: [its anchor, size when it opened, deepest level reached inside]
    stack: list[list[Any]] = []
    size = 0
    try:
        # a scalar is most events: tested first, by exact type, the hot path of every load
        for event in yaml.parse(text, Loader=SafeLoader):
            kind = type(event)
            reach = 0  # the deepest level this event reaches
            if kind is yaml.ScalarEvent:
                size += 1 + len(event.value)
                if event.anchor:
                    anchors[event.anchor] = (1 + len(event.value), 0)
            elif kind in _STARTS:
                size += 1
                stack.append([event.anchor, size, len(stack) + 1])
                if len(stack) > max_depth:
                    found = f"nested more than {max_depth} levels deep"
                    raise LimitExceeded("nesting_depth", where, found, _position(event))
            elif kind in _ENDS:
                anchor, start, reach = stack.pop()
                if anchor:
                    anchors[anchor] = (size - start + 1, reach - len(stack))
            elif kind is yaml.AliasEvent:
                expanded, levels = anchors.get(event.anchor or "", (1, 0))
                size += expanded
                reach = len(stack) + levels
                if reach > max_depth:
                    found = "nested too deeply through an alias"
                    raise LimitExceeded("nesting_depth", where, found, _position(event))
            if reach and stack and reach > stack[-1][2]:
                stack[-1][2] = reach
            if size > max_size:
                found = "too large once its aliases are expanded"
                raise LimitExceeded("expanded_size", where, found, _position(event))
    except LimitExceeded:
        raise
    except yaml.YAMLError:
        return


_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _position(event: yaml.Event) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


def check_structure(value: Any, where: str = "the document") -> None:
    """Refuse a parsed value (JSON, XML-RPC) nested deeper than ``nesting_depth`` or with
    more than ``expanded_size`` items and characters; iterative, so any depth is safe."""
    max_depth, max_size = limit("nesting_depth"), limit("expanded_size")
    size = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        size += 1
        if isinstance(item, str | bytes):
            size += len(item)
        elif isinstance(item, Mapping):
            if depth >= max_depth:
                raise LimitExceeded(
                    "nesting_depth", where, f"nested more than {max_depth} levels deep"
                )
            pending.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list | tuple):
            if depth >= max_depth:
                raise LimitExceeded(
                    "nesting_depth", where, f"nested more than {max_depth} levels deep"
                )
            pending.extend((part, depth + 1) for part in item)
        if size > max_size:
            raise LimitExceeded("expanded_size", where, "too large")


def json_length(value: Any, stop: int) -> int:
    """About how many characters ``value`` takes as compact JSON, counted no further than just
    past ``stop``; iterative, and a value that contains itself ends past ``stop``."""
    total = 0
    pending: list[Any] = [value]
    while pending and total <= stop:
        item = pending.pop()
        if isinstance(item, Mapping):
            total += 1 + 2 * len(item)  # braces, one colon and one comma (or brace) an item
            if total <= stop:
                pending.extend(part for pair in item.items() for part in pair)
        elif isinstance(item, list | tuple):
            total += 1 + max(len(item), 1)
            if total <= stop:
                pending.extend(item)
        else:
            total += _scalar_length(item)
    return total


def _scalar_length(item: Any) -> int:
    if item is None or isinstance(item, bool):
        return 5
    if isinstance(item, int):  # without str(): it refuses ints of more than 4,300 digits
        return item.bit_length() * 30103 // 100000 + 2
    if isinstance(item, float):
        return len(repr(item))
    return len(str(item)) + 2  # strings (quoted) and what JSON would write as one
