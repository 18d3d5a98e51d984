"""YAML text → job mapping, with 1-based positions on every error."""

from __future__ import annotations

from typing import Any

import yaml

from lava.common import yamlio
from lava.common.exceptions import JobCanceled
from lava.common.limits import LimitExceeded

from .errors import JobSyntaxError

KINDS = {
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    bytes: "binary data",
}


def line_column(text: str | bytes, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset in ``text``."""
    head = text[:position]
    newline = b"\n" if isinstance(head, bytes) else "\n"
    line = head.count(newline) + 1  # type: ignore[arg-type]
    column = position - (head.rfind(newline) + 1)  # type: ignore[arg-type]
    return line, column + 1


def describe(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "invalid YAML"
    return f"{exc.context}: {problem}" if exc.context else problem


def first_bad_scalar(text: str | bytes) -> tuple[int, int] | None:
    """Where the first scalar that cannot be turned into a value is (bad dates, ...)."""
    try:
        root = yaml.compose(text, Loader=yamlio.SafeLoader)
    except Exception:  # best effort, only to locate an error
        return None
    constructor = yaml.constructor.SafeConstructor()
    pending = [root] if root is not None else []
    seen: set[int] = set()
    while pending:
        node = pending.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node)
            except Exception:  # any failure marks the culprit
                return node.start_mark.line + 1, node.start_mark.column + 1
        elif isinstance(node, yaml.MappingNode):
            pending.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
    return None


def top_level_mark(text: str | bytes) -> tuple[int, int]:
    try:
        root = yaml.compose(text, Loader=yamlio.SafeLoader)
    except Exception:  # the document loaded, this cannot really fail
        root = None
    if root is None:
        return 1, 1
    return root.start_mark.line + 1, root.start_mark.column + 1


def load(text: str | bytes) -> dict[Any, Any]:
    """Parse a job definition; raise ``JobSyntaxError`` unless it is a YAML mapping."""
    try:
        data = yamlio.load(text, "the job definition")
    except LimitExceeded as exc:
        raise JobSyntaxError(str(exc), *(exc.position or (1, 1))) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise JobSyntaxError(describe(exc), line, column) from None
    except yaml.reader.ReaderError as exc:
        line, column = line_column(text, exc.position)
        raise JobSyntaxError(f"cannot read the text: {exc.reason}", line, column) from None
    except RecursionError:
        raise JobSyntaxError("the document is nested too deeply") from None
    except JobCanceled:
        raise  # lava-run's cancel signal landed while it was reading the definition
    except Exception as exc:  # e.g. a date such as 2024-13-45
        line, column = first_bad_scalar(text) or (1, 1)
        raise JobSyntaxError(f"invalid value: {exc}", line, column) from None
    if data is None:
        raise JobSyntaxError("the document is empty; a job is a mapping of keys such as job_name")
    if not isinstance(data, dict):
        line, column = top_level_mark(text)
        kind = KINDS.get(type(data), f"a {type(data).__name__}")
        raise JobSyntaxError(
            f"the top level of a job must be a mapping (key: value), not {kind}", line, column
        )
    return data
