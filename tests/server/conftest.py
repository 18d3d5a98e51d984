"""Fixtures for server tests: users (admin, owner, stranger) and a small lab.

The lab: device type ``qemu`` with the dictionary files of an instance in a
temporary dispatcher-config, worker ``worker-01`` online and Active, devices
``qemu-01`` and ``qemu-02`` Good and Idle.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import override_settings
from django.utils import timezone

from lava.server.scheduler.models import Device, DeviceType, Tag, Worker
from lava.server.scheduler.states import DeviceHealth, DeviceState, WorkerHealth, WorkerState

QEMU_DICT = """{% extends 'qemu.jinja2' %}
{% set mac_addr = 'DE:AD:BE:EF:00:01' %}
{% set memory = 512 %}
"""


@pytest.fixture
def dispatcher_config(tmp_path: Path, settings: Any) -> Iterator[Path]:
    """A dispatcher-config directory of LAVA's layout, used by the server for this test."""
    root = tmp_path / "dispatcher-config"
    for sub in ("devices", "device-types", "health-checks"):
        (root / sub).mkdir(parents=True)
    lava = settings.LAVA
    old = lava.dispatcher_config
    lava.dispatcher_config = root
    yield root
    lava.dispatcher_config = old


@pytest.fixture
def data_dir(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory of this test's own: job logs and results metadata start empty."""
    path = tmp_path / "data"
    monkeypatch.setattr(settings.LAVA, "data_dir", path)
    return path


@pytest.fixture
def users(db: None) -> dict[str, User]:
    """``admin`` (superuser), ``owner`` (in group ``lab``) and ``stranger`` (in no group)."""
    admin = User.objects.create_superuser("admin", "admin@example.com", "admin")
    owner = User.objects.create_user("owner", "owner@example.com", "owner")
    stranger = User.objects.create_user("stranger", "stranger@example.com", "stranger")
    lab = Group.objects.create(name="lab")
    owner.groups.add(lab)
    return {"admin": admin, "owner": owner, "stranger": stranger}


@dataclass
class Lab:
    """Objects of the small lab fixture, plus helpers to grow it."""

    root: Path
    device_type: DeviceType
    worker: Worker

    def device(
        self,
        hostname: str,
        *,
        device_type: DeviceType | None = None,
        worker: Worker | None = None,
        health: int = DeviceHealth.GOOD,
        tags: tuple[str, ...] = (),
        dictionary: str | None = None,
    ) -> Device:
        dt = device_type or self.device_type
        device = Device.objects.create(
            hostname=hostname,
            device_type=dt,
            worker_host=worker or self.worker,
            health=health,
            state=DeviceState.IDLE,
        )
        for name in tags:
            device.tags.add(Tag.objects.get_or_create(name=name)[0])
        text = dictionary or QEMU_DICT.replace("qemu.jinja2", f"{dt.name}.jinja2")
        (self.root / "devices" / f"{hostname}.jinja2").write_text(text)
        return device


@pytest.fixture
def lab(db: None, dispatcher_config: Path) -> Lab:
    device_type = DeviceType.objects.create(name="qemu")
    worker = Worker.objects.create(
        hostname="worker-01",
        state=WorkerState.ONLINE,
        health=WorkerHealth.ACTIVE,
        last_ping=timezone.now(),
    )
    lab = Lab(root=dispatcher_config, device_type=device_type, worker=worker)
    lab.device("qemu-01")
    lab.device("qemu-02")
    return lab


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield
