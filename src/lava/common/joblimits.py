"""Every job-level limit of `lava.common.limits`, applied to a parsed job definition.

The server calls `check_job` at submission, before anything is stored; the
full schema (``validate_job``, and so ``lava-run`` and the validate APIs)
calls it too. Only values of the right type are measured: a value of the
wrong type is the schema's to report. A refusal is a `LimitExceeded` or a
`RefusedValue`, both naming the key path (``actions[2].test.timeout``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from lava.common.limits import (
    LimitExceeded,
    RefusedValue,
    check_structure,
    json_length,
    limit,
    safe_name_problem,
)
from lava.common.timeout import total_seconds

# A secret becomes a shell variable in the overlay's ``secrets`` file.
SHELL_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The limit of each top-level ``timeouts`` entry; every other timeout is an action's.
TOP_TIMEOUTS = {"job": "job_timeout", "queue": "queue_timeout"}
NAMED_TIMEOUTS = ("actions", "connections")  # {action name: timeout}
COUNTS = ("repeat", "failure_retry")  # keys of an action block, the ``retries`` limit
# Inline test definitions and metadata are the device's and the reader's, not durations.
NOT_SETTINGS = ("repository", "metadata")
SHOWN = 60  # characters of a key shown in a path
# A callback is an HTTP request the server makes: http(s) only, and a token header that
# cannot rewrite the request itself.
CALLBACK_URL = re.compile(r"https?://", re.IGNORECASE)
HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "expect"}
)


def check_job(job: Mapping[str, Any], *, size: int | None = None) -> None:
    """Refuse a job over any limit of the table; ``size`` is its text's length in bytes."""
    if size is not None:
        check_definition_size(size)
    name = job.get("job_name")
    if isinstance(name, str) and len(name) > limit("job_name_length"):
        raise LimitExceeded("job_name_length", "job_name", f"{len(name):,} characters")
    for key, limit_key in (("metadata", "metadata_size"), ("context", "context_size")):
        if key in job:
            check_json_size(job[key], key, limit_key)
    _check_secrets(job.get("secrets"))
    _check_tags(job.get("tags"))
    _check_notify(job.get("notify"))
    _check_actions(job.get("actions"))
    _check_top_timeouts(job.get("timeouts"))
    for key in ("actions", "protocols"):
        _check_nested_timeouts(job.get(key), key)
    # what a YAML or JSON reader other than yamlio let through (yamlio refuses it sooner)
    check_structure(job, "the job definition")
    _check_no_nul(job)


def _check_no_nul(job: Mapping[str, Any]) -> None:
    """Refuse a NUL character in any key or string of the job (YAML writes one ``"\\0"``).

    No text column of PostgreSQL holds one: a submission naming ``device_type:
    "qemu\\0"`` was a database error (HTTP 500) instead of a refusal. Run after
    `check_structure`, so the walk is bounded.
    """
    pending: list[tuple[Any, str]] = [(job, "")]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise RefusedValue(where or "the job definition", "contains a NUL character")
        elif isinstance(item, Mapping):
            for key, value in item.items():
                if isinstance(key, str) and "\x00" in key:
                    raise RefusedValue(
                        where or "the job definition", "a key contains a NUL character"
                    )
                pending.append((value, f"{where}.{_part(key)}" if where else _part(key)))
        elif isinstance(item, list | tuple):
            pending.extend((value, f"{where}[{index}]") for index, value in enumerate(item))


def check_definition_size(
    size: int, max_size: int | None = None, source: str | None = None
) -> None:
    """Refuse a definition of ``size`` bytes over ``definition_size`` (or an admin's
    ``max_size``, named by ``source``)."""
    bound = limit("definition_size") if max_size is None else max_size
    if size > bound:
        raise LimitExceeded(
            "definition_size", "the job definition", f"{size:,} bytes", value=bound, source=source
        )


def check_context(context: Any, where: str = "context") -> None:
    """Refuse a job ``context`` over ``context_size`` as JSON."""
    check_json_size(context, where, "context_size")


def checked_context(context: Any, where: str = "context") -> dict[str, Any]:
    """A context to render a device with: a mapping ({} for None) within ``context_size``."""
    if context is None:
        return {}
    if not isinstance(context, dict):
        raise RefusedValue(where, f"must be a mapping of variables, not {type(context).__name__}")
    check_context(context, where)
    return context


def check_json_size(value: Any, where: str, limit_key: str) -> None:
    """Refuse ``value`` when it takes more than the ``limit_key`` limit as JSON."""
    bound = limit(limit_key)
    length = json_length(value, bound)
    if length > bound:
        raise LimitExceeded(limit_key, where, f"at least {length:,} characters as JSON")


def _part(key: Any) -> str:
    """A key as it appears in a path, cut short."""
    text = str(key)
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def _check_secrets(secrets: Any) -> None:
    if not isinstance(secrets, Mapping):
        return
    if len(secrets) > limit("secrets"):
        raise LimitExceeded("secrets", "secrets", f"{len(secrets):,} keys")
    for key, value in secrets.items():
        where = f"secrets.{_part(key)}"
        if not isinstance(key, str) or not SHELL_IDENTIFIER.fullmatch(key):
            raise RefusedValue(
                where,
                "a secret's name must be a shell identifier "
                "(letters, digits and _, not starting with a digit)",
            )
        if len(key) > limit("name_length"):
            raise LimitExceeded("name_length", where, f"the name is {len(key):,} characters")
        if isinstance(value, Mapping | list | tuple):
            raise RefusedValue(where, "a secret's value must be text or a number")
        length = len(value) if isinstance(value, str) else json_length(value, 0)
        if length > limit("secret_size"):
            raise LimitExceeded("secret_size", where, f"{length:,} characters")


def _check_tags(tags: Any) -> None:
    if not isinstance(tags, list):
        return
    if len(tags) > limit("tags"):
        raise LimitExceeded("tags", "tags", f"{len(tags):,} tags")
    for index, tag in enumerate(tags):
        if isinstance(tag, str) and len(tag) > limit("tag_length"):
            raise LimitExceeded("tag_length", f"tags[{index}]", f"{len(tag):,} characters")


def _check_notify(notify: Any) -> None:
    """Each callback and recipient is work for the server's sender: bounded in number and size."""
    if not isinstance(notify, Mapping):
        return
    callbacks = notify.get("callbacks")
    if not isinstance(callbacks, list):
        callbacks = [notify["callback"]] if "callback" in notify else []
    recipients = notify.get("recipients")
    recipients = recipients if isinstance(recipients, list) else []
    count = len(callbacks) + len(recipients)
    if count > limit("notify_targets"):
        raise LimitExceeded("notify_targets", "notify", f"{count:,} callbacks and recipients")
    key = "callbacks" if isinstance(notify.get("callbacks"), list) else "callback"
    for index, callback in enumerate(callbacks):
        if not isinstance(callback, Mapping):
            continue
        here = f"notify.{key}[{index}]" if key == "callbacks" else "notify.callback"
        url = callback.get("url")
        if isinstance(url, str):
            if len(url) > limit("callback_url_length"):
                where = f"{here}.url"
                raise LimitExceeded("callback_url_length", where, f"{len(url):,} characters")
            if not CALLBACK_URL.match(url):
                raise RefusedValue(
                    f"{here}.url", "a callback url must start with http:// or https://"
                )
        header = callback.get("header")
        if isinstance(header, str) and (
            not HEADER_NAME.fullmatch(header) or header.lower() in RESERVED_HEADERS
        ):
            raise RefusedValue(
                f"{here}.header",
                "a callback header must be a name of letters, digits and '-' (at most 64), "
                f"and not one of {', '.join(sorted(RESERVED_HEADERS))}",
            )


def _blocks(actions: list[Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(path, kind, body) of each action block that is a mapping."""
    for index, action in enumerate(actions):
        if not isinstance(action, Mapping):
            continue
        for kind, body in action.items():
            if isinstance(body, Mapping):
                yield f"actions[{index}].{_part(kind)}", str(kind), body


def _check_actions(actions: Any) -> None:
    """How many actions and test definitions; the names that become paths on a host."""
    if not isinstance(actions, list):
        return
    if len(actions) > limit("actions"):
        raise LimitExceeded("actions", "actions", f"{len(actions):,} actions")
    definitions = 0
    for where, kind, body in _blocks(actions):
        for key in ("namespace", "connection-namespace"):
            _check_name(body.get(key), f"{where}.{key}")
        images = body.get("images")
        if isinstance(images, Mapping):
            for label in images:
                _check_name(label, f"{where}.images.{_part(label)}", strings_only=False)
        _check_retries(body, where)
        tests = body.get("definitions") if kind == "test" else None
        if isinstance(tests, list):
            definitions += len(tests)
            if definitions > limit("test_definitions"):
                raise LimitExceeded(
                    "test_definitions", f"{where}.definitions", f"{definitions:,} definitions"
                )
            for index, test in enumerate(tests):
                if isinstance(test, Mapping):
                    _check_name(test.get("name"), f"{where}.definitions[{index}].name")


def _check_name(value: Any, where: str, strings_only: bool = True) -> None:
    """A name that becomes a file or directory name must be a safe one."""
    if value is None or (strings_only and not isinstance(value, str)):
        return  # absent, or of a type the schema reports
    problem = safe_name_problem(value, "the name")
    if problem:
        raise RefusedValue(where, problem)


def _check_timeout(value: Any, where: str, limit_key: str) -> None:
    if not isinstance(value, Mapping):
        return
    try:
        seconds, _ = total_seconds(value)
    except ValueError:
        return  # a malformed timeout: the schema names it
    if seconds > limit(limit_key):
        raise LimitExceeded(limit_key, where, f"{_amount(seconds)} seconds")


def _amount(number: int | float) -> str:
    """A number for a message, even one of thousands of digits."""
    if isinstance(number, int) and number.bit_length() > 64:
        return f"about 10^{int(number.bit_length() * 0.30103)}"
    return f"{number:,}"


def _check_top_timeouts(timeouts: Any) -> None:
    if not isinstance(timeouts, Mapping):
        return
    for key, value in timeouts.items():
        where = f"timeouts.{_part(key)}"
        if key in NAMED_TIMEOUTS and isinstance(value, Mapping):
            for name, one in value.items():
                _check_timeout(one, f"{where}.{_part(name)}", "action_timeout")
        else:
            _check_timeout(value, where, TOP_TIMEOUTS.get(key, "action_timeout"))


def _check_retries(body: Mapping[str, Any], where: str) -> None:
    for key in (*COUNTS, "failure_retry_interval"):
        value = body.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue  # absent, or the schema's to report
        if key in COUNTS and value > limit("retries"):
            raise LimitExceeded("retries", f"{where}.{key}", f"{_amount(value)} times")
        if key == "failure_retry_interval" and value > limit("action_timeout"):
            raise LimitExceeded("action_timeout", f"{where}.{key}", f"{_amount(value)} seconds")


def _check_nested_timeouts(value: Any, where: str) -> None:
    """Every ``timeout`` and ``timeouts`` at any depth of ``value``."""
    pending = [(value, where)]
    seen: set[int] = set()  # an alias is checked once; a value holding itself ends
    while pending:
        item, path = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, list):
            pending.extend((part, f"{path}[{index}]") for index, part in enumerate(item))
            continue
        if not isinstance(item, Mapping):
            continue
        for key, part in item.items():
            here = f"{path}.{_part(key)}"
            if key == "timeout":
                _check_timeout(part, here, "action_timeout")
            elif key == "timeouts" and isinstance(part, Mapping):
                for name, one in part.items():
                    _check_timeout(one, f"{here}.{_part(name)}", "action_timeout")
            elif key not in NOT_SETTINGS and isinstance(part, Mapping | list):
                pending.append((part, here))
