"""The limits table's YAML and structure checks, against a plain measure of the loaded value.

The YAML check reads events only and never expands an alias; what it decides
must be what measuring the fully loaded value would decide, aliases expanded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lava.common import yamlio
from lava.common.limits import (
    LIMITS,
    LimitExceeded,
    check_safe_name,
    check_structure,
    compose_checked,
    limit,
    safe_name_problem,
)


def check_yaml_text(text: str, **limits: int) -> None:
    """The limit check yamlio.load makes, on a loader of its own (no object built)."""
    loader = yamlio.SafeLoader(text)
    try:
        compose_checked(loader, **limits)
    finally:
        loader.dispose()


def measure(value: Any) -> tuple[int, int]:
    """(depth, size) of a loaded value, aliases counted each time: the rule, written plainly."""
    if isinstance(value, dict):
        parts = [measure(part) for pair in value.items() for part in pair]
    elif isinstance(value, list):
        parts = [measure(part) for part in value]
    else:
        return 0, 1 + len(value)
    return 1 + max((d for d, _ in parts), default=0), 1 + sum(n for _, n in parts)


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)
values = st.recursive(
    texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=30,
)


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A value in which some parts appear several times: the dumper writes anchors and aliases."""
    parts = draw(st.lists(values, min_size=1, max_size=3))
    picks = draw(st.lists(st.integers(0, len(parts) - 1), min_size=1, max_size=6))
    layers = draw(st.integers(0, 3))
    document: Any = [parts[i] for i in picks]
    for _ in range(layers):  # the same list again, one level deeper: sizes and depths grow
        document = [document, [document]]
    return document


def dumped(value: Any) -> str:
    return yaml.dump(value, Dumper=yamlio.SafeDumper, default_style='"', allow_unicode=True)


@settings(max_examples=300, deadline=None)
@given(documents())
def test_the_limit_check_measures_what_loading_would_build(document: Any) -> None:
    text = dumped(document)
    depth, size = measure(yaml.safe_load(text))
    check_yaml_text(text, max_depth=depth, max_size=size)
    if depth:
        with pytest.raises(LimitExceeded) as refused:
            check_yaml_text(text, max_depth=depth - 1, max_size=size)
        assert refused.value.key == "nesting_depth"
    with pytest.raises(LimitExceeded) as refused:
        check_yaml_text(text, max_depth=depth, max_size=size - 1)
    assert refused.value.key == "expanded_size"


def test_an_alias_bomb_is_refused_before_it_is_built() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    text = "\n".join(lines) + "\n"  # 600 bytes that would build 10**10 strings
    with pytest.raises(LimitExceeded) as refused:
        yamlio.load(text, "the job definition")
    assert refused.value.key == "expanded_size"
    assert str(refused.value).startswith("the job definition: too large once its aliases")
    assert refused.value.position is not None and refused.value.position[0] <= 10


def test_deep_nesting_is_refused_with_its_line() -> None:
    text = "job_name: x\nactions:\n" + "".join("  " * i + "- \n" for i in range(1, 200))
    with pytest.raises(LimitExceeded) as refused:
        yamlio.load(text, "the job definition")
    assert refused.value.key == "nesting_depth"
    # the root mapping is level 1 and `actions` level 2, on line 3: the 51st starts on line 52
    assert refused.value.position == (limit("nesting_depth") + 2, limit("nesting_depth") * 2 + 1)
    # a refusal is a YAMLError too: every reader of YAML already reports one
    assert isinstance(refused.value, yaml.YAMLError)


def test_nesting_reached_through_an_alias_counts() -> None:
    deep = "[" * 30 + "]" * 30
    check_yaml_text(f"a: &a {deep}\nb: " + "[" * 19 + "*a" + "]" * 19)
    with pytest.raises(LimitExceeded, match="nested too deeply through an alias"):
        check_yaml_text(f"a: &a {deep}\nb: " + "[" * 20 + "*a" + "]" * 20)


def test_syntax_errors_are_left_to_the_loader() -> None:
    # not a limit: the loader's own error, with its line and column
    with pytest.raises(yaml.MarkedYAMLError) as refused:
        yamlio.load("a: [unclosed\n")
    assert not isinstance(refused.value, LimitExceeded)
    assert refused.value.problem_mark is not None


def test_structures_of_any_depth_are_checked_without_recursion() -> None:
    check_structure({"a": [1, "two", {"b": None}]})
    nested: Any = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(LimitExceeded) as refused:
        check_structure(nested, "the request body")
    assert refused.value.key == "nesting_depth"
    with pytest.raises(LimitExceeded) as refused:
        check_structure(["x" * 1024] * 4096)
    assert refused.value.key == "expanded_size"


@pytest.mark.parametrize(
    ("name", "fine"),
    [
        ("target", True),
        ("n_kernel1", True),
        ("u-boot", True),
        ("boot.img+1", True),
        ("..", False),
        ("../../etc", False),
        ("/tmp", False),
        ("-rf", False),
        (".hidden", False),
        ("two words", False),
        ("x" * 65, False),
        ("", False),
        ("é", False),
    ],
)
def test_safe_names(name: str, fine: bool) -> None:
    assert (safe_name_problem(name, "namespace") is None) is fine
    if fine:
        assert check_safe_name(name, "namespace") == name
    else:
        with pytest.raises(ValueError, match="namespace"):
            check_safe_name(name, "namespace")


def test_every_limit_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("#### Limits") :].split("\n#", 1)[0]
    missing = [key for key in LIMITS if f"`{key}`" not in table]
    assert not missing, f"README's limits table lacks {missing}"
