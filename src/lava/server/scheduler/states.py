"""LAVA's state and health enumerations; the integers are the database values LAVA uses."""

from __future__ import annotations

from django.db import models


class DeviceState(models.IntegerChoices):
    IDLE = 0, "Idle"
    RESERVED = 1, "Reserved"
    RUNNING = 2, "Running"


class DeviceHealth(models.IntegerChoices):
    GOOD = 0, "Good"
    UNKNOWN = 1, "Unknown"
    LOOPING = 2, "Looping"
    BAD = 3, "Bad"
    MAINTENANCE = 4, "Maintenance"
    RETIRED = 5, "Retired"


class WorkerState(models.IntegerChoices):
    ONLINE = 0, "Online"
    OFFLINE = 1, "Offline"


class WorkerHealth(models.IntegerChoices):
    ACTIVE = 0, "Active"
    MAINTENANCE = 1, "Maintenance"
    RETIRED = 2, "Retired"


class JobState(models.IntegerChoices):
    SUBMITTED = 0, "Submitted"
    SCHEDULING = 1, "Scheduling"
    SCHEDULED = 2, "Scheduled"
    RUNNING = 3, "Running"
    CANCELING = 4, "Canceling"
    FINISHED = 5, "Finished"


class JobHealth(models.IntegerChoices):
    UNKNOWN = 0, "Unknown"
    COMPLETE = 1, "Complete"
    INCOMPLETE = 2, "Incomplete"
    CANCELED = 3, "Canceled"


class Visibility(models.IntegerChoices):
    PUBLIC = 0, "Publicly visible"
    PERSONAL = 1, "Personal only"
    GROUP = 2, "Group only"


class HealthDenominator(models.IntegerChoices):
    HOURS = 0, "Hours"
    JOBS = 1, "Jobs"


# LAVA's job status before it split into state and health: the integer (callbacks,
# ``{STATUS}``) is the index of its word (lower case in callbacks, capitalised by XML-RPC).
LEGACY_STATUS_WORDS = ("submitted", "running", "complete", "incomplete", "canceled", "canceling")
_WAITING = (JobState.SUBMITTED, JobState.SCHEDULING, JobState.SCHEDULED)


def legacy_status(state: int, health: int) -> int:
    """The legacy status of a job's state and health (an index of LEGACY_STATUS_WORDS)."""
    if state in _WAITING:
        return 0
    if state == JobState.RUNNING:
        return 1
    if state == JobState.CANCELING:
        return 5
    if health == JobHealth.COMPLETE:
        return 2
    if health == JobHealth.CANCELED:
        return 4
    return 3  # Incomplete, or Finished with health Unknown


# Job priority: the names a definition may use, and the integers stored.
PRIORITY_NAMES = {"low": 0, "medium": 50, "high": 100}
PRIORITY_MIN, PRIORITY_MAX = 0, 100
PRIORITY_DEFAULT = PRIORITY_NAMES["medium"]


def parse_choice(enum: type[models.IntegerChoices], text: str) -> int:
    """An enum value from its name or label in any case (``GOOD``, ``Good``); ValueError if none."""
    wanted = text.strip().lower()
    for member in enum:
        if member.name.lower() == wanted or str(member.label).lower() == wanted:
            return int(member.value)
    names = ", ".join(m.name for m in enum)
    raise ValueError(f"{text!r} is not one of {names}")
