"""What lava-run adds on a U-Boot board: the same boot through lava-run and by a plain script.

Both drive the same emulated board (tools.board) in the same run, alternating:

* lava-run: a LAVA job (deploy to tftp, boot u-boot `commands: ramdisk`, one
  inline test case) with the board's device dictionary. Times come from the
  job's own log: from the `hard_reset` command to the shell prompt, and to
  the end of the test case.
* raw: the power script, the telnet console through ser2net opened before it
  (as lava-run does), the same U-Boot commands typed by a plain pexpect
  script, the shell prompt, then the test's command (`uname -r`).

Usage: .venv/bin/python -m bench.board_overhead [--runs N]
The last line is one JSON object: lava_run_s and raw_s (medians, power-on to
test done), overhead_s (their difference), and the same to the Linux prompt.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

from lava.common import log, yamlio
from lava.common.device import load_device
from tools import example
from tools.board import Board, console, files

BUDGET_S = 0.5
TEST_COMMAND = "uname -r"


def job(guest: Path) -> str:
    definition = {
        "device_type": "qemu-uboot-arm64",
        "job_name": "board overhead",
        "visibility": "public",
        "timeouts": {"job": {"minutes": 5}, "action": {"minutes": 2}},
        "actions": [
            {
                "deploy": {
                    "to": "tftp",
                    "kernel": {"url": (guest / "vmlinuz").as_uri(), "type": "image"},
                    "ramdisk": {"url": (guest / "initrd.gz").as_uri(), "compression": "gz"},
                    "os": "oe",
                }
            },
            {
                "boot": {
                    "method": "u-boot",
                    "commands": "ramdisk",
                    "prompts": ["root@lava-guest:~# "],
                }
            },
            {
                "test": {
                    "definitions": [
                        {
                            "from": "inline",
                            "name": "overhead",
                            "path": "inline/overhead.yaml",
                            "repository": {
                                "metadata": {
                                    "format": "Lava-Test Test Definition 1.0",
                                    "name": "overhead",
                                },
                                "run": {"steps": [f"lava-test-case kernel --shell {TEST_COMMAND}"]},
                            },
                        }
                    ]
                }
            },
        ],
    }
    return yamlio.dump(definition)


def when(entry: dict[str, object]) -> float:
    return datetime.fromisoformat(str(entry["dt"])).timestamp()


def through_lava_run(board: Board, definition: str, device: str, out: Path) -> tuple[float, float]:
    """(power-on → shell prompt, power-on → test case done) from lava-run's own log."""
    shutil.rmtree(out, ignore_errors=True)
    config = out.parent / "dispatcher.yaml"
    config.write_text(yamlio.dump(board.dispatcher_config()), encoding="utf-8")
    proc = example.lava_run(
        definition, device, out, extra=["--dispatcher", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    if proc.wait(timeout=300) != 0:
        raise SystemExit(f"lava-run failed: see {out / 'output.yaml'}")
    lines = [log.decode(line) for line in (out / "output.yaml").read_text().splitlines()]
    power = next(when(e) for e in lines if str(e["msg"]).startswith("Calling hard_reset command"))
    prompt = next(when(e) for e in lines if str(e["msg"]).startswith("Found the prompt"))
    done = next(
        when(e)
        for e in lines
        if e["lvl"] == "results" and isinstance(e["msg"], dict) and e["msg"].get("case") == "kernel"
    )
    return prompt - power, done - power


def raw(board: Board) -> tuple[float, float]:
    """The same boot typed by a plain script: (power-on → prompt, power-on → test done)."""
    session = console.connect(board)
    try:
        start = time.monotonic()
        board.hard_reset()
        console.stop_autoboot(session)
        console.boot_linux(session, board)
        prompt = time.monotonic() - start
        console.shell(session, TEST_COMMAND)
        done = time.monotonic() - start
    finally:
        board.power_off()
        session.close(force=True)
    return prompt, done


def row(label: str, values: list[float]) -> str:
    return f"{label:<34} {statistics.median(values):>9.2f} {min(values):>7.2f} {max(values):>7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    args = parser.parse_args()

    guest = files.arm64_guest()
    work = Path(tempfile.mkdtemp(prefix="bench-board-overhead-"))
    board = Board(
        "bench-overhead", state_dir=work / "board", tftp_root=work / "tftp", guest_dir=guest
    )
    definition = job(guest)
    lava: list[tuple[float, float]] = []
    plain: list[tuple[float, float]] = []
    try:
        board.setup()
        device = yamlio.dump(load_device(board.device_dictionary(), {}, hostname=board.name))
        # One warm-up of each fills the page cache and Python's bytecode.
        through_lava_run(board, definition, device, work / "out")
        raw(board)
        for _ in range(args.runs):
            lava.append(through_lava_run(board, definition, device, work / "out"))
            plain.append(raw(board))
    finally:
        board.teardown()
        shutil.rmtree(work, ignore_errors=True)

    print(f"n={args.runs}, alternating; seconds from the power command (hard reset)")
    print(f"{'what':<34} {'median s':>9} {'min s':>7} {'max s':>7}")
    print(row("Linux prompt, lava-run", [p for p, _ in lava]))
    print(row("Linux prompt, plain script", [p for p, _ in plain]))
    print(row("test done, lava-run", [d for _, d in lava]))
    print(row("test done, plain script", [d for _, d in plain]))
    result = {
        "lava_run_s": statistics.median(d for _, d in lava),
        "raw_s": statistics.median(d for _, d in plain),
        "lava_run_prompt_s": statistics.median(p for p, _ in lava),
        "raw_prompt_s": statistics.median(p for p, _ in plain),
    }
    result["overhead_s"] = result["lava_run_s"] - result["raw_s"]
    result["prompt_overhead_s"] = result["lava_run_prompt_s"] - result["raw_prompt_s"]
    verdict = "within" if result["overhead_s"] < BUDGET_S else "OVER"
    print(f"overhead to test done: {result['overhead_s']:.2f} s ({verdict} budget {BUDGET_S} s)")
    print(json.dumps({key: round(value, 3) for key, value in result.items()}))


if __name__ == "__main__":
    main()
