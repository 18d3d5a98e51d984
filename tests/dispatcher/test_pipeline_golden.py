"""The demo job's pipeline, as `lava-run --validate` prints it, against a golden file.

A change in action names, levels, classes or timeouts shows up here without
booting anything. Regenerate deliberately with LAVA_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import example

from lava.common import yamlio

GOLDEN = Path(__file__).parent / "golden" / "qemu-demo.txt"


def flatten(actions: list[dict[str, Any]]) -> Iterator[str]:
    for action in actions:
        yield (
            f"{action['level']} {action['name']} "
            f"({action['class']}, timeout {action['timeout']:g} s)"
        )
        yield from flatten(action.get("pipeline", []))


def test_demo_pipeline_matches_golden(guest: Path, tmp_path: Path) -> None:
    job = example.job_text(guest=guest)
    proc = example.lava_run(
        job, example.device_text(job), tmp_path, extra=["--validate"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    printed = "\n".join(flatten(yamlio.load(out)["pipeline"])) + "\n"
    if os.environ.get("LAVA_UPDATE_GOLDEN"):
        GOLDEN.write_text(printed)
    assert printed == GOLDEN.read_text()
    # description.yaml holds the same tree.
    described = yamlio.load((tmp_path / "description.yaml").read_text())["pipeline"]
    assert "\n".join(flatten(described)) + "\n" == printed
