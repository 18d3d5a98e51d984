"""lava-run's overhead: the demo job through lava-run versus QEMU driven directly.

Both sides boot the same kernel and initramfs under the same QEMU options
and run the same test commands; the difference is what the dispatcher adds
(start-up, downloads, overlay, prompts, signals, power-off).

Usage: .venv/bin/python -m bench.dispatcher_overhead [--runs N]
The last line is one JSON object: lava_run_s, raw_s, overhead_s (medians).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

from tools import example

ROOT = Path(__file__).resolve().parent.parent

PROMPT = "root@lava-guest:~#"
# The demo job's test steps, as one shell line.
STEPS = (
    "uname -r; false; echo 42.5 bits; GREETING='hello from the job'; "
    'test "$GREETING" = "hello from the job"; echo done-$((6*7))'
)


def time_lava_run(job: str, device: str, work: Path, run: int) -> float:
    out_dir = work / f"lava-run-{run}"
    start = time.monotonic()
    proc = example.lava_run(job, device, out_dir, job_id=str(run), stdout=subprocess.DEVNULL)
    status = proc.wait()
    elapsed = time.monotonic() - start
    if status != 0:
        sys.exit(f"lava-run failed (status {status}); see {out_dir}/output.yaml")
    return elapsed


def time_raw(guest: Path) -> float:
    # The options lava-run builds for the demo device (see its "Boot command" log line).
    cmd = [
        "qemu-system-x86_64", "-chardev", "stdio,id=console,signal=off",
        "-serial", "chardev:console", "-cpu", "max", "-net", "none", "-m", "256",
        "-monitor", "none", "-kernel", str(guest / "vmlinuz"),
        "-append", "console=ttyS0 quiet panic=-1", "-initrd", str(guest / "initrd.gz"),
        "-accel", "tcg", "-display", "none", "-no-reboot",
    ]  # fmt: skip
    start = time.monotonic()
    child = pexpect.spawn(cmd[0], cmd[1:], encoding="utf-8", timeout=120)
    child.expect_exact(PROMPT)
    child.sendline(STEPS)
    child.expect_exact("done-42")
    child.expect_exact(PROMPT)
    child.sendline("poweroff -f")
    child.expect(pexpect.EOF)
    child.close()
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    args = parser.parse_args()

    # Measure lava-run as installed, with its bytecode compiled.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    guest = example.guest_dir()
    job = example.job_text(guest=guest)
    device = example.device_text(job)
    work = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    try:
        # One warm-up run of each fills the download cache and the page cache.
        time_lava_run(job, device, work, 0)
        time_raw(guest)
        lava, raw = [], []
        for run in range(1, args.runs + 1):
            lava.append(time_lava_run(job, device, work, run))
            raw.append(time_raw(guest))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lava_s, raw_s = statistics.median(lava), statistics.median(raw)
    print(f"{'what':<34} {'median s':>9} {'min s':>7} {'max s':>7}")
    for label, values in (("lava-run, demo job", lava), ("QEMU directly, same tests", raw)):
        median = statistics.median(values)
        print(f"{label:<34} {median:>9.2f} {min(values):>7.2f} {max(values):>7.2f}")
    print(f"{'overhead (budget < 1 s)':<34} {lava_s - raw_s:>9.2f}")
    print(f"{'ratio lava-run / raw':<34} {lava_s / raw_s:>9.2f}")
    print(
        json.dumps(
            {
                "lava_run_s": round(lava_s, 3),
                "raw_s": round(raw_s, 3),
                "overhead_s": round(lava_s - raw_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
