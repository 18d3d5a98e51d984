"""tools/board: the emulated U-Boot board's files and pduclient, and the real board booting.

The slow tests power a real QEMU board with Debian's U-Boot and talk to it
through ser2net with telnet, as a LAVA dispatcher does. They skip when the
board's packages are missing, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import jinja2
import pexpect
import pytest

from lava.common.device import load_device, render_device
from tools import example
from tools.board import Board, BoardError, console, files, missing_packages, ports, procs, qemu
from tools.board import config as board_config

ROOT = Path(__file__).resolve().parents[2]
PDUCLIENT = ROOT / "tools" / "board" / "pduclient.py"


def require(pdu: bool = False) -> None:
    """Skip (fail in CI) when the board's Debian packages are missing."""
    absent = missing_packages(pdu)
    if absent:
        reason = f"the emulated board needs: apt-get install {' '.join(absent)}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def dictionary_values(board: Board) -> dict[str, str]:
    """The ``{% set key = '...' %}`` values of the board's dictionary, as Jinja2 reads them."""
    tree = jinja2.Environment().parse(board.device_dictionary())
    return {node.target.name: node.node.as_const() for node in tree.find_all(jinja2.nodes.Assign)}


# Files, commands and settings: no QEMU


def test_device_dictionary_runs_the_power_scripts(tmp_path: Path) -> None:
    board = Board("sim-arm64-07", state_dir=tmp_path / "b", tftp_root=tmp_path / "tftp",
                  serial_port=7101, qemu_port=8101)  # fmt: skip
    text = board.device_dictionary()
    assert text.startswith("{% extends 'qemu-uboot-arm64.jinja2' %}\n")
    values = dictionary_values(board)
    assert values == {
        "connection_command": "telnet 127.0.0.1 7101",
        "power_on_command": str(tmp_path / "b" / "power-on"),
        "power_off_command": str(tmp_path / "b" / "power-off"),
        "hard_reset_command": str(tmp_path / "b" / "hard-reset"),
    }
    assert f"tftp_root: {tmp_path / 'tftp'}" in text
    assert board.dispatcher_config() == {
        "dispatcher_ip": "10.0.2.2",
        "tftp_root": str(tmp_path / "tftp"),
    }


def test_device_dictionary_with_a_pdu(tmp_path: Path) -> None:
    board = Board("b1", state_dir=tmp_path / "b1", tftp_root=tmp_path, serial_port=7101,
                  qemu_port=8101, pdu=True, pdu_port=16500, reset_delay=0)  # fmt: skip
    values = dictionary_values(board)
    client = [str(PDUCLIENT), "--daemon", "127.0.0.1:16500", "--hostname", "b1-pdu", "--port", "1"]
    assert shlex.split(values["power_on_command"]) == [*client, "--command", "on"]
    assert shlex.split(values["power_off_command"]) == [*client, "--command", "off"]
    # --delay 0 is written and sent: pdudaemon's reboot would otherwise wait 5 s.
    assert shlex.split(values["hard_reset_command"]) == [
        *client, "--command", "reboot", "--delay", "0",
    ]  # fmt: skip


def test_odd_paths_survive_jinja_and_shlex(tmp_path: Path) -> None:
    state = tmp_path / "it's a \\ dir"
    board = Board("b2", state_dir=state, tftp_root=tmp_path, serial_port=1, qemu_port=2)
    values = dictionary_values(board)
    assert shlex.split(values["power_on_command"]) == [str(state / "power-on")]


def require_device_type() -> None:
    """The board's device-type template (written beside this work) must exist in CI."""
    if not (ROOT / "share" / "device-types" / "qemu-uboot-arm64.jinja2").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("share/device-types/qemu-uboot-arm64.jinja2 is missing")
        pytest.skip("share/device-types/qemu-uboot-arm64.jinja2 is not there yet")


def test_the_device_type_renders_the_board(tmp_path: Path) -> None:
    require_device_type()
    board = Board("b3", state_dir=tmp_path / "b3", tftp_root=tmp_path, serial_port=7101,
                  qemu_port=8101)  # fmt: skip
    device = load_device(board.device_dictionary(), hostname=board.name)
    assert device["commands"]["connect"] == "telnet 127.0.0.1 7101"
    assert device["commands"]["hard_reset"] == str(tmp_path / "b3" / "hard-reset")
    assert device["parameters"]["booti"]["ramdisk"] == "0x44000000"
    uboot = device["actions"]["boot"]["methods"]["u-boot"]
    assert uboot["parameters"]["interrupt_char"] == ""
    assert "setenv initrd_size ${filesize}" in uboot["ramdisk"]["commands"]


def test_state_directory_and_tftp_root_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setattr(board_config, "TFTPD_DEFAULTS", tmp_path / "no-tftpd-hpa")
    board = Board()
    assert board.state_dir == tmp_path / "run" / "lava-board" / "sim-arm64-01"
    assert board.tftp_root == board.state_dir / "tftp"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert Board("x").state_dir == Path("/tmp/lava-board/x")
    srv = tmp_path / "srv"
    srv.mkdir()
    (tmp_path / "tftpd-hpa").write_text(f'TFTP_USERNAME="tftp"\nTFTP_DIRECTORY="{srv}"\n')
    monkeypatch.setattr(board_config, "TFTPD_DEFAULTS", tmp_path / "tftpd-hpa")
    assert Board("x").tftp_root == srv


@pytest.mark.parametrize("name", ["", "-x", "a/b", "a b", "x" * 64, "é"])
def test_names_that_cannot_be_used(name: str) -> None:
    with pytest.raises(BoardError, match="board name"):
        Board(name)


def test_qemu_command_line(tmp_path: Path) -> None:
    board = Board("b4", state_dir=tmp_path / "s", tftp_root=tmp_path / "a,b", qemu_port=8101)
    args = qemu.power_args(board)
    assert args[args.index("-bios") + 1] == str(board_config.UBOOT_BIN)
    assert f"user,id=n0,tftp={tmp_path}/a,,b" in args
    assert "socket,id=ser0,host=127.0.0.1,port=8101,server=on,wait=on" in args
    assert args[args.index("-pidfile") + 1] == str(tmp_path / "s" / "qemu.pid")
    assert "-cpu" in args and "max,pauth=off" in args
    assert "-bios" not in qemu.machine_args(Board("b4", firmware=False))


def test_free_ports_are_distinct_and_below_the_ephemeral_range() -> None:
    taken = set(range(ports.LOWEST, ports.LOWEST + 500))
    chosen = ports.free_ports(3, taken=taken)
    assert len(set(chosen)) == 3
    assert not taken & set(chosen)
    assert all(ports.LOWEST <= port < ports.ephemeral_start() for port in chosen)
    assert all(ports.bindable(port) for port in chosen)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert ports.listening(port) and not ports.bindable(port)
        assert ports.free_ports(1, keep=[port])[0] != port


def test_power_scripts_run_without_a_shell(tmp_path: Path) -> None:
    board = Board("b5", state_dir=tmp_path / "b5", tftp_root=tmp_path, serial_port=1, qemu_port=2)
    board.state_dir.mkdir()
    files.write_power_scripts(board)
    board.save()
    for name in ("power-on", "power-off", "hard-reset"):
        assert board.file(name).read_text().startswith(f"#!{sys.executable} -I\n")
        assert os.access(board.file(name), os.X_OK)
    off = subprocess.run([board.file("power-off")], capture_output=True, text=True)
    assert (off.returncode, off.stdout) == (0, "b5: off\n")
    wrong = subprocess.run([board.file("power-off"), "2"], capture_output=True, text=True)
    assert wrong.returncode == 1
    assert "nothing is plugged into outlet 2" in wrong.stderr


def test_processes_are_found_by_their_arguments_and_stopped(tmp_path: Path) -> None:
    marker = str(tmp_path / "marker")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    try:
        deadline = time.monotonic() + 10
        while not procs.find(marker) and time.monotonic() < deadline:
            time.sleep(0.01)  # until the child has exec'd
        assert procs.find(marker) == [child.pid]
        assert procs.find(marker, "61") == []
        procs.stop(child.pid, grace=2)
        assert procs.find(marker) == []
    finally:
        child.kill()
        child.wait()
    assert not procs.running(child.pid)


class FakePdudaemon:
    """pdudaemon's TCP listener in one thread: records each request, answers ``reply``."""

    def __init__(self, reply: bytes = b"ack\n") -> None:
        self.reply = reply
        self.requests: list[str] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown(socket.SHUT_RDWR)  # wakes accept() up
        self.server.close()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                self.requests.append(conn.recv(16384).decode())
                conn.sendall(self.reply)


def pduclient(*args: str) -> subprocess.CompletedProcess[str]:
    """Run our pduclient as LAVA would: the executable itself, no shell."""
    return subprocess.run([str(PDUCLIENT), *args], capture_output=True, text=True, timeout=30)


def test_pduclient_sends_what_pdudaemon_expects() -> None:
    daemon = FakePdudaemon()
    where = ["--daemon", f"127.0.0.1:{daemon.port}", "--hostname", "pdu1", "--port", "4"]
    assert pduclient(*where, "--command", "on").returncode == 0
    assert pduclient(*where, "--command", "reboot", "--delay", "0").returncode == 0
    assert pduclient(*where, "--command", "reboot", "--delay", "3").returncode == 0
    assert daemon.requests == ["pdu1 4 on", "pdu1 4 reboot 0", "pdu1 4 reboot 3"]
    daemon.reply = b"nack\n"
    refused = pduclient(*where, "--command", "off")
    assert refused.returncode == 1
    assert "refused 'pdu1 4 off': nack" in refused.stderr
    daemon.stop()
    gone = pduclient(*where, "--command", "off")
    assert gone.returncode == 1 and "no answer from pdudaemon" in gone.stderr
    bad = pduclient(*where, "--command", "cycle")
    assert bad.returncode == 2


def test_pduclient_daemon_address() -> None:
    from tools.board.pduclient import address

    assert address("localhost") == ("localhost", 16421)
    assert address("localhost:17000") == ("localhost", 17000)
    assert address("[::1]:17000") == ("::1", 17000)
    assert address("::1") == ("::1", 16421)


# The real board


@pytest.fixture(scope="module")
def arm64_guest() -> Path:
    """The arm64 guest the board boots (built once, cached)."""
    require()
    try:
        return files.arm64_guest()
    except BoardError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no arm64 guest: {error}")


def leftovers(board: Board) -> list[int]:
    """Live processes of the board, found in /proc by their arguments."""
    return [
        *procs.find(str(board.file("qemu.pid"))),
        *procs.find(str(board.file("ser2net.yaml"))),
        *procs.find(f"--conf={board.file('pdudaemon.conf')}"),
    ]


@pytest.fixture
def make_board(tmp_path: Path, arm64_guest: Path) -> Iterator[Callable[..., Board]]:
    """Set up boards in tmp_path; each is torn down, and checked gone, at the end."""
    made: list[Board] = []

    def make(**options: object) -> Board:
        require(bool(options.get("pdu")))
        name = f"test-{len(made) + 1}"
        options = {"reset_delay": 0, **options}
        where = {"state_dir": tmp_path / name, "tftp_root": tmp_path / "tftp"}
        board = Board(name, guest_dir=arm64_guest, **where, **options)  # type: ignore[arg-type]
        made.append(board)
        return board.setup()

    yield make
    for board in made:
        board.teardown()
        assert leftovers(board) == []


@pytest.fixture
def consoles() -> Iterator[list[pexpect.spawn]]:
    """telnet sessions, closed at the end of the test."""
    opened: list[pexpect.spawn] = []
    yield opened
    for session in opened:
        session.close(force=True)


def report(request: pytest.FixtureRequest, what: str, seconds: float) -> None:
    request.node.user_properties.append((what, round(seconds, 2)))
    print(f"\n{request.node.name}: {what} {seconds:.2f} s")


@pytest.mark.slow
def test_boot_linux_through_ser2net(
    make_board: Callable[..., Board],
    consoles: list[pexpect.spawn],
    request: pytest.FixtureRequest,
) -> None:
    board = make_board()
    assert board.tftp_dir.joinpath("vmlinuz").is_file()
    assert board.dtb_path.read_bytes()[:4] == b"\xd0\x0d\xfe\xed"
    session = console.connect(board)
    consoles.append(session)
    start = time.monotonic()
    board.power_on()
    console.stop_autoboot(session)
    uboot_at = time.monotonic() - start
    assert console.uboot(session, "printenv fdt_addr") == "fdt_addr=0x40000000"
    console.boot_linux(session, board)
    linux_at = time.monotonic() - start
    report(request, "power-on to U-Boot prompt", uboot_at)
    report(request, "power-on to Linux prompt", linux_at)
    assert console.shell(session, "uname -m; echo $((6*7))") == "aarch64\n42"
    board.power_off()
    assert not board.status().on
    board.teardown()
    assert leftovers(board) == []
    assert board.status().pids == []


@pytest.mark.slow
def test_console_survives_power_cycles(
    make_board: Callable[..., Board], consoles: list[pexpect.spawn]
) -> None:
    board = make_board()
    # LAVA connects before it powers the board on: the port is there while it is off.
    session = console.connect(board)
    consoles.append(session)
    board.power_on()
    session.expect(console.BANNER, timeout=30)
    console.stop_autoboot(session)
    board.hard_reset()
    session.expect(console.BANNER, timeout=30)
    console.stop_autoboot(session)
    board.power_off()
    with pytest.raises(pexpect.TIMEOUT):
        session.expect([pexpect.EOF, "Connection closed"], timeout=1)
    # Keys typed at a board that is off are lost, as with a real UART: they do
    # not stop the next autoboot, whose countdown goes on from 2 to 1.
    session.send("help\n")
    time.sleep(0.3)
    board.power_on()
    session.expect(console.AUTOBOOT, timeout=30)
    assert session.expect([r"\x08 1 ", console.UBOOT_PROMPT], timeout=10) == 0
    board.power_off()


@pytest.mark.slow
def test_serial_server_stopped_and_started(
    make_board: Callable[..., Board], consoles: list[pexpect.spawn]
) -> None:
    board = make_board()
    port = board.serial_port
    stopped = board.stop_serial()
    assert stopped and not ports.listening(port) and board.status().ser2net == []
    with pytest.raises(BoardError, match="console closed while waiting for telnet"):
        console.connect(board, timeout=5)
    board.start_serial()
    assert board.serial_port == port and ports.listening(port)
    session = console.connect(board)
    consoles.append(session)
    board.power_on()
    console.stop_autoboot(session)
    board.power_off()


@pytest.mark.slow
def test_board_without_firmware_prints_nothing(
    make_board: Callable[..., Board], consoles: list[pexpect.spawn]
) -> None:
    board = make_board(firmware=False)
    session = console.connect(board)
    consoles.append(session)
    board.power_on()
    assert board.status().on
    with pytest.raises(pexpect.TIMEOUT):
        session.expect([console.BANNER, console.AUTOBOOT, console.UBOOT_PROMPT], timeout=5)
    assert session.before.strip() == ""
    board.power_off()


@pytest.mark.slow
def test_teardown_is_idempotent(make_board: Callable[..., Board], tmp_path: Path) -> None:
    board = make_board()
    board.power_on()
    assert board.status().on and leftovers(board)
    board.teardown()
    assert leftovers(board) == []
    board.teardown()
    Board(board.name, state_dir=board.state_dir).teardown()
    Board("never-set-up", state_dir=tmp_path / "never").teardown()
    assert board.device_dictionary_path.is_file()  # files stay for inspection
    cli = subprocess.run(
        [sys.executable, "-m", "tools.board", "teardown", "--dir", str(board.state_dir)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert "stopped not running" in cli.stdout


@pytest.mark.slow
def test_power_through_pdudaemon(
    make_board: Callable[..., Board],
    consoles: list[pexpect.spawn],
    request: pytest.FixtureRequest,
) -> None:
    board = make_board(pdu=True)
    assert board.status().pdudaemon
    session = console.connect(board)
    consoles.append(session)
    assert "ack" in board.power_on()
    console.stop_autoboot(session)
    start = time.monotonic()
    board.hard_reset()  # reboot --delay 0
    report(request, "pdudaemon reboot --delay 0", time.monotonic() - start)
    assert time.monotonic() - start < 4  # pdudaemon's default delay alone is 5 s
    session.expect(console.BANNER, timeout=30)
    console.stop_autoboot(session)
    board.power_off()
    assert not board.status().on
    board.teardown()
    assert leftovers(board) == []


@pytest.mark.slow
def test_command_line(tmp_path: Path, arm64_guest: Path) -> None:
    require()
    state = tmp_path / "cli"

    def cli(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "tools.board", *args, "--dir", str(state)],
            capture_output=True, text=True, cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    try:
        out = cli("setup", "--name", "cli-01", "--tftp-root", str(tmp_path / "tftp"),
                  "--guest-dir", str(arm64_guest))  # fmt: skip
        board = Board.load(state)
        assert f"telnet 127.0.0.1 {board.serial_port}" in out
        assert str(board.device_dictionary_path) in out
        assert "dispatcher_ip: 10.0.2.2" in out
        job = (state / "board-uboot.yaml").read_text()
        assert f"file://{arm64_guest}/vmlinuz" in job and "@GUEST@" not in job
        assert "board cli-01: on" in cli("on")
        assert "cli-01: off" in cli("off")
        assert "board cli-01: off" in cli("status")
    finally:
        cli("teardown")
    assert leftovers(Board.load(state)) == []


@pytest.mark.slow
def test_example_job_runs_on_the_board(
    make_board: Callable[..., Board], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    require_device_type()
    board = make_board(reset_delay=1)
    device = render_device(board.device_dictionary_path, hostname=board.name)
    job = board.file("board-uboot.yaml").read_text()
    out_dir = tmp_path / "job"
    dispatcher = ["--dispatcher", str(board.file("dispatcher.yaml"))]
    start = time.monotonic()
    proc = example.lava_run(job, device, out_dir, extra=dispatcher, stdout=subprocess.DEVNULL)
    run = example.finish(proc, out_dir, timeout=300)
    report(request, "example job on the board", time.monotonic() - start)
    assert run.status == 0, run.result
    results = {(r["suite"].split("_", 1)[-1], r["name"]): r["result"] for r in run.results}
    assert results[("smoke", "kernel-version")] == "pass"
    assert results[("smoke", "always-fails")] == "fail"
    assert results[("smoke-git", "greeting")] == "pass"
    assert not board.status().on  # lava-run powers the board off at the end
