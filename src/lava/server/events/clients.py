"""What LAVA tells clients about its events: ``system.master_config`` (XML-RPC and REST)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from ..web.views.logs import LOG_SIZE_LIMIT


def master_config() -> dict[str, Any]:
    """EVENT_TOPIC, EVENT_SOCKET, EVENT_NOTIFICATION, and LOG_SIZE_LIMIT (MB: the web page
    does not show a longer log line by line), as LAVA's ``system.master_config``."""
    lava = settings.LAVA
    return {
        "EVENT_TOPIC": lava.event_topic,
        "EVENT_SOCKET": lava.event_socket,
        "EVENT_NOTIFICATION": lava.event_notification,
        "LOG_SIZE_LIMIT": getattr(settings, "LOG_SIZE_LIMIT", LOG_SIZE_LIMIT),
    }
