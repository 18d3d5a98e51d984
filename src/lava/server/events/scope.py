"""Who sees an event: the visibility rules of ``permissions``, decided without a database.

A listener's ``Viewer`` (its user's groups and the device types and devices
hidden from it) is read when it connects and refreshed now and then; each
event carries its ``Scope``. ``sees`` is ``permissions.visible_jobs`` and
``visible_devices`` restated for one row; a test keeps them equal. Workers
are everyone's to see, as in LAVA. A lava-worker's connection (LAVA's
``LAVA-Token`` and ``LAVA-Host`` headers) hears only of its own jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User

from ..scheduler import permissions
from .messages import TESTJOB, Event


@dataclass(frozen=True)
class Viewer:
    """What the rules need to know of one listener."""

    superuser: bool = False
    user_id: int | None = None  # signed in
    groups: frozenset[int] = frozenset()
    hidden_types: frozenset[str] = frozenset()
    hidden_devices: frozenset[str] = frozenset()
    worker: str | None = None  # a lava-worker: its own jobs' events only


def viewer_of(user: User | AnonymousUser) -> Viewer:
    """The listener ``user`` (anonymous included), from the permission rows as they are now."""
    if permissions.is_superuser(user):
        return Viewer(superuser=True, user_id=user.pk)
    known = permissions.access(user)
    hidden = permissions.denied(permissions.VIEW, user, known)
    signed_in = bool(user.is_authenticated and user.is_active)
    return Viewer(
        user_id=user.pk if signed_in else None,
        groups=known.groups,
        hidden_types=hidden.types,
        hidden_devices=hidden.devices,
    )


def sees(viewer: Viewer, event: Event) -> bool:
    """Whether ``viewer`` may receive ``event``."""
    if viewer.worker is not None:
        return event.topic == TESTJOB and event.data.get("worker") == viewer.worker
    if viewer.superuser:
        return True
    scope = event.scope
    if scope.job and viewer.user_id is not None and scope.submitter == viewer.user_id:
        return True
    # a group job: every listed group must be one of the viewer's (personal: none listed)
    if (
        scope.job
        and not scope.public
        and not (scope.groups and viewer.groups.issuperset(scope.groups))
    ):
        return False
    if viewer.hidden_types.intersection(scope.types):
        return False
    return not viewer.hidden_devices.intersection(scope.devices)
