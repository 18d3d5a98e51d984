"""The demo's server instance, end to end: real processes, a real SQLite file, real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def demo(instance: Path, verb: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAVA_")}
    env.update(LAVA_DEMO_INSTANCE=str(instance), LAVA_DEMO_PORT="0")
    return subprocess.run(
        [sys.executable, "-m", "tools.demo_server", verb],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def instance(tmp_path: Path):
    path = tmp_path / "instance"
    yield path
    demo(path, "stop")


def test_setup_start_list_stop(instance: Path) -> None:
    setup = demo(instance, "setup")
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert (instance / "lava.sqlite3").is_file()
    assert (instance / "dispatcher-config" / "devices" / "qemu-01.jinja2").is_file()

    started = demo(instance, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "web server at http://127.0.0.1:" in started.stdout
    assert "nginx (pid" in started.stdout and "in front of gunicorn" in started.stdout
    assert "worker (lava-worker" in started.stdout
    assert "lavacli -i demo events listen" in started.stdout
    port = (instance / "web.port").read_text().strip()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        assert answer.status == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5) as answer:
        assert b"Django" in answer.read() or answer.status == 200

    summary = demo(instance, "summary")
    assert summary.returncode == 0, summary.stdout + summary.stderr
    assert "qemu-01" in summary.stdout
    assert "qemu" in summary.stdout

    again = demo(instance, "setup")  # idempotent: a second `make demo` reuses the instance
    assert again.returncode == 0, again.stdout + again.stderr

    stopped = demo(instance, "stop")
    assert stopped.returncode == 0
    assert "stopped the demo's front" in stopped.stdout
    assert "stopped the demo's web" in stopped.stdout
    assert "stopped the demo's scheduler" in stopped.stdout
    assert "stopped the demo's worker" in stopped.stdout
    assert "stopped the demo's scheduler" in stopped.stdout  # and its publisher thread
    status = demo(instance, "status")
    assert status.stdout.count("stopped") == 5
