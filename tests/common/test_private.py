"""``write_atomic``: the one way the lab replaces a file (server, worker, dispatcher)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lava.common.private import write_atomic


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("sync", [False, True])
def test_a_new_file_is_written_private(tmp_path: Path, sync: bool) -> None:
    path = write_atomic(tmp_path / "a" / "b.yaml", "secret: x\n", sync=sync)
    assert path.read_text() == "secret: x\n" and mode(path) == 0o600


def test_an_old_file_is_replaced_whole_and_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    write_atomic(path, "new\n")
    assert path.read_text() == "new\n" and mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["env.yaml"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "half \ud800 written")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["env.yaml"]
