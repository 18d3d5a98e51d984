"""`make demo`: run the example job with lava-run, print its results, bring up the server.

The server part (tools/demo_server.py) creates the instance in demo-instance/
and leaves gunicorn and the scheduler running; `make stop` stops them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_server
import example

from lava.common import log, yamlio

SHOWN = {"info", "target", "input", "warning", "error", "exception"}


def main() -> int:
    out_dir = example.ROOT / "demo-output"
    guest = example.guest_dir()
    print(f"==> guest: {guest}")
    job = example.job_text(guest=guest)
    device = example.device_text(job)
    print(f"==> running lava-run; log in {out_dir}/output.yaml")
    start = time.monotonic()
    proc = example.lava_run(job, device, out_dir, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    for line in proc.stdout:
        record = log.decode(line)
        if record["lvl"] in SHOWN:
            print(f"  {record['lvl']:>9} | {record['msg']}")
    status = proc.wait()
    elapsed = time.monotonic() - start
    results = yamlio.load((out_dir / "results.yaml").read_text()) or []
    print(f"\n==> results ({len(results)} test cases, lava-run took {elapsed:.1f} s)")
    print(f"  {'suite':<14} {'test case':<28} {'result':<7} measurement")
    for row in results:
        measure = f"{row['measurement']} {row.get('units', '')}" if "measurement" in row else ""
        print(f"  {row['suite']:<14} {row['name']:<28} {row['result']:<7} {measure}")
    outcome = yamlio.load((out_dir / "result.yaml").read_text())
    verdict = "Complete" if status == 0 else f"Incomplete ({outcome.get('error_type')})"
    print(f"\n==> job {verdict}; files in {out_dir}/\n")
    demo_server.setup()
    demo_server.start()
    demo_server.summary()
    return status


if __name__ == "__main__":
    sys.exit(main())
