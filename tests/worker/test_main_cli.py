"""lava-worker's command line and how a ping's answer turns into job runners."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lava.worker import main as worker_main
from lava.worker.jobdir import JobDir, JobState
from lava.worker.runner import FetchRules


class FakeRunner:
    """Records what the worker asks of a runner instead of running lava-run."""

    made: ClassVar[list[FakeRunner]] = []

    def __init__(self, settings, jobdir, state, stop, adopted=False, lost="") -> None:
        self.state, self.adopted, self.lost = state, adopted, lost
        self.calls: list[str] = []
        self.finished = False
        FakeRunner.made.append(self)

    def start(self) -> None:
        self.calls.append("start")

    def cancel(self) -> None:
        self.calls.append("cancel")

    def server_ended(self) -> None:
        self.calls.append("server_ended")

    def is_alive(self) -> bool:
        return True


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> worker_main.Worker:
    FakeRunner.made = []
    monkeypatch.setattr(worker_main, "JobRunner", FakeRunner)
    options = worker_main.build_parser().parse_args(
        ["--url", "http://lava.example/", "--name", "w1", "--worker-dir", str(tmp_path)]
    )
    return worker_main.Worker(options, "t" * 32)


def entry(job_id: int) -> dict[str, Any]:
    return {"id": job_id, "token": f"token-{job_id}"}


def answer(start=(), cancel=(), running=()) -> dict[str, Any]:
    return {
        "start": [entry(i) for i in start],
        "cancel": [entry(i) for i in cancel],
        "running": [entry(i) for i in running],
        "etag": "x",
    }


def test_defaults() -> None:
    options = worker_main.build_parser().parse_args(["--url", "http://x/"])
    assert (options.ping_wait, options.cancel_grace, options.http_timeout) == (10, 60, 60)
    assert options.keep_jobs is False


def test_token_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parse = worker_main.build_parser().parse_args
    monkeypatch.delenv("LAVA_WORKER_TOKEN", raising=False)
    assert worker_main.read_token(parse(["--url", "u", "--token", "abc"])) == "abc"
    path = tmp_path / "token"
    path.write_text("from-file\n")
    assert worker_main.read_token(parse(["--url", "u", "--token-file", str(path)])) == "from-file"
    with pytest.raises(SystemExit, match="--token or --token-file"):
        worker_main.read_token(parse(["--url", "u"]))
    monkeypatch.setenv("LAVA_WORKER_TOKEN", "from-env")
    assert worker_main.read_token(parse(["--url", "u"])) == "from-env"
    with pytest.raises(SystemExit, match="cannot read the token file"):
        worker_main.read_token(parse(["--url", "u", "--token-file", str(tmp_path / "no")]))


def test_start_once_per_job(worker: worker_main.Worker) -> None:
    worker.handle(answer(start=[1, 2]))
    worker.handle(answer(start=[1, 2]))
    assert [(r.state.id, r.state.token, r.calls) for r in FakeRunner.made] == [
        (1, "token-1", ["start"]),
        (2, "token-2", ["start"]),
    ]


def test_cancel_known_and_unknown_jobs(worker: worker_main.Worker) -> None:
    worker.handle(answer(start=[1]))
    worker.handle(answer(cancel=[1, 7]))
    known, unknown = FakeRunner.made
    assert known.calls == ["start", "cancel"]
    assert unknown.state.id == 7 and unknown.calls == ["cancel", "start"]  # canceled first


def test_running_job_without_a_trace_is_reported_lost(worker: worker_main.Worker) -> None:
    worker.handle(answer(running=[5]))
    [runner] = FakeRunner.made
    assert "no trace of job 5" in runner.lost and runner.calls == ["start"]


def test_a_started_job_the_server_no_longer_lists_is_stopped(worker: worker_main.Worker) -> None:
    worker.handle(answer(start=[1, 2]))
    first, second = FakeRunner.made
    first.state.started_reported = True
    worker.handle(answer(running=[2]))  # job 1 is gone: the server ended it
    assert first.calls == ["start", "server_ended"]
    assert second.calls == ["start"]  # not reported Running yet: still starting


def test_adopt(worker: worker_main.Worker) -> None:
    jobs = worker.jobs_dir
    reported = JobDir(jobs, 1)
    reported.create()
    state = JobState(id=1, token="a", pid=os.getpid(), pid_start=1)
    state.extra["reported"] = True
    reported.save(state)
    unstarted = JobDir(jobs, 2)
    unstarted.create()
    unstarted.save(JobState(id=2, token="b"))
    running = JobDir(jobs, 3)
    running.create()
    running.save(JobState(id=3, token="c", pid=os.getpid(), pid_start=1))
    worker.adopt()
    assert [(r.state.id, r.adopted) for r in FakeRunner.made] == [(3, True)]
    assert reported.path.exists() and not unstarted.path.exists()


def test_local_paths_default_to_none_and_are_resolved(tmp_path: Path) -> None:
    base = ["--url", "http://lava.example/", "--worker-dir", str(tmp_path)]
    options = worker_main.build_parser().parse_args(base)
    assert worker_main.Worker(options, "t").settings.local_paths == ()
    (tmp_path / "images").mkdir()
    listed = ["--allow-local-path", str(tmp_path / "images" / ".."), "--allow-local-path=/srv"]
    options = worker_main.build_parser().parse_args([*base, *listed])
    assert worker_main.Worker(options, "t").settings.local_paths == (str(tmp_path), "/srv")


def test_fetch_rules_default_to_none_and_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--url", "http://lava.example/", "--worker-dir", str(tmp_path)]
    options = worker_main.build_parser().parse_args(base)
    assert worker_main.Worker(options, "t").settings.fetch_from == FetchRules()
    listed = [
        "--allow-fetch-from",
        "127.0.0.1:8080",
        "--allow-fetch-from=[::1]:8080",
        "--refuse-fetch-from",
        "10.20.0.0/16",
    ]
    options = worker_main.build_parser().parse_args([*base, *listed])
    assert worker_main.Worker(options, "t").settings.fetch_from == FetchRules(
        ("127.0.0.1:8080", "[::1]:8080"), ("10.20.0.0/16",)
    )
    with pytest.raises(SystemExit) as stopped:
        worker_main.build_parser().parse_args([*base, "--refuse-fetch-from", "pdu.lab"])
    assert stopped.value.code == 2
    assert "--refuse-fetch-from: 'pdu.lab' is not a network" in capsys.readouterr().err
