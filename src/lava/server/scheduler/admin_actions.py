"""How the Django admin changes the lab: through the services, as ``Actor(user, "admin")``.

The admin's forms show state and health read-only; they change through the
actions made here, which call a service for each selected object and report
each outcome. Deleting goes through the services too (``ServiceDeletes``): a
refusal deletes nothing and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from ..services import Actor, ServiceError

VIA = "admin"

Action = Callable[[Any, HttpRequest, Any], None]


def admin_actor(request: HttpRequest) -> Actor:
    """The signed-in admin user, as the services know them."""
    return Actor(request.user, VIA)


def for_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[models.Model],
    change: Callable[[Actor, Any], object],
    done: str,
) -> None:
    """``change(actor, obj)`` for each object in turn, with a message for each: ``done``,
    or why the service refused (that object is left as it was, the others still change)."""
    actor = admin_actor(request)
    for obj in objects:
        try:
            change(actor, obj)
        except ServiceError as exc:  # the one place an admin action reports a refusal
            model_admin.message_user(request, f"{obj}: {exc}", messages.ERROR)
        else:
            model_admin.message_user(request, f"{obj}: {done}", messages.SUCCESS)


def health_action(health: models.IntegerChoices, update: Callable[..., object]) -> Action:
    """An admin action setting each selected object's health to ``health`` through
    ``update(actor, hostname, health=..., reason=...)`` (the service's transition logs it)."""
    label = str(health.label)
    reason = f"health set to {label} in the Django admin"

    def action(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
        def change(actor: Actor, obj: Any) -> object:
            return update(actor, obj.hostname, health=int(health), reason=reason)

        for_each(model_admin, request, queryset, change, f"health {label}")

    action.__name__ = f"set_health_{health.name.lower()}"
    return admin.action(description=f"Set health to {label}")(action)


def service_action(name: str, description: str, change: Callable[[Actor, Any], object]) -> Action:
    """An admin action calling ``change(actor, obj)`` for each selected object."""

    def action(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
        for_each(model_admin, request, queryset, change, "done")

    action.__name__ = name
    return admin.action(description=description)(action)


class ServiceDeletes:
    """A model admin mixin: deleting one object, or the selected ones, goes through
    ``delete_one(actor, obj)`` (a service); a refusal deletes nothing and says why."""

    model: type[models.Model]
    admin_site: admin.AdminSite
    message_user: Callable[..., None]

    def delete_one(self, actor: Actor, obj: Any) -> None:
        raise NotImplementedError

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_one(admin_actor(request), obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        actor = admin_actor(request)
        for obj in queryset:
            self.delete_one(actor, obj)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        """Django's page, which runs in a transaction: a refusal rolls it back (its log
        entry too) and leads back to the object's page, saying why."""
        try:
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        except ServiceError as exc:
            self.message_user(request, f"Nothing was deleted: {exc}", messages.ERROR)
            meta = self.model._meta
            page = f"admin:{meta.app_label}_{meta.model_name}_change"
            return HttpResponseRedirect(
                reverse(page, args=[object_id], current_app=self.admin_site.name)
            )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        if "delete_selected" in actions:
            _, name, description = actions["delete_selected"]
            actions["delete_selected"] = (type(self).delete_checked, name, description)
        return actions

    def delete_checked(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """Django's "delete selected", all or none: one refusal deletes none of them
        (None: back to the list, with why)."""
        try:
            with transaction.atomic():
                return delete_selected(self, request, queryset)  # type: ignore[arg-type]
        except ServiceError as exc:
            self.message_user(request, f"Nothing was deleted: {exc}", messages.ERROR)
            return None
