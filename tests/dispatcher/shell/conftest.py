"""Fixtures for the helper-script tests.

Every test that takes ``overlay`` runs twice: once with busybox's ``sh`` as
``lava_test_sh_cmd`` and only busybox applets on ``PATH`` (as on the project's
guest), once with dash and the host's tools.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from shell_overlay import SHELLS, Overlay, make_overlay


@pytest.fixture(scope="session")
def busybox_tools(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A directory holding every busybox applet and nothing else; None without busybox."""
    busybox = shutil.which("busybox")
    if busybox is None:
        return None
    tools = tmp_path_factory.mktemp("busybox-bin")
    applets = subprocess.run(
        [busybox, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        (tools / applet).symlink_to(busybox)
    return tools


@pytest.fixture(params=SHELLS)
def overlay(request: pytest.FixtureRequest, tmp_path: Path, busybox_tools: Path | None) -> Overlay:
    """The overlay for busybox ash, then for dash."""
    return make_overlay(request.param, tmp_path, busybox_tools)
