"""Django admin pages for every scheduler model.

State and health are read-only in every form: they change through the admin
actions, which call the services (``admin_actions``). Devices, workers, tags,
device types, jobs, users and groups are deleted through the services too.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from ..services import Actor, accounts, device_types, devices, jobs, tags, workers
from . import permissions
from .admin_actions import ServiceDeletes, admin_actor, health_action, service_action
from .definitions import shown
from .models import (
    Alias,
    AuthToken,
    Device,
    DeviceType,
    GroupDevicePermission,
    GroupDeviceTypePermission,
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


@admin.register(DeviceType)
class DeviceTypeAdmin(ServiceDeletes, admin.ModelAdmin):
    list_display = ("name", "health_frequency", "health_denominator", "display")
    list_filter = ("display", "disable_health_check")
    search_fields = ("name", "description")
    inlines = (AliasInline, DeviceTypePermissionInline)

    def delete_one(self, actor: Actor, obj: DeviceType) -> None:
        device_types.delete_device_type(actor, obj.name)

    def get_queryset(self, request: HttpRequest) -> Any:  # staff see what they may see
        return super().get_queryset(request) & permissions.visible_device_types(request.user)


@admin.register(Alias)
class AliasAdmin(admin.ModelAdmin):
    list_display = ("name", "device_type")

    def get_queryset(self, request: HttpRequest) -> Any:
        visible = permissions.visible_device_types(request.user)
        return super().get_queryset(request).filter(device_type__in=visible)


class DevicePermissionInline(admin.TabularInline):
    model = GroupDevicePermission
    extra = 0


@admin.register(Device)
class DeviceAdmin(ServiceDeletes, admin.ModelAdmin):
    list_display = ("hostname", "device_type", "worker_host", "state", "health")
    list_filter = ("device_type", "state", "health", "worker_host")
    search_fields = ("hostname", "description")
    filter_horizontal = ("tags",)
    raw_id_fields = ("last_health_report_job",)
    inlines = (DevicePermissionInline,)
    readonly_fields = ("state", "health")  # a new device starts Idle, in Maintenance
    actions = tuple(health_action(health, devices.update_device) for health in DeviceHealth)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request) & permissions.visible_devices(request.user)

    def delete_one(self, actor: Actor, obj: Device) -> None:
        devices.delete_device(actor, obj.hostname)


@admin.register(Worker)
class WorkerAdmin(ServiceDeletes, admin.ModelAdmin):
    list_display = ("hostname", "state", "health", "last_ping", "job_limit", "version")
    list_filter = ("state", "health")
    search_fields = ("hostname", "description")
    readonly_fields = ("state", "health")  # a new worker starts Offline (until it pings), Active
    actions = tuple(health_action(health, workers.update_worker) for health in WorkerHealth)

    def delete_one(self, actor: Actor, obj: Worker) -> None:
        workers.delete_worker(actor, obj.hostname)


@admin.register(Tag)
class TagAdmin(ServiceDeletes, admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)

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
    exclude = ("metadata",)
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
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "description", "created_on", "last_used_on")
    search_fields = ("user__username", "description")


@admin.register(GroupDeviceTypePermission)
class GroupDeviceTypePermissionAdmin(admin.ModelAdmin):
    list_display = ("devicetype", "group", "permission")

    def get_queryset(self, request: HttpRequest) -> Any:
        visible = permissions.visible_device_types(request.user)
        return super().get_queryset(request).filter(devicetype__in=visible)


@admin.register(GroupDevicePermission)
class GroupDevicePermissionAdmin(admin.ModelAdmin):
    list_display = ("device", "group", "permission")

    def get_queryset(self, request: HttpRequest) -> Any:
        visible = permissions.visible_devices(request.user)
        return super().get_queryset(request).filter(device__in=visible)


# Django's user and group admins, deleting through the services `auth.users.delete` and
# `auth.groups.delete` use: a user who has submitted jobs is refused (their jobs, results
# and logs would go too), before the confirmation page that would list them.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class LabUserAdmin(ServiceDeletes, UserAdmin):
    def _refusal(self, request: HttpRequest, users: Any) -> bool:
        refusal = accounts.removal_refusal(users)
        if refusal is not None:
            self.message_user(request, refusal, messages.ERROR)
        return refusal is not None

    # The change forms still save directly: they keep the service's rule that only
    # superusers make a superuser or change one (an e-mail address leads to a password).

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, "is_superuser")

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
class LabGroupAdmin(ServiceDeletes, GroupAdmin):
    def delete_one(self, actor: Actor, obj: Group) -> None:
        accounts.delete_group(actor, obj.name)
