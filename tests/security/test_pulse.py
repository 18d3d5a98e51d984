"""The security suite's own check: an ordinary user's job runs on the lab the attacks use."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_an_ordinary_user_runs_a_job(security_lab) -> None:
    security_lab.assert_runs_jobs()
