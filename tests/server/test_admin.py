"""Every model has a working Django admin page: list, add form and change form."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from lava.server.results.models import TestCase, TestSet, TestSuite
from lava.server.scheduler.models import (
    AuthToken,
    Device,
    FavoriteJob,
    HealthChange,
    Notification,
    TestJob,
)

SERVER_APPS = ("scheduler", "results")


def server_models():
    return [m for label in SERVER_APPS for m in apps.get_app_config(label).get_models()]


def test_every_server_model_is_registered() -> None:
    missing = [m.__name__ for m in server_models() if not admin.site.is_registered(m)]
    assert missing == []


# submitted through the APIs, made by their users or at the console, derived from logs,
# written by the lab itself (health history) or toggled on the job page: not added here
NOT_ADDED_HERE = {
    TestJob, AuthToken, TestSuite, TestSet, TestCase, HealthChange, FavoriteJob, Notification
}  # fmt: skip


@pytest.mark.parametrize("model", server_models(), ids=lambda m: m.__name__)
def test_list_and_add_pages_render(lab, users, client: Client, model) -> None:
    client.force_login(users["admin"])
    meta = model._meta
    for view in ("changelist", "add"):
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}")
        answer = client.get(url)
        expected = 403 if view == "add" and model in NOT_ADDED_HERE else 200
        assert answer.status_code == expected, f"{url}: {answer.status_code}"


def test_change_pages_render(lab, users, client: Client) -> None:
    client.force_login(users["admin"])
    job = TestJob.objects.create(submitter=users["owner"], definition="job_name: x\n")
    for obj in (Device.objects.get(hostname="qemu-01"), lab.device_type, lab.worker, job):
        meta = obj._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        assert client.get(url).status_code == 200, url


def test_strangers_are_sent_to_the_login_page(users, client: Client) -> None:
    client.force_login(users["stranger"])
    answer = client.get(reverse("admin:scheduler_device_changelist"))
    assert answer.status_code == 302
    assert "/admin/login/" in answer["Location"]


def test_staff_see_only_the_jobs_they_may_see(lab, users, client: Client) -> None:
    from django.contrib.auth.models import Permission

    from lava.server.scheduler.states import Visibility

    staff = users["stranger"]
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="view_testjob"))
    private = TestJob.objects.create(
        submitter=users["owner"],
        definition="x",
        description="secret",
        visibility=Visibility.PERSONAL,
    )
    public = TestJob.objects.create(submitter=users["owner"], definition="x", description="open")
    client.force_login(staff)
    listing = client.get(reverse("admin:scheduler_testjob_changelist")).content.decode()
    assert "open" in listing and "secret" not in listing
    hidden = client.get(reverse("admin:scheduler_testjob_change", args=[private.id]))
    assert hidden.status_code == 302  # "does not exist": back to the admin index
    assert (
        client.get(reverse("admin:scheduler_testjob_change", args=[public.id])).status_code == 200
    )


def _finished_job_with_a_log(users) -> TestJob:
    from lava.server.logs.store import log_store
    from lava.server.scheduler.states import JobState

    job = TestJob.objects.create(
        submitter=users["owner"], definition="job_name: x\n", state=JobState.FINISHED
    )
    log_store().append(job.id, 0, '- {"dt": "x", "lvl": "info", "msg": "hello"}\n')
    # results go with the job, though the admin deletes none of them one by one
    TestSuite.objects.create(job=job, name="lava")
    return job


def test_deleting_a_job_removes_its_log_directory(lab, users, data_dir, client: Client) -> None:
    from lava.server.logs.store import log_store

    client.force_login(users["admin"])
    job = _finished_job_with_a_log(users)
    url = reverse("admin:scheduler_testjob_delete", args=[job.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not TestJob.objects.filter(pk=job.pk).exists()
    assert not log_store().exists(job.pk)


def test_bulk_delete_removes_log_directories_and_spares_unfinished_jobs(
    lab, users, data_dir, client: Client
) -> None:
    from lava.server.logs.store import log_store

    client.force_login(users["admin"])
    done = [_finished_job_with_a_log(users) for _ in range(2)]
    url = reverse("admin:scheduler_testjob_changelist")
    ids = [str(job.pk) for job in done]
    answer = client.post(url, {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert answer.status_code == 302
    assert not TestJob.objects.filter(pk__in=ids).exists()
    assert not any(log_store().exists(job.pk) for job in done)
    queued = TestJob.objects.create(submitter=users["owner"], definition="job_name: q\n")
    refused = client.post(
        url,
        {"action": "delete_selected", "_selected_action": [queued.pk], "post": "yes"},
        follow=True,
    )
    said = [str(m) for m in refused.context["messages"]]
    assert any("Nothing was deleted" in m and "not finished" in m for m in said), said
    assert TestJob.objects.filter(pk=queued.pk).exists()
    single = client.post(
        reverse("admin:scheduler_testjob_delete", args=[queued.pk]), {"post": "yes"}
    )
    assert single.status_code == 403 and TestJob.objects.filter(pk=queued.pk).exists()


# Users: one who has submitted jobs is refused, by the service auth.users.delete uses.


def _delete_user(client: Client, user) -> str:
    answer = client.post(reverse("admin:auth_user_delete", args=[user.pk]), {"post": "yes"})
    return client.get(answer["Location"]).content.decode() if answer.status_code == 302 else ""


def test_a_user_who_submitted_jobs_is_not_deleted(lab, users, data_dir, client: Client) -> None:
    from django.contrib.auth.models import User

    from lava.server.logs.store import log_store

    client.force_login(users["admin"])
    job = _finished_job_with_a_log(users)  # owner's
    confirm = client.get(reverse("admin:auth_user_delete", args=[users["owner"].pk]))
    assert confirm.status_code == 302  # no confirmation page that lists the jobs to go
    page = _delete_user(client, users["owner"])
    assert "&#x27;owner&#x27; submitted jobs" in page and "deactivate instead" in page
    assert User.objects.filter(pk=users["owner"].pk).exists()
    assert TestJob.objects.filter(pk=job.pk).exists() and log_store().exists(job.pk)
    _delete_user(client, users["stranger"])  # no jobs: deleted
    assert not User.objects.filter(pk=users["stranger"].pk).exists()


def test_bulk_deleting_users_refuses_them_all_if_one_submitted_jobs(
    lab, users, data_dir, client: Client
) -> None:
    from django.contrib.auth.models import User

    client.force_login(users["admin"])
    job = _finished_job_with_a_log(users)
    url = reverse("admin:auth_user_changelist")
    chosen = [users["owner"].pk, users["stranger"].pk]
    for step in ({}, {"post": "yes"}):  # the confirmation page, and the confirmed delete
        data = {"action": "delete_selected", "_selected_action": chosen, **step}
        answer = client.post(url, data, follow=True)
        assert answer.status_code == 200 and "submitted jobs" in answer.content.decode()
    assert User.objects.filter(pk__in=chosen).count() == 2 and TestJob.objects.filter(pk=job.pk)
    data = {"action": "delete_selected", "_selected_action": [users["stranger"].pk]}
    assert "Are you sure" in client.post(url, data).content.decode()
    client.post(url, {**data, "post": "yes"})
    assert not User.objects.filter(pk=users["stranger"].pk).exists()


def test_a_user_with_jobs_is_protected_whoever_deletes(lab, users) -> None:
    from django.db.models import ProtectedError

    job = TestJob.objects.create(submitter=users["owner"], definition="job_name: x\n")
    with pytest.raises(ProtectedError):
        users["owner"].delete()
    assert TestJob.objects.filter(pk=job.pk).exists()


# Nothing else an admin deletes takes jobs or their logs with it.


def _delete_object(lab, users, name: str) -> None:
    """Delete the lab's ``name`` object through its admin page."""
    from django.contrib.auth.models import Group

    from lava.server.scheduler.models import Worker

    if name in ("device type", "worker"):
        Device.objects.all().delete()  # their devices first: the services refuse otherwise
    found = {
        "device": lambda: Device.objects.get(hostname="qemu-01"),
        "worker": lambda: Worker.objects.get(hostname="worker-01"),
        "group": lambda: Group.objects.get(name="lab"),
        "device type": lambda: lab.device_type,
    }[name]()
    meta = found._meta
    client = Client(HTTP_HOST="localhost")
    client.force_login(users["admin"])
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[found.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not type(found).objects.filter(pk=found.pk).exists()


@pytest.mark.parametrize("name", ["device", "worker", "group", "device type"])
def test_deleting_other_objects_keeps_jobs_and_logs(lab, users, data_dir, name) -> None:
    from django.contrib.auth.models import Group

    from lava.server.logs.store import log_store

    job = _finished_job_with_a_log(users)
    TestJob.objects.filter(pk=job.pk).update(
        requested_device_type=lab.device_type,
        actual_device="qemu-01",
        requested_device="qemu-01",
        requested_worker=lab.worker,
    )
    job.viewing_groups.add(Group.objects.get(name="lab"))
    _delete_object(lab, users, name)
    assert TestJob.objects.filter(pk=job.pk).exists() and log_store().exists(job.pk)
