"""The demo job's pipeline, as `lava-run --validate` prints it, against a golden file.

A change in action names, levels, classes or timeouts shows up here without
booting anything. Regenerate deliberately with LAVA_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from lava.common import yamlio
from tests.support.golden import check, pipeline_text
from tools import example

GOLDEN = Path(__file__).parent / "golden" / "qemu-demo.txt"


def test_demo_pipeline_matches_golden(guest: Path, tmp_path: Path) -> None:
    job = example.job_text(guest=guest)
    proc = example.lava_run(
        job, example.device_text(job), tmp_path, extra=["--validate"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    printed = pipeline_text(yamlio.load(out)["pipeline"])
    check(printed, GOLDEN)
    # description.yaml holds the same tree.
    described = yamlio.load((tmp_path / "description.yaml").read_text())["pipeline"]
    assert pipeline_text(described) == printed
