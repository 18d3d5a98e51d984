"""Overlay transfer over a console, against a real interactive busybox shell."""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lava.common.exceptions import InfrastructureError
from lava.dispatcher.actions.boot import transfer_overlay_serial
from lava.dispatcher.actions.boot.transfer_overlay_serial import OverlaySerialTransferAction
from lava.dispatcher.connections.serial import ShellSession
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.pipeline import Job

PROMPT = "dut-shell: # "
DEVICE = {"actions": {"deploy": {}, "boot": {}}, "timeouts": {"actions": {}, "connections": {}}}


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def session(
    tmp_path: Path, log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ShellSession]:
    """`busybox sh -i` on a pty, standing for the device's console."""
    env = {"PATH": os.environ["PATH"], "PS1": PROMPT, "HOME": str(tmp_path), "ENV": ""}
    # pexpect's pty fork already makes the child a session leader, so the
    # session's preexec_fn=os.setsid fails with EPERM (reported as a core fix).
    with monkeypatch.context() as patch:
        patch.setattr(os, "setsid", lambda: None)
        shell = ShellSession(["busybox", "sh", "-i"], JobLogger(log), name="dut", env=env)
    shell.prompts = [PROMPT]
    assert shell.wait_for_prompt(10)
    yield shell
    # An interactive shell ignores SIGTERM: ask it to leave.
    shell.sendline("exit")
    shell.wait_exit(5)
    shell.close()


def test_transfer_speed(tmp_path: Path, log: io.StringIO, session: ShellSession) -> None:
    """1 MB of incompressible data in 64 KiB chunks; prints the rate."""
    payload = os.urandom(1_000_000)
    overlay = make_overlay(tmp_path, payload)
    job = Job("9", {"actions": []}, Device.from_dict(DEVICE), JobLogger(log), tmp_path)
    (tmp_path / "root").mkdir()
    action = OverlaySerialTransferAction(target_dir=str(tmp_path / "root"))
    job.pipeline.add_action(action, {"namespace": "common"})
    job.state("common").overlay.delivery = "serial"
    job.state("common").overlay.tarball = overlay
    job.pipeline.run_actions(session, None)
    blob = tmp_path / "root" / "lava-9" / "0" / "tests" / "0_smoke" / "blob"
    assert blob.read_bytes() == payload
    print(f"\n1 MB over a pty console: {action.elapsed:.2f} s, {action.results['chunks']} chunks")


def make_overlay(tmp_path: Path, payload: bytes) -> Path:
    """A tar.gz shaped like compress-overlay's: lava-9/... with a runner and a blob."""
    src = tmp_path / "src" / "lava-9"
    (src / "bin").mkdir(parents=True)
    (src / "bin" / "lava-test-runner").write_text("#!/bin/sh\necho runner\n")
    (src / "bin" / "lava-test-runner").chmod(0o755)
    (src / "0" / "tests" / "0_smoke").mkdir(parents=True)
    (src / "0" / "tests" / "0_smoke" / "blob").write_bytes(payload)
    path = tmp_path / "overlay.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(src, arcname="lava-9")
    return path


def make_action(
    tmp_path: Path, log: io.StringIO, method: str | None, overlay: Path | None, **params: Any
) -> tuple[Job, OverlaySerialTransferAction]:
    job = Job("9", {"actions": []}, Device.from_dict(DEVICE), JobLogger(log), tmp_path)
    target = tmp_path / "root"
    target.mkdir(exist_ok=True)
    action = OverlaySerialTransferAction(target_dir=str(target), chunk_size=16 * 1024)
    job.pipeline.add_action(action, {"namespace": "common", **params})
    if method:
        job.state("common").overlay.delivery = method
    if overlay:
        job.state("common").overlay.tarball = overlay
    return job, action


def test_serial_transfer_unpacks_intact_files(
    tmp_path: Path, log: io.StringIO, session: ShellSession
) -> None:
    payload = os.urandom(60_000)  # incompressible: several chunks
    overlay = make_overlay(tmp_path, payload)
    job, action = make_action(tmp_path, log, "serial", overlay)
    job.validate()
    job.pipeline.run_actions(session, None)
    root = tmp_path / "root" / "lava-9"
    assert (root / "0" / "tests" / "0_smoke" / "blob").read_bytes() == payload
    runner = root / "bin" / "lava-test-runner"
    assert runner.read_text() == "#!/bin/sh\necho runner\n"
    assert os.access(runner, os.X_OK)
    assert action.results["chunks"] >= 5
    leftovers = [p.name for p in (tmp_path / "root").iterdir() if p.name.startswith(".lava")]
    assert leftovers == []
    # The data goes through with echo off: summaries in the log, not base64 lines.
    text = log.getvalue()
    assert "<overlay chunk 1/" in text
    assert text.count("\n") < 200
    assert "intact" in text


def test_nothing_sent_when_the_ramdisk_carries_the_overlay(
    tmp_path: Path, log: io.StringIO, session: ShellSession
) -> None:
    job, _action = make_action(tmp_path, log, "ramdisk", make_overlay(tmp_path, b"x"))
    job.pipeline.run_actions(session, None)
    assert '"lvl": "input"' not in log.getvalue()
    assert not (tmp_path / "root" / "lava-9").exists()


def test_corruption_is_an_infrastructure_error(
    tmp_path: Path, log: io.StringIO, session: ShellSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlay = make_overlay(tmp_path, os.urandom(2000))
    real = transfer_overlay_serial._send_chunk

    def flip_one_char(console: Any, text: str, summary: str) -> None:
        swapped = ("B" if text[10] == "A" else "A").join((text[:10], text[11:]))
        real(console, swapped, summary)

    monkeypatch.setattr(transfer_overlay_serial, "_send_chunk", flip_one_char)
    job, _action = make_action(tmp_path, log, "serial", overlay)
    with pytest.raises(InfrastructureError, match="Overlay transfer corrupted"):
        job.pipeline.run_actions(session, None)


def test_transfer_overlay_unpack_command(
    tmp_path: Path, log: io.StringIO, session: ShellSession
) -> None:
    overlay = make_overlay(tmp_path, b"payload")
    target = tmp_path / "elsewhere"
    target.mkdir()
    params = {
        "transfer_overlay": {
            "download_command": "wget -O overlay.tar.gz",
            "unpack_command": f"tar -C {target} -xzf",
        }
    }
    job, _action = make_action(tmp_path, log, "ramdisk", overlay, **params)
    job.validate()
    job.pipeline.run_actions(session, None)
    assert (target / "lava-9" / "0" / "tests" / "0_smoke" / "blob").read_bytes() == b"payload"


def test_unpack_failure_is_reported(
    tmp_path: Path, log: io.StringIO, session: ShellSession
) -> None:
    params = {"transfer_overlay": {"unpack_command": "false"}}
    job, _action = make_action(tmp_path, log, "serial", make_overlay(tmp_path, b"x"), **params)
    with pytest.raises(InfrastructureError, match=r"Unable to unpack the overlay.*exited with 1"):
        job.pipeline.run_actions(session, None)


def test_transfer_overlay_needs_an_unpack_command(tmp_path: Path, log: io.StringIO) -> None:
    params = {"transfer_overlay": {"download_command": "wget"}}
    job, _action = make_action(tmp_path, log, "serial", None, **params)
    with pytest.raises(Exception, match="transfer_overlay needs an 'unpack_command'"):
        job.validate()


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r\r\n"])
def test_check_line_is_read_whole(ending: str) -> None:
    line = "LAVA_OVERLAY_CHECK 11251 0ca03745f15e7fab40690b32a495e66d  -"
    # A partial line must not match: pexpect would take "112" of "11251".
    assert re.search(transfer_overlay_serial.CHECK_RE, line[:22]) is None
    match = re.search(transfer_overlay_serial.CHECK_RE, line + ending)
    assert match is not None
    assert match.groups() == ("11251", "0ca03745f15e7fab40690b32a495e66d")
    assert re.search(transfer_overlay_serial.UNPACK_RE, "LAVA_OVERLAY_UNPACK_1") is None
    unpacked = re.search(transfer_overlay_serial.UNPACK_RE, "LAVA_OVERLAY_UNPACK_127" + ending)
    assert unpacked is not None and unpacked.group(1) == "127"
