"""Which line of a YAML text a validation problem is about, so the page can show it there.

A problem names the key at fault by its path (``actions[1].boot.method``); a
syntax error names a line in its message. The path is followed through the
YAML's node tree (composed, not constructed: no objects are built and
aliases are not expanded). The schema's paths sometimes hold a step the text
does not (``deploy.tmpfs.images``: the deploy method, which the text gives
as ``to: tmpfs``) and a missing key is not in the text at all, so a step that
does not match is skipped, and the answer is the deepest node reached.
"""

from __future__ import annotations

import re

import yaml

STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")
SYNTAX_LINE = re.compile(r"\bline (\d+)\b")
# a refusal that names its key in words: "the job definition is refused: metadata: ..."
KEYED = re.compile(r"^(?:the job definition is \w+: )?([A-Za-z_][\w.\[\]-]*): ")
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def steps(path: str) -> list[str | int]:
    """``actions[1].boot.method`` as ``["actions", 1, "boot", "method"]``."""
    found: list[str | int] = []
    for index, key in STEP.findall(path):
        found.append(int(index) if index else key.strip("'\""))
    return found


def _child(node: yaml.Node, step: str | int) -> tuple[yaml.Node, int] | None:
    """The node under ``node`` at ``step``, and the line (0-based) that names it."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return value, key.start_mark.line
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        item = node.value[step]
        return item, item.start_mark.line
    return None


def line_of(text: str, path: str) -> int | None:
    """The 1-based line of ``text`` that ``path`` leads to (the deepest part present);
    None when the text cannot be read or the path leads nowhere into it."""
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = None
    for step in steps(path):
        found = _child(node, step)
        if found is None:
            continue  # a step the text does not hold: try the next one here
        node, line = found
    return None if line is None else line + 1


def problem_line(text: str, path: str, message: str) -> int | None:
    """The line a problem is about: from its path, or the line or key its message names."""
    if path:
        line = line_of(text, path)
        if line is not None:
            return line
    match = SYNTAX_LINE.search(message)
    if match:
        return min(int(match.group(1)), text.count("\n") + 1)
    keyed = KEYED.match(message)
    return line_of(text, keyed.group(1)) if keyed else None
