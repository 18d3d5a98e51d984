"""LogStore throughput: 1,000,000 log lines appended in 1,000-line batches, then page reads.

The store alone, without HTTP or the database: the worker API's budget is
100,000 lines/s end to end (bench/log_ingest.py), so the store should take a
small share of it.
The baseline in the same run is writing the same bytes to a plain file
(no validation, no index, no lock). Pages are 100 lines at line 1 and at
line 999,900; the median of many reads is shown.

Usage: .venv/bin/python -m bench.log_store [--lines N] [--batch N] [--reads N] [--sync]
The last line is one JSON object: store_lines_per_s, page_first_ms, page_last_ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from lava.common import log
from lava.server.logs.store import LogStore

BUDGET_LINES_PER_S = 500_000
BUDGET_PAGE_MS = 1.0
PAGE = 100


def make_batches(total: int, size: int) -> list[str]:
    """Realistic lines: mostly target output, some info, a results line every 10."""
    stamp = "2026-01-05T10:00:00.000000+00:00"
    batches = []
    for first in range(0, total, size):
        out = []
        for n in range(first, min(first + size, total)):
            if n % 10 == 9:
                msg: object = {"definition": "0_smoke", "case": f"case-{n}", "result": "pass"}
                out.append(log.encode("results", msg, stamp))  # type: ignore[arg-type]
            elif n % 10 == 0:
                out.append(
                    log.encode("info", f"start: 2.{n} boot-qemu-image (timeout 00:02:00)", stamp)
                )
            else:
                out.append(log.encode("target", f"[   {n / 1000:.6f}] kernel line {n} ok", stamp))
        batches.append("\n".join(out) + "\n")
    return batches


def median_ms(fn: object, reads: int) -> float:
    times = []
    for _ in range(reads):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--reads", type=int, default=2_000)
    parser.add_argument("--sync", action="store_true", help="fdatasync each batch")
    args = parser.parse_args()

    batches = make_batches(args.lines, args.batch)
    with tempfile.TemporaryDirectory(prefix="lava-bench-logs-") as tmp:
        plain = Path(tmp) / "plain.yaml"
        start = time.perf_counter()
        with plain.open("ab", buffering=0) as out:
            for text in batches:
                out.write(text.encode())
        plain_s = time.perf_counter() - start

        store = LogStore(Path(tmp) / "jobs", sync=args.sync)
        start = time.perf_counter()
        index = 0
        for text in batches:
            index = store.append(1, index, text)
        store_s = time.perf_counter() - start
        assert index == args.lines, index

        retry_start = time.perf_counter()
        store.append(1, index - args.batch, batches[-1])  # a retried last batch: all skipped
        retry_ms = (time.perf_counter() - retry_start) * 1000

        last = max(args.lines - PAGE, 0)
        first_ms = median_ms(lambda: store.read(1, 1, 1 + PAGE), args.reads)
        last_ms = median_ms(lambda: store.read(1, last, last + PAGE), args.reads)
        assert len(store.read_lines(1, last, last + PAGE)) == min(PAGE, args.lines)
        size_mb = store.size(1) / 1e6

    store_rate = args.lines / store_s
    plain_rate = args.lines / plain_s
    rows = [
        ("plain file write (baseline)", f"{plain_rate:,.0f} lines/s", ""),
        (
            f"LogStore.append, {args.batch}-line batches",
            f"{store_rate:,.0f} lines/s",
            f"budget {BUDGET_LINES_PER_S:,}; {plain_rate / store_rate:.1f}x baseline cost",
        ),
        ("retried batch (all skipped)", f"{retry_ms:.2f} ms", ""),
        (f"read {PAGE} lines at line 1", f"{first_ms:.3f} ms", f"budget {BUDGET_PAGE_MS} ms"),
        (
            f"read {PAGE} lines at line {last:,}",
            f"{last_ms:.3f} ms",
            f"budget {BUDGET_PAGE_MS} ms",
        ),
    ]
    print(f"{args.lines:,} lines, {size_mb:.0f} MB, sync={args.sync}")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>20}  {note}")
    print(
        json.dumps(
            {
                "store_lines_per_s": round(store_rate),
                "page_first_ms": round(first_ms, 4),
                "page_last_ms": round(last_ms, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
