"""A job's directory on the worker, and reading lava-run's log as it grows."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lava.worker import process
from lava.worker.jobdir import JobDir, JobState, LogTail, write_atomic


def test_only_complete_lines_are_handed_out(tmp_path: Path) -> None:
    log = tmp_path / "output.yaml"
    log.write_bytes(b"- one\n- tw")
    tail = LogTail(log)
    index, lines, offset = tail.read(100, 4096)
    assert (index, lines, offset) == (0, ["- one\n"], 6)
    tail.advance(len(lines), offset)
    assert tail.read(100, 4096) == (1, [], 6)  # half a line waits
    with log.open("ab") as handle:
        handle.write(b"o\n")
    assert tail.read(100, 4096) == (1, ["- two\n"], 12)


def test_limits_on_lines_and_bytes(tmp_path: Path) -> None:
    log = tmp_path / "output.yaml"
    log.write_bytes(b"".join(f"- line {n}\n".encode() for n in range(10)))
    assert LogTail(log).read(3, 4096)[1] == ["- line 0\n", "- line 1\n", "- line 2\n"]
    assert LogTail(log).read(100, 20)[1] == ["- line 0\n", "- line 1\n"]


def test_a_line_longer_than_a_batch_goes_alone(tmp_path: Path) -> None:
    log = tmp_path / "output.yaml"
    log.write_bytes(b"- " + b"x" * 100 + b"\n- short\n")
    _, lines, offset = LogTail(log).read(100, 10)
    assert lines == ["- " + "x" * 100 + "\n"] and offset == 103


def test_only_newline_splits(tmp_path: Path) -> None:
    log = tmp_path / "output.yaml"
    text = "- a\rb\u2028c é 😀\n- d\n"
    log.write_text(text, encoding="utf-8")
    _, lines, offset = LogTail(log).read(100, 4096)
    assert "".join(lines) == text and offset == len(text.encode())


def test_seek_line(tmp_path: Path) -> None:
    log = tmp_path / "output.yaml"
    log.write_bytes(b"- a\n- bb\n- ccc\n- partial")
    tail = LogTail(log)
    tail.seek_line(2)
    assert (tail.line, tail.offset) == (2, 9)
    assert tail.read(100, 4096)[1] == ["- ccc\n"]
    tail.seek_line(0)
    assert (tail.line, tail.offset) == (0, 0)
    tail.seek_line(99)  # stops at the last complete line
    assert (tail.line, tail.offset) == (3, 15)


def test_missing_file_gives_nothing(tmp_path: Path) -> None:
    assert LogTail(tmp_path / "none.yaml", 0, 0).read(10, 100) == (0, [], 0)


def test_state_round_trip_and_bad_state(tmp_path: Path) -> None:
    jobdir = JobDir(tmp_path, 12)
    jobdir.create()
    assert jobdir.load() is None
    state = JobState(id=12, token="t" * 32, marker="m", pid=4, pid_start=9, acked_lines=7)
    state.extra["reported"] = True
    jobdir.save(state)
    assert jobdir.load() == state
    (jobdir.path / "state.json").write_text("{not json")
    assert jobdir.load() is None
    (jobdir.path / "state.json").write_text('{"id": 1, "bogus": 2}')
    assert jobdir.load() is None
    jobdir.remove()
    assert not jobdir.path.exists()


def test_write_atomic_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.yaml", "one")
    write_atomic(tmp_path / "a.yaml", "two")
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]
    assert (tmp_path / "a.yaml").read_text() == "two"


LINES = st.lists(
    st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=30),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(lines=LINES, chunks=st.lists(st.integers(1, 50), min_size=1, max_size=50), data=st.data())
def test_interleaved_writes_and_reads_lose_and_double_nothing(
    tmp_path_factory, lines: list[str], chunks: list[int], data: st.DataObject
) -> None:
    log = tmp_path_factory.mktemp("tail") / "output.yaml"
    log.write_bytes(b"")
    blob = "".join(f"{line}\n" for line in lines).encode()
    tail = LogTail(log)
    got: list[str] = []
    written = 0
    position = 0
    while written < len(blob):
        size = chunks[position % len(chunks)]
        position += 1
        with log.open("ab") as handle:
            handle.write(blob[written : written + size])
        written += size
        max_lines = data.draw(st.integers(1, 5))
        index, batch, offset = tail.read(max_lines, data.draw(st.integers(8, 200)))
        assert index == len(got)
        got += batch
        tail.advance(len(batch), offset)
    while True:
        index, batch, offset = tail.read(1000, 1 << 20)
        if not batch:
            break
        got += batch
        tail.advance(len(batch), offset)
    assert "".join(got).encode() == blob
    assert tail.line == len(lines)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_job_directory_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        jobdir = JobDir(tmp_path / "jobs", 7)
        jobdir.path.mkdir(parents=True, mode=0o755)  # left by an older worker
        jobdir.path.chmod(0o755)
        jobdir.create()
        written = jobdir.write("job.yaml", "secrets: {TOKEN: x}\n")
        jobdir.save(JobState(id=7, token="job-token"))
    finally:
        os.umask(old)
    assert [mode(p) for p in (jobdir.path, jobdir.output, jobdir.tmp)] == [0o700] * 3
    assert mode(written) == 0o600
    assert mode(jobdir.path / "state.json") == 0o600


def test_lava_run_output_file_is_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        output = tmp_path / "lava-run.out"
        pid = process.spawn(["true"], {}, output, tmp_path)
    finally:
        os.umask(old)
    while process.alive(pid, process.start_time(pid)):
        pass
    assert mode(output) == 0o600
