"""`lava-worker`: the loop that pings the server and hands each job to a `JobRunner`.

The ping is a long poll: the server holds it until the answer differs from
the last one the worker saw, so a new job or a cancel arrives within a
tenth of a second. A SIGTERM stops the worker but not its jobs: lava-run
keeps running in its own session, and the next `lava-worker` started on
the same ``--worker-dir`` adopts it, ships the rest of its log and reports
its end.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import lava
from lava.common.fetch_policy import add_arguments as fetch_policy_arguments
from lava.common.private import private_dir

from . import process
from .client import Client, Refused, Unreachable
from .forkclient import ForkServer
from .jobdir import JobDir, JobState
from .runner import TOKEN_VARIABLE, FetchRules, JobRunner, Settings, environment

LOG = logging.getLogger("lava.worker")

REFUSED_PAUSE = 10.0  # after a 4xx ping (unknown worker, bad token, version mismatch)
UNREACHABLE_PAUSE_MAX = 5.0


def default_worker_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/lava/dispatcher/worker")
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "lava-worker"


def default_lava_run() -> str:
    beside = Path(sys.executable).parent / "lava-run"
    if beside.exists():
        return str(beside)
    return shutil.which("lava-run") or "lava-run"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lava-worker",
        description="Run the server's jobs for the devices attached to this host.",
    )
    parser.add_argument("--url", required=True, help="the server, e.g. http://lava.example.com/")
    parser.add_argument("--name", default=socket.getfqdn(), help="this worker's hostname")
    token = parser.add_mutually_exclusive_group()
    token.add_argument("--token", help="the worker's token (lava-server manage workers add)")
    token.add_argument("--token-file", type=Path, help="a file holding the token")
    parser.add_argument(
        "--worker-dir",
        type=Path,
        default=default_worker_dir(),
        help="job directories (default: %(default)s)",
    )
    parser.add_argument("--lava-run", default=default_lava_run(), help="the lava-run program")
    parser.add_argument(
        "--fork-server",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start each job as a fork of one pre-imported lava-run, which saves about 0.15 "
        "CPU-seconds per job (default: on, unless --lava-run names another program)",
    )
    parser.add_argument(
        "--ping-wait",
        type=float,
        default=10.0,
        help="how long the server may hold a ping that has nothing new (default %(default)g s)",
    )
    parser.add_argument(
        "--cancel-grace",
        type=float,
        default=60.0,
        help="seconds between SIGTERM and SIGKILL when a job is canceled (default %(default)g)",
    )
    parser.add_argument(
        "--http-timeout", type=float, default=60.0, help="seconds to wait for an answer"
    )
    parser.add_argument(
        "--allow-local-path",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="let jobs name local files (file:// URLs, paths, git repositories) under DIR "
        "(repeatable; default: none)",
    )
    fetch_policy_arguments(parser, "jobs")
    parser.add_argument(
        "--keep-jobs",
        action="store_true",
        help="keep each finished job's directory (for debugging; nothing removes them)",
    )
    parser.add_argument(
        "--exit-on-version-mismatch",
        action="store_true",
        help="stop when the server runs another version, instead of retrying",
    )
    parser.add_argument(
        "--level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level"
    )
    parser.add_argument("--log-file", type=Path, help="log here instead of stderr")
    return parser


class StopRequested(Exception):
    """SIGTERM or SIGINT arrived while the main thread waited for the server."""


class Worker:
    """Pings the server, starts, cancels and adopts jobs; one `JobRunner` thread per job."""

    def __init__(self, options: argparse.Namespace, token: str) -> None:
        self.name = options.name
        self.token = token
        self.jobs_dir = options.worker_dir / "jobs"
        self.ping_wait = options.ping_wait
        self.exit_on_mismatch = options.exit_on_version_mismatch
        self.settings = Settings(
            url=options.url,
            lava_run=options.lava_run,
            cancel_grace=options.cancel_grace,
            http_timeout=options.http_timeout,
            keep_jobs=options.keep_jobs,
            local_paths=tuple(str(path.resolve()) for path in options.allow_local_path),
            fetch_from=FetchRules(
                tuple(map(str, options.allow_fetch_from)),
                tuple(map(str, options.refuse_fetch_from)),
            ),
        )
        self.client = Client(options.url, options.http_timeout)
        self.stop = threading.Event()
        self.runners: dict[int, JobRunner] = {}
        self.done: set[int] = set()
        self._in_ping = False
        fork = options.fork_server
        if fork is None:
            fork = options.lava_run == default_lava_run()
        self.fork_server = ForkServer(env=environment("")) if fork else None  # no token

    # -- signals
    def _signal(self, signum: int, frame: FrameType | None) -> None:
        del frame
        LOG.info("%s: stopping", signal.Signals(signum).name)
        self.stop.set()
        if self._in_ping:
            raise StopRequested

    def install_signals(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._signal)

    # -- jobs left by an earlier worker process
    def adopt(self) -> None:
        if not self.jobs_dir.is_dir():
            return
        for path in sorted(self.jobs_dir.iterdir()):
            if not (path.name.isascii() and path.name.isdigit()):
                continue
            jobdir = JobDir(self.jobs_dir, int(path.name))
            state = jobdir.load()
            if state is not None and state.extra.get("reported"):
                continue  # kept by --keep-jobs
            if state is not None and not state.pid and state.started_reported:
                # the earlier worker died between reporting the job Running and starting
                # lava-run: nothing ran, and the server waits for its end
                process.kill_marked(state.marker)
                LOG.info("[%s] the earlier worker stopped while starting lava-run", path.name)
                lost = "the worker stopped while it started lava-run: nothing of the job ran"
                self._run(JobRunner(self.settings, jobdir, state, self.stop, lost=lost))
                continue
            if state is None or not state.pid:
                # the earlier worker died before it reported the job Running: the job is
                # still Scheduled on the server, and the next ping starts it afresh
                if state is not None:
                    process.kill_marked(state.marker)
                LOG.info("[%s] removing a job directory left before lava-run started", path.name)
                jobdir.remove()
                continue
            running = process.alive(state.pid, state.pid_start)
            LOG.info(
                "[%d] adopting the job from an earlier worker: lava-run pid %d %s, "
                "%d lines already sent",
                state.id,
                state.pid,
                "still running" if running else "has ended",
                state.acked_lines,
            )
            self._run(JobRunner(self.settings, jobdir, state, self.stop, adopted=True))

    def _run(self, runner: JobRunner) -> None:
        self.runners[runner.state.id] = runner
        runner.start()

    # -- the ping loop
    def handle(self, answer: dict[str, Any]) -> None:
        """Start, cancel or report lost the jobs the ping lists."""
        for entry in answer.get("start") or []:
            job_id, token = int(entry["id"]), str(entry["token"])
            if job_id in self.runners or job_id in self.done:
                continue
            LOG.info("[%d] starting", job_id)
            state = JobState(id=job_id, token=token)
            self._run(JobRunner(self.settings, JobDir(self.jobs_dir, job_id), state, self.stop))
        for entry in answer.get("cancel") or []:
            job_id, token = int(entry["id"]), str(entry["token"])
            if job_id in self.done:
                continue
            if job_id not in self.runners:  # canceled before it reached this worker
                state = JobState(id=job_id, token=token)
                runner = JobRunner(self.settings, JobDir(self.jobs_dir, job_id), state, self.stop)
                runner.cancel()
                self._run(runner)
            else:
                self.runners[job_id].cancel()
        lists = ("start", "cancel", "running")
        listed = {int(entry["id"]) for key in lists for entry in answer.get(key) or []}
        for job_id, runner in self.runners.items():
            if job_id not in listed and runner.state.started_reported and not runner.finished:
                runner.server_ended()
        for entry in answer.get("running") or []:
            job_id, token = int(entry["id"]), str(entry["token"])
            if job_id in self.runners or job_id in self.done:
                continue
            lost = (
                f"the worker {self.name} has no trace of job {job_id}: its job directory "
                f"is gone from {self.jobs_dir} (the worker's disk was wiped or the job "
                "directory was removed while it ran)"
            )
            LOG.error("[%d] %s", job_id, lost)
            state = JobState(id=job_id, token=token)
            runner = JobRunner(
                self.settings, JobDir(self.jobs_dir, job_id), state, self.stop, lost=lost
            )
            self._run(runner)

    def reap(self) -> None:
        for job_id, runner in list(self.runners.items()):
            if not runner.is_alive():
                del self.runners[job_id]
                if runner.finished:
                    self.done.add(job_id)
        if len(self.done) > 1000:  # only recent ends matter (a ping answered before them)
            self.done = set(sorted(self.done)[-100:])

    def ping(self, seen: str) -> dict[str, Any] | None:
        self._in_ping = True
        try:
            if self.stop.is_set():
                return None
            return self.client.ping(self.name, self.token, self.ping_wait, seen)
        finally:
            self._in_ping = False

    def run(self) -> int:
        LOG.info(
            "lava-worker %s: %s as %s, jobs in %s",
            lava.__version__,
            self.settings.url,
            self.name,
            self.jobs_dir,
        )
        # Job definitions, device files and tokens: for the worker's user only.
        private_dir(self.jobs_dir.parent)
        private_dir(self.jobs_dir)
        if self.fork_server is not None:  # started by the first job
            process.use_fork_server(self.fork_server)
        self.adopt()
        seen = ""
        delay = 0.5
        failures = 0
        while not self.stop.is_set():
            self.reap()
            try:
                answer = self.ping(seen)
            except StopRequested:
                break
            except Unreachable as exc:
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    LOG.warning("ping: server unreachable (%s); retrying", exc)
                self.stop.wait(delay)
                delay = min(delay * 2, UNREACHABLE_PAUSE_MAX)
                continue
            except Refused as exc:
                LOG.error("ping refused: %s", exc)
                if exc.status == 409 and self.exit_on_mismatch:
                    return 1
                self.stop.wait(REFUSED_PAUSE)
                continue
            if answer is None:
                break
            if failures:
                LOG.info("ping: the server answers again")
            failures, delay = 0, 0.5
            self.handle(answer)
            seen = str(answer.get("etag") or "")
        return self.shutdown()

    def shutdown(self) -> int:
        self.stop.set()
        for runner in self.runners.values():
            runner.join(timeout=5)
        left = [job_id for job_id, runner in self.runners.items() if not runner.finished]
        if left:
            LOG.info(
                "leaving %d jobs running (%s): the next lava-worker on %s adopts them",
                len(left),
                ", ".join(map(str, sorted(left))),
                self.jobs_dir,
            )
        if self.fork_server is not None:
            process.use_fork_server(None)
            self.fork_server.stop()
        return 0


def read_token(options: argparse.Namespace) -> str:
    if options.token:
        return str(options.token)
    if options.token_file:
        try:
            return options.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SystemExit(f"lava-worker: cannot read the token file: {exc}") from exc
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        raise SystemExit("lava-worker: give the worker's token with --token or --token-file")
    return token


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    logging.basicConfig(
        level=options.level,
        filename=options.log_file,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    worker = Worker(options, read_token(options))
    worker.install_signals()
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
