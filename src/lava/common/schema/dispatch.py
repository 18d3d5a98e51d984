"""LAVA's dispatch rule: which schema checks the body of each action.

``deploy`` picks by ``to:``, ``boot`` by ``method:``, ``test`` by the form it
uses, ``command`` has one schema. Names map ``-`` to ``_`` before the lookup, as
LAVA maps them to module names; each schema then checks the exact spelling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voluptuous import Invalid

from . import boot, deploy, test
from .command import command


@dataclass(frozen=True)
class Selection:
    """The schema chosen for one action and the label its error paths use."""

    kind: str
    label: str  # the method as written in the job (``u_boot`` stays ``u_boot``), or the form
    key: str  # registry key: the method as LAVA spells it (``u-boot``)


# kind → (key that names the method, how errors call that key, registry)
REGISTRIES: dict[str, tuple[str, str, dict[str, Callable[[], Any]]]] = {
    "deploy": ("to", "deploy 'to' value", deploy.METHODS),
    "boot": ("method", "boot method", boot.METHODS),
}

# LAVA's module lookup turns the name ``__init__`` into the package module, which
# holds only the keys common to the kind. Mirrored so verdicts agree; never listed.
PACKAGE_MODULE = "__init__"
BASE_SCHEMAS: dict[str, Callable[[], Any]] = {
    "deploy": deploy.deploy_keys,
    "boot": boot.boot_keys,
}


def module_name(name: str) -> str:
    return name.replace("-", "_")


def canonical(registry: dict[str, Callable[[], Any]], name: str) -> str | None:
    """The registry key LAVA's module lookup would reach from ``name``."""
    wanted = module_name(name)
    return next((key for key in registry if module_name(key) == wanted), None)


def known(registry: dict[str, Callable[[], Any]]) -> str:
    return ", ".join(sorted(registry))


def select(index: int, action: Any) -> Selection:
    """Choose the schema for ``actions[index]``; raise ``Invalid`` when none applies."""
    if not isinstance(action, dict) or not action:
        raise Invalid(
            "an action is a mapping with one key: deploy, boot, test or command",
            path=["actions", index],
        )
    kind = next(iter(action))
    body = action[kind]
    where = ["actions", index, kind]
    if kind not in ("deploy", "boot", "test", "command") or not isinstance(body, dict):
        raise Invalid(
            "invalid action: expected deploy, boot, test or command with a mapping", path=where
        )
    if kind == "command":
        return Selection(kind, "command", "command")
    if kind == "test":
        form = test.select_form(body)
        if form is None:
            raise Invalid(
                "invalid action: a test needs definitions, interactive, monitors or services",
                path=where,
            )
        return Selection(kind, form, form)
    selector, what, registry = REGISTRIES[kind]
    name = body.get(selector)
    if name is None:
        raise Invalid(
            f"required key not provided: {kind} needs '{selector}'", path=[*where, selector]
        )
    if isinstance(name, str) and module_name(name) == PACKAGE_MODULE:
        return Selection(kind, name, PACKAGE_MODULE)
    key = canonical(registry, name) if isinstance(name, str) else None
    if key is None:
        raise Invalid(
            f"unknown {what} {name!r} (known: {known(registry)})", path=[*where, selector]
        )
    return Selection(kind, name, key)


def factory(kind: str, key: str) -> Callable[[], Any]:
    """The schema factory behind a ``Selection``'s kind and key."""
    if kind == "command":
        return command
    if kind == "test":
        return test.FORMS[key]
    if key == PACKAGE_MODULE:
        return BASE_SCHEMAS[kind]
    return REGISTRIES[kind][2][key]
