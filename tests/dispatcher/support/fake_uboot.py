"""A scripted U-Boot console for the bootloader tests: banner, autoboot prompt, `=> `.

Run without a shell as a device's `connection_command`, like a serial client:

    python3 fake_uboot.py [--reset-file F] [--start-linux] [--reboot-command C]
                          [--no-autoboot | --no-countdown] [--error-after PREFIX=MESSAGE ...]
                          [--record F]

It echoes each line it reads (the pty does not) and prints `=> ` after it; each
line read is also appended to the `--record` file, as Python literals. A
`bootm`/`bootz`/`booti` line prints `Starting kernel ...`, a kernel banner and
a shell prompt, unless an `--error-after` prefix matches it first.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PROMPT = "=> "
SHELL_PROMPT = "root@lava-guest:~# "
BOOT_COMMANDS = ("bootm", "bootz", "booti")


def out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def record(path: Path | None, line: str) -> None:
    if path is not None:
        with path.open("a") as f:
            f.write(repr(line) + "\n")


def read_line(path: Path | None) -> str:
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)  # the dispatcher closed the console
    line = line.rstrip("\n")
    record(path, line)
    return line


def linux(options: argparse.Namespace) -> None:
    """A running system: a shell that goes back to U-Boot on its reboot command."""
    while True:
        out(SHELL_PROMPT)
        line = read_line(options.record)
        out(line + "\n")
        if line == options.reboot_command:
            out("The system is going down for reboot NOW!\n")
            time.sleep(0.05)
            return
        if line.startswith("echo "):
            out(line[5:] + "\n")


def kernel(options: argparse.Namespace) -> None:
    out("Starting kernel ...\n\n")
    out("[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x410fd034]\n")
    out("[    0.000000] Linux version 6.1.0 (fake@lava) (gcc 12.2.0) #1 SMP PREEMPT\n")
    out("[    0.512000] Run /init as init process\n")
    linux(options)


def uboot(options: argparse.Namespace, errors: list[tuple[str, str]]) -> None:
    out("\nU-Boot 2023.01 (fake) for the bootloader tests\n\n")
    out("DRAM:  512 MiB\nNet:   eth0: ethernet@1c30000\n")
    if options.no_autoboot:
        time.sleep(600)
        sys.exit(1)
    if options.boots_itself:  # firmware that boots on its own (boot method minimal)
        kernel(options)
        return
    if not options.no_countdown:
        out("Hit any key to stop autoboot:  2 ")
        try:
            read_line(options.record)  # any key: U-Boot takes the first character
        except KeyboardInterrupt:  # Ctrl-C through the pty (interrupt_ctrl_list)
            record(options.record, "^C")
        out("\n")
    out(PROMPT)
    while True:
        line = read_line(options.record)
        out(line + "\n")
        message = next((m for prefix, m in errors if line.startswith(prefix)), None)
        if message is not None:
            out(message + "\n")
        elif line.startswith("tftp"):
            out(f"Filename '{line.split()[-1]}'.\nLoading: #####\ndone\n")
        elif line.split(" ", 1)[0] in BOOT_COMMANDS:
            kernel(options)
            return
        out(PROMPT)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reset-file", type=Path, help="print nothing until this file exists")
    parser.add_argument("--start-linux", action="store_true", help="start as a running system")
    parser.add_argument("--reboot-command", default="reboot", help="what reboots the system")
    parser.add_argument("--no-autoboot", action="store_true", help="never print the prompt")
    parser.add_argument("--no-countdown", action="store_true", help="stop at `=> ` at once")
    parser.add_argument("--boots-itself", action="store_true", help="boot Linux without a key")
    parser.add_argument("--error-after", action="append", default=[], metavar="PREFIX=MESSAGE")
    parser.add_argument("--record", type=Path, help="append repr() of each line read here")
    options = parser.parse_args()
    errors = [
        (prefix, message) for prefix, _, message in (e.partition("=") for e in options.error_after)
    ]
    if options.start_linux:
        linux(options)
    while True:
        if options.reset_file is not None:
            while not options.reset_file.exists():
                time.sleep(0.01)
            options.reset_file.unlink()
        uboot(options, errors)


if __name__ == "__main__":
    main()
