"""The fork server: each job a fork of one pre-imported lava-run, as isolated as a fresh one.

A child reading its definition from a FIFO blocks until the test writes it,
which leaves time to look at the child from outside through /proc.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lava.common import yamlio
from lava.worker import process
from lava.worker.forkclient import ForkServer, ForkServerUnavailable
from lava.worker.forkserver import Server
from lava.worker.main import default_lava_run
from tools import example

INVALID = "job_name: broken\nactions: 3\n"


@pytest.fixture(scope="module")
def server() -> Iterator[ForkServer]:
    fork_server = ForkServer()
    fork_server.start()
    yield fork_server
    fork_server.stop()


@pytest.fixture(autouse=True)
def _no_child_left(tmp_path: Path) -> Iterator[None]:
    """A test that fails leaves no lava-run blocked on its FIFO behind."""
    yield
    for entry in Path("/proc").iterdir():
        try:
            inside = Path(os.readlink(entry / "cwd")).is_relative_to(tmp_path)
        except (OSError, ValueError):
            continue
        if inside and entry.name.isdigit() and int(entry.name) != os.getpid():
            os.kill(int(entry.name), signal.SIGKILL)


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("device") / "device.yaml"
    path.write_text(example.device_text(), encoding="utf-8")
    return path


def command(tmp_path: Path, device: Path, definition: Path) -> list[str]:
    return [
        "lava-run",
        "--job-id",
        "7",
        "--output-dir",
        str(tmp_path / "output"),
        "--device",
        str(device),
        "--quiet",
        "--no-local-paths",
        str(definition),
    ]


def blocked_job(
    server: ForkServer, tmp_path: Path, device: Path, env: dict[str, str]
) -> tuple[int, Path, threading.Event]:
    """A child started on a FIFO as its definition: it waits there until the test writes.

    (It cannot end before: reading the definition is its first step.)"""
    fifo = tmp_path / "job.yaml"
    os.mkfifo(fifo)
    ended = threading.Event()
    pid = server.spawn(
        command(tmp_path, device, fifo), env, tmp_path / "lava-run.out", tmp_path, ended.set
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "output" / "output.yaml").exists():  # lava-run's main has begun
        assert time.monotonic() < deadline, "the child never started lava-run"
        time.sleep(0.01)
    return pid, fifo, ended


def test_a_child_is_a_process_of_its_own(server: ForkServer, tmp_path: Path, device: Path) -> None:
    pid, fifo, ended = blocked_job(server, tmp_path, device, {"PATH": os.environ["PATH"]})
    assert os.getsid(pid) == pid, "a session of its own, as a fresh lava-run"
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "lava-run"
    assert os.readlink(f"/proc/{pid}/cwd") == str(tmp_path)
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
    assert os.readlink(f"/proc/{pid}/fd/1") == str(tmp_path / "lava-run.out")
    descriptors = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
    assert descriptors <= {0, 1, 2, 3}, "nothing of the server's: at most the log it opened"
    assert server.alive(pid) is True
    fifo.write_text(INVALID, encoding="utf-8")
    assert ended.wait(30), "the exit is told"
    assert server.alive(pid) is False
    assert server.exit_code(pid) == 1
    assert "result: fail" in (tmp_path / "output" / "result.yaml").read_text()
    assert "Invalid job definition" in (tmp_path / "output" / "output.yaml").read_text()


def test_a_child_has_the_jobs_environment_and_nothing_else(
    server: ForkServer, tmp_path: Path, device: Path
) -> None:
    # /proc/PID/environ of a fork shows its server's start; what the job's commands get
    # is what counts: a user command writes it out.
    dump = tmp_path / "env.txt"
    data = yamlio.load(device.read_text(encoding="utf-8"))
    data["commands"] = {"users": {"dump": {"do": f"sh -c 'env > {dump}'"}}}
    with_command = tmp_path / "device.yaml"
    with_command.write_text(yamlio.dump(data), encoding="utf-8")
    definition = tmp_path / "job.yaml"
    definition.write_text(
        "job_name: env\ndevice_type: qemu\nvisibility: public\ntimeouts: {job: {minutes: 1}}\n"
        "actions:\n- command: {name: dump}\n",
        encoding="utf-8",
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ONLY_THIS": "yes"}
    ended = threading.Event()
    pid = server.spawn(
        command(tmp_path, with_command, definition), env, tmp_path / "out", tmp_path, ended.set
    )
    assert ended.wait(60)
    assert server.exit_code(pid) == 0, (tmp_path / "output" / "output.yaml").read_text()
    seen = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    seen.pop("PWD", None)  # sh's own
    seen.pop("SHLVL", None)
    seen.pop("_", None)
    assert seen == {**env, "LAVA_JOB_ID": "7"}, "nothing of the worker's environment"


def test_a_killed_child_reports_its_signal(
    server: ForkServer, tmp_path: Path, device: Path
) -> None:
    pid, _fifo, ended = blocked_job(server, tmp_path, device, {"PATH": os.environ["PATH"]})
    os.kill(pid, signal.SIGKILL)
    assert ended.wait(30)
    assert server.exit_code(pid) == -signal.SIGKILL, "as Popen.returncode says it"


def test_a_cancel_signal_reaches_lava_runs_own_handler(
    server: ForkServer, tmp_path: Path, device: Path
) -> None:
    pid, fifo, ended = blocked_job(server, tmp_path, device, {"PATH": os.environ["PATH"]})
    process.signal_group(pid, signal.SIGTERM)
    assert ended.wait(30)
    record = (tmp_path / "output" / "result.yaml").read_text()
    assert "Canceled" in record, "lava-run's canceler, not the server's default handler"
    fifo.unlink()


def test_a_bad_request_gets_an_error_and_no_fork() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        server = Server(theirs)
        server.handle(b'{"id": 4, "argv": "lava-run", "env": {}, "cwd": "/", "output": "/x"}')
        server.handle(b"not json")
        answers = [json.loads(line) for line in ours.recv(65536).splitlines()]
    assert answers[0] == {"id": 4, "error": "ValueError: 'argv' must be a list"}
    assert answers[1]["id"] is None and "JSONDecodeError" in answers[1]["error"]
    assert server.children == set()


def test_without_its_server_the_worker_starts_lava_run_as_a_command(
    tmp_path: Path, device: Path
) -> None:
    fork_server = ForkServer()
    fork_server.start()
    fifo = tmp_path / "job.yaml"
    os.mkfifo(fifo)
    env = {"PATH": os.environ["PATH"]}
    pid = fork_server.spawn(command(tmp_path, device, fifo), env, tmp_path / "a.out", tmp_path)
    started = process.start_time(pid)
    os.kill(fork_server.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while fork_server.alive(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.use_fork_server(fork_server)
    try:
        assert fork_server.alive(pid) is None, "its server gone, only /proc can tell"
        assert process.alive(pid, started), "the job runs on without its server"
        with pytest.raises(ForkServerUnavailable):
            fork_server.spawn(command(tmp_path, device, fifo), env, tmp_path / "b.out", tmp_path)
        second = tmp_path / "second"
        second.mkdir()
        (second / "job.yaml").write_text(INVALID, encoding="utf-8")
        other = process.spawn(
            [default_lava_run(), *command(second, device, second / "job.yaml")[1:]],
            dict(os.environ),
            second / "lava-run.out",
            second,
        )
        assert other in process._children, "started as a command"
        process._children[other].wait(timeout=30)
        assert "result: fail" in (second / "output" / "result.yaml").read_text()
    finally:
        process.use_fork_server(None)
        fifo.write_text(INVALID, encoding="utf-8")
        fork_server.stop()


def test_an_idle_server_leaves_and_the_next_job_brings_it_back(
    tmp_path: Path, device: Path
) -> None:
    fork_server = ForkServer(idle_exit=0.5)  # not started: the first job starts it
    (tmp_path / "job.yaml").write_text(INVALID, encoding="utf-8")

    def invalid_job() -> int:
        """Run the invalid job to its end; lava-run's pid."""
        ended = threading.Event()
        argv = command(tmp_path, device, tmp_path / "job.yaml")
        env = {"PATH": os.environ["PATH"]}
        pid = fork_server.spawn(
            argv, env, tmp_path / f"{time.monotonic_ns()}.out", tmp_path, ended.set
        )
        assert ended.wait(30) and fork_server.exit_code(pid) == 1
        return pid

    try:
        invalid_job()
        first = fork_server.pid
        deadline = time.monotonic() + 10
        while Path(f"/proc/{first}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{first}").exists(), "gone once idle: no memory held"
        invalid_job()
        assert fork_server.pid != first, "a new server, at once: not a crash's pause"
    finally:
        fork_server.stop()


def test_warm_up_builds_what_a_child_then_finds_built() -> None:
    """A child must not compile the job schema nor the common actions' again (~10 ms each)."""
    import importlib

    from lava.common.schema import load_job, validate_job
    from lava.dispatcher import run
    from lava.worker.forkserver import warm_up

    validate = importlib.import_module("lava.common.schema.validate")
    warm_up()
    before = validate.job_schema.cache_info().misses, validate.action_schema.cache_info().misses
    job = load_job(example.job_text(guest=Path("/nonexistent")))  # deploy tmpfs, boot qemu, test
    validate_job(job, strict=False)
    after = validate.job_schema.cache_info().misses, validate.action_schema.cache_info().misses
    assert after == before
    assert run.parser() is run.parser()
