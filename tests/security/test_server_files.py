"""The server's data directory and the files that hold secrets are private (class 8 of issue 11).

The SQLite database (tokens, password hashes, job definitions with their
secrets), secret_key, job logs and device dictionaries were readable by every
local user. The modes are read from the live lab's instance, after a real job.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def private(path: Path) -> bool:
    """No permission at all for the group or others."""
    return mode(path) & 0o077 == 0


def secret_files(instance: Path, job_id: int) -> list[Path]:
    job_dir = instance / "jobs" / f"job-{job_id}"
    return [
        instance / "lava.sqlite3",
        instance / "secret_key",
        job_dir / "output.yaml",
        job_dir / "job.yaml",
        instance / "dispatcher-config" / "devices" / "qemu-01.jinja2",
    ]


def test_secrets_are_private_to_the_server(security_lab) -> None:
    instance = security_lab.lab.instance
    job_id = security_lab.submit(security_lab.quick_job("private files"))
    record = security_lab.wait(job_id)
    assert record["health"] == "Complete", record
    assert mode(instance) == 0o700
    assert mode(instance / "jobs") == 0o700 and mode(instance / "jobs" / f"job-{job_id}") == 0o700
    for path in secret_files(instance, job_id):  # private even were the directory opened up
        assert path.is_file(), path
        assert private(path), f"{path}: {mode(path):04o}"
    security_lab.assert_runs_jobs()


def test_loose_modes_are_made_private_at_start_and_reported(security_lab) -> None:
    instance = security_lab.lab.instance
    database = instance / "lava.sqlite3"
    dictionary = instance / "dispatcher-config" / "devices" / "qemu-01.jinja2"
    instance.chmod(0o755)
    database.chmod(0o644)
    dictionary.chmod(0o644)
    # what a careless chmod or a restore from a backup leaves; any server process fixes it
    report = security_lab.lab.manage("check", check=False, quiet=True)
    text = report.stdout + report.stderr
    assert "lava.W010" in text
    for path in (instance, database, dictionary):
        assert str(path) in text
    assert mode(instance) == 0o700 and mode(database) == 0o600 and mode(dictionary) == 0o600
    security_lab.assert_runs_jobs()
