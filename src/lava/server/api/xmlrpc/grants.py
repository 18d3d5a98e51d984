"""``<namespace>.perms_add|perms_delete|perms_list`` and LAVA's older
``system.assign_perm_*``/``system.revoke_perm_*``: the same three methods for devices
and device types, each calling ``services.group_permissions``."""

from __future__ import annotations

from ...services import group_permissions
from ...services.group_permissions import Target
from .registry import Call, method


def register_group_permissions(namespace: str, system: str, target: Target) -> None:
    """Register the group-permission methods of ``namespace`` (``scheduler.devices``);
    ``system`` is the suffix of ``system.assign_perm_<system>``."""

    def add(call: Call, name: str, group: str, permission: str) -> None:
        group_permissions.grant(call.actor, target, str(name), str(group), str(permission))

    def delete(call: Call, name: str, group: str, permission: str) -> None:
        group_permissions.revoke(call.actor, target, str(name), str(group), str(permission))

    def listing(call: Call, name: str) -> list[dict[str, str]]:
        return group_permissions.listing(call.actor, target, str(name))

    # LAVA's older spelling of add and delete, arguments in another order
    def assign(call: Call, permission: str, name: str, group: str) -> None:
        add(call, name, group, permission)

    def revoke(call: Call, permission: str, name: str, group: str) -> None:
        delete(call, name, group, permission)

    add.__doc__ = f"Give a group a permission on a {target.model} (it is then restricted)."
    delete.__doc__ = f"Take a group's permission on a {target.model} away."
    listing.__doc__ = f"The group permissions on a {target.model}."
    assign.__doc__ = f"Grant a group a permission (e.g. view_{target.model}) on a {target.model}."
    revoke.__doc__ = f"Revoke a group's permission on a {target.model}."
    method(f"{namespace}.perms_add", ["undef", "str", "str", "str"])(add)
    method(f"{namespace}.perms_delete", ["undef", "str", "str", "str"])(delete)
    method(f"{namespace}.perms_list", ["array", "str"])(listing)
    method(f"system.assign_perm_{system}", ["undef", "str", "str", "str"])(assign)
    method(f"system.revoke_perm_{system}", ["undef", "str", "str", "str"])(revoke)
