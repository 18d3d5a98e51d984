"""``system.*``: version, identity and introspection."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

import lava

from ....scheduler import permissions
from ....scheduler.models import TestJob
from ..registry import BAD_PARAMS, METHODS, NO_METHOD, Call, method

Fault = xmlrpc.client.Fault


@method("system.version", ["str"])
def version(call: Call) -> str:
    """The server's version, e.g. "2026.11"; lavacli reads it before every command."""
    return lava.__version__


@method("system.api_version", ["int"])
def api_version(call: Call) -> int:
    """The XML-RPC API's version: 2, as LAVA's."""
    return 2


@method("system.whoami", ["str"])
def whoami(call: Call) -> str | None:
    """The name of the user the token belongs to; None when anonymous."""
    return call.user.get_username() if call.signed_in else None


@method("system.listMethods", ["array"])
def list_methods(call: Call) -> list[str]:
    """The names of every method."""
    return sorted(METHODS)


def _found(name: Any) -> Any:
    found = METHODS.get(str(name))
    if found is None:
        raise Fault(NO_METHOD, f"Unknown method {name!r}")
    return found


@method("system.methodHelp", ["str", "str"])
def method_help(call: Call, name: str) -> str:
    """What the method does."""
    return _found(name).help


@method("system.methodSignature", ["array", "str"])
def method_signature(call: Call, name: str) -> list[list[str]] | str:
    """The method's return and parameter types, as XML-RPC type names."""
    signature = _found(name).signature
    return "undef" if signature == ["undef"] else [signature]


@method("system.getCapabilities", ["struct"])
def get_capabilities(call: Call) -> dict[str, Any]:
    """The XML-RPC specifications this server follows."""
    return {
        "xmlrpc": {"specUrl": "http://www.xmlrpc.com/spec", "specVersion": 1},
        "introspect": {
            "specUrl": "http://xmlrpc-c.sourceforge.net/xmlrpc-c/introspection.html",
            "specVersion": 1,
        },
        "faults_interop": {
            "specUrl": "http://xmlrpc-epi.sourceforge.net/specs/rfc.fault_codes.php",
            "specVersion": 20010516,
        },
    }


@method("system.multicall", ["array", "array"])
def multicall(call: Call, calls: list[dict[str, Any]]) -> list[Any]:
    """Several calls in one request; each answer is ``[result]`` or a fault struct."""
    from ..view import run

    answers: list[Any] = []
    for entry in calls:
        try:
            if not isinstance(entry, dict) or "methodName" not in entry:
                raise Fault(BAD_PARAMS, "each call is a struct with methodName and params")
            if entry["methodName"] == "system.multicall":
                raise Fault(BAD_PARAMS, "system.multicall cannot be nested")
            answers.append([run(str(entry["methodName"]), tuple(entry.get("params") or ()), call)])
        except Fault as fault:
            answers.append({"faultCode": fault.faultCode, "faultString": fault.faultString})
    return answers


@method("system.user_can_view_jobs", ["struct", "array", "str"])
def user_can_view_jobs(call: Call, job_ids: list[int], username: str) -> dict[str, bool]:
    """For each job id, whether that user may see the job (superusers only)."""
    from django.contrib.auth.models import User

    call.need_superuser()
    user = User.objects.filter(username=username).first()
    if user is None:
        raise Fault(404, f"User '{username}' does not exist")
    wanted = {int(job_id) for job_id in job_ids}
    visible = set(permissions.visible_jobs(user).filter(pk__in=wanted).values_list("pk", flat=True))
    existing = set(TestJob.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    return {str(job_id): job_id in visible for job_id in sorted(existing)}
