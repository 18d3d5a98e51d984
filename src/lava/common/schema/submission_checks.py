"""Submission rules that span several keys, run once the submission schema has passed.

These are the server's own checks (LAVA's ``validate_submission`` and
``validate_yaml``) minus the ones that need its database: whether a named
notification user or saved query exists is for the server to say.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from voluptuous import Invalid

from .common import context
from .errors import JobSchemaError, format_path
from .mail_address import is_email_address
from .validate import schema_error

# A recipient standing for whoever owns the device the job ran on.
DEVICE_OWNER = "{LAVA_DEVICE_OWNER}"
# Saved-query conditions are `field__value`, `field__operator__value` or
# `table__field__operator__value`, joined by commas.
CONDITION_PARTS = (2, 3, 4)


def post_checks(data: dict[str, Any], extra_context_variables: tuple[str, ...]) -> None:
    """Run every cross-key submission rule; raise ``JobSchemaError`` at the first one broken."""
    check_pinned_revisions(data)
    check_multinode_roles(data, extra_context_variables)
    check_recipients(data)
    check_compare_query(data)


def fault(message: str, path: list[Any]) -> JobSchemaError:
    return JobSchemaError(message, format_path(path))


def members(value: Any, path: list[Any]) -> Iterable[Any]:
    # The server walks whatever `definitions` holds, even next to another test form.
    if isinstance(value, str | list | dict):
        return value
    raise fault("definitions must be a list of test definitions", path)


def check_pinned_revisions(data: dict[str, Any]) -> None:
    """A definition pinned to a ``revision`` cannot be fetched with ``shallow: true``."""
    for index, action in enumerate(data["actions"]):
        body = action.get("test")
        if body is None or "definitions" not in body:
            continue
        where = ["actions", index, "test", "definitions"]
        for position, item in enumerate(members(body["definitions"], where)):
            if isinstance(item, dict):
                if "revision" in item and item.get("shallow") is True:
                    raise fault(
                        "a definition with a revision needs a full clone: drop shallow: true",
                        [*where, position, "shallow"],
                    )
            # Other containers fail the server's check only if they hold both words.
            elif not isinstance(item, str | list) or ("revision" in item and "shallow" in item):
                raise fault(
                    "a test definition is a mapping such as {from: git, ...}", [*where, position]
                )


def check_multinode_roles(data: dict[str, Any], extra_context_variables: tuple[str, ...]) -> None:
    """Roles refer to existing roles, pin devices sensibly and use allowed context keys."""
    multinode = (data.get("protocols") or {}).get("lava-multinode")
    if multinode is None:
        return
    where = ["protocols", "lava-multinode", "roles"]
    if "roles" not in multinode:
        raise fault("lava-multinode needs roles: a mapping of role names to devices", where)
    roles = multinode["roles"]
    names = list(roles)
    role_context = context(extra_context_variables)
    for role, params in roles.items():
        here = [*where, role]
        if not isinstance(params, dict):
            raise fault("a role is a mapping such as {device_type: qemu, count: 1}", here)
        host, expect = params.get("host_role"), params.get("expect_role")
        if host is not None:
            if host not in names:
                raise fault(
                    f"host_role {host!r} is not one of this job's roles", [*here, "host_role"]
                )
            if expect is None:
                raise fault("a role with host_role also needs expect_role", here)
            if expect not in names:
                raise fault(
                    f"expect_role {expect!r} is not one of this job's roles", [*here, "expect_role"]
                )
        elif expect is not None:
            raise fault("expect_role is only meaningful with host_role", [*here, "expect_role"])
        if "connection" in params and ("device" in params or "worker" in params):
            raise fault("a connection role cannot pin a device or a worker", here)
        for pin in ("device", "worker"):
            if pin in params and "device_type" not in params:
                raise fault(f"a role that names a {pin} also needs device_type", here)
        if "device" in params and params.get("count") != 1:
            raise fault("a role pinned to one device needs count: 1", [*here, "count"])
        try:
            role_context(params.get("context", {}))
        except Invalid as exc:
            raise schema_error(exc, [*here, "context"]) from None


def check_recipients(data: dict[str, Any]) -> None:
    """Each recipient can be reached: an address or user by email, a handle or user on IRC."""
    notify = data.get("notify")
    if notify is None:
        return
    for index, entry in enumerate(notify.get("recipients") or []):
        to = entry["to"]
        where = ["notify", "recipients", index, "to"]
        reach = "email" if to["method"] == "email" else "handle"
        if reach not in to and "user" not in to:
            raise fault(f"a recipient by {to['method']} needs {reach} or user", where)
        if "user" in to and to["user"] != DEVICE_OWNER:
            continue  # a named user: the server checks the account exists
        if "email" in to and not is_email_address(to["email"]):
            raise fault(f"{to['email']!r} is not a valid email address", [*where, "email"])


def check_compare_query(data: dict[str, Any]) -> None:
    """A custom comparison query lists test jobs and its conditions parse."""
    query = ((data.get("notify") or {}).get("compare") or {}).get("query")
    if query is None or "username" in query:
        return  # none, or a saved query: the server checks it exists and lists jobs
    where = ["notify", "compare", "query"]
    if query["entity"] != "testjob":
        raise fault("a comparison query must use entity: testjob", [*where, "entity"])
    if "conditions" not in query:
        raise fault(
            "a custom comparison query needs conditions (may be {})", [*where, "conditions"]
        )
    joined = ",".join(f"{key}__{value}" for key, value in query["conditions"].items())
    for condition in joined.split(",") if joined else []:
        if len(condition.split("__")) not in CONDITION_PARTS:
            raise fault(
                f"query condition {condition!r} is not field__value, field__operator__value"
                " or table__field__operator__value (commas separate conditions)",
                [*where, "conditions"],
            )
