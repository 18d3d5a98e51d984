"""Fixtures shared by the whole suite: the real guest and lava-run jobs on it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import example  # noqa: E402

from lava.common import log, yamlio  # noqa: E402


@pytest.fixture(scope="session")
def guest() -> Path:
    """The project's guest (kernel + busybox initramfs), built once and cached."""
    return example.guest_dir()


@dataclass
class JobRun:
    """What one lava-run left behind."""

    status: int
    out_dir: Path
    lines: list[dict[str, Any]]

    @property
    def result(self) -> dict[str, Any]:
        return yamlio.load((self.out_dir / "result.yaml").read_text())

    @property
    def results(self) -> list[dict[str, Any]]:
        return yamlio.load((self.out_dir / "results.yaml").read_text()) or []

    def messages(self, lvl: str | None = None) -> list[Any]:
        return [line["msg"] for line in self.lines if lvl is None or line["lvl"] == lvl]


def finish(proc: subprocess.Popen[str], out_dir: Path, timeout: float = 300) -> JobRun:
    proc.communicate(timeout=timeout)
    lines = [log.decode(line) for line in (out_dir / "output.yaml").read_text().splitlines()]
    return JobRun(proc.returncode, out_dir, lines)


@pytest.fixture
def run_job(guest: Path, tmp_path: Path) -> Any:
    """Run an example job (edited by a callback) with lava-run; return a JobRun."""

    def run(
        name: str = "qemu-demo.yaml",
        edit: Any = None,
        timeout: float = 300,
        job_id: str = "1",
    ) -> JobRun:
        definition = yamlio.load(example.job_text(name, guest=guest))
        if edit is not None:
            edit(definition)
        text = yamlio.dump(definition)
        out_dir = tmp_path / f"job-{job_id}"
        proc = example.lava_run(
            text,
            example.device_text(text),
            out_dir,
            job_id=job_id,
            stdout=subprocess.DEVNULL,
        )
        return finish(proc, out_dir, timeout)

    return run
