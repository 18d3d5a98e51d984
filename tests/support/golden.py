"""Golden pipeline files: the action tree `lava-run --validate` prints, one action a line."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

UPDATE = "LAVA_UPDATE_GOLDEN"
"""Set (to anything) to rewrite the golden files from this run instead of comparing."""


def flatten(actions: list[dict[str, Any]]) -> Iterator[str]:
    """`level name (Class, timeout N s)` for each action, depth first."""
    for action in actions:
        yield (
            f"{action['level']} {action['name']} "
            f"({action['class']}, timeout {action['timeout']:g} s)"
        )
        yield from flatten(action.get("pipeline", []))


def pipeline_text(actions: list[dict[str, Any]]) -> str:
    """The whole tree as the text of a golden file."""
    return "\n".join(flatten(actions)) + "\n"


def check(printed: str, golden: Path) -> None:
    """Compare with the golden file, or rewrite it when LAVA_UPDATE_GOLDEN is set."""
    if os.environ.get(UPDATE):
        golden.write_text(printed)
    if not golden.is_file():
        raise AssertionError(f"no golden file {golden}: create it with {UPDATE}=1")
    expected = golden.read_text()
    if printed != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), printed.splitlines(), str(golden), "printed", lineterm=""
        )
        raise AssertionError(
            f"the pipeline differs from {golden} (if intended, regenerate with {UPDATE}=1 "
            "and review the diff):\n" + "\n".join(diff)
        )
