"""Hypothesis strategies that mutate real job definitions, for the schema property tests.

A mutation deletes a key or item, gives a value another type, inserts a key or
item, or reorders a mapping or list, one to four times in one job.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

OPERATIONS = ("delete", "retype", "insert", "shuffle")


def json_values(words: Sequence[str], size: int = 4) -> st.SearchStrategy[Any]:
    """Scalars of every YAML kind (and ``words`` the schema cares about), nested a little."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=5 * size),
        st.sampled_from(list(words)),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=size),
            st.dictionaries(
                st.one_of(st.text(max_size=3 * size), st.integers()), inner, max_size=size
            ),
        ),
        max_leaves=3 * size,
    )


def tree_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indexes) into a nest of dicts and lists, the root included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += tree_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += tree_paths(value, (*prefix, index))
    return found


def at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def mutated_jobs(
    corpus: Sequence[dict[str, Any]],
    keys: st.SearchStrategy[Any],
    values: st.SearchStrategy[Any],
    operations: Sequence[str] = OPERATIONS,
) -> st.SearchStrategy[dict[str, Any]]:
    """Jobs of ``corpus``, each changed one to four times by ``operations``."""

    @st.composite
    def mutate(draw: st.DrawFn) -> dict[str, Any]:
        data = copy.deepcopy(draw(st.sampled_from(list(corpus))))
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            path = draw(st.sampled_from(tree_paths(data)))
            node = at(data, path)
            operation = draw(st.sampled_from(list(operations)))
            if operation == "delete" and path:
                del at(data, path[:-1])[path[-1]]
            elif operation == "retype" and path:
                at(data, path[:-1])[path[-1]] = draw(values)
            elif operation == "insert" and isinstance(node, dict):
                node[draw(keys)] = draw(values)
            elif operation == "insert" and isinstance(node, list):
                node.insert(draw(st.integers(0, len(node))), draw(values))
            elif operation == "shuffle" and isinstance(node, list):
                node[:] = draw(st.permutations(node))
            elif operation == "shuffle" and isinstance(node, dict):
                items = draw(st.permutations(list(node.items())))
                node.clear()
                node.update(items)
        return data

    return mutate()
