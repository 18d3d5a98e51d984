"""No interface writes a model: every change of the lab goes through ``lava.server.services``.

Interfaces (XML-RPC, REST, ``lava-server manage``, the Django admin, the web
pages) only parse, call a service and translate. This reads their source and
fails on any call that writes through the ORM, naming the file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "src" / "lava" / "server"
INTERFACES = [
    SERVER / "api",
    SERVER / "scheduler" / "management",
    SERVER / "scheduler" / "admin.py",
    SERVER / "scheduler" / "admin_actions.py",
    SERVER / "scheduler" / "internal" / "views.py",
    SERVER / "results" / "admin.py",
    SERVER / "web",
]
# a model's own writes, and a queryset's or manager's
WRITES = {
    "save",
    "delete",
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
    "set_password",
    "set_unusable_password",
}
# a many-to-many manager's writes, and a queryset's update: the names are common
# (dict.update, set.add), so they count only on something that looks like a manager
MANAGER_WRITES = {"update", "add", "remove", "set", "clear"}
MANAGERS = {"objects", "groups", "user_permissions", "permissions", "tags", "user_set"}


def modules() -> Iterator[Path]:
    for place in INTERFACES:
        if place.is_file():
            yield place
        elif place.is_dir():
            yield from sorted(place.rglob("*.py"))


def _names_in(node: ast.AST) -> set[str]:
    """The attribute and variable names along a receiver (``User.objects.filter(...)``)."""
    found = set()
    for each in ast.walk(node):
        if isinstance(each, ast.Attribute):
            found.add(each.attr)
        elif isinstance(each, ast.Name):
            found.add(each.id)
    return found


def writes(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, receiver = node.func.attr, node.func.value
        if name in WRITES or (name in MANAGER_WRITES and _names_in(receiver) & MANAGERS):
            where = path.relative_to(SERVER.parents[1])
            yield f"{where}:{node.lineno}: .{name}() writes a model: call a service instead"


def test_the_scan_sees_the_interfaces() -> None:
    found = list(modules())
    assert len(found) > 30, found
    assert any(p.name == "devices.py" and "xmlrpc" in p.parts for p in found)


def test_no_interface_writes_a_model() -> None:
    found = [line for path in modules() for line in writes(path)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "Tag.objects.filter(name=n).delete()",
        "device.save()",
        "user.groups.add(group)",
        "AuthToken.objects.filter(pk=1).update(last_used_on=now)",
        "Group.objects.get_or_create(name=n)",
    ],
)
def test_the_scan_finds_a_write(tmp_path: Path, source: str, monkeypatch) -> None:
    module = SERVER / "api" / "written.py"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert list(writes(module)), source


@pytest.mark.parametrize("source", ["row.update(a=1)", "seen.add(x)", "names.remove(y)"])
def test_a_dict_or_set_is_not_a_model(source: str, monkeypatch) -> None:
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert not list(writes(SERVER / "api" / "plain.py"))


def test_every_admin_page_saves_through_a_service_or_not_at_all() -> None:
    """Django's admin saves a form with ``Model.save()`` unless told otherwise: each of
    ours is either a ``ServiceSaves`` or lets no one add or change (superusers included)."""
    from django.contrib import admin
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    from lava.server.scheduler.admin_actions import ServiceSaves

    request = RequestFactory().get("/admin/")
    request.user = User(username="root", is_superuser=True, is_active=True)
    found = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ("scheduler", "results", "auth"):
            continue
        if isinstance(model_admin, ServiceSaves):
            continue
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request):
            found.append(f"{model.__name__}: {type(model_admin).__name__} saves with Django's own")
    assert found == [], "\n".join(found)
    assert len(admin.site._registry) >= 12
