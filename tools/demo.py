"""`make demo`: a whole lab on this machine runs the example job, live.

The lab (tools/livelab.py) is a lava-server instance in demo-instance/
(SQLite) with the device qemu-01 on this host's worker; gunicorn, the
scheduler daemon and lava-worker start and stay up (`make stop` stops them).
The example job is submitted to the server; its log is followed as the server
stores it, then the results the server derived are printed with the job's URL.
"""

from __future__ import annotations

import os
import sys
import time

from lava.common import log
from tools import demo_server, example
from tools.livelab import LabError, LiveLab

SHOWN = {"info", "target", "input", "warning", "error", "exception"}


def follow(lab: LiveLab, job_id: int, timeout: float = 600) -> None:
    """Print the job's log lines as the server stores them, until lava-run's last line."""
    path = lab.log_path(job_id)
    offset = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            data = b""
        end = data.rfind(b"\n") + 1
        offset += end
        for raw in data[:end].decode("utf-8").splitlines():
            record = log.decode(raw)
            msg = record["msg"]
            if record["lvl"] in SHOWN:
                print(f"  {record['lvl']:>9} | {msg}", flush=True)
            last = record["lvl"] == "results" and (msg.get("definition"), msg.get("case")) == (
                "lava",
                "job",
            )
            if last:
                return
        time.sleep(0.1)
    raise LabError(f"job {job_id}: no end of log in {timeout:g} s; see {lab.log_tail()}")


def print_results(lab: LiveLab, job_id: int) -> None:
    rows = lab.testcases(job_id)
    print(f"\n==> results stored by the server ({len(rows)} test cases)")
    print(f"  {'suite':<14} {'test case':<28} {'result':<7} measurement")
    for row in rows:
        measure = ""
        if row["measurement"] is not None:
            measure = f"{row['measurement']:g} {row['units']}".rstrip()
        print(f"  {row['suite']:<14} {row['name']:<28} {row['result']:<7} {measure}")


def main() -> int:
    on_board = os.environ.get("BOARD", "") not in ("", "0", "no", "false")
    guest = example.guest_dir()
    print(f"==> guest: {guest}")
    demo_server.setup()
    demo_server.start()
    lab = demo_server.lab()
    if on_board:
        board = demo_server.board()
        print(
            f"==> board {board.name}: QEMU arm64 + U-Boot, console {board.connection_command} "
            f"(ser2net), TFTP root {board.tftp_root}"
        )
        hostname = lab.add_board(board)
        print(f"==> device {hostname} (device type qemu-uboot-arm64)")
        text = example.job_text("board-uboot.yaml", guest=board.guest_dir)
    else:
        text = example.job_text(guest=guest)
    started = time.monotonic()
    job_id = lab.submit(text)
    print(f"\n==> job {job_id} submitted to {lab.url}; its log, live from the server:")
    follow(lab, job_id)
    record = lab.wait_job(job_id, timeout=60, poll=0.2)
    elapsed = time.monotonic() - started
    print_results(lab, job_id)
    verdict = record["health"]
    if record["error_type"]:
        verdict += f" ({record['error_type']}: {record['failure_comment']})"
    print(f"\n==> job {job_id} {verdict} in {elapsed:.1f} s from submission")
    print(f"    job page: {lab.url}scheduler/job/{job_id}")
    print(f"    its log as stored: {lab.log_path(job_id)}")
    demo_server.register_lavacli()
    demo_server.summary()
    return 0 if record["health"] == "Complete" else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LabError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        sys.exit(1)
