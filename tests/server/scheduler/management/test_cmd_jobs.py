"""``lava-server manage jobs``: through call_command, and once through the real entry point."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from lava.server.scheduler import transitions
from lava.server.scheduler.models import Device, TestJob
from lava.server.scheduler.states import JobHealth, JobState

LAVA_SERVER = Path(sys.executable).parent / "lava-server"

JOB = """job_name: from a file
device_type: qemu
visibility: public
priority: high
timeouts: {job: {minutes: 5}}
actions:
- boot: {method: qemu, media: tmpfs, prompts: ['# ']}
"""


def manage(*args: str) -> tuple[str, str]:
    """Run ``jobs ARGS``; return (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("jobs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> tuple[str, str]:
    """Run ``jobs ARGS`` expecting a CommandError; return (its message, stderr)."""
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("jobs", *args, stdout=StringIO(), stderr=err)
    return str(exc.value), err.getvalue()


@pytest.fixture
def job_file(tmp_path: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(JOB, encoding="utf-8")
    return path


def queued(user, lab, state: int = JobState.SUBMITTED, **fields: Any) -> TestJob:
    job = TestJob.objects.create(
        submitter=user,
        definition=JOB,
        original_definition=JOB,
        requested_device_type=lab.device_type,
        description="queued",
        **fields,
    )
    if state in (JobState.SCHEDULED, JobState.RUNNING, JobState.FINISHED):
        transitions.job_scheduled(job, Device.objects.get(hostname="qemu-01"))
    if state in (JobState.RUNNING, JobState.FINISHED):
        transitions.job_running(job)
    if state == JobState.FINISHED:
        transitions.job_finished(job, JobHealth.COMPLETE, reason="test")
    job.refresh_from_db()
    return job


# submit


def test_submit_prints_one_id_per_file(lab, users, job_file, tmp_path) -> None:
    second = tmp_path / "second.yaml"
    second.write_text(JOB.replace("from a file", "second"), encoding="utf-8")
    out, _ = manage("submit", str(job_file), str(second), "--submitter", "owner")
    ids = [int(line) for line in out.split()]
    jobs = TestJob.objects.filter(pk__in=ids).order_by("id")
    assert [j.description for j in jobs] == ["from a file", "second"]
    assert {(j.submitter.username, j.priority) for j in jobs} == {("owner", 100)}


def test_a_refused_file_is_named_on_stderr(lab, users, job_file, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(JOB.replace("device_type: qemu", "device_type: nosuch"), encoding="utf-8")
    message, err = refused("submit", str(bad), "--submitter", "owner")
    assert f"{bad}: refused: device_type: device type 'nosuch' does not exist" in err
    assert message == "1 of 1 job definitions refused"
    assert not TestJob.objects.exists()


def test_submit_goes_on_past_a_refused_file(lab, users, job_file, tmp_path) -> None:
    missing = tmp_path / "missing.yaml"
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2"):
        call_command(
            "jobs", "submit", str(missing), str(job_file), "--submitter", "owner", stdout=out
        )
    assert TestJob.objects.count() == 1
    assert out.getvalue().strip() == str(TestJob.objects.get().id)


def test_submit_needs_a_known_submitter(lab, job_file) -> None:
    message, _ = refused("submit", str(job_file), "--submitter", "nobody")
    assert message == "user 'nobody' does not exist"


# validate


def test_validate(lab, tmp_path, job_file) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(JOB.replace("media: tmpfs", "media: tmpfs, bogus: 1"), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("job_name: [x\n", encoding="utf-8")
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 3 job definitions invalid"):
        call_command("jobs", "validate", str(job_file), str(extra), str(broken), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[:2] == [f"{job_file}: valid", f"{extra}: valid"]
    assert lines[2].startswith(f"{broken}: invalid: the job definition is not valid YAML: line 2")
    # the strict schema, as LAVA's web pages use it, refuses keys it does not know
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 job definitions invalid"):
        call_command("jobs", "validate", str(job_file), str(extra), "--strict", stdout=out)
    assert (
        f"{extra}: invalid: extra keys not allowed @ actions[0].boot.qemu.bogus" in out.getvalue()
    )


# list


def test_list_formats_and_filters(lab, users) -> None:
    mine = queued(users["owner"], lab)
    theirs = queued(users["stranger"], lab, JobState.RUNNING)
    table, _ = manage("list")
    header, _rule, *lines = table.splitlines()
    assert header.split()[:4] == ["id", "state", "health", "submitter"]
    assert [int(line.split()[0]) for line in lines] == [theirs.id, mine.id]
    rows = json.loads(manage("list", "--format", "json")[0])
    assert rows[0]["state"] == "Running" and rows[0]["device"] == "qemu-01"
    rows = yaml.safe_load(manage("list", "--format", "yaml", "--state", "submitted")[0])
    assert [row["id"] for row in rows] == [mine.id]
    rows = json.loads(manage("list", "--format", "json", "--submitter", "stranger")[0])
    assert [row["id"] for row in rows] == [theirs.id]
    assert manage("list", "--state", "FINISHED")[0] == "(none)\n"


# cancel, fail, resubmit


def test_cancel(lab, users) -> None:
    submitted = queued(users["owner"], lab)
    running = queued(users["owner"], lab, JobState.RUNNING)
    out, _ = manage("cancel", str(submitted.id), str(running.id))
    assert out.splitlines() == [
        f"job {submitted.id}: Finished (Canceled)",
        f"job {running.id}: Canceling",
    ]


def test_cancel_as_a_user_without_the_right(lab, users) -> None:
    job = queued(users["owner"], lab)
    message, err = refused("cancel", str(job.id), "--user", "stranger")
    assert f"user 'stranger' may not cancel job {job.id}" in err
    assert message == "1 of 1 jobs left unchanged"
    job.refresh_from_db()
    assert job.state == JobState.SUBMITTED


def test_fail(lab, users) -> None:
    job = queued(users["owner"], lab, JobState.RUNNING)
    out, _ = manage("fail", str(job.id), "--reason", "the worker is gone")
    assert out == f"job {job.id}: Finished (Incomplete)\n"
    job.refresh_from_db()
    assert job.failure_comment == "the worker is gone"
    _, err = refused("fail", str(job.id), "12345")
    assert f"job {job.id} is Finished, not stuck" in err
    assert "job 12345 does not exist" in err


def test_resubmit(lab, users) -> None:
    old = queued(users["owner"], lab, JobState.FINISHED)
    out, _ = manage("resubmit", str(old.id))
    new = TestJob.objects.get(pk=int(out))
    assert (new.submitter.username, new.definition) == ("owner", JOB)
    out, _ = manage("resubmit", str(old.id), "--submitter", "stranger")
    assert TestJob.objects.get(pk=int(out)).submitter.username == "stranger"


# rm


def test_rm(lab, users) -> None:
    old = queued(users["owner"], lab, JobState.FINISHED)
    TestJob.objects.filter(pk=old.pk).update(end_time=timezone.now() - timedelta(days=40))
    recent = queued(users["owner"], lab, JobState.FINISHED)
    waiting = queued(users["owner"], lab)
    message, _ = refused("rm")
    assert "at least one filter" in message
    assert manage("rm", "--older-than", "30d", "--dry-run")[0] == f"Would remove 1 jobs: {old.id}\n"
    assert TestJob.objects.count() == 3
    assert manage("rm", "--older-than", "30d")[0] == f"Removed 1 jobs: {old.id}\n"
    message, _ = refused("rm", str(recent.id), str(waiting.id))
    assert message.startswith(f"not finished: job {waiting.id}")
    message, _ = refused("rm", "--state", "submitted")
    assert message.startswith(f"not finished: job {waiting.id}")
    assert manage("rm", "--health", "complete")[0] == f"Removed 1 jobs: {recent.id}\n"
    assert list(TestJob.objects.values_list("id", flat=True)) == [waiting.id]


def test_rm_bad_duration(lab) -> None:
    with pytest.raises(CommandError, match="invalid duration"):
        manage("rm", "--older-than", "soon")


# the real entry point


def committed_database_url(tmp_path: Path) -> str:
    """A URL another process can open to see this test's (committed) data."""
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
        host = f"{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}"
        return f"postgresql://{auth}@{host}/{settings['NAME']}"
    # SQLite test databases live in memory: hand the other process a copy on disk
    copy = tmp_path / "copy.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(copy) as target:
        connection.connection.backup(target)
    return f"sqlite:///{copy}"


def lava_server(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LAVA_SERVER), "manage", "jobs", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_lava_server_manage_jobs_submit(transactional_db, lab, users, job_file, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(JOB + "tags: [nosuch]\n", encoding="utf-8")
    env = {
        **os.environ,
        "LAVA_DATABASE_URL": committed_database_url(tmp_path),
        "LAVA_DATA_DIR": str(tmp_path / "instance"),
        "LAVA_SETTINGS": os.devnull,
    }
    done = lava_server(env, "submit", str(job_file), "--submitter", "owner")
    assert done.returncode == 0, done.stderr
    job_id = int(done.stdout)
    done = lava_server(env, "submit", str(bad), "--submitter", "owner")
    assert done.returncode == 1
    assert f"{bad}: refused: tags: device tag 'nosuch' does not exist" in done.stderr
    assert "CommandError: 1 of 1 job definitions refused" in done.stderr
    done = lava_server(env, "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["id"], r["submitter"], r["state"]) for r in rows] == [(job_id, "owner", "Submitted")]
