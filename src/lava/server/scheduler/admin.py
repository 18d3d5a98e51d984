"""Django admin pages for every scheduler model.

State and health are read-only in every form: they change through the admin
actions, which call the services (``admin_actions``). Devices, workers, tags,
device types, aliases and group permissions are added and changed through the
services too, and like jobs, users and groups deleted through them. Jobs are
read-only but for their actions (cancel, fail): they are submitted, not edited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import GroupAdmin, UserAdmin, sensitive_post_parameters_m
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from ..services import (
    Actor,
    accounts,
    device_types,
    devices,
    group_permissions,
    jobs,
    tags,
    tokens,
    workers,
)
from ..services.errors import Invalid, ServiceError
from . import permissions
from .admin_actions import (
    ReadOnlyAdmin,
    ServiceDeletes,
    ServiceSaves,
    admin_actor,
    changed_rows,
    health_action,
    service_action,
)
from .definitions import shown
from .models import (
    Alias,
    AuthToken,
    Device,
    DeviceType,
    FavoriteJob,
    GroupDevicePermission,
    GroupDeviceTypePermission,
    HealthChange,
    Notification,
    Tag,
    TestJob,
    Worker,
)
from .states import DeviceHealth, JobState, WorkerHealth


class AliasInline(admin.TabularInline):
    model = Alias
    extra = 0


class DeviceTypePermissionInline(admin.TabularInline):
    model = GroupDeviceTypePermission
    extra = 0


def _name(model: Any, value: Any) -> str:
    """The name of a row an inline form holds, by instance or by primary key."""
    found = value if isinstance(value, model) else model.objects.get(pk=value)
    return str(found.name)


def _save_permissions(actor: Actor, target: Any, name: str, formset: Any) -> None:
    """An inline of group permissions, row by row through the service."""
    gone, new = changed_rows(formset)
    for row in gone:
        group = _name(Group, row["group"])
        group_permissions.revoke(actor, target, name, group, row["permission"])
    for row in new:
        group = _name(Group, row["group"])
        group_permissions.grant(actor, target, name, group, row["permission"])


@admin.register(DeviceType)
class DeviceTypeAdmin(ServiceSaves, ServiceDeletes, admin.ModelAdmin):
    list_display = ("name", "health_frequency", "health_denominator", "display")
    list_filter = ("display", "disable_health_check")
    search_fields = ("name", "description")
    inlines = (AliasInline, DeviceTypePermissionInline)

    def get_readonly_fields(self, request: HttpRequest, obj: DeviceType | None = None) -> Any:
        return ("name",) if obj is not None else ()

    def save_one(self, actor: Actor, obj: DeviceType, form: Any, change: bool) -> None:
        fields = {
            "health_frequency": obj.health_frequency,
            "health_denominator": obj.health_denominator,
            "display": obj.display,
            "description": obj.description,
        }
        if change:
            device_types.update_device_type(
                actor, obj.name, disable_health_check=obj.disable_health_check, **fields
            )
            return
        device_types.add_device_type(actor, obj.name, require_template=False, **fields)
        if obj.disable_health_check:
            device_types.update_device_type(actor, obj.name, disable_health_check=True)

    def save_rows(self, actor: Actor, obj: DeviceType, formset: Any) -> None:
        if formset.model is GroupDeviceTypePermission:
            _save_permissions(actor, group_permissions.DEVICE_TYPE, obj.name, formset)
            return
        gone, new = changed_rows(formset)  # aliases
        for row in gone:
            device_types.remove_alias(actor, row["name"], obj.name)
        for row in new:
            device_types.add_alias(actor, row["name"], obj.name)

    def delete_one(self, actor: Actor, obj: DeviceType) -> None:
        device_types.delete_device_type(actor, obj.name)

    def get_queryset(self, request: HttpRequest) -> Any:  # staff see what they may see
        return super().get_queryset(request) & permissions.visible_device_types(request.user)


@admin.register(Alias)
class AliasAdmin(ServiceSaves, ServiceDeletes, admin.ModelAdmin):
    list_display = ("name", "device_type")

    def has_change_permission(self, request: HttpRequest, obj: Alias | None = None) -> bool:
        return False  # an alias is added or removed, not renamed

    def save_one(self, actor: Actor, obj: Alias, form: Any, change: bool) -> None:
        device_types.add_alias(actor, obj.name, obj.device_type_id)

    def delete_one(self, actor: Actor, obj: Alias) -> None:
        device_types.remove_alias(actor, obj.name, obj.device_type_id)

    def get_queryset(self, request: HttpRequest) -> Any:
        visible = permissions.visible_device_types(request.user)
        return super().get_queryset(request).filter(device_type__in=visible)


class DevicePermissionInline(admin.TabularInline):
    model = GroupDevicePermission
    extra = 0


@admin.register(Device)
class DeviceAdmin(ServiceSaves, ServiceDeletes, admin.ModelAdmin):
    list_display = ("hostname", "device_type", "worker_host", "state", "health")
    list_filter = ("device_type", "state", "health", "worker_host")
    search_fields = ("hostname", "description")
    filter_horizontal = ("tags",)
    fields = (
        "hostname",
        "device_type",
        "worker_host",
        "description",
        "physical_owner",
        "physical_group",
        "tags",
        "state",
        "health",
        "last_health_report_job",
    )
    # a new device starts Idle, in Maintenance; its health job is the scheduler's to set
    readonly_fields = ("state", "health", "last_health_report_job")
    inlines = (DevicePermissionInline,)
    actions = tuple(health_action(health, devices.update_device) for health in DeviceHealth)

    def get_readonly_fields(self, request: HttpRequest, obj: Device | None = None) -> Any:
        fixed = ("hostname", "device_type") if obj is not None else ()
        return (*fixed, *self.readonly_fields)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request) & permissions.visible_devices(request.user)

    def save_one(self, actor: Actor, obj: Device, form: Any, change: bool) -> None:
        people = {
            "physical_user": obj.physical_owner.username if obj.physical_owner else None,
            "physical_group": obj.physical_group.name if obj.physical_group else None,
            "tags": [tag.name for tag in form.cleaned_data.get("tags", ())],
            "description": obj.description,
        }
        if change:
            devices.update_device(actor, obj.hostname, worker=obj.worker_host_id, **people)
            return
        if obj.worker_host_id is None:
            raise Invalid("a new device needs a worker")
        devices.add_device(
            actor,
            obj.hostname,
            device_type=obj.device_type_id,
            worker=obj.worker_host_id,
            online=False,
            **people,
        )

    def save_rows(self, actor: Actor, obj: Device, formset: Any) -> None:
        _save_permissions(actor, group_permissions.DEVICE, obj.hostname, formset)

    def delete_one(self, actor: Actor, obj: Device) -> None:
        devices.delete_device(actor, obj.hostname)


@admin.register(Worker)
class WorkerAdmin(ServiceSaves, ServiceDeletes, admin.ModelAdmin):
    list_display = ("hostname", "state", "health", "last_ping", "job_limit", "version")
    list_filter = ("state", "health")
    search_fields = ("hostname", "description")
    fields = ("hostname", "description", "job_limit", "state", "health", "last_ping", "version")
    # a new worker starts Offline (until it pings), Active; its token: manage workers update
    readonly_fields = ("state", "health", "last_ping", "version")
    actions = tuple(health_action(health, workers.update_worker) for health in WorkerHealth)

    def get_readonly_fields(self, request: HttpRequest, obj: Worker | None = None) -> Any:
        return (("hostname",) if obj is not None else ()) + self.readonly_fields

    def save_one(self, actor: Actor, obj: Worker, form: Any, change: bool) -> None:
        fields = {"description": obj.description, "job_limit": obj.job_limit}
        if change:
            workers.update_worker(actor, obj.hostname, **fields)
        else:
            workers.add_worker(actor, obj.hostname, **fields)

    def delete_one(self, actor: Actor, obj: Worker) -> None:
        workers.delete_worker(actor, obj.hostname)


@admin.register(Tag)
class TagAdmin(ServiceSaves, ServiceDeletes, admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)

    def get_readonly_fields(self, request: HttpRequest, obj: Tag | None = None) -> Any:
        return ("name",) if obj is not None else ()

    def save_one(self, actor: Actor, obj: Tag, form: Any, change: bool) -> None:
        if change:
            tags.describe_tag(actor, obj.name, obj.description)
        else:  # the admin goes on to the new row's page: it needs its id
            obj.pk = tags.create_tag(actor, obj.name, obj.description).pk

    def delete_one(self, actor: Actor, obj: Tag) -> None:
        tags.delete_tag(actor, obj.name)


def _shown_field(name: str) -> Any:
    """A read-only admin field: the job's ``name`` as the service shows it to the viewer."""

    @admin.display(description=name.replace("_", " "))
    def field(model_admin: admin.ModelAdmin, job: TestJob) -> Any:
        # set by get_object for this request; without it, as to an anonymous visitor
        fields = getattr(job, "shown_to_viewer", None) or shown(job, None)
        return fields[name]

    return field


def _cancel(actor: Actor, job: TestJob) -> object:
    return jobs.cancel_job(actor, job)  # logged as "canceled (by NAME over admin)"


def _fail(actor: Actor, job: TestJob) -> object:
    return jobs.fail_job(actor, job)  # "failed: the job was stuck (by NAME over admin)"


@admin.register(TestJob)
class TestJobAdmin(ServiceDeletes, admin.ModelAdmin):
    list_display = (
        "id",
        "description",
        "submitter",
        "requested_device_type",
        "actual_device",
        "state",
        "health",
        "priority",
        "submit_time",
    )
    list_filter = ("state", "health", "health_check", "requested_device_type")
    search_fields = ("description",)
    raw_id_fields = ("submitter", "actual_device", "requested_device")
    # definitions and metadata as the service shows them: secrets masked for all but
    # the submitter and superusers (and metadata not edited here, as masked text)
    exclude = ("metadata", "token")  # the token is the worker's, for this job's API calls
    readonly_fields = (
        "state",
        "health",
        "shown_definition",
        "shown_original_definition",
        "shown_multinode_definition",
        "shown_metadata",
    )
    actions = (
        service_action("cancel", "Cancel (queued: Canceled; started: Canceling)", _cancel),
        service_action("fail", "Fail a stuck job (Incomplete; its device is freed)", _fail),
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request) & permissions.visible_jobs(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are submitted (APIs, manage jobs submit), not made here

    def has_change_permission(self, request: HttpRequest, obj: TestJob | None = None) -> bool:
        return False  # shown, not edited: they change through the actions (cancel, fail)

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        job = super().get_object(request, object_id, from_field)
        if job is not None:  # on the object: this admin serves every request at once
            job.shown_to_viewer = shown(job, request.user)
        return job

    shown_definition = _shown_field("definition")
    shown_original_definition = _shown_field("original_definition")
    shown_multinode_definition = _shown_field("multinode_definition")
    shown_metadata = _shown_field("metadata")

    # Deleting goes through the service `manage jobs rm` uses: rows, results and the
    # job's log directory go together, and only finished jobs may go.

    def has_delete_permission(self, request: HttpRequest, obj: TestJob | None = None) -> bool:
        if obj is not None and obj.state != JobState.FINISHED:
            return False  # a job still queued or running: cancel it first
        return super().has_delete_permission(request, obj)

    def delete_one(self, actor: Actor, obj: TestJob) -> None:
        jobs.remove_jobs(actor, [obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        jobs.remove_jobs(admin_actor(request), queryset)


@admin.register(AuthToken)
class AuthTokenAdmin(ServiceDeletes, admin.ModelAdmin):
    """Tokens are made by their users (``POST /api/v0.2/token/``) or at the console
    (``manage tokens add``); here they are looked at and removed."""

    list_display = ("id", "user", "description", "created_on", "last_used_on")
    search_fields = ("user__username", "description")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False

    def delete_one(self, actor: Actor, obj: AuthToken) -> None:
        tokens.remove_tokens(actor, [obj.pk])


@admin.register(HealthChange)
class HealthChangeAdmin(ReadOnlyAdmin):
    """Every health change of a device or worker, with who made it and why: the history
    the device and worker pages show. Kept as written."""

    list_display = ("time", "kind", "name", "old", "new", "reason")
    list_filter = ("kind", "new")
    search_fields = ("name", "reason")
    date_hierarchy = "time"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """What jobs owed (callbacks, mail) and how delivery went: the sender writes these.
    A callback's token is never shown."""

    list_display = ("job", "kind", "event", "target", "status", "attempts", "response", "sent")
    list_filter = ("kind", "status", "event")
    search_fields = ("=job__id", "target", "error")
    exclude = ("token",)
    date_hierarchy = "created"
    raw_id_fields = ("job",)


@admin.register(FavoriteJob)
class FavoriteJobAdmin(ReadOnlyAdmin):
    """Users' favourite jobs, toggled on the job page."""

    list_display = ("user", "job")
    list_select_related = ("user", "job")
    search_fields = ("user__username",)


class GroupPermissionAdmin(ServiceSaves, ServiceDeletes, admin.ModelAdmin):
    """Group permissions are granted and withdrawn, not edited."""

    target: group_permissions.Target

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _target_name(self, obj: Any) -> str:
        return str(getattr(obj, f"{self.target.field}_id"))

    def save_one(self, actor: Actor, obj: Any, form: Any, change: bool) -> None:
        name = self._target_name(obj)
        row = group_permissions.grant(actor, self.target, name, obj.group.name, obj.permission)
        obj.pk = row.pk  # the admin goes on to the new row's page

    def delete_one(self, actor: Actor, obj: Any) -> None:
        name = self._target_name(obj)
        group_permissions.revoke(actor, self.target, name, obj.group.name, obj.permission)


@admin.register(GroupDeviceTypePermission)
class GroupDeviceTypePermissionAdmin(GroupPermissionAdmin):
    list_display = ("devicetype", "group", "permission")
    target = group_permissions.DEVICE_TYPE

    def get_queryset(self, request: HttpRequest) -> Any:
        visible = permissions.visible_device_types(request.user)
        return super().get_queryset(request).filter(devicetype__in=visible)


@admin.register(GroupDevicePermission)
class GroupDevicePermissionAdmin(GroupPermissionAdmin):
    list_display = ("device", "group", "permission")
    target = group_permissions.DEVICE

    def get_queryset(self, request: HttpRequest) -> Any:
        visible = permissions.visible_devices(request.user)
        return super().get_queryset(request).filter(device__in=visible)


# Django's user and group admins, deleting through the services `auth.users.delete` and
# `auth.groups.delete` use: a user who has submitted jobs is refused (their jobs, results
# and logs would go too), before the confirmation page that would list them.
admin.site.unregister(User)
admin.site.unregister(Group)


def _permission_names(permissions: Any) -> set[tuple[str, str, str]]:
    return {(p.content_type.app_label, p.content_type.model, p.codename) for p in permissions}


def _save_permissions_of(actor: Actor, kind: accounts.Holder, name: str, wanted: Any) -> None:
    """Make the Django permissions a user or group holds itself ``wanted``, one grant or
    withdrawal at a time through the service."""
    held = accounts.held_permissions(kind, name)
    new = _permission_names(wanted.select_related("content_type"))
    for app, model, codename in sorted(_permission_names(held) - new):
        accounts.revoke_permission(actor, kind, name, app, model, codename)
    for app, model, codename in sorted(new - _permission_names(held)):
        accounts.grant_permission(actor, kind, name, app, model, codename)


@admin.register(User)
class LabUserAdmin(ServiceSaves, ServiceDeletes, UserAdmin):
    """Django's user pages, saving and deleting through ``services.accounts``: only
    superusers make a superuser or change one, and a user who has submitted jobs is
    refused before the confirmation page that would list them (deactivate them)."""

    def _refusal(self, request: HttpRequest, users: Any) -> bool:
        refusal = accounts.removal_refusal(users)
        if refusal is not None:
            self.message_user(request, refusal, messages.ERROR)
        return refusal is not None

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        fields = (*super().get_readonly_fields(request, obj), "last_login", "date_joined")
        if obj is not None:
            fields = (*fields, "username")  # a rename would leave the old name's jobs behind
        return fields if request.user.is_superuser else (*fields, "is_superuser")

    def save_one(self, actor: Actor, obj: User, form: Any, change: bool) -> None:
        if not change:  # Django's creation form: a name and a password (or none)
            password = form.cleaned_data.get("password1") or None
            user, _ = accounts.add_user(
                actor, obj.username, password=password, token_only=password is None
            )
            obj.pk = user.pk  # the admin goes on to the new user's page
            return
        changed = form.changed_data
        accounts.update_user(
            actor,
            obj.username,
            email=obj.email,
            first_name=obj.first_name,
            last_name=obj.last_name,
            active=obj.is_active,
            staff=obj.is_staff,
            superuser=obj.is_superuser if "is_superuser" in changed else None,
        )
        if "groups" in changed:
            now = set(obj.groups.values_list("name", flat=True))
            wanted = {group.name for group in form.cleaned_data["groups"]}
            for name in sorted(now - wanted):
                accounts.remove_member(actor, obj.username, name)
            for name in sorted(wanted - now):
                accounts.add_member(actor, obj.username, name)
        if "user_permissions" in changed:
            _save_permissions_of(actor, "user", obj.username, form.cleaned_data["user_permissions"])

    def save_rows(self, actor: Actor, obj: User, formset: Any) -> None:
        raise NotImplementedError("users have no inlines")

    @sensitive_post_parameters_m
    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Django's password page; the new password is set by the service."""
        user = self.get_object(request, unquote(id))
        if request.method != "POST" or user is None:
            return super().user_change_password(request, id, form_url)
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        form = self.change_password_form(user, request.POST)
        if not form.is_valid() or not form.cleaned_data.get("password1"):
            return super().user_change_password(request, id, form_url)  # shows the errors
        page = reverse("admin:auth_user_change", args=[user.pk], current_app=self.admin_site.name)
        try:
            accounts.update_user(
                admin_actor(request), user.username, password=form.cleaned_data["password1"]
            )
        except ServiceError as exc:
            self.message_user(request, f"Nothing was saved: {exc}", messages.ERROR)
            return HttpResponseRedirect(page)
        if user.pk == request.user.pk:  # changing one's own: stay signed in
            update_session_auth_hash(request, User.objects.get(pk=user.pk))
        self.message_user(request, "Password changed successfully.", messages.SUCCESS)
        return HttpResponseRedirect(page)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        user = self.get_object(request, unquote(object_id))
        if user is not None and self._refusal(request, User.objects.filter(pk=user.pk)):
            return HttpResponseRedirect(reverse("admin:auth_user_change", args=[user.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_one(self, actor: Actor, obj: User) -> None:
        accounts.remove_users(actor, User.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        accounts.remove_users(admin_actor(request), queryset)

    def delete_checked(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """Django's "delete selected", after the check (None: back to the list, with why)."""
        if self._refusal(request, queryset):
            return None
        return super().delete_checked(request, queryset)


@admin.register(Group)
class LabGroupAdmin(ServiceSaves, ServiceDeletes, GroupAdmin):
    """Django's group pages, saving and deleting through ``services.accounts``."""

    def get_readonly_fields(self, request: HttpRequest, obj: Group | None = None) -> Any:
        return ("name",) if obj is not None else ()

    def save_one(self, actor: Actor, obj: Group, form: Any, change: bool) -> None:
        if not change:
            obj.pk = accounts.add_group(actor, obj.name).pk  # the admin goes on to its page
        if "permissions" in form.changed_data:
            _save_permissions_of(actor, "group", obj.name, form.cleaned_data["permissions"])

    def delete_one(self, actor: Actor, obj: Group) -> None:
        accounts.delete_group(actor, obj.name)
