"""The health-change form of the device and worker pages: LAVA's ``health`` and ``reason``.

Both fields are checked here, before any service is called, so a hostile
form answers a clear 400 or 413 and never reaches the database: PostgreSQL
refuses NUL bytes, and a reason longer than the history keeps would be cut
without the writer knowing.
"""

from __future__ import annotations

from django.db.models import IntegerChoices
from django.http import HttpRequest

from lava.server.scheduler.reasons import LENGTH
from lava.server.services import Invalid, Limit
from lava.server.services.names import choice


def health_and_reason(request: HttpRequest, enum: type[IntegerChoices]) -> tuple[int, str]:
    """The health (a name or label, any case: ``MAINTENANCE``, ``Good``) and the reason."""
    label = request.POST.get("health", "")
    if not label:
        names = ", ".join(member.name for member in enum)
        raise Invalid(f"health is required: one of {names}")
    if "\x00" in label or len(label) > 40:
        raise Invalid(f"Invalid health {label[:40]!r}")
    health = choice(enum, label, "health")
    reason = request.POST.get("reason", "").strip()
    if len(reason) > LENGTH:
        raise Limit(f"reason is {len(reason)} characters long: at most {LENGTH}")
    if "\x00" in reason:
        raise Invalid("reason must not contain NUL characters")
    return health, reason
