"""End to end through the server: submit, schedule, lava-worker, lava-run on QEMU, log, results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio
from tools import example
from tools.livelab import LiveLab

pytestmark = pytest.mark.slow


def normalise(row: dict[str, Any]) -> tuple[Any, ...]:
    measurement = row.get("measurement")
    return (
        row["suite"],
        row.get("set") or None,
        row["name"],
        row["result"],
        None if measurement is None else round(float(measurement), 6),
        row.get("units") or "",
    )


def test_job_runs_through_the_server(live_lab: LiveLab, guest: Path) -> None:
    job_id = live_lab.submit(example.job_text(guest=guest))
    record = live_lab.wait_job(job_id, timeout=300)
    assert record["health"] == "Complete", live_lab.log_tail()
    assert (record["device_state"], record["device_health"]) == ("Idle", "Good")

    output = live_lab.worker_jobs_dir() / str(job_id) / "output"
    written = (output / "output.yaml").read_text(encoding="utf-8").splitlines()
    stored = live_lab.log_lines(job_id)
    assert len(stored) == len(written) > 100
    assert stored == written

    results = yamlio.load((output / "results.yaml").read_text(encoding="utf-8"))
    rows = live_lab.testcases(job_id)
    assert sorted(map(normalise, rows)) == sorted(map(normalise, results))
    names = {(row["suite"], row["name"]) for row in rows}
    assert {("0_smoke", "always-fails"), ("1_smoke-git", "greeting"), ("lava", "job")} <= names


def test_two_devices_run_two_jobs_at_once(live_lab: LiveLab, guest: Path) -> None:
    if live_lab.manage("devices", "details", "qemu-02", check=False, quiet=True).returncode:
        live_lab.manage(
            "devices",
            "add",
            "qemu-02",
            "--device-type",
            "qemu",
            "--worker",
            live_lab.worker_name,
            "--device-dict",
            str(example.EXAMPLES / "devices" / "qemu-01.jinja2"),
            quiet=True,
        )
    job = example.job_text(guest=guest)
    ids = [live_lab.submit(job), live_lab.submit(job)]
    records = [live_lab.wait_job(job_id, timeout=300) for job_id in ids]
    assert [r["health"] for r in records] == ["Complete", "Complete"], live_lab.log_tail()
    first, second = records
    assert second["start_time"] < first["end_time"], "the second job waited for the first"
    for job_id in ids:
        written = live_lab.worker_jobs_dir() / str(job_id) / "output" / "output.yaml"
        assert live_lab.log_lines(job_id) == written.read_text(encoding="utf-8").splitlines()
