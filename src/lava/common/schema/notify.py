"""The ``notify`` block: when to tell whom (email, IRC) and which URLs to call back."""

from __future__ import annotations

from voluptuous import Any, Exclusive, Optional, Required

from .common import Spec

JOB_STATES = ("finished", "running", "complete", "canceled", "incomplete")


def callback() -> Spec:
    return {
        Required("url"): str,
        Optional("method"): Any("GET", "POST"),
        Optional("token"): str,
        Optional("header"): str,
        Optional("dataset"): Any("minimal", "logs", "results", "all"),
        Optional("content-type"): Any("json", "urlencoded"),
    }


def criteria() -> Any:
    # `all` stands alone; regression/progression only make sense for finished jobs.
    return Any(
        {Required("status"): "all"},
        {Required("status"): Any(*JOB_STATES), Optional("dependency_query"): str},
        {
            Required("status"): Any("complete", "incomplete"),
            Optional("type"): Any("regression", "progression"),
        },
    )


def recipient() -> Spec:
    return {
        Required("to"): {
            Required("method"): Any("email", "irc"),
            Optional("user"): str,
            Optional("email"): str,
            Optional("handle"): str,
            Optional("server"): str,
        }
    }


def compare() -> Spec:
    return {
        Optional("blacklist"): [str],
        Optional("query"): Any(
            {Required("username"): str, Required("name"): str},
            {Required("entity"): str, Optional("conditions"): {str: str}},
        ),
    }


def notify() -> Spec:
    """Schema of the top-level ``notify`` mapping."""
    return {
        Required("criteria"): criteria(),
        Optional("verbosity"): Any("verbose", "quiet", "status-only"),
        Optional("recipients"): [recipient()],
        # one callback or a list of them, never both
        Exclusive("callback", "callback"): callback(),
        Exclusive("callbacks", "callback"): [callback()],
        Optional("compare"): compare(),
    }
