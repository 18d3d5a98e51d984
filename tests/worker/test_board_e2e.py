"""The emulated U-Boot board through the whole lab, and what breaks on boards.

A real QEMU arm64 board running Debian's U-Boot, its console behind ser2net,
its power through scripts (tools.board), TFTP from QEMU's built-in server
serving the worker's TFTP root. The lab is the real one: gunicorn, the
scheduler, lava-worker, lava-run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lava.common import log, yamlio
from tools import example
from tools.board import Board, missing_packages
from tools.livelab import LiveLab

pytestmark = pytest.mark.slow

RUNS = int(os.environ.get("LAVA_BOARD_RUNS") or 10)


def require_board() -> None:
    missing = missing_packages()
    if not missing:
        return
    why = f"the emulated board needs {', '.join(missing)} (make deps installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def arm64_guest() -> Path:
    require_board()
    proc = subprocess.run(
        [str(example.BUILD_GUEST), "--arch", "arm64", "--print-dir"],
        stdout=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("cannot build the arm64 guest (make guest)")
        pytest.skip("no arm64 guest: make guest builds it")
    return Path(proc.stdout.strip().splitlines()[-1])


def make_board(base: Path, name: str, guest: Path) -> Board:
    tftp = base / "tftp"
    tftp.mkdir()
    return Board(name, state_dir=base / "state", tftp_root=tftp, guest_dir=guest).setup()


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory, arm64_guest: Path) -> Iterator[Board]:
    """The lab's board: its scheduler may run jobs on it (health checks) at any time."""
    board = make_board(tmp_path_factory.mktemp("board"), f"e2e-{os.getpid()}", arm64_guest)
    try:
        yield board
    finally:
        board.teardown()


@pytest.fixture(scope="module")
def fault_board(tmp_path_factory: pytest.TempPathFactory, arm64_guest: Path) -> Iterator[Board]:
    """A board of its own for the fault tests, which drive lava-run directly."""
    board = make_board(tmp_path_factory.mktemp("fault-board"), f"fault-{os.getpid()}", arm64_guest)
    try:
        yield board
    finally:
        board.teardown()


def board_job(guest: Path, **context: Any) -> str:
    text = example.job_text("board-uboot.yaml", guest=guest)
    if not context:
        return text
    definition = yamlio.load(text)
    definition["context"] = context
    return yamlio.dump(definition)


def suites(rows: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """The test shell's cases (the `lava` suite differs by boot method)."""
    return {(r["suite"], r["name"], r["result"]) for r in rows if r["suite"] != "lava"}


# -- through the whole lab ----------------------------------------------------------


@pytest.fixture(scope="module")
def board_lab(
    tmp_path_factory: pytest.TempPathFactory, board: Board
) -> Iterator[tuple[LiveLab, str]]:
    # The jobs may also name the board's own files (its DTB).
    lab = LiveLab(
        tmp_path_factory.mktemp("board-lab") / "instance",
        port=0,
        worker_options=[f"--allow-local-path={board.state_dir}"],
    )
    with lab.running_lab():
        yield lab, lab.add_board(board)


def test_board_jobs_complete_every_time(
    board_lab: tuple[LiveLab, str], arm64_guest: Path, guest: Path
) -> None:
    lab, hostname = board_lab
    runs = []
    for _ in range(RUNS):
        start = time.monotonic()
        job_id = lab.submit(board_job(arm64_guest))
        record = lab.wait_job(job_id, timeout=300)
        runs.append((job_id, record["health"], time.monotonic() - start))
        assert record["health"] == "Complete", lab.log_tail()
        assert (record["device_state"], record["device_health"]) == ("Idle", "Good")
    print(f"\n{RUNS} board jobs on {hostname}:")
    for job_id, health, seconds in runs:
        print(f"  job {job_id}: {health} in {seconds:.1f} s (submit to finished)")
    # The same definitions give the same results as on the QEMU device.
    qemu_id = lab.submit(example.job_text(guest=guest))
    assert lab.wait_job(qemu_id, timeout=300)["health"] == "Complete"
    assert suites(lab.testcases(runs[-1][0])) == suites(lab.testcases(qemu_id))


def test_uimage_ramdisk_and_a_dtb(
    board_lab: tuple[LiveLab, str], arm64_guest: Path, board: Board
) -> None:
    lab, hostname = board_lab
    # A second device on the same board whose U-Boot wants mkimage-wrapped ramdisks;
    # the first one rests meanwhile so that the job lands here.
    text = board.device_dictionary() + "{% set uboot_ramdisk_format = 'u-boot' %}\n"
    uimage = lab.add_board(board, "sim-uimage-01", dictionary=text)
    lab.manage("devices", "update", hostname, "--health", "MAINTENANCE", quiet=True)
    try:
        definition = yamlio.load(board_job(arm64_guest))
        definition["actions"][0]["deploy"]["dtb"] = {"url": board.dtb_path.as_uri()}
        job_id = lab.submit(yamlio.dump(definition))
        record = lab.wait_job(job_id, timeout=300)
    finally:
        lab.manage("devices", "update", uimage, "--health", "MAINTENANCE", quiet=True)
        lab.manage("devices", "update", hostname, "--health", "GOOD", quiet=True)
    assert record["health"] == "Complete", record
    text = "\n".join(lab.log_lines(job_id))
    assert "Calling mkimage command: mkimage -A arm64 -T ramdisk -C none" in text
    assert "booti 0x40400000 0x44000000 0x40000000" in text
    assert re.search(r"tftp 0x40000000 \S+/dtb/virt.dtb", text)


def test_failing_power_makes_the_health_check_fail_and_the_device_bad(
    board_lab: tuple[LiveLab, str], arm64_guest: Path, board: Board
) -> None:
    lab, _ = board_lab
    # The same board, but its PDU fails every request.
    text = board.device_dictionary().replace(board.hard_reset_command, "false")
    assert "'false'" in text or '"false"' in text or " false" in text
    check = example.job_text("board-uboot.yaml", guest=arm64_guest)
    hostname = lab.add_board(board, "broken-pdu-01", dictionary=text, health_check=check)
    lab.manage("devices", "update", hostname, "--health", "UNKNOWN", quiet=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        details = yamlio.load(
            lab.manage("devices", "details", hostname, "--format", "json", quiet=True).stdout
        )
        if str(details.get("health", "")).lower() == "bad":
            break
        time.sleep(1)
    assert str(details.get("health", "")).lower() == "bad", details
    job_id = lab.query(
        "from lava.server.scheduler.models import TestJob\n"
        f"print(TestJob.objects.filter(actual_device_id={hostname!r}, health_check=True)"
        ".latest('id').id)"
    )
    text = "\n".join(lab.log_lines(int(job_id)))
    assert "hard_reset: 'false' failed with exit status 1" in text
    lab.manage("devices", "update", hostname, "--health", "MAINTENANCE", quiet=True)


# -- faults, through lava-run as the worker starts it ---------------------------------


class Run:
    """One lava-run on the board, in the background."""

    def __init__(self, board: Board, job: str, out_dir: Path) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        config = out_dir / "dispatcher.yaml"
        config.write_text(yamlio.dump(board.dispatcher_config()), encoding="utf-8")
        from lava.common.device import load_device

        device = yamlio.dump(load_device(board.device_dictionary(), {}, hostname=board.name))
        self.proc = example.lava_run(
            job, device, out_dir, job_id=str(os.getpid()),
            extra=["--dispatcher", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def lines(self) -> list[dict[str, Any]]:
        path = self.out_dir / "output.yaml"
        if not path.exists():
            return []
        return [log.decode(line) for line in path.read_text().splitlines() if line.strip()]

    def wait_for(self, pattern: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(re.search(pattern, str(e["msg"])) for e in self.lines()):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"lava-run ended before '{pattern}'")
            time.sleep(0.05)
        raise AssertionError(f"'{pattern}' did not appear in {timeout:g} s")

    def finish(self, timeout: float = 180) -> dict[str, Any]:
        self.proc.wait(timeout=timeout)
        return yamlio.load((self.out_dir / "result.yaml").read_text())

    def text(self) -> str:
        return "\n".join(str(e["msg"]) for e in self.lines())


def fault_job(guest: Path, **boot: Any) -> str:
    definition = yamlio.load(board_job(guest))
    definition["actions"][1]["boot"].update(boot)
    return yamlio.dump(definition)


def test_serial_server_killed_mid_boot_reconnects(
    fault_board: Board, arm64_guest: Path, tmp_path: Path
) -> None:
    run = Run(fault_board, fault_job(arm64_guest, failure_retry=2), tmp_path)
    run.wait_for(r"^tftp 0x40400000")
    fault_board.stop_serial()
    time.sleep(1)
    fault_board.start_serial()
    result = run.finish()
    text = run.text()
    assert "Dead connection, reconnecting" in text
    # Reconnected and booted on the second attempt, or ended as an infrastructure error.
    assert result["result"] == "pass" or result["error_type"] == "Infrastructure", result
    assert not fault_board.status().on


def test_uboot_error_string_fails_the_boot_at_once(
    fault_board: Board, guest: Path, tmp_path: Path
) -> None:
    # The x86_64 guest's kernel is not an arm64 Image: booti says so.
    definition = yamlio.load(board_job(guest))
    run = Run(fault_board, yamlio.dump(definition), tmp_path)
    start = time.monotonic()
    result = run.finish()
    assert result["error_type"] == "Infrastructure"
    assert "Bad Linux ARM64 Image magic!" in result["error_msg"]
    assert time.monotonic() - start < 30


def test_a_board_that_never_reaches_the_prompt_times_out(arm64_guest: Path, tmp_path: Path) -> None:
    silent = Board(
        f"silent-{os.getpid()}", state_dir=tmp_path / "state", tftp_root=tmp_path,
        guest_dir=arm64_guest, firmware=False,
    ).setup()  # fmt: skip
    try:
        definition = yamlio.load(board_job(arm64_guest))
        definition["timeouts"]["actions"] = {"bootloader-interrupt": {"seconds": 10}}
        run = Run(silent, yamlio.dump(definition), tmp_path / "out")
        start = time.monotonic()
        result = run.finish()
        assert result["error_type"] == "Infrastructure", result
        assert "did not appear" in result["error_msg"] or "timed out" in result["error_msg"]
        assert time.monotonic() - start < 60
        assert not silent.status().on
    finally:
        silent.teardown()


def test_cancel_mid_tftp_powers_off(fault_board: Board, arm64_guest: Path, tmp_path: Path) -> None:
    run = Run(fault_board, board_job(arm64_guest), tmp_path)
    run.wait_for(r"^tftp 0x40400000")
    run.proc.send_signal(signal.SIGTERM)
    result = run.finish(timeout=60)
    assert result["error_type"] == "Canceled", result
    assert "Calling power_off command" in run.text()
    assert not fault_board.status().on  # QEMU is gone
    leftovers = subprocess.run(
        ["pgrep", "-f", f"telnet 127.0.0.1 {fault_board.serial_port}"],
        capture_output=True,
        text=True,
    )
    assert leftovers.stdout.strip() == ""
    assert not any((fault_board.tftp_root).glob(f"{os.getpid()}/*")), "TFTP files left behind"
    assert shutil.which("pgrep")
