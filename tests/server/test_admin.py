"""Every model has a working Django admin page: list, add form and change form."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from lava.server.scheduler.models import Device, TestJob

SERVER_APPS = ("scheduler", "results")


def server_models():
    return [m for label in SERVER_APPS for m in apps.get_app_config(label).get_models()]


def test_every_server_model_is_registered() -> None:
    missing = [m.__name__ for m in server_models() if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.parametrize("model", server_models(), ids=lambda m: m.__name__)
def test_list_and_add_pages_render(lab, users, client: Client, model) -> None:
    client.force_login(users["admin"])
    meta = model._meta
    for view in ("changelist", "add"):
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}")
        answer = client.get(url)
        assert answer.status_code == 200, f"{url}: {answer.status_code}"


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
