"""Where the events are: ``scheduler.get_publisher_event_socket`` and ``system.master_config``.

lavacli (with servers of 2020.09 and later) finds the websocket itself, at
``/ws/`` beside ``/RPC2``; these answer older clients and scripts with the
settings, as LAVA does.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from ....events.clients import master_config as settings_for_clients
from ..registry import Call, method


@method("scheduler.get_publisher_event_socket", ["str"])
def get_publisher_event_socket(call: Call) -> str:
    """Where events are published (EVENT_SOCKET); a "*" stands for the server's host name."""
    return settings.LAVA.event_socket


@method("system.master_config", ["struct"])
def master_config(call: Call) -> dict[str, Any]:
    """EVENT_TOPIC, EVENT_SOCKET, EVENT_NOTIFICATION and LOG_SIZE_LIMIT, as LAVA's."""
    return settings_for_clients()
