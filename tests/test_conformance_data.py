"""LAVA's conformance data (``../shared/conformance``): required in CI, a loud skip elsewhere.

The tests that read it skip by themselves without it; this one says why, once,
in the summary of a run on a clone that has no ``../shared`` beside it, and
fails in CI, where the data must be there.
"""

from __future__ import annotations

import os

import pytest

from tests.support.conformance import CONFORMANCE

MISSING = (
    f"LAVA's conformance data is missing at {CONFORMANCE}: the tests that compare with "
    "LAVA's verdicts, devices and kernel logs were skipped. Check out ../shared beside the "
    "repository or set LAVA_CONFORMANCE"
)


def test_conformance_data_is_present() -> None:
    if not (CONFORMANCE / "job-verdicts.json").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    assert len(list((CONFORMANCE / "jobs").glob("*.yaml"))) == 138
