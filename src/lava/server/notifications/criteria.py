"""When a job's ``notify`` block asks to be told: its ``criteria`` against a state change.

LAVA notifies when a job starts Running and when it is Finished, never for
the states in between. ``status`` picks which: ``all`` (both), ``running``,
``finished`` (whatever the health), or ``complete``/``incomplete``/``canceled``
(Finished with that health).

``type: regression`` / ``progression`` are documented by LAVA as a comparison
with the previous job of the same name, but LAVA compares the job's health
before and after the save that finishes it, which is always Unknown then, so
in LAVA they never match. Here they do what the documentation says: the
previous Finished job with the same name, device type and submitter was
Complete and this one is Incomplete (regression), or the reverse
(progression); with no previous job, nothing is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..scheduler.states import JobHealth, JobState

NOTIFYING_STATES = frozenset({JobState.RUNNING, JobState.FINISHED})
HEALTH_OF_STATUS = {
    "complete": JobHealth.COMPLETE,
    "incomplete": JobHealth.INCOMPLETE,
    "canceled": JobHealth.CANCELED,
}


def wants_previous(criteria: Mapping[str, Any]) -> bool:
    """Whether deciding needs the health of the previous job of the same name."""
    return criteria.get("type") in ("regression", "progression")


def matches(
    criteria: Mapping[str, Any], state: int, health: int, previous: int | None = None
) -> bool:
    """Whether a job now in ``state``/``health`` is to be notified about.

    ``previous`` is the health of the previous job of the same name (None if
    there is none), needed only when ``wants_previous(criteria)``.
    """
    if state not in NOTIFYING_STATES:
        return False
    status = criteria.get("status")
    if status == "all":
        return True
    if status == "running":
        return state == JobState.RUNNING
    if status == "finished":
        return state == JobState.FINISHED
    wanted = HEALTH_OF_STATUS.get(str(status))
    if wanted is None or state != JobState.FINISHED or health != wanted:
        return False
    kind = criteria.get("type")
    if kind == "regression":
        return previous == JobHealth.COMPLETE and health == JobHealth.INCOMPLETE
    if kind == "progression":
        return previous == JobHealth.INCOMPLETE and health == JobHealth.COMPLETE
    return True
