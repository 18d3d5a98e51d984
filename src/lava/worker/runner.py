"""One job on the worker, in its own thread: fetch, start lava-run, ship the log, report the end."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lava.common import yamlio
from lava.common.limits import limit
from lava.common.timeout import Timeout

from . import process
from .client import Client, Refused, retrying
from .jobdir import JobDir, JobState, LogTail

LOG = logging.getLogger("lava.worker")

MAX_BATCH_LINES = 1000  # as LAVA's lava-run sends
MAX_BATCH_BYTES = 1024 * 1024
FOLLOW_SECONDS = 0.2  # how often a running job's log is read and shipped
GAP = re.compile(r"only (\d+) lines are stored")
TOKEN_VARIABLE = "LAVA_WORKER_TOKEN"

T = TypeVar("T")


class ServerEnded(Exception):
    """The server ended the job while it ran here (a silent worker, an admin's `jobs fail`)."""


@dataclass(frozen=True)
class FetchRules:
    """The admin's exceptions to the addresses jobs may not fetch from (lava-run's options)."""

    allow: tuple[str, ...] = ()
    refuse: tuple[str, ...] = ()

    def options(self) -> list[str]:
        """lava-run's options: always restricted, with these exceptions."""
        return [
            "--restrict-fetches",
            *(f"--allow-fetch-from={rule}" for rule in self.allow),
            *(f"--refuse-fetch-from={rule}" for rule in self.refuse),
        ]


@dataclass
class Settings:
    """What every job runner needs from the worker's command line."""

    url: str
    lava_run: str
    cancel_grace: float = 60.0
    http_timeout: float = 60.0
    keep_jobs: bool = False  # keep finished job directories (debugging, tests)
    local_paths: tuple[str, ...] = ()  # where jobs may name local files (none by default)
    fetch_from: FetchRules = FetchRules()  # the defaults: not the worker's own addresses


def outcome(
    result: str | None, *, canceled: bool, exit_code: int | None, output: str = ""
) -> dict[str, str]:
    """What to report of a finished lava-run, from its result.yaml (None: it wrote none).

    A lava-run that ends without a result is a Bug, unless the worker had
    signalled it to cancel: one signalled before it could catch the signal
    (early in its start) ends that way too, and that is a cancel, not a fault
    of the device or the dispatcher.
    """
    try:
        record = yamlio.load(result, "result.yaml") if result is not None else None
    except yamlio.YAMLError:
        record = None
    if isinstance(record, dict) and record.get("result") in ("pass", "fail"):
        fields = {"result": str(record["result"])}
        if record["result"] == "fail":
            fields["error_type"] = str(record.get("error_type") or "Bug")
            fields["errors"] = str(record.get("error_msg") or "")
        return fields
    how = f"exit code {exit_code}" if exit_code is not None else "ended while no worker watched"
    if canceled:
        return {"result": "fail", "error_type": "Canceled", "errors": f"canceled ({how})"}
    errors = f"lava-run ended without writing result.yaml ({how})"
    if output:
        errors += f"; its last output:\n{output}"
    return {"result": "fail", "error_type": "Bug", "errors": errors}


class JobRunner(threading.Thread):
    """Runs one job to its end and reports it, or hands it to the next worker on shutdown.

    ``adopted``: the job's lava-run was started by an earlier worker process,
    so it is followed through ``/proc`` instead of being started.
    """

    def __init__(
        self,
        settings: Settings,
        jobdir: JobDir,
        state: JobState,
        stop: threading.Event,
        adopted: bool = False,
        lost: str = "",
    ) -> None:
        super().__init__(name=f"job-{state.id}", daemon=True)
        self.settings = settings
        self.jobdir = jobdir
        self.state = state
        self.stop = stop
        self.adopted = adopted
        self.lost = lost  # the server thinks it runs here, but nothing is left of it
        self.finished = False
        self._cancel = threading.Event()
        self._wake = threading.Event()
        self._ended = threading.Event()
        self._reporting_end = False  # the end report is on its way: the server may drop the job
        self._max_lines = MAX_BATCH_LINES
        self._tail = LogTail(jobdir.log, state.acked_offset, state.acked_lines)
        self.client = Client(settings.url, settings.http_timeout)

    # -- called from the worker's main thread
    def server_ended(self) -> None:
        """The server no longer lists this running job: an admin or the server ended it.

        Not when this runner is reporting the end itself: a ping answered just after
        the server stored that end no longer lists the job, and that is no news.
        """
        if self._reporting_end:
            return
        if not self._ended.is_set():
            LOG.warning("[%d] the server has ended the job: stopping it here", self.state.id)
        self._ended.set()
        self._wake.set()

    def cancel(self) -> None:
        if not self._cancel.is_set():
            LOG.info("[%d] cancel requested by the server", self.state.id)
        self._cancel.set()
        self._wake.set()

    # -- the thread
    def run(self) -> None:
        try:
            if self.lost:
                self._report(
                    {"result": "fail", "error_type": "Infrastructure", "errors": self.lost}
                )
                return
            if self.adopted:
                if not self.state.started_reported and not self._report_running():
                    return
            elif not self._start():
                return
            if self._follow():
                self._finish()
        except Refused as exc:
            # 404, 409, a token the server no longer knows: the job is over for the server
            LOG.error("[%d] the server refused: %s; dropping the job", self.state.id, exc)
            self._drop()
        except ServerEnded:
            self._drop()
        except Exception:
            LOG.exception("[%d] worker bug while running the job", self.state.id)
        finally:
            self.client.close()

    def _drop(self) -> None:
        killed = self._kill_everything()
        LOG.info("[%d] dropped: %d processes killed, job directory removed", self.state.id, killed)
        self.jobdir.remove()
        self.finished = True

    def _retry(self, call: Callable[[], T], what: str) -> T | None:
        return retrying(call, self.stop, f"[{self.state.id}] {what}", LOG.warning)

    def _start(self) -> bool:
        """Report the job Running, get its files and start lava-run; False when it did not."""
        job_id, token = self.state.id, self.state.token
        if self._cancel.is_set():
            self._report({"result": "fail", "error_type": "Canceled", "errors": "canceled"})
            return False
        try:
            files = self._retry(lambda: self.client.job_start(job_id, token), "starting the job")
        except Refused as exc:
            if exc.status != 400:
                raise
            LOG.error("[%d] the server cannot give the job's files: %s", job_id, exc.message)
            errors = f"the server could not prepare the job: {exc.message}"
            self._report({"result": "fail", "error_type": "Configuration", "errors": errors})
            return False
        if files is None:
            return False
        self.jobdir.create()
        self.state.started_reported = True  # Running on the server from now on
        self.jobdir.save(self.state)
        if self._cancel.is_set():  # canceled while the files came
            self._report({"result": "fail", "error_type": "Canceled", "errors": "canceled"})
            return False
        definition = self.jobdir.write("job.yaml", files.get("definition") or "")
        device = self.jobdir.write("device.yaml", files.get("device") or "")
        command = [
            self.settings.lava_run,
            "--job-id",
            str(job_id),
            "--output-dir",
            str(self.jobdir.output),
            "--device",
            str(device),
            "--work-dir",
            str(self.jobdir.tmp),
            "--quiet",
            *local_path_options(self.settings.local_paths),
            *self.settings.fetch_from.options(),
        ]
        for key, option in (("dispatcher", "--dispatcher"), ("env-dut", "--env-dut")):
            if files.get(key):
                command += [option, str(self.jobdir.write(f"{key}.yaml", files[key]))]
        command.append(str(definition))
        self.state.marker = uuid.uuid4().hex
        # lava-run's own deadlines cannot interrupt it while it is stuck in C code (a
        # pattern that backtracks for hours); past its job timeout and a grace, we stop it.
        allowed = job_timeout(files.get("definition") or "") + self.settings.cancel_grace
        self.state.deadline = time.time() + allowed
        self.jobdir.save(self.state)  # the marker first: a crash now still finds the processes
        env = environment(files.get("env") or "")
        env[process.MARKER_VARIABLE] = self.state.marker
        try:
            pid = process.spawn(
                command, env, self.jobdir.stdout, self.jobdir.path, on_exit=self._wake.set
            )
        except OSError as exc:
            LOG.error("[%d] cannot start lava-run: %s", job_id, exc)
            errors = f"the worker cannot start lava-run ({self.settings.lava_run}): {exc}"
            self._report({"result": "fail", "error_type": "Bug", "errors": errors})
            return False
        self.state.pid, self.state.pid_start = pid, process.start_time(pid)
        self.jobdir.save(self.state)
        LOG.info("[%d] lava-run started, pid %d, in %s", job_id, pid, self.jobdir.path)
        return True

    def _report_running(self) -> bool:
        job_id, token = self.state.id, self.state.token
        if self._retry(lambda: self.client.job_running(job_id, token), "reporting Running") is None:
            return False
        self.state.started_reported = True
        self.jobdir.save(self.state)
        return True

    def _follow(self) -> bool:
        """Ship the log while lava-run runs; True once it has ended, False on shutdown.

        What is left of the log then goes with the end report (`_finish`).
        """
        state, tail = self.state, self._tail
        terminated_at: float | None = None
        # A short job (a deploy alone, a quick check) often ends within this first wait:
        # its whole log then goes with the end report, one call to the server instead of two.
        self._wake.wait(FOLLOW_SECONDS)
        while True:
            if not process.alive(state.pid, state.pid_start):
                return True
            while self._ship(tail):  # everything written so far
                if self.stop.is_set():
                    return False
            if self.stop.is_set():
                return False
            if self._ended.is_set():
                raise ServerEnded
            if state.deadline and not state.overran and time.time() > state.deadline:
                LOG.warning(
                    "[%d] lava-run has overrun its job timeout by %g s: stopping it",
                    state.id,
                    self.settings.cancel_grace,
                )
                state.overran = True
                self.jobdir.save(state)
                self._cancel.set()
            if self._cancel.is_set():
                now = time.monotonic()
                if terminated_at is None:
                    terminated_at = now
                    state.canceled = True
                    self.jobdir.save(state)
                    process.signal_group(state.pid, signal.SIGTERM)
                elif now - terminated_at > self.settings.cancel_grace:
                    LOG.warning(
                        "[%d] lava-run still runs %g s after SIGTERM: SIGKILL",
                        state.id,
                        self.settings.cancel_grace,
                    )
                    process.signal_group(state.pid, signal.SIGKILL)
                    self._kill_everything()
                    terminated_at = now  # and again after another grace period
            self._wake.wait(FOLLOW_SECONDS)
            self._wake.clear()

    def _ship(self, tail: LogTail, batch: tuple[int, list[str], int] | None = None) -> bool:
        """Send the next batch of complete lines (``batch``: as the caller just read it);
        False when there was nothing to send."""
        index, lines, offset = batch or tail.read(self._max_lines, MAX_BATCH_BYTES)
        if not lines:
            return False
        job_id, token = self.state.id, self.state.token
        text = "".join(lines)
        try:
            count = self._retry(
                lambda: self.client.send_logs(job_id, token, index, text), "sending log lines"
            )
        except Refused as exc:
            if exc.status == 413 and self._max_lines > 1:
                self._max_lines = max(1, self._max_lines // 2)
                LOG.warning("[%d] batch too big: now %d lines", job_id, self._max_lines)
                return True
            gap = GAP.search(exc.message) if exc.status == 400 else None
            if gap is None:
                raise
            LOG.warning("[%d] the server has fewer lines: %s", job_id, exc.message)
            tail.seek_line(int(gap.group(1)))
            return True
        if count is None:
            return False
        if count == index + len(lines):
            tail.advance(len(lines), offset)
        else:  # the server had a different count from ours: go to where it is
            tail.seek_line(count)
        self.state.acked_lines, self.state.acked_offset = tail.line, tail.offset
        self.jobdir.save(self.state)
        return True

    def _finish(self) -> None:
        """lava-run has ended: ship its log but the last batch, read its result, stop what it
        left behind, report the end with that last batch, clean up."""
        tail = self._tail
        while True:
            batch = tail.read(self._max_lines, MAX_BATCH_BYTES)
            if not batch[1] or self._is_last(batch[2]):
                break
            if not self._ship(tail, batch):
                break
            if self.stop.is_set():
                return
        fields = self._result()
        killed = self._kill_everything()
        if killed:
            LOG.warning("[%d] killed %d processes lava-run left behind", self.state.id, killed)
        fields["description"] = _read(self.jobdir.description)
        self._report(fields, batch)

    def _is_last(self, offset: int) -> bool:
        """Whether no complete line follows ``offset`` in lava-run's log."""
        try:
            with self.jobdir.log.open("rb") as handle:
                handle.seek(offset)
                rest = handle.read(MAX_BATCH_BYTES)
        except FileNotFoundError:
            return True
        return b"\n" not in rest

    def _result(self) -> dict[str, str]:
        if self.state.overran:
            return {
                "result": "fail",
                "error_type": "Job",
                "errors": "lava-run did not end within the job timeout and a grace of "
                f"{self.settings.cancel_grace:g} s: the worker stopped it",
            }
        try:
            text: str | None = self.jobdir.result.read_text(encoding="utf-8")
        except OSError:
            text = None
        return outcome(
            text,
            canceled=self.state.canceled,
            exit_code=process.exit_code(self.state.pid),
            output=_read(self.jobdir.stdout)[-2000:],
        )

    def _report(
        self, fields: dict[str, str], last: tuple[int, list[str], int] | None = None
    ) -> None:
        """Report the end; ``last``: the log's last batch (index, lines, offset), sent with it.

        If the server refuses that batch, the log goes its own way first
        (`_ship` knows each refusal) and the end follows alone.
        """
        job_id, token = self.state.id, self.state.token
        self._reporting_end = True
        index, lines, offset = last or (0, [], 0)
        text = "".join(lines)
        try:
            done = self._retry(
                lambda: self.client.job_finished(job_id, token, fields, index, text),
                "reporting the end",
            )
        except Refused as exc:
            if not lines or exc.status not in (400, 409, 413):
                raise
            LOG.warning("[%d] the end's log lines refused (%s): sent apart", job_id, exc)
            while self._ship(self._tail):
                if self.stop.is_set():
                    return
            done = self._retry(
                lambda: self.client.job_finished(job_id, token, fields), "reporting the end"
            )
        if done is None:
            return
        if lines:
            count = int(done.get("line_count", index + len(lines)))
            if count != index + len(lines):
                LOG.warning(
                    "[%d] the server has %d log lines, the worker sent %d",
                    job_id,
                    count,
                    index + len(lines),
                )
            self._tail.advance(len(lines), offset)
            self.state.acked_lines, self.state.acked_offset = self._tail.line, offset
        LOG.info(
            "[%d] finished: %s%s",
            job_id,
            fields["result"],
            f" ({fields['error_type']})" if fields.get("error_type") else "",
        )
        if self.settings.keep_jobs:
            self.state.extra["reported"] = True
            self.jobdir.save(self.state)
        else:
            self.jobdir.remove()
        self.finished = True

    def _kill_everything(self) -> int:
        if self.state.pid and process.alive(self.state.pid, self.state.pid_start):
            process.signal_group(self.state.pid, signal.SIGKILL)
        return len(process.kill_marked(self.state.marker))


def job_timeout(definition: str) -> float:
    """Seconds the job may run (its ``timeouts: job``); the longest allowed when unreadable."""
    try:
        timeouts = (yamlio.load(definition, "the job definition") or {}).get("timeouts") or {}
        return Timeout.parse(timeouts.get("job"), default=limit("job_timeout")).seconds
    except (yamlio.YAMLError, ValueError, AttributeError, TypeError):
        return float(limit("job_timeout"))


def local_path_options(directories: tuple[str, ...]) -> list[str]:
    """lava-run's options for the local paths jobs may name: only these, or none at all."""
    if not directories:
        return ["--no-local-paths"]
    return [option for path in directories for option in ("--allow-local-path", path)]


def environment(text: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """lava-run's environment from the server's env.yaml (LAVA's purge, removes, overrides).

    Never the worker's own token: lava-run, QEMU and the device's env-dut would inherit it.
    """
    env = dict(os.environ if base is None else base)
    env.pop(TOKEN_VARIABLE, None)
    try:
        config: Any = yamlio.load(text, "env.yaml") if text.strip() else {}
    except yamlio.YAMLError as exc:
        LOG.warning("env.yaml from the server is not YAML (%s): ignored", exc)
        config = {}
    if not isinstance(config, dict):
        return env
    if config.get("purge"):
        env = {}
    for name in config.get("removes") or []:
        env.pop(str(name), None)
    for name, value in (config.get("overrides") or {}).items():
        env[str(name)] = str(value)
    return env


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
