"""Same valid/invalid verdict as LAVA's own full schema on LAVA's job corpus, both modes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lava.common.schema import check_job_text
from tests.support.conformance import CONFORMANCE

VERDICTS = CONFORMANCE / "job-verdicts.json"
JOBS = sorted((CONFORMANCE / "jobs").glob("*.yaml"))
MODES = {"strict": True, "non_strict": False}

pytestmark = pytest.mark.skipif(not VERDICTS.exists(), reason="conformance data not available")


def expected() -> dict[str, dict[str, dict[str, object]]]:
    return json.loads(VERDICTS.read_text()) if VERDICTS.exists() else {}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("path", JOBS, ids=[p.name for p in JOBS])
def test_verdict_matches_lava(path: Path, mode: str) -> None:
    lava = expected()[mode][path.name]
    error = check_job_text(path.read_text(), strict=MODES[mode])
    assert (error is None) == lava["valid"], f"ours: {error!r}; LAVA: {lava['error']!r}"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_command_line_json_matches_lava(mode: str) -> None:
    """The acceptance command itself: one run over the whole corpus per mode."""
    flags = ["--strict"] if MODES[mode] else []
    run = subprocess.run(
        [sys.executable, "-m", "lava.common.schema", "--json", *flags, *map(str, JOBS)],
        capture_output=True,
        text=True,
        check=False,
    )
    ours = json.loads(run.stdout)
    lava = expected()[mode]
    assert len(ours) == len(lava) == len(JOBS)
    wrong = sorted(name for name in lava if ours[name]["valid"] != lava[name]["valid"])
    assert wrong == []
    all_valid = all(v["valid"] for v in lava.values())
    assert run.returncode == (0 if all_valid else 1)
    assert all(bool(v["error"]) != v["valid"] for v in ours.values())
