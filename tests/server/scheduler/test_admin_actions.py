"""The Django admin changes state and health, and deletes, only through the services.

Health moves are admin actions that go through the transitions (each logged
with its reason); the forms show state and health read-only; a deletion the
service refuses deletes nothing, not even the admin's log entry.
"""

from __future__ import annotations

import logging

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.test import Client, RequestFactory
from django.urls import reverse

from lava.server.scheduler import transitions
from lava.server.scheduler.models import Device, Tag, TestJob, Worker
from lava.server.scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobHealth,
    JobState,
    WorkerHealth,
)

DEVICES = reverse("admin:scheduler_device_changelist")
WORKERS = reverse("admin:scheduler_worker_changelist")
JOBS = reverse("admin:scheduler_testjob_changelist")


@pytest.fixture
def admin_client(users) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(users["admin"])
    return client


def act(client: Client, url: str, action: str, *pks: object) -> list[str]:
    """Run an admin action on the objects ``pks``; the messages it left."""
    data = {"action": action, "_selected_action": [str(p) for p in pks]}
    answer = client.post(url, data, follow=True)  # to the list, which shows the messages
    assert answer.redirect_chain == [(url, 302)], answer.content[:500]
    return [str(m) for m in answer.context["messages"]]


def staff(user: User, *codenames: str) -> User:
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # no cached permissions


# health, through the transitions


def test_a_device_health_action_goes_through_the_transitions(lab, users, admin_client, caplog):
    with caplog.at_level(logging.INFO, logger="lava.server.scheduler"):
        said = act(admin_client, DEVICES, "set_health_maintenance", "qemu-01", "qemu-02")
    assert said == ["qemu-01: health Maintenance", "qemu-02: health Maintenance"]
    assert set(Device.objects.values_list("health", flat=True)) == {DeviceHealth.MAINTENANCE}
    logged = [r.getMessage() for r in caplog.records if r.name == "lava.server.scheduler"]
    assert logged == [
        f"device {name}: health Good -> Maintenance "
        "(health set to Maintenance in the Django admin (by admin over admin))"
        for name in ("qemu-01", "qemu-02")
    ]


@pytest.mark.parametrize("health", list(DeviceHealth), ids=lambda h: h.name)
def test_every_device_health_has_an_action(lab, admin_client, health) -> None:
    act(admin_client, DEVICES, f"set_health_{health.name.lower()}", "qemu-01")
    assert Device.objects.get(hostname="qemu-01").health == health


def test_a_worker_health_action_goes_through_the_transitions(lab, admin_client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="lava.server.scheduler"):
        said = act(admin_client, WORKERS, "set_health_retired", "worker-01")
    assert said == ["worker-01: health Retired"]
    assert Worker.objects.get(hostname="worker-01").health == WorkerHealth.RETIRED
    assert "worker worker-01: health Active -> Retired (health set to Retired in the " in (
        caplog.text
    )


def test_the_service_refuses_a_health_change_without_the_right(lab, users) -> None:
    viewer = staff(users["stranger"], "view_device")  # may see devices, not change them
    client = Client(HTTP_HOST="localhost")
    client.force_login(viewer)
    said = act(client, DEVICES, "set_health_retired", "qemu-01")
    assert said == ["qemu-01: Permission denied: change_device is needed for this."]
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD


# the forms cannot set state or health


@pytest.mark.parametrize("model", [Device, Worker, TestJob], ids=lambda m: m.__name__)
def test_the_forms_have_no_state_or_health_field(lab, users, admin_client, model) -> None:
    from django.contrib import admin

    found = {
        Device: lambda: Device.objects.get(hostname="qemu-01"),
        Worker: lambda: lab.worker,
        TestJob: lambda: TestJob.objects.create(submitter=users["owner"], definition="x"),
    }[model]()
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = users["admin"]
    for obj in (None, found):  # the add form and the change form
        fields = model_admin.get_form(request, obj).base_fields
        assert "state" not in fields and "health" not in fields
    meta = model._meta
    page = admin_client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[found.pk])
    )
    assert page.status_code == 200
    assert 'name="health"' not in page.content.decode()


def test_posting_a_health_to_the_change_form_changes_nothing(lab, admin_client) -> None:
    url = reverse("admin:scheduler_worker_change", args=["worker-01"])
    data = {
        "hostname": "worker-01",
        "description": "rack 2",
        "job_limit": "0",
        "version": "",
        "token": lab.worker.token,
        "state": str(1),
        "health": str(WorkerHealth.RETIRED),
    }
    assert admin_client.post(url, data).status_code == 302
    worker = Worker.objects.get(hostname="worker-01")
    assert worker.description == "rack 2"  # the form saved what it may
    assert (worker.health, worker.state) == (WorkerHealth.ACTIVE, lab.worker.state)


# jobs: cancel and fail


def test_cancel_and_fail_go_through_the_job_services(lab, users, admin_client) -> None:
    queued = TestJob.objects.create(submitter=users["owner"], definition="x")
    stuck = TestJob.objects.create(submitter=users["owner"], definition="x")
    transitions.job_scheduled(stuck, Device.objects.get(hostname="qemu-01"))
    said = act(admin_client, JOBS, "cancel", queued.pk)
    assert said == [f"{TestJob.objects.get(pk=queued.pk)}: done"]
    queued.refresh_from_db()
    assert (queued.state, queued.health) == (JobState.FINISHED, JobHealth.CANCELED)
    said = act(admin_client, JOBS, "fail", stuck.pk, queued.pk)
    assert sorted(said) == sorted(
        [
            f"{TestJob.objects.get(pk=stuck.pk)}: done",
            f"{queued}: job {queued.pk} is Finished, not stuck: nothing to do",
        ]
    )
    stuck.refresh_from_db()
    assert (stuck.state, stuck.health) == (JobState.FINISHED, JobHealth.INCOMPLETE)
    assert Device.objects.get(hostname="qemu-01").state == DeviceState.IDLE


def test_only_a_superuser_fails_a_job(lab, users) -> None:
    stuck = TestJob.objects.create(submitter=users["owner"], definition="x")
    transitions.job_scheduled(stuck, Device.objects.get(hostname="qemu-01"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff(users["owner"], "view_testjob", "change_testjob"))
    (said,) = act(client, JOBS, "fail", stuck.pk)
    assert said.endswith("Permission denied: only superusers may fail a job.")
    assert TestJob.objects.get(pk=stuck.pk).state == JobState.SCHEDULED


# deleting: through the services, all or nothing


def _busy(hostname: str) -> None:
    Device.objects.filter(hostname=hostname).update(state=DeviceState.RESERVED)


def _deletions() -> int:
    return LogEntry.objects.filter(action_flag=DELETION).count()


def test_a_refused_delete_writes_nothing(lab, admin_client) -> None:
    _busy("qemu-01")
    url = reverse("admin:scheduler_device_delete", args=["qemu-01"])
    answer = admin_client.post(url, {"post": "yes"}, follow=True)
    assert answer.redirect_chain[-1][0] == reverse(
        "admin:scheduler_device_change", args=["qemu-01"]
    )
    page = answer.content.decode()
    assert "Nothing was deleted: device &#x27;qemu-01&#x27; is Reserved" in page
    assert Device.objects.filter(hostname="qemu-01").exists() and _deletions() == 0


def test_a_refused_bulk_delete_deletes_none(lab, admin_client) -> None:
    _busy("qemu-02")
    data = {"action": "delete_selected", "_selected_action": ["qemu-01", "qemu-02"], "post": "yes"}
    answer = admin_client.post(DEVICES, data, follow=True)
    assert "Nothing was deleted: device &#x27;qemu-02&#x27; is Reserved" in answer.content.decode()
    assert Device.objects.count() == 2 and _deletions() == 0
    Device.objects.filter(hostname="qemu-02").update(state=DeviceState.IDLE)
    admin_client.post(DEVICES, data)
    assert not Device.objects.exists() and _deletions() == 2


def test_a_worker_with_devices_is_not_deleted(lab, admin_client) -> None:
    url = reverse("admin:scheduler_worker_delete", args=["worker-01"])
    answer = admin_client.post(url, {"post": "yes"}, follow=True)
    assert "still has devices: move or delete them first" in answer.content.decode()
    assert Worker.objects.filter(hostname="worker-01").exists()


def test_deleting_needs_the_services_right(lab, users) -> None:
    """Django's delete permission lets a staff member in; the service then asks for its
    own right (the same for a tag, ``auth.change_group`` for a group)."""
    Tag.objects.create(name="usb")
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff(users["stranger"], "view_tag", "delete_tag"))
    client.post(reverse("admin:scheduler_tag_delete", args=[Tag.objects.get().pk]), {"post": "yes"})
    assert not Tag.objects.exists()
    group = Group.objects.get(name="lab")
    client.force_login(staff(users["stranger"], "view_group", "delete_group"))
    answer = client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"})
    assert "auth.change_group is needed" in client.get(answer["Location"]).content.decode()
    assert Group.objects.filter(name="lab").exists()


# users: the forms that still save directly keep the service's superuser rule


def test_staff_cannot_change_a_superuser_or_make_one(lab, users) -> None:
    clerk = staff(users["owner"], "view_user", "change_user")
    client = Client(HTTP_HOST="localhost")
    client.force_login(clerk)
    admin_page = reverse("admin:auth_user_change", args=[users["admin"].pk])
    assert 'name="email"' not in client.get(admin_page).content.decode()  # read-only
    password = reverse("admin:auth_user_password_change", args=[users["admin"].pk])
    assert client.get(password).status_code == 403
    stranger_page = client.get(reverse("admin:auth_user_change", args=[users["stranger"].pk]))
    page = stranger_page.content.decode()
    assert 'name="email"' in page and 'name="is_superuser"' not in page
