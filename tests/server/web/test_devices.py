"""Device, device-type and lab-health pages: visibility, health changes, hostile input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from lava.server.scheduler.models import (
    Device,
    DeviceType,
    GroupDevicePermission,
    GroupDeviceTypePermission,
    HealthChange,
    TestJob,
)
from lava.server.scheduler.states import DeviceHealth, JobHealth, JobState, Visibility

USERS = ("anonymous", "owner", "stranger", "admin")


@pytest.fixture
def hidden(lab: Any, users: dict[str, User]) -> dict[str, Any]:
    """``secret-01`` (a qemu restricted to group lab) and type ``secret`` with ``secret-02``."""
    group = Group.objects.get(name="lab")
    device = lab.device("secret-01", tags=("fast",))
    GroupDevicePermission.objects.create(group=group, device=device, permission="view")
    secret = DeviceType.objects.create(name="secret")
    (lab.root / "device-types" / "secret.jinja2").write_text("{% extends 'qemu.jinja2' %}\n")
    GroupDeviceTypePermission.objects.create(group=group, devicetype=secret, permission="view")
    other = lab.device("secret-02", device_type=secret)
    return {"device": device, "type": secret, "typed": other}


def job(device: Device, submitter: User, **fields: Any) -> TestJob:
    values = {
        "submitter": submitter,
        "definition": "job_name: x",
        "description": "a job",
        "actual_device": device,
        "requested_device_type": device.device_type,
        "state": JobState.FINISHED,
        "health": JobHealth.COMPLETE,
        "end_time": timezone.now(),
        **fields,
    }
    return TestJob.objects.create(**values)


def client_for(who: str, users: dict[str, User]) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(users[who])
    return client


PAGES = [
    "/scheduler/device_types",
    "/scheduler/device_type/qemu",
    "/scheduler/devicetypeyaml/qemu",
    "/scheduler/dthealthhistory/device_type/qemu",
    "/scheduler/alldevices",
    "/scheduler/alldevices/active",
    "/scheduler/online",
    "/scheduler/passinghealthchecks",
    "/scheduler/maintenance",
    "/scheduler/device/qemu-01",
    "/scheduler/device/qemu-01/devicedict",
    "/scheduler/device/qemu-01/devicedict/plain",
    "/scheduler/labhealth/",
    "/scheduler/labhealth/device/qemu-01",
]
# pages of the hidden device and type: (path, its "missing" twin)
HIDDEN_PAGES = [
    ("/scheduler/device/secret-01", "/scheduler/device/nothing-01"),
    ("/scheduler/device/secret-01/devicedict", "/scheduler/device/nothing-01/devicedict"),
    (
        "/scheduler/device/secret-01/devicedict/plain",
        "/scheduler/device/nothing-01/devicedict/plain",
    ),
    ("/scheduler/labhealth/device/secret-01", "/scheduler/labhealth/device/nothing-01"),
    ("/scheduler/device_type/secret", "/scheduler/device_type/nothing"),
    ("/scheduler/devicetypeyaml/secret", "/scheduler/devicetypeyaml/nothing"),
    (
        "/scheduler/dthealthhistory/device_type/secret",
        "/scheduler/dthealthhistory/device_type/nothing",
    ),
    ("/scheduler/device/secret-02", "/scheduler/device/nothing-02"),
]


@pytest.mark.parametrize("who", USERS)
def test_public_pages(who: str, users: dict[str, User], hidden: Any) -> None:
    client = client_for(who, users)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:500])
        assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("who", USERS)
def test_hidden_reads_as_missing(who: str, users: dict[str, User], hidden: Any) -> None:
    client = client_for(who, users)
    for url, twin in HIDDEN_PAGES:
        response = client.get(url)
        if who in ("owner", "admin"):
            assert response.status_code == 200, url
            continue
        missing = client.get(twin)
        assert response.status_code == missing.status_code == 404, url
        name = url.split("/")[-1] if "devicedict" not in url else url.split("/")[3]
        other = twin.split("/")[-1] if "devicedict" not in twin else twin.split("/")[3]
        assert same_page(response.content, name) == same_page(missing.content, other), url


def same_page(body: bytes, name: str) -> bytes:
    """``body`` with the name asked for and the per-response CSRF token left out."""
    return re.sub(
        rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", body.replace(name.encode(), b"X")
    )


@pytest.mark.parametrize("who", USERS)
def test_lists_hide_hidden_devices_and_types(who: str, users: dict[str, User], hidden: Any) -> None:
    client = client_for(who, users)
    sees = who in ("owner", "admin")
    for url in ("/scheduler/alldevices", "/scheduler/labhealth/", "/scheduler/worker/worker-01"):
        body = client.get(url).content.decode()
        assert "qemu-01" in body
        assert ("secret-01" in body) == sees, url
        assert ("secret-02" in body) == sees, url
    types = client.get("/scheduler/device_types").content.decode()
    assert ("/scheduler/device_type/secret" in types) == sees
    qemu = client.get("/scheduler/device_type/qemu").content.decode()
    assert ("secret-01" in qemu) == sees


def test_device_page_shows_details_and_jobs(lab: Any, users: dict[str, User]) -> None:
    device = Device.objects.get(hostname="qemu-01")
    device.description = "<b>bench</b> board"
    device.physical_owner = users["owner"]
    device.save()
    done = job(device, users["owner"], description="boot test")
    private = job(device, users["owner"], description="owner only", visibility=Visibility.PERSONAL)
    running = job(device, users["admin"], state=JobState.RUNNING, health=JobHealth.UNKNOWN)
    client = client_for("stranger", users)
    body = client.get("/scheduler/device/qemu-01").content.decode()
    assert "&lt;b&gt;bench&lt;/b&gt; board" in body  # escaped
    assert f'href="/scheduler/job/{done.id}"' in body
    assert f'href="/scheduler/job/{private.id}"' not in body  # not the stranger's to see
    assert "owner only" not in body
    current = body.split('id="current-job"')[1].split("</dd>")[0]
    assert f"/scheduler/job/{running.id}" in current and "Running" in current
    assert "/scheduler/alljobs?device=qemu-01" in body
    assert 'id="health-form"' not in body  # no right to change it
    owner = client_for("owner", users).get("/scheduler/device/qemu-01").content.decode()
    assert f'href="/scheduler/job/{private.id}"' in owner


def test_recent_jobs_are_bounded(lab: Any, users: dict[str, User]) -> None:
    device = Device.objects.get(hostname="qemu-01")
    made = [job(device, users["owner"]) for _ in range(30)]
    body = client_for("admin", users).get("/scheduler/device/qemu-01").content.decode()
    assert body.count('href="/scheduler/job/') == 25
    assert f'href="/scheduler/job/{made[-1].id}"' in body
    assert f'href="/scheduler/job/{made[0].id}"' not in body
    dt = client_for("admin", users).get("/scheduler/device_type/qemu").content.decode()
    assert dt.count('href="/scheduler/job/') == 25
    assert "/scheduler/alljobs?device_type=qemu" in dt


def test_device_page_queries_are_bounded(
    lab: Any, users: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    device = Device.objects.get(hostname="qemu-01")
    for _ in range(10):
        job(device, users["owner"])
    client = client_for("stranger", users)
    with django_assert_max_num_queries(14):
        assert client.get("/scheduler/device/qemu-01").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get("/scheduler/alldevices").status_code == 200


def test_health_change_goes_into_history(lab: Any, users: dict[str, User]) -> None:
    client = client_for("admin", users)
    page = client.get("/scheduler/device/qemu-01").content.decode()
    assert 'id="health-form"' in page and "csrfmiddlewaretoken" in page
    response = client.post(
        "/scheduler/device/qemu-01/health", {"health": "MAINTENANCE", "reason": "new cable"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/scheduler/device/qemu-01"
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.MAINTENANCE
    change = HealthChange.objects.get(kind="device", name="qemu-01")
    assert (change.old, change.new) == ("Good", "Maintenance")
    assert change.reason == "new cable (by admin over web)"
    body = client.get("/scheduler/device/qemu-01").content.decode()
    assert "health set to Maintenance" in body  # the message after the redirect
    assert "new cable (by admin over web)" in body.split('id="health-history"')[1]
    assert "new cable (by admin over web)" in body.split('id="health-reason-text"')[1]
    history = client.get("/scheduler/dthealthhistory/device_type/qemu").content.decode()
    assert "new cable (by admin over web)" in history and "qemu-01" in history
    maintenance = client.get("/scheduler/maintenance").content.decode()
    assert "qemu-01" in maintenance and "qemu-02" not in maintenance
    # LAVA's labels work too, and the reason is optional
    assert client.post("/scheduler/device/qemu-01/health", {"health": "Good"}).status_code == 302
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD


def test_health_change_by_a_user_with_the_permission(lab: Any, users: dict[str, User]) -> None:
    owner = users["owner"]
    owner.user_permissions.add(Permission.objects.get(codename="change_device"))
    client = client_for("owner", users)
    assert 'id="health-form"' in client.get("/scheduler/device/qemu-02").content.decode()
    response = client.post("/scheduler/device/qemu-02/health", {"health": "BAD", "reason": "x"})
    assert response.status_code == 302
    assert HealthChange.objects.get(name="qemu-02").reason == "x (by owner over web)"


@pytest.mark.parametrize("who", ("stranger", "owner"))
def test_health_change_refused(who: str, lab: Any, users: dict[str, User], hidden: Any) -> None:
    client = client_for(who, users)
    response = client.post(
        "/scheduler/device/qemu-01/health", {"health": "RETIRED", "reason": "mine now"}
    )
    assert response.status_code == 403
    assert "change_device" in response.content.decode()  # says what is missing
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD
    assert not HealthChange.objects.exists()
    # a hidden device is missing for the stranger: the same answer as a missing one
    secret = client.post("/scheduler/device/secret-01/health", {"health": "BAD"})
    missing = client.post("/scheduler/device/nothing-01/health", {"health": "BAD"})
    assert missing.status_code == 404
    assert secret.status_code == (403 if who == "owner" else 404)


def test_health_change_anonymous_goes_to_login(lab: Any) -> None:
    response = Client().post("/scheduler/device/qemu-01/health", {"health": "BAD"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not HealthChange.objects.exists()


def test_health_change_needs_csrf_and_post(lab: Any, users: dict[str, User]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"])
    response = client.post("/scheduler/device/qemu-01/health", {"health": "BAD"})
    assert response.status_code == 403
    assert client.get("/scheduler/device/qemu-01/health").status_code == 405
    assert not HealthChange.objects.exists()


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"health": "BROKEN", "reason": "x"}, 400, "Invalid health"),
        ({"health": "", "reason": "x"}, 400, "health is required"),
        ({"reason": "x"}, 400, "health is required"),
        ({"health": "GOOD\x00", "reason": "x"}, 400, "Invalid health"),
        ({"health": "B" * 5000}, 400, "Invalid health"),
        ({"health": "BAD", "reason": "r" * 10240}, 413, "at most 1000"),
        ({"health": "BAD", "reason": "nul\x00byte"}, 400, "NUL"),
        ({"health": "7"}, 400, "Invalid health"),
    ],
)
def test_health_change_abuse(
    form: dict[str, str], status: int, words: str, lab: Any, users: dict[str, User]
) -> None:
    response = client_for("admin", users).post("/scheduler/device/qemu-01/health", form)
    assert response.status_code == status
    assert words in response.content.decode()
    assert len(response.content) < 20000  # bounded: the reason is not echoed whole
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD
    assert not HealthChange.objects.exists()


HOSTILE = ["a%2Fb", "a/b", "%C3%BCn%C3%AFcode", "%00", "x%00y", "x" * 300, "..", "%20", "q%0A"]


@pytest.mark.parametrize(
    "prefix",
    [
        "/scheduler/device/",
        "/scheduler/labhealth/device/",
        "/scheduler/device_type/",
        "/scheduler/devicetypeyaml/",
        "/scheduler/dthealthhistory/device_type/",
        "/scheduler/worker/",
    ],
)
def test_hostile_names_are_missing(prefix: str, lab: Any, users: dict[str, User]) -> None:
    client = client_for("admin", users)
    for name in HOSTILE:
        assert client.get(prefix + name).status_code == 404, name
        assert client.get(prefix + name + "/devicedict").status_code == 404, name
        post = client.post(prefix + name + "/health", {"health": "BAD"})
        assert post.status_code in (404, 405), name
    assert not HealthChange.objects.exists()


def test_device_lists_page_and_filter(lab: Any, users: dict[str, User]) -> None:
    for n in range(105):
        lab.device(f"board-{n:03}", health=DeviceHealth.RETIRED if n == 0 else DeviceHealth.GOOD)
    client = client_for("stranger", users)
    first = client.get("/scheduler/alldevices").content.decode()
    assert "board-000" in first and 'id="next-page"' in first
    assert "?after=" in first and "qemu-01" not in first
    second = client.get("/scheduler/alldevices?after=board-099").content.decode()
    assert "qemu-01" in second and "board-099" not in second and "next-page" not in second
    active = client.get("/scheduler/alldevices/active").content.decode()
    assert "board-000" not in active
    assert client.get("/scheduler/alldevices?after=%00").status_code == 200
    assert client.get("/scheduler/alldevices?after=" + "z" * 5000).status_code == 200


def test_device_list_shows_last_job_end(lab: Any, users: dict[str, User]) -> None:
    device = Device.objects.get(hostname="qemu-01")
    ended = job(device, users["owner"]).end_time
    body = client_for("anonymous", users).get("/scheduler/alldevices").content.decode()
    assert ended.strftime("%Y-%m-%d %H:%M:%S") in body


def test_my_devices(lab: Any, users: dict[str, User], hidden: Any) -> None:
    Device.objects.filter(hostname="qemu-02").update(physical_owner=users["owner"])
    Device.objects.filter(hostname="secret-01").update(physical_group=Group.objects.get(name="lab"))
    body = client_for("owner", users).get("/scheduler/mydevices").content.decode()
    assert "qemu-02" in body and "secret-01" in body and "qemu-01" not in body
    stranger = client_for("stranger", users).get("/scheduler/mydevices").content.decode()
    assert "qemu-02" not in stranger
    anonymous = Client().get("/scheduler/mydevices")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_device_dictionary_pages(lab: Any, users: dict[str, User]) -> None:
    client = client_for("stranger", users)
    page = client.get("/scheduler/device/qemu-01/devicedict").content.decode()
    assert "mac_addr" in page and "DE:AD:BE:EF:00:01" in page
    plain = client.get("/scheduler/device/qemu-01/devicedict/plain")
    assert plain["Content-Type"].startswith("text/plain")
    assert plain.content.decode().startswith("{% extends 'qemu.jinja2' %}")
    (lab.root / "devices" / "qemu-02.jinja2").unlink()
    assert client.get("/scheduler/device/qemu-02/devicedict").status_code == 404


def test_device_dictionary_that_does_not_render(lab: Any, users: dict[str, User]) -> None:
    lab.device("broken-01", dictionary="{% extends 'qemu.jinja2' %}\n{% if %}\n")
    page = client_for("admin", users).get("/scheduler/device/broken-01/devicedict")
    assert page.status_code == 200
    assert 'id="render-problem"' in page.content.decode()


def test_device_type_pages(lab: Any, users: dict[str, User]) -> None:
    job(Device.objects.get(hostname="qemu-01"), users["owner"], state=JobState.SUBMITTED)
    client = client_for("anonymous", users)
    table = client.get("/scheduler/device_types").content.decode()
    row = table.split('href="/scheduler/device_type/qemu"')[1].split("</tr>")[0]
    assert "every 24 hours" in row
    cells = [c.split(">")[-1] for c in row.split("</td>")[1:7]]
    assert cells == ["2", "2", "0", "0", "0", "1"]  # devices, idle, busy, offline, retired, queue
    yaml = client.get("/scheduler/devicetypeyaml/qemu")
    assert yaml["Content-Type"].startswith("text/plain")
    assert "qemu_template.yaml" in yaml["Content-Disposition"]
    assert b"{%" in yaml.content
    DeviceType.objects.create(name="notemplate")
    assert client.get("/scheduler/devicetypeyaml/notemplate").status_code == 404


def test_lab_health(lab: Any, users: dict[str, User]) -> None:
    device = Device.objects.get(hostname="qemu-01")
    check = job(device, users["admin"], health_check=True)
    private = job(
        Device.objects.get(hostname="qemu-02"),
        users["admin"],
        health_check=True,
        visibility=Visibility.PERSONAL,
    )
    job(device, users["admin"], description="not a check")
    Device.objects.filter(hostname="qemu-01").update(last_health_report_job=check)
    Device.objects.filter(hostname="qemu-02").update(last_health_report_job=private)
    client = client_for("stranger", users)
    body = client.get("/scheduler/labhealth/").content.decode()
    assert f'href="/scheduler/job/{check.id}"' in body
    assert f'href="/scheduler/job/{private.id}"' not in body  # hidden job: shown as none
    checks = client.get("/scheduler/labhealth/device/qemu-01").content.decode()
    assert f'href="/scheduler/job/{check.id}"' in checks
    assert "not a check" not in checks
