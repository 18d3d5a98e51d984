"""``lava-server manage workers``: add, update, details, list."""

from __future__ import annotations

import json
import logging
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from lava.server.scheduler.models import Worker
from lava.server.scheduler.states import WorkerHealth, WorkerState


def manage(*args: str) -> str:
    out = StringIO()
    call_command("workers", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("workers", *args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


def test_add_prints_the_token(db) -> None:
    out = manage("add", "worker-09", "--description", "rack 2", "--job-limit", "3")
    worker = Worker.objects.get(hostname="worker-09")
    assert out == f"Token: {worker.token}\n"
    assert (worker.description, worker.job_limit) == ("rack 2", 3)
    assert (worker.state, worker.health) == (WorkerState.OFFLINE, WorkerHealth.ACTIVE)
    manage("add", "worker-10", "--health", "maintenance")
    assert Worker.objects.get(hostname="worker-10").health == WorkerHealth.MAINTENANCE


def test_add_refused(db) -> None:
    manage("add", "worker-09")
    assert refused("add", "worker-09") == "worker 'worker-09' already exists"
    assert refused("add", "a/b").startswith("worker name 'a/b' is not valid")
    assert "argument --job-limit: -1 is negative" in refused("add", "w", "--job-limit", "-1")
    assert "'BUSY' is not one of ACTIVE, MAINTENANCE, RETIRED" in refused(
        "add", "w", "--health", "BUSY"
    )
    assert list(Worker.objects.values_list("hostname", flat=True)) == ["worker-09"]


def test_update(lab, caplog) -> None:
    old = lab.worker.token
    assert manage("update", "worker-01", "--description", "moved") == ""
    with caplog.at_level(logging.INFO, logger="lava.server.scheduler"):
        out = manage("update", "worker-01", "--health", "RETIRED", "--job-limit", "2", "--token")
    worker = Worker.objects.get(hostname="worker-01")
    assert out == f"Token: {worker.token}\n" and worker.token != old
    assert (worker.description, worker.job_limit) == ("moved", 2)
    assert worker.health == WorkerHealth.RETIRED
    assert "worker worker-01: health Active -> Retired (workers update (by " in caplog.text
    assert refused("update", "nosuch", "--health", "ACTIVE") == "worker 'nosuch' does not exist"


def test_details(lab) -> None:
    table = manage("details", "worker-01")
    assert "hostname    : worker-01" in table and "devices     : 2" in table
    data = json.loads(manage("details", "worker-01", "--devices", "--format", "json"))
    assert data["devices"] == ["qemu-01", "qemu-02"]
    assert (data["state"], data["health"], data["token"]) == ("Online", "Active", lab.worker.token)
    assert refused("details", "nosuch") == "worker 'nosuch' does not exist"


def test_list(lab) -> None:
    Worker.objects.create(hostname="worker-00", health=WorkerHealth.RETIRED)
    table = manage("list")
    header, _rule, *lines = table.splitlines()
    assert header.split() == [
        "hostname", "state", "health", "devices", "job_limit", "last_ping", "description",
    ]  # fmt: skip
    assert [line.split()[:4] for line in lines] == [["worker-01", "Online", "Active", "2"]]
    rows = yaml.safe_load(manage("list", "-a", "--format", "yaml"))
    assert [(r["hostname"], r["health"]) for r in rows] == [
        ("worker-00", "Retired"),
        ("worker-01", "Active"),
    ]
    csv = manage("list", "--csv").splitlines()
    assert csv[0] == "hostname,state,health,devices,job_limit,last_ping,description"
    assert csv[1].startswith("worker-01,Online,Active,2,0,")
