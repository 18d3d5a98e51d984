"""Action bodies as the server's submission check reads them: open, with a few keys typed.

Only what LAVA types at submission is checked here; everything else in a body
is left to the full schema, whose complaints are warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any as TypingAny

from voluptuous import ALLOW_EXTRA, Any, Exclusive, Invalid, Match, Optional, Required, Schema

from .common import TIMEOUT_UNITS, non_empty_str
from .job import ACTION_KINDS
from .test import EXCEPTIONS

# Interactive and monitor names become result names; `$` lets one final newline through.
LABEL = r"^[-_a-zA-Z0-9]+$"
# Timeout units exclude each other.
UNIT_GROUP = "unit"


def loose_timeout() -> Schema:
    """A timeout as submission reads it: at most one unit (any integer), maybe ``skip``."""
    once = "a timeout uses only one of days, hours, minutes or seconds"
    return Schema(
        {
            **{Exclusive(unit, UNIT_GROUP, msg=once): int for unit in TIMEOUT_UNITS},
            Optional("skip"): bool,
        }
    )


def open_body(keys: dict[TypingAny, TypingAny]) -> Schema:
    """An action body: the given keys typed, anything else allowed."""
    return Schema({**keys, Optional("timeout"): loose_timeout()}, extra=ALLOW_EXTRA)


def deploy() -> Schema:
    # LAVA also types tftp's artefact URLs, but only as an alternative to this
    # looser form, which accepts everything that one does.
    return open_body({Required("to"): str})


def boot() -> Schema:
    auto_login = Schema(
        {
            Required("login_prompt"): str,
            Required("username"): str,
            Optional("password_prompt"): str,
            Optional("password"): str,
            Optional("login_commands"): list,
        }
    )
    return open_body(
        {
            Required("method"): str,
            Optional("auto_login"): auto_login,
            Optional("parameters"): Schema({str: Any(str, bool)}),
            Optional("commands"): Any(str, list),
        }
    )


def label() -> Match:
    return Match(LABEL, msg="names use letters, digits, '-' and '_' only")


def monitors() -> Schema:
    monitor = {
        Required("name"): label(),
        Required("start"): str,
        Required("end"): str,
        Required("pattern"): str,
        Optional("fixupdict"): dict,
        Optional("expected"): [str],
    }
    return open_body({Required("monitors"): Schema([monitor])})


def interactive() -> Schema:
    step = {
        Optional("name"): label(),
        Optional("command"): Any(None, str),
        Optional("delay"): int,
        **{Optional(f"lava-{verb}"): str for verb in ("send", "sync", "wait", "wait-all")},
        Optional("wait_for_prompt"): bool,
        Optional("failures"): [
            {
                Required("message"): str,
                Optional("exception"): Any(*EXCEPTIONS),
                Optional("error"): str,
            }
        ],
        Optional("successes"): [{Required("message"): str}],
    }
    script = {
        Required("name"): label(),
        Required("prompts"): [non_empty_str()],
        Optional("echo"): "discard",
        Optional("expected"): [non_empty_str()],
        Required("script"): [step],
    }
    return open_body({Required("interactive"): Schema([script])})


def definitions() -> Schema:
    inline = Schema({Optional(part): dict for part in ("metadata", "install", "run", "parse")})
    definition = {
        Required("repository"): Any(inline, str),
        Required("from"): str,
        Required("name"): str,
        Required("path"): str,
        Optional("parameters"): dict,
        Optional("timeout"): loose_timeout(),
    }
    return open_body({Required("definitions"): Schema([definition], extra=ALLOW_EXTRA)})


def services() -> Schema:
    service = {
        **{Required(key): str for key in ("name", "from", "repository", "path")},
        Optional("service"): str,
        Optional("timeout"): loose_timeout(),
    }
    return open_body({Required("services"): Schema([service], extra=ALLOW_EXTRA)})


def command() -> Schema:
    return open_body({Required("name"): str, Optional("namespace"): str})


def test() -> Callable[[TypingAny], TypingAny]:
    """Any of the four test forms will do; a refusal explains the form the body uses."""
    forms = {
        "monitors": monitors(),
        "interactive": interactive(),
        "definitions": definitions(),
        "services": services(),
    }

    def check(body: TypingAny) -> TypingAny:
        faults = []
        for key, form in forms.items():
            try:
                return form(body)
            except Invalid as exc:
                if isinstance(body, dict) and key in body:
                    faults.append(exc)
        if faults:
            raise faults[0]
        raise Invalid("a test has definitions, interactive, monitors or services")

    return check


def action() -> dict[TypingAny, TypingAny]:
    bodies = (deploy(), boot(), test(), command())
    # every kind is optional: LAVA's submission check accepts an empty action
    return {Optional(kind): body for kind, body in zip(ACTION_KINDS, bodies, strict=True)}
