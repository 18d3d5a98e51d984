"""Job logs on the server: ``output.yaml`` plus a line index per job, behind ``LogStore``."""

from __future__ import annotations

from lava.server.logs.store import LogGap, LogStore, log_store

__all__ = ["LogGap", "LogStore", "log_store"]
