"""How the Django admin changes the lab: through the services, as ``Actor(user, "admin")``.

The admin's forms show state and health read-only; they change through the
actions made here, which call a service for each selected object and report
each outcome. Deleting goes through the services too (``ServiceDeletes``): a
refusal deletes nothing and says why. So do the add and change forms
(``ServiceSaves``): each admin says which service saves its model and its
inlines; a refusal saves nothing and says why.
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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the lab writes itself (results, health history, favourites): looked at in the
    admin, never added, changed or deleted there."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """Django's list of what goes with the objects, without its own permission check on
        each related row (a job's results, say, which nobody deletes one by one): whether
        the deletion may happen is the service's decision."""
        deleted, counts, _, protected = super().get_deleted_objects(  # type: ignore[misc]
            objs, request
        )
        return deleted, counts, set(), protected

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


class ServiceSaves:
    """A model admin mixin: the add and change forms save through ``save_one(actor, obj,
    form, change)`` and each inline's rows through ``save_rows(actor, obj, formset)``,
    never with Django's own save; a refusal saves nothing (the page's transaction rolls
    back) and leads back to the form, saying why."""

    model: type[models.Model]
    admin_site: admin.AdminSite
    message_user: Callable[..., None]

    def save_one(self, actor: Actor, obj: Any, form: Any, change: bool) -> None:
        raise NotImplementedError

    def save_rows(self, actor: Actor, obj: Any, formset: Any) -> None:
        raise NotImplementedError(f"no service saves the rows of {formset.model.__name__}")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.save_one(admin_actor(request), obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        actor = admin_actor(request)
        for formset in formsets:
            self.save_rows(actor, form.instance, formset)
            # what Django's change message reads of a formset it saved itself
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(  # type: ignore[misc]
                request, object_id, form_url, extra_context
            )
        except ServiceError as exc:
            self.message_user(request, f"Nothing was saved: {exc}", messages.ERROR)
            meta = self.model._meta
            if object_id is None:
                page = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
            else:
                page = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[object_id])
            return HttpResponseRedirect(page)


def changed_rows(formset: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows an inline formset takes away and puts in, as their fields' values (a changed
    row is both: its old values go, its new ones come)."""
    gone, new = [], []
    for form in formset.forms:
        if not form.has_changed() and form not in formset.deleted_forms:
            continue
        if form in formset.initial_forms:  # a row that was there: its old values go
            gone.append({name: form.initial.get(name) for name in form.fields})
        if form not in formset.deleted_forms and form.is_valid():
            new.append(dict(form.cleaned_data))
    return gone, new
