"""The server's submission check: LAVA's looser schema applied to every submitted job.

The top level is closed (unknown keys and ``context`` variables are refused,
named timeouts must look like action names) while action bodies stay open:
only the few keys LAVA types there are checked. The full schema (``validate``)
runs separately and its complaints are warnings; a fault found here refuses
the job. Action bodies are in ``submission_actions``; the rules that span
several keys are in ``submission_checks``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any as TypingAny

from voluptuous import (
    ALLOW_EXTRA,
    All,
    Any,
    Exclusive,
    Invalid,
    Optional,
    Required,
    Schema,
)
from voluptuous.schema_builder import VirtualPathComponent

from .common import context, non_empty_str
from .errors import JobSchemaError, JobSyntaxError, format_path
from .job import PRIORITY_NAMES, name, visibility
from .loader import load
from .notify import JOB_STATES, recipient
from .submission_actions import action, loose_timeout
from .submission_checks import post_checks
from .validate import first_error

# Callback forms exclude each other.
CALLBACK_GROUP = "callback"
# Named timeouts are keyed by action names such as `http-download`.
ACTION_NAME = re.compile(r"[a-z-]+\n?")


def action_name(key: TypingAny) -> TypingAny:
    # LAVA matches the key's text, so a YAML `.inf` key passes as "inf".
    if not ACTION_NAME.fullmatch(str(key)):
        raise Invalid("a named timeout is keyed by an action name: lower-case letters and '-'")
    return key


def timeouts() -> Schema:
    named = {All(action_name): loose_timeout()}
    return Schema(
        {
            Required("job"): loose_timeout(),
            Optional("action"): loose_timeout(),
            Optional("connection"): loose_timeout(),
            Optional("queue"): loose_timeout(),
            Optional("actions"): named,
            Optional("connections"): named,
        }
    )


def notify() -> Schema:
    callback = {
        Required("url"): str,
        Optional("method"): Any("GET", "POST"),
        Optional("token"): str,
        Optional("dataset"): Any("minimal", "logs", "results", "all"),
        Optional("content-type"): Any("json", "urlencoded"),
    }
    query = Any(
        Schema({Required("username"): str, Required("name"): str}),
        Schema({Required("entity"): str, Optional("conditions"): dict}),
    )
    one_callback = "use callback or callbacks, not both"
    return Schema(
        {
            Required("criteria"): Schema(
                {
                    Required("status"): Any(*JOB_STATES, "all"),
                    Optional("dependency_query"): str,
                    Optional("type"): Any("progression", "regression"),
                },
                extra=ALLOW_EXTRA,
            ),
            Optional("recipients"): Schema([recipient()]),
            Exclusive("callback", CALLBACK_GROUP, msg=one_callback): Schema(
                callback, extra=ALLOW_EXTRA
            ),
            Exclusive("callbacks", CALLBACK_GROUP, msg=one_callback): Schema(
                [callback], extra=ALLOW_EXTRA
            ),
            Optional("verbosity"): Any("verbose", "quiet", "status-only"),
            Optional("compare"): Schema(
                {Optional("query"): query, Optional("blacklist"): [str]}, extra=ALLOW_EXTRA
            ),
        },
        extra=ALLOW_EXTRA,
    )


def top_level(context_variables: tuple[str, ...]) -> dict[TypingAny, TypingAny]:
    multinode = {Optional("timeout"): loose_timeout(), Optional("roles"): dict}
    return {
        Required("job_name"): name(),
        # optional here: a multinode job names device types per role instead
        Optional("device_type"): non_empty_str(),
        Optional("device"): non_empty_str(),
        Optional("worker"): non_empty_str(),
        # the full schema limits numbers to 0..100; submission takes any integer
        Optional("priority"): Any(
            *PRIORITY_NAMES, int, msg="priority is high, medium, low or an integer"
        ),
        Optional("protocols"): Schema(
            {Optional("lava-multinode"): multinode, Optional("lava-xnbd"): dict}
        ),
        Optional("context"): context(context_variables),
        Optional("metadata"): {Any(str, int): object},
        Optional("secrets"): dict,
        Optional("environment"): dict,
        Optional("tags"): [str],
        Required("visibility"): visibility(),
        Required("timeouts"): timeouts(),
        Required("actions"): [action()],
        Optional("notify"): notify(),
        Optional("reboot_to_fastboot"): bool,
    }


TOP_LEVEL_KEYS = tuple(key.schema for key in top_level(()))


@lru_cache(maxsize=16)
def submission_schema(context_variables: tuple[str, ...]) -> Schema:
    return Schema(top_level(context_variables))


def schema_error(exc: Invalid) -> JobSchemaError:
    """The first fault, its path without the exclusion-group names voluptuous adds."""
    error = first_error(exc)
    path = [part for part in error.path if not isinstance(part, VirtualPathComponent)]
    return JobSchemaError(error.msg, format_path(path))


def check_top_level_keys(data: TypingAny) -> None:
    """Name an unknown top-level key and the keys a job may use instead."""
    if not isinstance(data, dict):
        return
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            allowed = ", ".join(TOP_LEVEL_KEYS)
            raise JobSchemaError(
                f"unknown top-level key {key!r}; a job may only use: {allowed}", str(key)
            )


def validate_submission(data: TypingAny, extra_context_variables: tuple[str, ...] = ()) -> None:
    """Check a job as LAVA's server does at submission; raise ``JobSchemaError`` at the first fault.

    ``extra_context_variables`` extends the allowed ``context`` keys, like the
    server setting of the same purpose.
    """
    extra = tuple(extra_context_variables)
    try:
        check_top_level_keys(data)
        try:
            submission_schema(extra)(data)
        except Invalid as exc:
            raise schema_error(exc) from None
        post_checks(data, extra)
    except JobSchemaError:
        raise
    except RecursionError:
        raise JobSchemaError("the job is nested too deeply (or refers to itself)") from None
    except Exception as exc:  # LAVA refuses such input too, by failing; say why
        raise JobSchemaError(f"the job cannot be checked: {type(exc).__name__}: {exc}") from None


def check_submission_text(text: str, extra_context_variables: tuple[str, ...] = ()) -> str | None:
    """Load and check a submitted job; None when accepted, else the reason. Never raises."""
    try:
        validate_submission(load(text), extra_context_variables)
    except (JobSyntaxError, JobSchemaError) as exc:
        return str(exc)
    except Exception as exc:  # promise: report, never raise
        return f"the job cannot be checked: {type(exc).__name__}: {exc}"
    return None
