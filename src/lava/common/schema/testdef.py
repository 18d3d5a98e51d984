"""A Lava-Test test definition, as written inline in a job (``from: inline``)."""

from __future__ import annotations

from typing import Any as TypingAny

from voluptuous import ALLOW_EXTRA, Any, Invalid, Match, Optional, Required, Schema

from .common import Spec
from .errors import JobSchemaError, format_path

RESULTS = ("pass", "fail", "skip", "unknown")


def testdef() -> Spec:
    """The keys of a test definition file: metadata, install, run, parse."""
    return {
        Required("metadata"): {
            Required("format"): "Lava-Test Test Definition 1.0",
            Required("name"): str,
            Optional("description"): str,
            Optional("environment"): [str],
            Optional("devices"): [str],
            Optional("maintainer"): [str],
            Optional("scope"): [str],
            Optional("os"): [str],
        },
        Optional("install"): {
            Optional("deps"): [str],
            # per-distribution package lists: deps-debian, deps-fedora, ...
            Optional(Match(r"deps-.+")): [str],
            Optional("git-repos"): [
                Any(
                    str,
                    {
                        Optional("url"): str,
                        Optional("branch"): str,
                        Optional("destination"): str,
                    },
                )
            ],
            Optional("keys"): [str],
            Optional("steps"): [str],
            Optional("sources"): [str],
        },
        Optional("parameters"): dict,
        Optional("params"): dict,
        Optional("parse"): {Optional("fixupdict"): {str: Any(*RESULTS)}},
        Optional("run"): {Required("steps"): [str]},
        Optional("expected"): [str],
    }


def validate_testdef(data: TypingAny) -> None:
    """Check a test definition file's mapping (other keys allowed); ``JobSchemaError`` if not."""
    try:
        Schema(testdef(), extra=ALLOW_EXTRA)(data)
    except Invalid as exc:
        raise JobSchemaError(exc.msg, format_path(exc.path)) from None
