"""The one check of where a job writes: inside its directory, through no link, under plain names."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lava.common.exceptions import JobError
from lava.dispatcher.paths import check_name, inside, write_file


def test_inside_resolves_and_refuses_what_leaves(tmp_path: Path) -> None:
    job = tmp_path / "job"
    (job / "sub").mkdir(parents=True)
    (job / "out").symlink_to(tmp_path)
    assert inside(job, "sub", "new", what="x") == (job / "sub" / "new").resolve()
    assert inside(job, what="x") == job.resolve()
    for parts in (("..",), ("/etc",), ("sub", "../../x"), ("out", "file")):
        with pytest.raises(JobError, match=r"^namespace '.*' leads out of "):
            inside(job, *parts, what="namespace")


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "-rf", "a b", "x" * 65, 3])
def test_check_name_refuses_what_is_not_one_plain_name(name: object) -> None:
    with pytest.raises(JobError, match="namespace"):
        check_name(name, "namespace")
    assert check_name("target_1.2-x", "namespace") == "target_1.2-x"


def test_write_file_replaces_a_link_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "run.sh"
    link.symlink_to(victim)
    write_file(link, "#!/bin/sh\n", 0o755)
    assert victim.read_text() == "keep"
    assert not link.is_symlink()
    assert link.read_text() == "#!/bin/sh\n"
    assert stat.S_IMODE(link.stat().st_mode) == 0o755
    (tmp_path / "dir").mkdir()
    with pytest.raises(JobError, match="a directory has that name"):
        write_file(tmp_path / "dir", "x")
