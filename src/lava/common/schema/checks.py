"""Rules that span several keys of a job, run once its top level has the right shape."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from voluptuous import Invalid

from .common import TIMEOUT_UNITS

# What an empty or all-zero timeout means to the dispatcher.
DEFAULT_TIMEOUT = 30


def cross_checks(data: dict[str, Any]) -> dict[str, Any]:
    """Run every cross-field rule; raise voluptuous ``Invalid`` at the first one broken."""
    check_timeouts(data)
    check_multinode_roles(data)
    check_multinode_top_level(data)
    check_namespaces(data)
    return data


def action_bodies(data: dict[str, Any]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Yield (index, kind, body) for each action; the first key names the kind.

    Actions that are empty or whose body is not a mapping are skipped here:
    the per-action dispatch rejects them with a better message.
    """
    for index, action in enumerate(data.get("actions") or []):
        if not action:
            continue
        kind = next(iter(action))
        body = action[kind]
        if isinstance(body, dict):
            yield index, kind, body


def duration(value: Any, path: list[Any]) -> int:
    """Seconds in a timeout mapping, summed over its units as the dispatcher does."""
    if not isinstance(value, dict):
        raise Invalid("a timeout must be a mapping such as {minutes: 5}", path=path)
    try:
        delta = datetime.timedelta(**{unit: value.get(unit, 0) for unit in TIMEOUT_UNITS})
        seconds = int(delta.total_seconds())
    except (TypeError, ValueError, OverflowError) as exc:
        raise Invalid(f"timeout is not a usable duration ({exc})", path=path) from exc
    return seconds if delta else DEFAULT_TIMEOUT


def check_timeouts(data: dict[str, Any]) -> None:
    """No job-wide or per-action timeout may be longer than the job timeout."""
    timeouts = data["timeouts"]
    job_seconds = duration(timeouts["job"], ["timeouts", "job"])

    def check(what: str, value: Any, path: list[Any]) -> None:
        if value is not None and duration(value, path) > job_seconds:
            raise Invalid(f"{what} timeout is larger than job timeout", path=path)

    check("Global", timeouts.get("action"), ["timeouts", "action"])
    for key, value in (timeouts.get("actions") or {}).items():
        check("Global", value, ["timeouts", "actions", key])
    check("Global", timeouts.get("connection"), ["timeouts", "connection"])
    for key, value in (timeouts.get("connections") or {}).items():
        check("Global", value, ["timeouts", "connections", key])
    for index, kind, body in action_bodies(data):
        check("Action", body.get("timeout"), ["actions", index, kind, "timeout"])


def multinode(data: dict[str, Any]) -> Any:
    return (data.get("protocols") or {}).get("lava-multinode")


def check_multinode_roles(data: dict[str, Any]) -> None:
    """In a multinode job every action says which roles run it."""
    if not multinode(data):
        return
    for index, kind, body in action_bodies(data):
        if "role" not in body:
            raise Invalid(
                "Every action of a multinode job should have roles",
                path=["actions", index, kind, "role"],
            )


def check_multinode_top_level(data: dict[str, Any]) -> None:
    """Device selection lives per role in multinode jobs and at the top level otherwise."""
    is_multinode = bool(multinode(data))
    for key in ("device_type", "environment", "context", "tags"):
        if data.get(key) and is_multinode:
            raise Invalid(f'"{key}" should not be used with multinode', path=[key])
    if not data.get("device_type") and not is_multinode:
        raise Invalid('"device_type" or multinode should be defined', path=["device_type"])


def check_namespaces(data: dict[str, Any]) -> None:
    """Namespaces are all or nothing: once one action has one, every action needs one."""
    actions = data.get("actions") or []
    named = {index for index, _, body in action_bodies(data) if body.get("namespace") is not None}
    if named and len(named) != len(actions):
        index = min(set(range(len(actions))) - named)
        kind = next(iter(actions[index]), None)
        raise Invalid(
            "When using namespaces, every action should have a namespace",
            path=["actions", index] + ([] if kind is None else [kind, "namespace"]),
        )
