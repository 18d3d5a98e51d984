"""``/api/v0.2/devices/``: set_health (its reason logged) and validate."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from lava.server.scheduler.models import Device
from lava.server.scheduler.states import DeviceHealth

BASE = "/api/v0.2/devices"
GOOD_DICT = "{% extends 'qemu.jinja2' %}\n{% set memory = 256 %}\n"


def test_set_health(client: Client, lab, rest_auth, caplog: pytest.LogCaptureFixture) -> None:
    url = f"{BASE}/qemu-01/set_health/"
    body = {"health": "maintenance", "reason": "new PSU"}
    assert client.post(url, body).status_code == 401
    assert client.post(url, body, **rest_auth["owner"]).status_code == 403
    with caplog.at_level(logging.INFO, logger="lava.server.scheduler"):
        answer = client.post(url, body, **rest_auth["admin"])
    assert answer.status_code == 202 and answer.json() == {"message": "OK"}
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.MAINTENANCE
    assert "new PSU (by admin over REST)" in caplog.text
    wrong = client.post(url, {"health": "sleepy"}, **rest_auth["admin"])
    assert wrong.status_code == 400 and "GOOD, UNKNOWN" in wrong.json()["message"]
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.MAINTENANCE
    assert client.post(f"{BASE}/ghost/set_health/", body, **rest_auth["admin"]).status_code == 404


def test_validate_a_dictionary(client: Client, lab, rest_auth) -> None:
    url = f"{BASE}/validate/"
    as_text = client.post(url, GOOD_DICT, content_type="text/plain", **rest_auth["admin"])
    assert as_text.json() == {"message": "Device dictionary valid."}
    as_field = client.post(url, {"dictionary": GOOD_DICT}, **rest_auth["admin"])
    assert as_field.json() == {"message": "Device dictionary valid."}
    missing = client.post(
        url, "{% extends 'nope.jinja2' %}\n", content_type="text/plain", **rest_auth["admin"]
    )
    assert missing.status_code == 200
    assert missing.json()["message"].startswith("Device dictionary invalid:")
    assert "nope.jinja2" in missing.json()["message"]
    plain = client.post(url, "memory: 256\n", content_type="text/plain", **rest_auth["admin"])
    assert "does not extend" in plain.json()["message"]
    broken = client.post(url, "{% if %}", content_type="text/plain", **rest_auth["admin"])
    assert "does not render" in broken.json()["message"]
    assert client.post(url, "", content_type="text/plain", **rest_auth["admin"]).status_code == 400
    assert client.post(url, GOOD_DICT, content_type="text/plain").status_code == 401
