"""Which state changes a notify block's criteria match."""

from __future__ import annotations

import pytest

from lava.server.notifications.criteria import matches, wants_previous
from lava.server.scheduler.states import JobHealth, JobState

RUNNING, FINISHED, SCHEDULED = JobState.RUNNING, JobState.FINISHED, JobState.SCHEDULED
UNKNOWN, COMPLETE = JobHealth.UNKNOWN, JobHealth.COMPLETE
INCOMPLETE, CANCELED = JobHealth.INCOMPLETE, JobHealth.CANCELED


@pytest.mark.parametrize(
    ("status", "state", "health", "expected"),
    [
        ("all", RUNNING, UNKNOWN, True),
        ("all", FINISHED, INCOMPLETE, True),
        ("all", SCHEDULED, UNKNOWN, False),
        ("running", RUNNING, UNKNOWN, True),
        ("running", FINISHED, COMPLETE, False),
        ("finished", FINISHED, CANCELED, True),
        ("finished", RUNNING, UNKNOWN, False),
        ("complete", FINISHED, COMPLETE, True),
        ("complete", FINISHED, INCOMPLETE, False),
        ("incomplete", FINISHED, INCOMPLETE, True),
        ("canceled", FINISHED, CANCELED, True),
        ("canceled", RUNNING, UNKNOWN, False),
        ("bogus", FINISHED, COMPLETE, False),
    ],
)
def test_status(status: str, state: int, health: int, expected: bool) -> None:
    assert matches({"status": status}, state, health) is expected


@pytest.mark.parametrize(
    ("status", "kind", "health", "previous", "expected"),
    [
        ("incomplete", "regression", INCOMPLETE, COMPLETE, True),
        ("incomplete", "regression", INCOMPLETE, INCOMPLETE, False),
        ("incomplete", "regression", INCOMPLETE, None, False),  # no previous job
        ("complete", "regression", COMPLETE, COMPLETE, False),  # never both
        ("complete", "progression", COMPLETE, INCOMPLETE, True),
        ("complete", "progression", COMPLETE, COMPLETE, False),
        ("complete", "progression", COMPLETE, CANCELED, False),
    ],
)
def test_regression_and_progression_compare_with_the_previous_job(
    status: str, kind: str, health: int, previous: int | None, expected: bool
) -> None:
    criteria = {"status": status, "type": kind}
    assert wants_previous(criteria)
    assert matches(criteria, FINISHED, health, previous) is expected


def test_only_a_type_needs_the_previous_job() -> None:
    assert not wants_previous({"status": "complete"})
