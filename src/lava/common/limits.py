"""The one table of limits on what a submitter controls, and the checks that apply it.

Every size, depth, count, duration and name length that a job definition (or
a caller's YAML or JSON) can set is bounded here, once, for the server at
submission and in its APIs, and for ``lava-run`` when it is run directly.
A refusal is a `LimitExceeded` naming the key at fault and the limit.

YAML is checked on its node graph, before any object is built: the nesting
depth and the size the document reaches once its aliases are expanded are
counted without expanding anything (an alias is a shared node), so an alias
bomb or a thousand nested lists costs a linear walk, not memory or recursion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain
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
    "notify_targets": Limit(20, "entries", "notify: callbacks plus recipients of one job"),
    "callback_url_length": Limit(2048, "characters", "one notify callback's url"),
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


def compose_checked(
    loader: Any,
    where: str = "the document",
    *,
    max_depth: int | None = None,
    max_size: int | None = None,
) -> yaml.Node | None:
    """The document's node graph from ``loader``, within ``nesting_depth`` and, once its
    aliases are expanded, ``expanded_size``; None for an empty document.

    Composing builds one node per node written: an alias is the node it names,
    shared, never a copy, and libyaml stops past 1,000 levels. The graph is
    then measured with each shared node counted once per use, without
    expanding anything, before the caller builds a single object from it.
    """
    max_depth = limit("nesting_depth") if max_depth is None else max_depth
    max_size = limit("expanded_size") if max_size is None else max_size
    try:
        node = loader.get_single_node()
    except RecursionError:  # only the pure-Python composer recurses
        raise LimitExceeded("nesting_depth", where, "nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" not in str(exc.problem):
            raise
        mark = exc.problem_mark
        position = (mark.line + 1, mark.column + 1) if mark else None
        raise LimitExceeded("nesting_depth", where, "nested too deeply", position) from None
    if node is not None:
        _Measure(where, max_depth, max_size).node(node, 1)
    return node


class _Measure:
    """The expanded size and depth of a node graph; LimitExceeded as soon as one is over."""

    def __init__(self, where: str, max_depth: int, max_size: int) -> None:
        self.where = where
        self.max_depth = max_depth
        self.max_size = max_size
        # per collection measured: (expanded size, levels from it down, itself included)
        self.measured: dict[int, tuple[int, int]] = {}
        self.open: set[int] = set()  # collections being measured: an alias inside is a loop

    def node(self, node: yaml.Node, level: int) -> tuple[int, int]:
        """(expanded size, levels) of ``node``, which sits at ``level`` (the root's is 1)."""
        value = node.value
        if type(value) is str:  # a scalar: most nodes
            return 1 + len(value), 0
        known = self.measured.get(id(node))
        if known is not None:  # an alias: counted again where it is used
            if level - 1 + known[1] > self.max_depth:
                self._over("nesting_depth", "nested too deeply through an alias", node)
            return known
        if id(node) in self.open:  # an alias to a collection it is inside of
            return 1, 0
        if level > self.max_depth:
            self._over("nesting_depth", f"nested more than {self.max_depth} levels deep", node)
        self.open.add(id(node))
        size, deepest = 1, 0
        # a mapping's value is its (key, value) pairs: keys count as nodes too
        children = value if type(node) is yaml.SequenceNode else chain.from_iterable(value)
        for child in children:
            child_size, levels = self.node(child, level + 1)
            size += child_size
            if size > self.max_size:
                self._over("expanded_size", "too large once its aliases are expanded", child)
            if levels > deepest:
                deepest = levels
        self.open.discard(id(node))
        self.measured[id(node)] = measured = (size, deepest + 1)
        return measured

    def _over(self, key: str, found: str, node: yaml.Node) -> None:
        mark = node.start_mark
        raise LimitExceeded(key, self.where, found, (mark.line + 1, mark.column + 1))


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
