"""``system.*``: version, identity, introspection, and who may see or submit what."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from django.contrib.auth.models import User

import lava

from ....scheduler import permissions
from ....scheduler.models import Device, DeviceType, TestJob
from ....scheduler.states import DeviceHealth
from ....services import accounts
from ..registry import BAD_PARAMS, METHODS, NO_METHOD, Call, method, run

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


def _on_behalf(call: Call, username: str | None) -> User:
    """The caller, or with ``username`` that user (a question only superusers may ask)."""
    user = call.need_user()
    if username in (None, "") or username == user.get_username():
        return user
    call.need_superuser()
    other = User.objects.filter(username=str(username)).first()
    if other is None:
        raise Fault(404, f"User '{username}' does not exist")
    return other


def _names(value: Any, what: str) -> list[str]:
    if not isinstance(value, list):
        raise Fault(400, f"the {what} argument must be a list")
    return [str(item) for item in value]


@method("system.user_can_view_jobs", ["struct", "array", "str"])
def user_can_view_jobs(
    call: Call, job_ids: list[int], username: str | None = None
) -> dict[str, bool]:
    """For each existing job id, whether the caller (or, for superusers, ``username``) sees it."""
    user = _on_behalf(call, username)
    try:
        wanted = {int(job_id) for job_id in _names(job_ids, "job list")}
    except ValueError:
        raise Fault(400, "job ids must be numbers") from None
    visible = set(permissions.visible_jobs(user).filter(pk__in=wanted).values_list("pk", flat=True))
    existing = set(TestJob.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    return {str(job_id): job_id in visible for job_id in sorted(existing)}


@method("system.user_can_view_devices", ["struct", "array", "str"])
def user_can_view_devices(
    call: Call, hostnames: list[str], username: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """By device type, whether the user may see each existing device that is not retired."""
    user = _on_behalf(call, username)
    wanted = _names(hostnames, "device list")
    devices = Device.objects.filter(hostname__in=wanted).exclude(health=DeviceHealth.RETIRED)
    visible = set(
        permissions.visible_devices(user)
        .filter(hostname__in=wanted)
        .values_list("hostname", flat=True)
    )
    answer: dict[str, list[dict[str, Any]]] = {}
    for hostname, device_type in devices.order_by("hostname").values_list(
        "hostname", "device_type_id"
    ):
        seen = hostname in visible
        entry = (
            {"visible": True, "is_pipeline": True, "exclusive": True}
            if seen
            else {"visible": False}
        )
        answer.setdefault(device_type, []).append({hostname: entry})
    return answer


@method("system.user_can_submit_to_types", ["struct", "array", "str"])
def user_can_submit_to_types(
    call: Call, names: list[str], username: str | None = None
) -> dict[str, bool]:
    """For each existing device type, whether the user may submit jobs to it."""
    user = _on_behalf(call, username)
    wanted = _names(names, "type list")
    allowed = set(
        permissions.submittable_device_types(user)
        .filter(name__in=wanted)
        .values_list("name", flat=True)
    )
    existing = DeviceType.objects.filter(name__in=wanted).values_list("name", flat=True)
    return {name: name in allowed for name in existing.order_by("name")}


@method("system.set_user_groups", ["undef", "str", "array"])
def set_user_groups(call: Call, email: str, groups: list[str]) -> None:
    """Make the groups of the user with that e-mail address exactly these (staff only)."""
    accounts.set_groups(call.actor, str(email), _names(groups, "groups"))
