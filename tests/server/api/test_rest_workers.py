"""``/api/v0.2/workers/<name>/env|env-dut|config|set_health/``."""

from __future__ import annotations

from django.test import Client

from lava.server.scheduler.dispatcher_config import read_worker_file
from lava.server.scheduler.models import Worker
from lava.server.scheduler.states import WorkerHealth

BASE = "/api/v0.2/workers/worker-01"
ENV = "purge: true\noverrides:\n  LC_ALL: C.UTF-8\n"


def test_files_read_and_replace(client: Client, lab, rest_auth) -> None:
    for tail, key, name in (
        ("env/", "env", "env.yaml"),
        ("env-dut/", "env", "env-dut.yaml"),
        ("config/", "config", "dispatcher.yaml"),
    ):
        url = f"{BASE}/{tail}"
        assert client.get(url).status_code == 404  # none yet
        assert client.post(url, {key: ENV}).status_code == 401
        assert client.post(url, {key: ENV}, **rest_auth["owner"]).status_code == 403
        assert client.post(url, {key: ENV}, **rest_auth["admin"]).status_code == 200
        got = client.get(url)
        assert got.text == ENV and got["Content-Disposition"] == f"attachment; filename={name}"
        assert read_worker_file("worker-01", name) == ENV  # what the worker's jobs now get
        for bad in ("- a list\n", "key: [unclosed\n"):
            refused = client.post(url, {key: bad}, **rest_auth["admin"])
            assert refused.status_code == 400, (tail, bad)
            assert name in refused.json()["message"]
        assert client.get(url).text == ENV
    assert client.get("/api/v0.2/workers/ghost/env/").status_code == 404


def test_set_health(client: Client, lab, rest_auth) -> None:
    url = f"{BASE}/set_health/"
    assert client.post(url, {"health": "RETIRED"}, **rest_auth["owner"]).status_code == 403
    answer = client.post(url, {"health": "Retired", "reason": "moved"}, **rest_auth["admin"])
    assert answer.status_code == 202
    assert Worker.objects.get(hostname="worker-01").health == WorkerHealth.RETIRED
    # a retired worker leaves the list but can still be looked at
    assert client.get("/api/v0.2/workers/").json()["count"] == 0
    assert client.get("/api/v0.2/workers/?show_all=true").json()["count"] == 1
    assert client.get(f"{BASE}/").json()["health"] == "Retired"
    assert client.post(url, {"health": "GOOD"}, **rest_auth["admin"]).status_code == 400
