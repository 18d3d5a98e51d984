"""lava-background-process-start/-stop: a command in the background, its output, its end."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from shell_overlay import Overlay, make_overlay

STOP_ENV = {"LAVA_BACKGROUND_STOP_TIMEOUT": "5"}


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie has finished)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_for(path: Path, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout}s")


def test_start_then_stop_a_command_line(overlay: Overlay) -> None:
    results = overlay.tmp / "out"
    env = {"LAVA_RESULT_DIR": str(results), **STOP_ENV}
    proc_dir = results / "results" / "ticker"
    # A command line whose pipeline and child process must all end with it.
    command = f"sleep 300 & echo $! >{proc_dir}/child; while :; do echo tick; sleep 0.1; done"
    start = overlay.helper("lava-background-process-start", "ticker", "--cmd", command, env=env)
    assert start.returncode == 0, start.stderr
    assert "ticker started" in start.stdout
    pid = int((proc_dir / "pid").read_text())
    child = int(wait_for(proc_dir / "child"))
    assert alive(pid) and alive(child)
    wait_for(proc_dir / "output")

    stop = overlay.helper("lava-background-process-stop", "ticker", env=env)
    assert stop.returncode == 0, stop.stderr
    lines = stop.stdout.splitlines()
    header = f"lava-background-process-stop: ticker stopped; its output ({proc_dir}/output):"
    assert lines[0] == header
    assert "tick" in lines[1:-1]
    assert lines[-1] == "lava-background-process-stop: end of the output of ticker"
    deadline = time.monotonic() + 5
    while (alive(pid) or alive(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid) and not alive(child)
    assert not (proc_dir / "pid").exists()


def test_command_with_arguments_that_ends_by_itself(overlay: Overlay) -> None:
    env = {"LAVA_RESULT_DIR": str(overlay.tmp), **STOP_ENV}
    start = overlay.helper(
        "lava-background-process-start",
        "once",
        "--cmd",
        overlay.sh_cmd,
        "-c",
        'printf "%s\\n" "$1"; exit 3',
        "inline",
        "one argument",
        env=env,
    )
    assert start.returncode == 0, start.stderr
    exit_code = overlay.tmp / "results" / "once" / "exit_code"
    if exit_code.parent.joinpath("pgid").exists():
        wait_for(exit_code)
    else:
        # Without setsid the command replaces the wrapper: wait for it to end.
        pid = int((exit_code.parent / "pid").read_text())
        while alive(pid):
            time.sleep(0.05)
    stop = overlay.helper("lava-background-process-stop", "once", env=env)
    assert stop.returncode == 0
    assert "one argument" in stop.stdout.splitlines()
    assert "once had already exited" in stop.stdout
    if exit_code.exists():
        assert "with status 3" in stop.stdout


def test_process_that_ignores_sigterm_is_killed(overlay: Overlay) -> None:
    env = {"LAVA_RESULT_DIR": str(overlay.tmp), "LAVA_BACKGROUND_STOP_TIMEOUT": "1"}
    start = overlay.helper(
        "lava-background-process-start",
        "stubborn",
        "--cmd",
        "trap '' TERM; while :; do sleep 0.1; done",
        env=env,
    )
    assert start.returncode == 0, start.stderr
    pid = int((overlay.tmp / "results" / "stubborn" / "pid").read_text())
    stop = overlay.helper("lava-background-process-stop", "stubborn", env=env)
    assert stop.returncode == 0
    assert "stubborn killed (still running 1s after SIGTERM)" in stop.stdout
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


def test_same_name_twice_and_unknown_name(overlay: Overlay) -> None:
    env = {"LAVA_RESULT_DIR": str(overlay.tmp), **STOP_ENV}
    first = overlay.helper("lava-background-process-start", "dup", "--cmd", "sleep 300", env=env)
    assert first.returncode == 0, first.stderr
    try:
        second = overlay.helper(
            "lava-background-process-start", "dup", "--cmd", "sleep 300", env=env
        )
        assert second.returncode == 1
        assert "already running" in second.stderr
    finally:
        assert overlay.helper("lava-background-process-stop", "dup", env=env).returncode == 0

    unknown = overlay.helper("lava-background-process-stop", "never-started", env=env)
    assert unknown.returncode == 1
    assert "no background process called never-started" in unknown.stderr


def test_usage_errors(overlay: Overlay) -> None:
    for args in ([], ["name"], ["name", "--cmd"], ["name", "sleep", "1"], ["--cmd", "true"]):
        proc = overlay.helper("lava-background-process-start", *args)
        assert proc.returncode == 1, args
        assert "Usage: lava-background-process-start" in proc.stderr
    for args in ([], ["a", "b"]):
        proc = overlay.helper("lava-background-process-stop", *args)
        assert proc.returncode == 1, args
        assert "Usage: lava-background-process-stop" in proc.stderr


def test_without_lava_result_dir_uses_tmpdir(overlay: Overlay) -> None:
    start = overlay.helper("lava-background-process-start", "loose", "--cmd", "sleep 300")
    assert start.returncode == 0, start.stderr
    assert (overlay.tmp / "lava-results" / "results" / "loose" / "pid").exists()
    stop = overlay.helper("lava-background-process-stop", "loose", env=STOP_ENV)
    assert stop.returncode == 0
    assert os.path.exists(overlay.tmp / "lava-results" / "results" / "loose" / "output")


def test_without_setsid_the_command_itself_is_stopped(
    tmp_path: Path, busybox_tools: Path | None
) -> None:
    """Where there is no setsid, the command given as arguments replaces the wrapper."""
    if busybox_tools is None:
        pytest.skip("busybox is not installed (apt-get install busybox-static)")
    tools = tmp_path / "no-setsid"
    tools.mkdir()
    for applet in busybox_tools.iterdir():
        if applet.name != "setsid":
            (tools / applet.name).symlink_to(applet.resolve())
    # dash, since busybox sh would find its own setsid applet whatever PATH says.
    overlay = make_overlay("dash", tmp_path, busybox_tools, tools=tools)
    env = {"LAVA_RESULT_DIR": str(overlay.tmp), **STOP_ENV}
    start = overlay.helper(
        "lava-background-process-start", "plain", "--cmd", "sleep", "300", env=env
    )
    assert start.returncode == 0, start.stderr
    proc_dir = overlay.tmp / "results" / "plain"
    assert not (proc_dir / "pgid").exists()
    pid = int((proc_dir / "pid").read_text())
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "sleep"
    stop = overlay.helper("lava-background-process-stop", "plain", env=env)
    assert stop.returncode == 0
    assert "plain stopped" in stop.stdout
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
