"""``/api/v0.2/devicetypes/<name>/template|health_check/``: read and replace, checked first."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.test import Client

from lava.server.scheduler.models import DeviceType, GroupDeviceTypePermission

BASE = "/api/v0.2/devicetypes"
HEALTH_CHECK = (
    "job_name: qemu health check\ndevice_type: qemu\nvisibility: public\n"
    "timeouts:\n  job: {minutes: 5}\nactions: []\n"
)


def test_template_get_and_set(client: Client, lab, rest_auth) -> None:
    shipped = client.get(f"{BASE}/qemu/template/")
    assert shipped.status_code == 200 and "base.jinja2" in shipped.text
    assert shipped["Content-Disposition"] == "attachment; filename=qemu.jinja2"
    url = f"{BASE}/qemu/template/"
    own = shipped.text + "{# the lab's own #}\n"
    assert client.post(url, {"template": own}).status_code == 401
    assert client.post(url, {"template": own}, **rest_auth["owner"]).status_code == 403
    assert client.post(url, {"template": own}, **rest_auth["admin"]).status_code == 200
    assert client.get(url).text == own
    assert (lab.root / "device-types" / "qemu.jinja2").read_text() == own
    broken = client.post(url, {"template": "{% if %}"}, **rest_auth["admin"])
    assert broken.status_code == 400 and "line 1" in broken.json()["message"]
    empty = client.post(url, {"template": ""}, **rest_auth["admin"])
    assert empty.status_code == 400 and "template" in empty.json()
    assert client.get(url).text == own  # refusals wrote nothing


def test_health_check_get_and_set(client: Client, lab, rest_auth, users) -> None:
    url = f"{BASE}/qemu/health_check/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"config": HEALTH_CHECK}, **rest_auth["owner"]).status_code == 403
    # a lab admin holding change_devicetype may, without being a superuser
    users["owner"].user_permissions.add(Permission.objects.get(codename="change_devicetype"))
    answer = client.post(url, {"config": HEALTH_CHECK}, **rest_auth["owner"])
    assert answer.status_code == 200, answer.content
    assert answer.json()["message"] == "health check updated"
    got = client.get(url)
    assert got.text == HEALTH_CHECK and got["Content-Type"].startswith("application/yaml")
    bad = client.post(url, {"config": "job_name: [unclosed\n"}, **rest_auth["admin"])
    assert bad.status_code == 400 and "not valid YAML" in bad.json()["message"]
    assert client.get(url).text == HEALTH_CHECK


def test_a_hidden_type_has_no_template_or_health_check(client: Client, lab, rest_auth) -> None:
    secret = DeviceType.objects.create(name="secret")
    GroupDeviceTypePermission.objects.create(
        devicetype=secret, group=Group.objects.get(name="lab"), permission="view"
    )
    for tail in ("template/", "health_check/"):
        for who in ({}, rest_auth["stranger"]):
            answer = client.get(f"{BASE}/secret/{tail}", **who)
            assert answer.status_code == 404, (tail, answer.status_code)
            assert answer.json() == {"detail": "No DeviceType matches the given query."}
        posted = client.post(f"{BASE}/secret/{tail}", {"template": "x"}, **rest_auth["stranger"])
        assert posted.status_code == 404
