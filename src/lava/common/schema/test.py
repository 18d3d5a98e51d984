"""Test actions: definitions (optionally in docker), interactive scripts, monitors, services.

``FORMS`` maps each form's name to its schema; ``select_form`` says which form a
test block uses, in the order LAVA looks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any as TypingAny

from voluptuous import Any, Optional, Required

from .common import Spec, action_keys, docker, non_empty_str, safe_name
from .testdef import RESULTS, testdef

SKIP_INSTALL = ("keys", "sources", "deps", "steps", "git-repos", "all")
EXCEPTIONS = ("InfrastructureError", "JobError", "TestError")


def definition_keys() -> Spec:
    """Keys of every test definition, wherever it comes from."""
    return {
        Required("path"): str,
        Required("name"): safe_name(),
        Optional("skip_install"): [Any(*SKIP_INSTALL)],
        Optional("lava-signal"): Any("kmsg", "stdout"),
        Optional("expected"): [str],
    }


def git_keys() -> Spec:
    return {
        Optional("branch"): str,
        Optional("history"): bool,
        Optional("revision"): str,
        Optional("recursive"): bool,
    }


def tarball_keys() -> Spec:
    return {Optional("compression"): str, Optional("headers"): dict}


def definition() -> Spec:
    params = {Optional("parameters"): dict, Optional("params"): dict}
    source = {Required("repository"): str, **params, **definition_keys()}
    return {
        **action_keys(),
        Required("definitions"): [
            Any(
                {Required("from"): "git", **git_keys(), **source},
                {
                    Required("from"): "url",
                    **tarball_keys(),
                    Optional("strip-components"): int,
                    **source,
                },
                {
                    Required("from"): "inline",
                    Required("repository"): testdef(),
                    **definition_keys(),
                },
            )
        ],
    }


def docker_definition() -> Spec:
    """Definitions run by a test shell inside a container on the worker."""
    return {
        **definition(),
        Required("docker"): docker(),
        Optional("downloads-namespace"): str,
        Optional("disconnect_connection"): bool,
    }


def script_step() -> Spec:
    return {
        Optional("command"): Any(str, None),
        Optional("delay"): int,
        Optional("lava-send"): str,
        Optional("lava-sync"): str,
        Optional("lava-wait"): str,
        Optional("lava-wait-all"): str,
        Optional("name"): safe_name(),
        Optional("wait_for_prompt"): bool,
        Optional("successes"): [{Required("message"): non_empty_str()}],
        Optional("failures"): [
            {
                Required("message"): non_empty_str(),
                Optional("exception"): Any(*EXCEPTIONS),
                Optional("error"): non_empty_str(),
            }
        ],
    }


def interactive() -> Spec:
    return {
        **action_keys(),
        Required("interactive"): [
            {
                Required("name"): safe_name(),
                Required("prompts"): [non_empty_str()],
                Optional("echo"): "discard",
                Optional("expected"): [non_empty_str()],
                Required("script"): [script_step()],
            }
        ],
    }


def monitor() -> Spec:
    return {
        **action_keys(),
        Required("monitors"): [
            {
                Required("name"): safe_name(),
                Required("start"): str,
                Required("end"): str,
                Required("pattern"): str,
                Optional("fixupdict"): {str: Any(*RESULTS)},
                Optional("expected"): [str],
            }
        ],
    }


def service() -> Spec:
    common = {
        Required("name"): safe_name(),
        Required("repository"): str,
        Required("path"): str,
        Optional("service"): str,
    }
    return {
        **action_keys(),
        Required("services"): [
            Any(
                {Required("from"): "git", **git_keys(), **common},
                {Required("from"): "url", **tarball_keys(), **common},
            )
        ],
    }


FORMS: dict[str, Callable[[], TypingAny]] = {
    "definition": definition,
    "docker": docker_definition,
    "interactive": interactive,
    "monitor": monitor,
    "service": service,
}


def select_form(body: dict[str, TypingAny]) -> str | None:
    """The form a test block uses, or None when it has none of the form keys."""
    if "definitions" in body:
        return "docker" if "docker" in body else "definition"
    for key, form in (("interactive", "interactive"), ("monitors", "monitor")):
        if key in body:
            return form
    return "service" if "services" in body else None
