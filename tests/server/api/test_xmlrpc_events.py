"""Where the events are, as LAVA's clients ask: ``scheduler.get_publisher_event_socket``,
``system.master_config`` (XML-RPC) and ``/api/v0.2/system/master_config/`` (REST)."""

from __future__ import annotations

from typing import Any

from rpc_helpers import rpc

CONFIG = {
    "EVENT_TOPIC": "org.lavasoftware",
    "EVENT_SOCKET": "ws://*/ws/",
    "EVENT_NOTIFICATION": True,
    "LOG_SIZE_LIMIT": 5,
}


def test_the_event_socket_and_the_master_config(db, client) -> None:
    assert rpc(client, "scheduler.get_publisher_event_socket") == "ws://*/ws/"
    assert rpc(client, "system.master_config") == CONFIG
    assert client.get("/api/v0.2/system/master_config/").json() == CONFIG


def test_they_follow_the_settings(db, client, settings: Any, monkeypatch) -> None:
    monkeypatch.setattr(settings.LAVA, "event_socket", "wss://lab.example.org/ws/")
    monkeypatch.setattr(settings.LAVA, "event_topic", "org.example.lab")
    monkeypatch.setattr(settings.LAVA, "event_notification", False)
    assert rpc(client, "scheduler.get_publisher_event_socket") == "wss://lab.example.org/ws/"
    assert rpc(client, "system.master_config") == CONFIG | {
        "EVENT_SOCKET": "wss://lab.example.org/ws/",
        "EVENT_TOPIC": "org.example.lab",
        "EVENT_NOTIFICATION": False,
    }
