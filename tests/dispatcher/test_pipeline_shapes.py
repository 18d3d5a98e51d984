"""The pipeline of every job shape this dispatcher builds, against golden files; no guest.

Each job goes through `lava-run --validate`, as a worker would start it, and the
printed tree (levels, names, classes, timeouts) must equal `golden/<shape>.txt`.
The jobs are LAVA's own from ../shared/conformance (on its device `kvm01`) and,
for shapes LAVA's set lacks, `golden/jobs/<shape>.yaml` (on
`golden/devices/qemu-golden.jinja2`).

--validate checks that each image exists, so every image URL is first pointed at a
stand-in of the same scheme: http(s) at a local server, file:// at a one-byte file.
The tree depends on the scheme only. Regenerate deliberately with LAVA_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from lava.common import log, yamlio
from lava.common.device import render_device
from tests.support import golden
from tests.support.conformance import CONFORMANCE
from tests.support.fetch_servers import Site, site
from tools import example

GOLDEN = Path(__file__).parent / "golden"
JOBS = GOLDEN / "jobs"
DEVICE = GOLDEN / "devices" / "qemu-golden.jinja2"
UBOOT_DEVICE = GOLDEN / "devices" / "uboot-golden.jinja2"
CONFORMANCE_DEVICE = CONFORMANCE / "devices" / "kvm01.jinja2"
QEMU = "qemu-system-x86_64"  # what both devices name; --validate looks it up on PATH
TIMEOUT = 60.0

# LAVA's jobs, one per shape. Left out: those whose trees differ from one of these or
# from golden/jobs only in timeouts or counts (kvm-context, kvm-noos, kvm-uefi,
# kvm-install, kvm-params, kvm-inline, kvm-local, kvm-overlays, kvm-qcow2, kvm-android).
CONFORMANCE_SHAPES: dict[str, str] = {
    "kvm": "http images, two git definitions, boot to a login, test shell",
    "kvm-notest": "deploy and boot to a login, no test",
    "kvm-notest-noprompts": "deploy and boot without prompts: no login actions",
    "qemu-reboot": "boot and test twice",
    "compression": "deploy only, four images in different compressions",
}
OWN_SHAPES = sorted(path.stem for path in JOBS.glob("*.yaml"))
# Shapes this dispatcher does not build: --validate must refuse them, saying why.
REFUSED: dict[str, str] = {
    "uboot": "an NFS root file system (nfsrootfs) is not supported yet",
    "ssh-deploy": "deploy to 'ssh' is not supported by this dispatcher",
}
# The device each refused job is validated on, when not kvm01 (its own device type).
REFUSED_ON = {"uboot": "bbb-01.jinja2"}


@dataclass(frozen=True)
class Case:
    """One job and the device dictionary it is validated on."""

    name: str
    job: Path
    device: Path


@dataclass(frozen=True)
class Validation:
    """What one `lava-run --validate` left: exit status, pipeline, log, output directory."""

    returncode: int
    stdout: str
    stderr: str
    out_dir: Path


def all_cases() -> list[Case]:
    conformance = [
        Case(
            name,
            CONFORMANCE / "jobs" / f"{name}.yaml",
            CONFORMANCE / "devices" / REFUSED_ON[name]
            if name in REFUSED_ON
            else CONFORMANCE_DEVICE,
        )
        for name in [*CONFORMANCE_SHAPES, *REFUSED]
    ]
    own = [
        Case(name, JOBS / f"{name}.yaml", UBOOT_DEVICE if name.startswith("uboot") else DEVICE)
        for name in OWN_SHAPES
    ]
    return [case for case in conformance + own if case.job.is_file() and case.device.is_file()]


def required(present: bool, why: str) -> None:
    """Skip without `present`, loudly; in CI (CI=true) fail instead."""
    if present:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def needs_conformance() -> None:
    required(
        (CONFORMANCE / "jobs").is_dir() and CONFORMANCE_DEVICE.is_file(),
        f"LAVA's conformance data is missing at {CONFORMANCE}: check out ../shared beside "
        "the repository or set LAVA_CONFORMANCE",
    )


def localise(node: Any, server: Site, files: Path) -> Any:
    """`node` with every `url` pointed at a stand-in of the same scheme (see the docstring)."""
    if isinstance(node, list):
        return [localise(item, server, files) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: localise(value, server, files) for key, value in node.items()}
    url = node.get("url")
    if isinstance(url, str):
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https"):
            copy["url"] = server.put(parsed.path, b"x")
        elif parsed.scheme in ("file", ""):
            path = files / parsed.path.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
            copy["url"] = path.as_uri()
    return copy


def validate(case: Case, server: Site, base: Path) -> Validation:
    """Run `lava-run --validate` on the case, its image URLs pointed at stand-ins."""
    definition = localise(yamlio.load(case.job.read_text()), server, base / f"{case.name}-files")
    text = yamlio.dump(definition)
    device = render_device(case.device, definition.get("context") or {})
    out_dir = base / case.name
    # A TFTP root for the tftp deploys (validate checks it exists; nothing is placed).
    config = base / "dispatcher.yaml"
    config.write_text(f"tftp_root: {base}\n", encoding="utf-8")
    pipe = subprocess.PIPE
    extra = ["--validate", "--dispatcher", str(config)]
    proc = example.lava_run(text, device, out_dir, extra=extra, stdout=pipe, stderr=pipe)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n(killed after {TIMEOUT:g} s)"
    return Validation(proc.returncode, out, err, out_dir)


def errors(result: Validation) -> list[str]:
    """The error messages of the run's log, or the end of its stderr if that is no log."""
    lines = result.stderr.splitlines()
    if not all(line.startswith("- {") for line in lines):
        return lines[-10:]
    return [str(entry["msg"]) for entry in map(log.decode, lines) if entry["lvl"] == "error"]


@pytest.fixture(scope="module")
def validations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Validation]:
    """Every case through `lava-run --validate`, one per CPU at a time (each is mostly
    Python start-up: validate itself takes a few ms)."""
    base = tmp_path_factory.mktemp("shapes")
    with site() as server, ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = {case.name: pool.submit(validate, case, server, base) for case in all_cases()}
        return {name: run.result() for name, run in runs.items()}


@pytest.mark.parametrize("shape", [*CONFORMANCE_SHAPES, *OWN_SHAPES])
def test_pipeline_matches_golden(shape: str, validations: dict[str, Validation]) -> None:
    if shape in CONFORMANCE_SHAPES:
        needs_conformance()
    result = validations[shape]
    if result.returncode != 0:
        required(shutil.which(QEMU) is not None, f"{QEMU} is not on PATH: --validate needs it")
    assert result.returncode == 0, f"lava-run --validate failed on {shape}: {errors(result)}"
    printed = golden.pipeline_text(yamlio.load(result.stdout)["pipeline"])
    golden.check(printed, GOLDEN / f"{shape}.txt")
    # description.yaml holds the same tree.
    described = yamlio.load((result.out_dir / "description.yaml").read_text())["pipeline"]
    assert golden.pipeline_text(described) == printed


@pytest.mark.parametrize(("job", "message"), REFUSED.items(), ids=list(REFUSED))
def test_unsupported_shape_is_refused(
    job: str, message: str, validations: dict[str, Validation]
) -> None:
    needs_conformance()
    result = validations[job]
    assert result.returncode == 1, f"{job} validated: add its golden file and move it"
    assert message in result.stderr


def test_every_golden_file_has_its_job() -> None:
    expected = {"qemu-demo", *CONFORMANCE_SHAPES, *OWN_SHAPES}
    found = {path.stem for path in GOLDEN.glob("*.txt")}
    assert found == expected, (
        f"golden files without a job: {sorted(found - expected)}; "
        f"jobs without a golden file: {sorted(expected - found)}"
    )
