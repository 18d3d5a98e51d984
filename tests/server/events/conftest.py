"""Fixtures of the event tests: a short directory for sockets, an inbox read in place of the
publisher's."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.eventinbox import Inbox


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: a unix socket's path holds 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="ev-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def inbox(short_dir: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """The server's events go to this inbox for the test."""
    box = Inbox(short_dir / "events.sock")
    monkeypatch.setattr(settings.LAVA, "internal_event_socket", box.path)
    yield box
    box.close()
