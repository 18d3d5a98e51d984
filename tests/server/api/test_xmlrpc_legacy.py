"""LAVA's older ``scheduler.*`` methods: what scripts from before lavacli read and change."""

from __future__ import annotations

import pytest
import yaml
from rpc_helpers import refused, rpc

from lava.common import log
from lava.server.logs.store import log_store
from lava.server.scheduler.models import Alias, Device, TestJob
from lava.server.scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobHealth,
    JobState,
    Visibility,
)

GOOD = "job_name: x\ndevice_type: qemu\nvisibility: public\ntimeouts:\n  job: {minutes: 5}\n"


@pytest.fixture
def jobs(users, lab, data_dir) -> dict[str, TestJob]:
    owner = users["owner"]
    done = TestJob.objects.create(
        submitter=owner,
        definition=GOOD,
        description="done",
        requested_device_type=lab.device_type,
        actual_device_id="qemu-01",
        state=JobState.FINISHED,
        health=JobHealth.COMPLETE,
    )
    running = TestJob.objects.create(
        submitter=owner,
        definition=GOOD,
        description="running",
        requested_device_type=lab.device_type,
        actual_device_id="qemu-02",
        state=JobState.RUNNING,
    )
    Device.objects.filter(hostname="qemu-02").update(state=DeviceState.RUNNING)
    queued = TestJob.objects.create(
        submitter=owner,
        definition=GOOD,
        description="queued",
        requested_device_type=lab.device_type,
    )
    log_store().append(done.id, 0, log.encode("info", "hello") + "\n")
    return {"done": done, "running": running, "queued": queued}


def test_job_methods(client, tokens, jobs) -> None:
    done = jobs["done"].id
    details = rpc(client, "scheduler.job_details", done)
    assert (details["status"], details["state"], details["health"]) == (
        "Complete",
        "Finished",
        "Complete",
    )
    assert details["submitter_username"] == "owner" and details["is_pipeline"] is True
    assert rpc(client, "scheduler.job_health", done) == {"job_id": done, "job_health": "Complete"}
    assert rpc(client, "scheduler.job_state", done) == {"job_id": done, "job_state": "Finished"}
    output = rpc(client, "scheduler.job_output", done)
    assert yaml.safe_load(output)[0]["msg"] == "hello"
    assert rpc(client, "scheduler.job_output", done, 5) == output[5:]
    unfinished = rpc(client, "scheduler.all_jobs")
    assert [row[:5] for row in unfinished] == [
        [jobs["queued"].id, "queued", "submitted", None, "qemu"],
        [jobs["running"].id, "running", "running", "qemu-02", "qemu"],
    ]
    assert refused(client, "scheduler.job_details", 999) == 404
    assert rpc(client, "scheduler.pending_jobs_by_device_type") == {"qemu": 1}
    TestJob.objects.filter(id=jobs["queued"].id).update(visibility=Visibility.PERSONAL)
    pending = "scheduler.pending_jobs_by_device_type"
    assert rpc(client, pending, auth=tokens["stranger"]) == {"qemu": 0}
    assert rpc(client, pending, auth=tokens["owner"]) == {"qemu": 1}


def test_device_methods(client, tokens, jobs, lab) -> None:
    assert rpc(client, "scheduler.all_devices") == [
        ["qemu-01", "qemu", "idle", None],
        ["qemu-02", "qemu", "running", jobs["running"].id],
    ]
    assert rpc(client, "scheduler.all_device_types") == [
        {"name": "qemu", "idle": 1, "busy": 1, "offline": 0}
    ]
    status = rpc(client, "scheduler.get_device_status", "qemu-02")
    assert (status["status"], status["job"], status["is_pipeline"]) == (
        "running",
        jobs["running"].id,
        True,
    )
    recent = rpc(client, "scheduler.get_recent_jobs_for_device", "qemu-01", 5)
    assert recent == [{"id": jobs["done"].id, "description": "done", "status": "Complete"}]
    by_type = rpc(client, "scheduler.get_recent_jobs_for_device_type", "qemu")
    assert by_type == [
        {"id": jobs["done"].id, "description": "done", "status": "Complete", "device": "qemu-01"}
    ]
    assert refused(client, "scheduler.get_recent_jobs_for_device", "qemu-01", -1) == 400
    Alias.objects.create(name="x86-pc", device_type=lab.device_type)
    assert rpc(client, "scheduler.get_device_type_by_alias", "x86") == {"x86": ["qemu"]}
    config = yaml.safe_load(rpc(client, "scheduler.get_device_config", "qemu-01"))
    assert config["hostname"] == "qemu-01"
    valid = yaml.safe_load(rpc(client, "scheduler.validate_pipeline_devices", "qemu"))
    assert valid == {"qemu-01": {"Valid": None}, "qemu-02": {"Valid": None}}


def test_device_writes(client, tokens, lab) -> None:
    admin = tokens["admin"]
    assert (
        refused(
            client, "scheduler.put_into_maintenance_mode", "qemu-01", "psu", auth=tokens["owner"]
        )
        == 403
    )
    assert refused(client, "scheduler.put_into_maintenance_mode", "qemu-01", "", auth=admin) == 400
    rpc(client, "scheduler.put_into_maintenance_mode", "qemu-01", "psu", auth=admin)
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.MAINTENANCE
    assert rpc(client, "scheduler.get_device_status", "qemu-01")["status"] == "offline"
    rpc(client, "scheduler.put_into_online_mode", "qemu-01", "fixed", auth=admin)
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.UNKNOWN
    rpc(client, "scheduler.put_into_online_mode", "qemu-01", "fixed", True, auth=admin)
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD
    text = rpc(client, "scheduler.export_device_dictionary", "qemu-01", auth=admin).decode()
    changed = text + "{% set memory = 1024 %}\n"
    answer = rpc(client, "scheduler.import_device_dictionary", "qemu-01", changed, auth=admin)
    assert answer == "Device dictionary updated for qemu-01"
    assert (
        rpc(client, "scheduler.export_device_dictionary", "qemu-01", auth=admin).decode() == changed
    )
    bad = "{% extends 'nope.jinja2' %}\n"
    assert refused(client, "scheduler.import_device_dictionary", "qemu-01", bad, auth=admin) == 400
    assert (
        refused(client, "scheduler.export_device_dictionary", "qemu-01", auth=tokens["owner"])
        == 403
    )


def test_validate_yaml(client, db) -> None:
    assert rpc(client, "scheduler.validate_yaml", GOOD + "actions: []\n") is None
    assert refused(client, "scheduler.validate_yaml", "job_name: [") == 400
    assert refused(client, "scheduler.validate_yaml", "job_name: x\n") == 400
