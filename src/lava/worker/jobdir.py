"""A job's directory on the worker: its files, its saved state, and its log as lava-run writes it.

Layout under ``<worker-dir>/jobs/<id>/``: ``job.yaml``, ``device.yaml``,
``dispatcher.yaml``, ``env-dut.yaml`` (from the server); ``output/`` (lava-run's
``--output-dir``: ``output.yaml``, ``result.yaml``, ...); ``tmp/`` (lava-run's
``--work-dir``); ``lava-run.out`` (its stdout and stderr); ``state.json``
(what a restarted worker needs to carry on: token, pid, lines acknowledged).

Files are replaced atomically (a crashed worker leaves the old file or the new
one) but not synced to disk: after a crash of the worker's process the page
cache still has them, and a crash of the host ends every process of every job.
A state lost or stale after such a crash is dealt with as the loss it is: a
job directory without a saved pid is removed, and a job the server still
lists as Running but that the worker does not know is reported lost (its
next ping). An fsync cost 2.6 ms of waiting (measured), and a job saves 6 to 10 times.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lava.common.private import private_dir, write_atomic

STATE = "state.json"


@dataclass
class JobState:
    """What the worker must not forget about a job, saved at every step."""

    id: int
    token: str
    marker: str = ""  # LAVA_WORKER_JOB in the environment of every process of the job
    pid: int = 0
    pid_start: int = 0  # the process's start time in clock ticks, to tell a reused pid
    started_reported: bool = False
    acked_lines: int = 0  # lines the server has confirmed
    acked_offset: int = 0  # byte offset in output.yaml just after those lines
    canceled: bool = False
    # time.time() past which lava-run has overrun its job timeout and is stopped (0: none)
    deadline: float = 0.0
    overran: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class JobDir:
    """One job's directory."""

    def __init__(self, root: Path, job_id: int) -> None:
        self.id = job_id
        self.path = root / str(job_id)
        self.output = self.path / "output"
        self.tmp = self.path / "tmp"
        self.log = self.output / "output.yaml"
        self.result = self.output / "result.yaml"
        self.description = self.output / "description.yaml"
        self.stdout = self.path / "lava-run.out"

    def create(self) -> None:
        """The directory and its `output/` and `tmp/`, private to the worker's user."""
        private_dir(self.path)
        private_dir(self.output)
        private_dir(self.tmp)

    def write(self, name: str, text: str) -> Path:
        path = self.path / name
        write_atomic(path, text)
        return path

    def save(self, state: JobState) -> None:
        write_atomic(self.path / STATE, json.dumps(asdict(state)))

    def load(self) -> JobState | None:
        """The saved state; None when missing or unreadable (a crash before the first save)."""
        try:
            data = json.loads((self.path / STATE).read_text(encoding="utf-8"))
            return JobState(**data)
        except (OSError, ValueError, TypeError):
            return None

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class LogTail:
    """Complete lines of a growing log file, from a byte offset; a half-written line waits."""

    def __init__(self, path: Path, offset: int = 0, line: int = 0) -> None:
        self.path = path
        self.offset = offset  # just after the last line handed out
        self.line = line  # index of the next line to hand out

    def read(self, max_lines: int, max_bytes: int) -> tuple[int, list[str], int]:
        """(index of the first line, the lines with their newlines, offset after them)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read(max_bytes)
                if data and b"\n" not in data and len(data) >= max_bytes:
                    # one line longer than a batch: it goes alone
                    handle.seek(self.offset)
                    data = handle.readline()
        except FileNotFoundError:
            return self.line, [], self.offset
        raw = data.split(b"\n")[:-1][:max_lines]  # only complete lines
        size = sum(len(line) + 1 for line in raw)
        lines = [line.decode("utf-8", errors="replace") + "\n" for line in raw]
        return self.line, lines, self.offset + size

    def advance(self, lines: int, offset: int) -> None:
        self.line += lines
        self.offset = offset

    def seek_line(self, line: int) -> None:
        """Go back (or forward) to line ``line``, counting from the start of the file."""
        offset = count = 0
        with self.path.open("rb") as handle:
            while count < line:
                raw = handle.readline()
                if not raw.endswith(b"\n"):
                    break
                offset += len(raw)
                count += 1
        self.line, self.offset = count, offset
