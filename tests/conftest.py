"""Fixtures shared by the whole suite: the real guest and lava-run jobs on it.

Server tests run on the database named by ``LAVA_TEST_DATABASE_URL`` (SQLite
in a temporary data directory when unset); ``make test`` runs them twice, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio
from tools import example


def _configure_django() -> None:
    """Point Django at a throw-away instance before any test module imports a model."""
    data_dir = tempfile.mkdtemp(prefix="lava-test-instance-")
    os.environ["LAVA_DATA_DIR"] = data_dir
    os.environ["LAVA_SETTINGS"] = os.devnull  # never read the host's /etc/lava-server
    url = os.environ.get("LAVA_TEST_DATABASE_URL", "")
    if url:
        os.environ["LAVA_DATABASE_URL"] = url
    else:
        os.environ.pop("LAVA_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "lava.server.settings"
    import django

    django.setup()


_configure_django()


@pytest.fixture(scope="session")
def guest() -> Path:
    """The project's guest (kernel + busybox initramfs), built once and cached."""
    return example.guest_dir()


@pytest.fixture
def run_job(guest: Path, tmp_path: Path) -> Any:
    """Run an example job (edited by a callback) with lava-run; return a JobRun."""

    def run(
        name: str = "qemu-demo.yaml",
        edit: Any = None,
        timeout: float = 300,
        job_id: str = "1",
    ) -> example.JobRun:
        definition = yamlio.load(example.job_text(name, guest=guest))
        if edit is not None:
            edit(definition)
        text = yamlio.dump(definition)
        out_dir = tmp_path / f"job-{job_id}"
        # A work directory inside out_dir puts it on QEMU's command line, so a
        # test can find (or miss) the QEMU processes of its own job.
        proc = example.lava_run(
            text,
            example.device_text(text),
            out_dir,
            job_id=job_id,
            extra=["--work-dir", str(out_dir / "work")],
            stdout=subprocess.DEVNULL,
        )
        return example.finish(proc, out_dir, timeout)

    return run
