"""Idle memory of the whole lab: RSS and PSS of every process of every service.

A throw-away lab (tools/livelab.py: the front, gunicorn, the scheduler, the
publisher and lava-worker) starts on SQLite (or on PostgreSQL with
``--postgresql``, PG_URL's database dropped and created), with no job, and
sits idle a few seconds; then each service's process tree (its pid and every
descendant) is read from /proc: RSS from ``status`` (VmRSS), PSS from
``smaps_rollup``. RSS counts a page shared between two processes twice (a
forked gunicorn worker's copy-on-write pages); PSS splits it between them.
The database server itself is not counted.

Usage: .venv/bin/python -m bench.memory [--postgresql] [--idle SECONDS]
The last line is one JSON object: idle_rss_mib, idle_pss_mib (the totals),
budget_rss_mib, and per service ``<service>_rss_mib`` and ``<service>_pss_mib``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools.livelab import SERVICES, LiveLab

PG_URL = "postgresql://postgres@127.0.0.1:5432/lava_bench_memory"
BUDGET_RSS_MIB = 200.0
KIB_PER_MIB = 1024.0


@dataclass(frozen=True)
class ProcessMemory:
    """One process's memory, in MiB."""

    service: str
    pid: int
    name: str
    rss_mib: float
    pss_mib: float


def _parents() -> dict[int, int]:
    """Every live process's parent pid, from /proc/*/stat."""
    parents = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # ended while we looked
            continue
        # the name, in parentheses, may hold spaces: the fields follow its last ")"
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def process_tree(pid: int, parents: dict[int, int] | None = None) -> list[int]:
    """``pid`` and all its descendants, parents before children."""
    parents = _parents() if parents is None else parents
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        tree.append(current)
        todo.extend(sorted(children.get(current, [])))
    return tree


def _kib(path: Path, field: str) -> float | None:
    """The ``field:  N kB`` line of a /proc file, in KiB (None when absent)."""
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return None


def _name(pid: int) -> str:
    """A short, readable name: the command line's program and first arguments."""
    argv = [
        arg.decode(errors="replace")
        for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if arg
    ]
    if argv and os.path.basename(argv[0]).startswith("python") and len(argv) > 1:
        argv = argv[1:]  # the program, not its interpreter
    if argv:
        argv[0] = os.path.basename(argv[0]) if argv[0].startswith("/") else argv[0]
    return " ".join(argv)[:48]


def process_memory(service: str, pid: int) -> ProcessMemory | None:
    """One process's RSS and PSS, or None when it ended while being read."""
    try:
        rss = _kib(Path(f"/proc/{pid}/status"), "VmRSS") or 0.0
        pss = _kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss") or 0.0
        name = _name(pid)
    except (OSError, ValueError):
        return None
    return ProcessMemory(service, pid, name, rss / KIB_PER_MIB, pss / KIB_PER_MIB)


def processes(lab: LiveLab) -> Iterator[ProcessMemory]:
    """Every process of every running service of ``lab``."""
    parents = _parents()
    for service in SERVICES:
        pid = lab.running(service)
        if pid is None:
            continue
        for member in process_tree(pid, parents):
            found = process_memory(service, member)
            if found is not None:
                yield found


def summarise(found: list[ProcessMemory]) -> dict[str, dict[str, float]]:
    """Per service and in total: RSS and PSS sums (MiB) and the number of processes."""
    sums: dict[str, dict[str, float]] = {}
    for process in found:
        for key in (process.service, "total"):
            entry = sums.setdefault(key, {"rss_mib": 0.0, "pss_mib": 0.0, "processes": 0})
            entry["rss_mib"] += process.rss_mib
            entry["pss_mib"] += process.pss_mib
            entry["processes"] += 1
    sums["total"] = sums.pop("total", {"rss_mib": 0.0, "pss_mib": 0.0, "processes": 0})
    return {key: {k: round(v, 1) for k, v in entry.items()} for key, entry in sums.items()}


def stack_memory(lab: LiveLab) -> dict[str, dict[str, float]]:
    """RSS and PSS (MiB) of each running service of ``lab``, its whole process tree, and
    their "total": ``{"web": {"rss_mib": ..., "pss_mib": ..., "processes": ...}, ...}``."""
    return summarise(list(processes(lab)))


def table(found: list[ProcessMemory]) -> str:
    """One line per process, then per service and the total."""
    lines = [f"  {'service':<10} {'pid':>7}  {'process':<48} {'RSS MiB':>8} {'PSS MiB':>8}"]
    for p in found:
        lines.append(
            f"  {p.service:<10} {p.pid:>7}  {p.name:<48} {p.rss_mib:8.1f} {p.pss_mib:8.1f}"
        )
    lines.append("")
    for key, entry in summarise(found).items():
        count = f"{entry['processes']:.0f} processes"
        lines.append(f"  {key:<10} {count:>7}  {'':<48} {entry['rss_mib']:8.1f} "
                     f"{entry['pss_mib']:8.1f}")  # fmt: skip
    return "\n".join(lines)


def fresh_postgresql(url: str) -> str:
    """Drop and create the database of ``url``; return ``url``."""
    import psycopg
    from psycopg import sql

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", action="store_true", help="run the lab on PostgreSQL")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", PG_URL))
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before measuring")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lava-bench-mem-"))
    settings = {"DATABASE_URL": fresh_postgresql(options.pg_url)} if options.postgresql else {}
    database = "PostgreSQL" if options.postgresql else "SQLite"
    lab = LiveLab(work / "instance", port=0, settings=settings)
    try:
        with lab.running_lab():
            time.sleep(options.idle)
            found = list(processes(lab))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sums = summarise(found)
    print(f"==> idle lab on {database}, {options.idle:g} s after a job-free start")
    print(table(found))
    total = sums["total"]
    verdict = "within" if total["rss_mib"] <= BUDGET_RSS_MIB else "OVER"
    print(f"==> RSS {total['rss_mib']:.1f} MiB ({verdict} the {BUDGET_RSS_MIB:.0f} MiB budget), "
          f"PSS {total['pss_mib']:.1f} MiB")  # fmt: skip
    figures: dict[str, object] = {
        "database": database.lower(),
        "idle_rss_mib": total["rss_mib"],
        "idle_pss_mib": total["pss_mib"],
        "budget_rss_mib": BUDGET_RSS_MIB,
    }
    for service in SERVICES:
        entry = sums.get(service, {"rss_mib": 0.0, "pss_mib": 0.0})
        figures[f"{service}_rss_mib"] = entry["rss_mib"]
        figures[f"{service}_pss_mib"] = entry["pss_mib"]
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
