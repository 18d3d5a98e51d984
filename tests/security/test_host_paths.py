"""Class 2: job values never become paths on the worker outside the job's directory.

mallory aims a namespace, the overlay's lava_test_results_dir and local
URLs at a canary directory and at the worker's own files: the job is refused
naming the value, the canary is untouched, and the lab runs the next job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio

pytestmark = pytest.mark.slow


def demo(security_lab: Any) -> dict[str, Any]:
    return yamlio.load(security_lab.demo_job())


def relative_from_anywhere(target: Path) -> str:
    """A path with enough '..' to reach / from any job directory, then down to `target`."""
    return "/".join([".."] * 40) + str(target)


@pytest.mark.parametrize("form", ["absolute", "relative"])
def test_namespace_cannot_reach_outside(
    security_lab: Any, refused: Any, canary: Any, form: str
) -> None:
    """The download directory <namespace>/<label> is removed at cleanup: here canary/keep."""
    namespace = str(canary.root) if form == "absolute" else relative_from_anywhere(canary.root)
    definition = demo(security_lab)
    for block in definition["actions"]:
        next(iter(block.values()))["namespace"] = namespace
    images = definition["actions"][0]["deploy"]["images"]
    images["keep"] = images.pop("kernel")
    images["keep"]["image_arg"] = images["keep"]["image_arg"].replace("{kernel}", "{keep}")
    # refused at submission; lava-run refuses it too (tests/dispatcher/test_run_host.py)
    refused(yamlio.dump(definition), "actions[0].deploy.namespace")
    canary.assert_untouched()
    assert not canary.path("keep/vmlinuz").exists()
    security_lab.assert_runs_jobs()


def test_results_dir_from_the_context_stays_in_the_overlay(
    security_lab: Any, refused: Any, canary: Any
) -> None:
    definition = demo(security_lab)
    definition["context"]["lava_test_results_dir"] = relative_from_anywhere(canary.path("lava-%s"))
    refused(yamlio.dump(definition), "lava_test_results_dir must be an absolute path of plain")
    canary.assert_untouched()
    assert not any(name.startswith("lava-") for name in os.listdir(canary.root))
    security_lab.assert_runs_jobs()


@pytest.mark.parametrize("form", ["file://{}", "{}"])
def test_worker_files_are_not_images(security_lab: Any, refused: Any, form: str) -> None:
    """The worker's token is a file of the worker: not an image a job may copy to its guest."""
    token = security_lab.lab.instance / "worker-token"
    definition = demo(security_lab)
    definition["actions"][0]["deploy"]["images"]["initrd"]["url"] = form.format(token)
    refused(yamlio.dump(definition), "is a local path, and local paths are allowed only under")
    assert not list(security_lab.lab.worker_jobs_dir().rglob("worker-token"))
    security_lab.assert_runs_jobs()


@pytest.mark.parametrize(
    ("repository", "reason"),
    [
        ("/etc", "is a local path, and local paths are allowed only under"),
        ("ext::sh -c touch% {pwned}", "the scheme 'ext::' is not allowed"),
    ],
)
def test_git_repositories_stay_off_the_worker(
    security_lab: Any, refused: Any, canary: Any, repository: str, reason: str
) -> None:
    definition = demo(security_lab)
    git = definition["actions"][2]["test"]["definitions"][1]
    git["repository"] = repository.format(pwned=canary.path("pwned"))
    refused(yamlio.dump(definition), reason)
    assert not canary.path("pwned").exists()
    security_lab.assert_runs_jobs()


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_job_files_are_private_to_the_worker(security_lab: Any) -> None:
    """Other local users of the worker read neither a running job's files nor its results."""
    definition = security_lab.demo_job(visibility="personal", secrets={"TOKEN": "s3cr3t-value"})
    job_id = security_lab.submit(definition)
    security_lab.wait_for_qemu(job_id)
    job_dir = security_lab.job_dir(job_id)
    worker_dir = security_lab.lab.worker_jobs_dir().parent
    for directory in (
        worker_dir,
        worker_dir / "jobs",
        job_dir,
        job_dir / "output",
        job_dir / "tmp",
    ):
        assert mode(directory) == 0o700, directory
    for name in ("job.yaml", "device.yaml", "state.json", "lava-run.out", "output/output.yaml"):
        assert mode(job_dir / name) == 0o600, name
    record = security_lab.wait(job_id)
    assert record["health"] == "Complete", record
    for name in ("result.yaml", "results.yaml", "description.yaml"):  # kept by --keep-jobs
        assert mode(job_dir / "output" / name) == 0o600, name
    security_lab.assert_runs_jobs()
