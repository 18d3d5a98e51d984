"""One emulated U-Boot board: its settings, its files and its lifecycle (setup, power, teardown)."""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import subprocess
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from tools.board import files, pdu, qemu, serial
from tools.board.config import (
    DEFAULT_NAME,
    DEVICE_TYPE,
    SERVER_IP,
    BoardError,
    check_name,
    default_tftp_root,
    require,
    state_root,
)
from tools.board.ports import bindable, free_ports

PDUCLIENT = files.ROOT / "tools" / "board" / "pduclient.py"
COMMAND_TIMEOUT = 120.0


@dataclass(frozen=True)
class BoardStatus:
    """What runs for a board, from /proc."""

    name: str
    qemu: list[int]
    ser2net: list[int]
    pdudaemon: list[int]

    @property
    def on(self) -> bool:
        return bool(self.qemu)

    @property
    def pids(self) -> list[int]:
        return [*self.qemu, *self.ser2net, *self.pdudaemon]


@dataclass
class Board:
    """An emulated U-Boot board: QEMU virt (arm64) running U-Boot, behind ser2net, with power.

    ``state_dir`` defaults to ``${XDG_RUNTIME_DIR:-/tmp}/lava-board/NAME``; ``tftp_root``
    to tftpd-hpa's TFTP_DIRECTORY when writable, else ``STATE_DIR/tftp``; ports of 0 are
    chosen at setup. ``firmware=False`` leaves U-Boot out: the board never prints a thing.
    """

    name: str = DEFAULT_NAME
    # None: the defaults above, filled in by __post_init__.
    state_dir: Path = None  # type: ignore[assignment]
    tftp_root: Path = None  # type: ignore[assignment]
    guest_dir: Path | None = None
    serial_port: int = 0
    qemu_port: int = 0
    pdu: bool = False
    pdu_port: int = 0
    firmware: bool = True
    memory: int = 512
    reset_delay: int = 1

    pdu_outlet = 1

    def __post_init__(self) -> None:
        check_name(self.name)
        self.state_dir = Path(self.state_dir or state_root() / self.name).absolute()
        self.tftp_root = Path(self.tftp_root or default_tftp_root(self.state_dir)).absolute()
        if self.guest_dir is not None:
            self.guest_dir = Path(self.guest_dir).absolute()

    # Where things are

    def file(self, name: str) -> Path:
        """A file in the state directory."""
        return self.state_dir / name

    @property
    def tftp_dir(self) -> Path:
        """The board's own directory in the TFTP root."""
        return self.tftp_root / self.name

    @property
    def kernel(self) -> str:
        """The kernel's path as U-Boot asks QEMU's TFTP server for it."""
        return f"{self.name}/vmlinuz"

    @property
    def ramdisk(self) -> str:
        return f"{self.name}/initrd.gz"

    @property
    def dtb(self) -> str:
        return f"{self.name}/virt.dtb"

    @property
    def dtb_path(self) -> Path:
        return self.file("virt.dtb")

    @property
    def device_dictionary_path(self) -> Path:
        return self.file(f"{self.name}.jinja2")

    @property
    def pdu_name(self) -> str:
        return f"{self.name}-pdu"

    # The commands of the device dictionary (LAVA splits them with shlex and runs them)

    @property
    def connection_command(self) -> str:
        return f"telnet 127.0.0.1 {self.serial_port}"

    def pduclient(self, command: str, delay: int | None = None) -> str:
        """A pduclient command line for this board's outlet."""
        argv = [
            str(PDUCLIENT), "--daemon", f"127.0.0.1:{self.pdu_port}",
            "--hostname", self.pdu_name, "--port", str(self.pdu_outlet), "--command", command,
        ]  # fmt: skip
        if delay is not None:
            argv += ["--delay", str(delay)]
        return shlex.join(argv)

    @property
    def power_on_command(self) -> str:
        return self.pduclient("on") if self.pdu else shlex.quote(str(self.file("power-on")))

    @property
    def power_off_command(self) -> str:
        return self.pduclient("off") if self.pdu else shlex.quote(str(self.file("power-off")))

    @property
    def hard_reset_command(self) -> str:
        if self.pdu:
            return self.pduclient("reboot", delay=self.reset_delay)
        return shlex.quote(str(self.file("hard-reset")))

    def device_dictionary(self) -> str:
        """The LAVA device dictionary (extends qemu-uboot-arm64.jinja2)."""
        return files.device_dictionary(self)

    def dispatcher_config(self) -> dict[str, str]:
        """The keys the worker's dispatcher.yaml needs for this board."""
        return {"dispatcher_ip": SERVER_IP, "tftp_root": str(self.tftp_root)}

    # Saved state

    @classmethod
    def load(cls, state_dir: Path) -> Board:
        """The board set up in ``state_dir`` (its board.json)."""
        path = Path(state_dir) / "board.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise BoardError(
                f"no board in {state_dir} ({error}): run `python -m tools.board setup` first"
            ) from error
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def save(self) -> None:
        data: dict[str, Any] = {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(self).items()
        }
        data |= {
            "device_type": DEVICE_TYPE,
            "device_dictionary": str(self.device_dictionary_path),
            "connection_command": self.connection_command,
            "power_on_command": self.power_on_command,
            "power_off_command": self.power_off_command,
            "hard_reset_command": self.hard_reset_command,
            "kernel": self.kernel,
            "ramdisk": self.ramdisk,
            "dtb": self.dtb,
        }
        self.file("board.json").write_text(json.dumps(data, indent=2) + "\n")

    # Lifecycle

    def setup(self) -> Board:
        """Write the board's files and start its serial server (and PDU); the board stays off."""
        require(pdu=self.pdu)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.teardown()
        try:
            self.guest_dir = self.guest_dir or files.arm64_guest()
            files.install_guest(self, self.guest_dir)
            self._choose_ports()
            files.write_power_scripts(self)
            self.save()
            qemu.dump_dtb(self, self.dtb_path)
            shutil.copyfile(self.dtb_path, self.tftp_dir / "virt.dtb")
            serial.start(self)
            if self.pdu:
                pdu.start(self)
            self.device_dictionary_path.write_text(self.device_dictionary())
            files.write_jobs(self, self.guest_dir)
            self.file("dispatcher.yaml").write_text(
                "".join(f"{k}: {json.dumps(v)}\n" for k, v in self.dispatcher_config().items())
            )
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                self.teardown()
            raise
        return self

    def _choose_ports(self) -> None:
        previous: Board | None = None
        with contextlib.suppress(BoardError):
            previous = Board.load(self.state_dir)
        names = ["serial_port", "qemu_port", *(["pdu_port"] if self.pdu else [])]
        used = other_boards_ports(self)
        for name in names:
            port = getattr(self, name)
            if port and not bindable(port):
                raise BoardError(f"{self.name}: {name} {port} is taken; choose another or 0")
            used.add(port)
        for name in names:
            if not getattr(self, name):
                keep = [getattr(previous, name)] if previous is not None else []
                port = free_ports(1, taken=used, keep=keep)[0]
                setattr(self, name, port)
                used.add(port)

    def teardown(self) -> None:
        """Power off and stop every process of the board; files stay. Safe to repeat."""
        qemu.stop(self)
        pdu.stop(self)
        serial.stop(self)
        left = self.status().pids
        if left:
            raise BoardError(f"{self.name}: processes {left} survived teardown")

    def status(self) -> BoardStatus:
        """Which of the board's processes run now."""
        return BoardStatus(self.name, qemu.pids(self), serial.pids(self), pdu.pids(self))

    def run(self, command: str) -> str:
        """Run one of the device dictionary's commands as LAVA does (no shell); its output."""
        proc = subprocess.run(
            shlex.split(command),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            raise BoardError(
                f"{self.name}: `{command}` failed with status {proc.returncode}: {output}"
            )
        return output

    def power_on(self) -> str:
        return self.run(self.power_on_command)

    def power_off(self) -> str:
        return self.run(self.power_off_command)

    def hard_reset(self) -> str:
        return self.run(self.hard_reset_command)

    def stop_serial(self) -> list[int]:
        """Stop ser2net, as a console server crash would: the telnet port goes away."""
        return serial.stop(self)

    def start_serial(self) -> int:
        """Start ser2net again on the same port."""
        return serial.start(self)


def other_boards_ports(board: Board) -> set[int]:
    """Ports that boards set up next to this one hold, even while they are off."""
    taken: set[int] = set()
    for path in board.state_dir.parent.glob("*/board.json"):
        if path.parent == board.state_dir:
            continue
        with contextlib.suppress(OSError, ValueError, AttributeError):
            data = json.loads(path.read_text())
            taken |= {int(data.get(k) or 0) for k in ("serial_port", "qemu_port", "pdu_port")}
    return taken - {0}
