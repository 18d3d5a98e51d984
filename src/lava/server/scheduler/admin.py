"""Django admin pages for every scheduler model."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from . import permissions
from .admin_ops import AdminError, accounts
from .definitions import shown
from .jobs import remove_jobs
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
from .states import JobState


class AliasInline(admin.TabularInline):
    model = Alias
    extra = 0


class DeviceTypePermissionInline(admin.TabularInline):
    model = GroupDeviceTypePermission
    extra = 0


@admin.register(DeviceType)
class DeviceTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "health_frequency", "health_denominator", "display")
    list_filter = ("display", "disable_health_check")
    search_fields = ("name", "description")
    inlines = (AliasInline, DeviceTypePermissionInline)

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
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("hostname", "device_type", "worker_host", "state", "health")
    list_filter = ("device_type", "state", "health", "worker_host")
    search_fields = ("hostname", "description")
    filter_horizontal = ("tags",)
    raw_id_fields = ("last_health_report_job",)
    inlines = (DevicePermissionInline,)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request) & permissions.visible_devices(request.user)


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ("hostname", "state", "health", "last_ping", "job_limit", "version")
    list_filter = ("state", "health")
    search_fields = ("hostname", "description")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)


def _shown_field(name: str) -> Any:
    """A read-only admin field: the job's ``name`` as the service shows it to the viewer."""

    @admin.display(description=name.replace("_", " "))
    def field(model_admin: admin.ModelAdmin, job: TestJob) -> Any:
        # set by get_object for this request; without it, as to an anonymous visitor
        fields = getattr(job, "shown_to_viewer", None) or shown(job, None)
        return fields[name]

    return field


@admin.register(TestJob)
class TestJobAdmin(admin.ModelAdmin):
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
        "shown_definition",
        "shown_original_definition",
        "shown_multinode_definition",
        "shown_metadata",
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

    def delete_model(self, request: HttpRequest, obj: TestJob) -> None:
        remove_jobs([obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        remove_jobs(queryset)


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


# Django's user admin, with deleting through the service `auth.users.delete` uses: a
# user who has submitted jobs is refused (their jobs, results and logs would go too).
admin.site.unregister(User)


@admin.register(User)
class LabUserAdmin(UserAdmin):
    def _refusal(self, request: HttpRequest, users: Any) -> bool:
        try:
            accounts.check_removable(users)
        except AdminError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return True
        return False

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        user = self.get_object(request, unquote(object_id))
        if user is not None and self._refusal(request, User.objects.filter(pk=user.pk)):
            return HttpResponseRedirect(reverse("admin:auth_user_change", args=[user.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        accounts.remove_users(User.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        accounts.remove_users(queryset)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if "delete_selected" in actions:  # refused before the confirmation page
            _, name, description = actions["delete_selected"]
            actions["delete_selected"] = (LabUserAdmin.delete_checked, name, description)
        return actions

    def delete_checked(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """Django's "delete selected", after the check (None: back to the list, with why)."""
        if self._refusal(request, queryset):
            return None
        return delete_selected(self, request, queryset)
