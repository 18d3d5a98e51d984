"""The example job and device, filled in for this checkout: shared by the demo,
the end-to-end tests and the benchmarks so they all run the same job."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lava.common import log, yamlio

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BUILD_GUEST = ROOT / "tools" / "guest" / "build-guest"


def guest_dir() -> Path:
    """Build the guest if needed (cached) and return its directory."""
    proc = subprocess.run(
        [sys.executable, str(BUILD_GUEST), "--print-dir"],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return Path(proc.stdout.strip().splitlines()[-1])


def job_text(name: str = "qemu-demo.yaml", guest: Path | None = None) -> str:
    """An example job with @GUEST@ and @REPO@ filled in."""
    text = (EXAMPLES / "jobs" / name).read_text(encoding="utf-8")
    guest = guest or guest_dir()
    return text.replace("@GUEST@", str(guest)).replace("@REPO@", str(ROOT))


def deploy_only_job(name: str, guest: Path, extra: str = "") -> str:
    """A job that deploys the guest's kernel from ``file://`` and stops (a second or two on
    a QEMU device): the fleet benchmark's and the live tests' short job. ``extra``: more
    top-level keys (YAML text), a ``notify`` block say."""
    return (
        f"job_name: {name}\n"
        "device_type: qemu\n"
        "visibility: public\n"
        "priority: medium\n"
        "timeouts: {job: {minutes: 5}, action: {minutes: 2}}\n"
        "actions:\n"
        "- deploy:\n"
        "    to: tmpfs\n"
        "    images:\n"
        f"      kernel: {{url: 'file://{guest}/vmlinuz', image_arg: '-kernel {{kernel}}'}}\n"
        f"{extra}"
    )


def device_text(job: str | None = None, hostname: str = "qemu-01") -> str:
    """The example device dictionary rendered with the job's context."""
    from lava.common.device import render_device

    context = (yamlio.load(job) or {}).get("context") if job else None
    return render_device(EXAMPLES / "devices" / "qemu-01.jinja2", context or {}, hostname=hostname)


def lava_run(
    job: str,
    device: str,
    out_dir: Path,
    job_id: str = "1",
    extra: list[str] | None = None,
    **popen: object,
) -> subprocess.Popen[str]:
    """Start `lava-run` on the given job and device texts (in `out_dir`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "job.yaml").write_text(job, encoding="utf-8")
    (out_dir / "device.yaml").write_text(device, encoding="utf-8")
    cmd = [
        str(Path(sys.executable).parent / "lava-run"),
        "--job-id",
        job_id,
        "--device",
        str(out_dir / "device.yaml"),
        "--output-dir",
        str(out_dir),
        *(extra or []),
        str(out_dir / "job.yaml"),
    ]
    env = dict(os.environ)
    return subprocess.Popen(cmd, text=True, env=env, **popen)  # type: ignore[call-overload]


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
