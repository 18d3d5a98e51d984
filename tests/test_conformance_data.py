"""The conformance tests skip without LAVA's data; this one makes that loud."""

from __future__ import annotations

from example import CONFORMANCE


def test_conformance_data_is_present() -> None:
    assert (CONFORMANCE / "job-verdicts.json").is_file(), (
        f"LAVA's conformance data is missing at {CONFORMANCE}: "
        "check out ../shared beside the repository or set LAVA_CONFORMANCE"
    )
    assert len(list((CONFORMANCE / "jobs").glob("*.yaml"))) == 138
