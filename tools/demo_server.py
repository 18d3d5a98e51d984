"""The demo's lab: a lava-server instance in demo-instance/ and its services (tools/livelab.py).

``python -m tools.demo_server setup``   instance (SQLite), admin user, device type qemu,
                                        this host as worker, qemu-01
``python -m tools.demo_server start``   the web server (nginx in front of gunicorn), the
                                        scheduler daemon and lava-worker
``python -m tools.demo_server stop``    stop them (``make stop``)
``python -m tools.demo_server status``  what runs, and where

Every step is idempotent: running the demo twice reuses the instance.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.livelab import ADMIN, BIN, ROOT, SERVICES, LabError, LiveLab

INSTANCE = Path(os.environ.get("LAVA_DEMO_INSTANCE", ROOT / "demo-instance"))


def lab() -> LiveLab:
    return LiveLab(INSTANCE, port=int(os.environ.get("LAVA_DEMO_PORT", "8000")))


def setup() -> None:
    lab().setup()


def register_lavacli() -> None:
    """A lavacli identity ``demo`` for the admin, in the user's lavacli configuration."""
    demo = lab()
    token_file = INSTANCE / "admin-token"
    if not token_file.exists():
        added = demo.manage("tokens", "add", "--user", ADMIN, quiet=True)
        token_file.write_text(added.stdout.split()[-1] + "\n")
        token_file.chmod(0o600)
    lavacli = BIN / "lavacli"
    if not lavacli.exists():
        print("==> lavacli is not installed in .venv: skipped the `demo` identity")
        return
    token = token_file.read_text().strip()
    identity = ["--uri", f"{demo.url}RPC2", "--username", ADMIN, "--token", token]
    subprocess.run([str(lavacli), "identities", "add", *identity, "demo"], check=True)
    print(f"==> lavacli identity 'demo' ({ADMIN} at {demo.url}RPC2)")
    print(f"    try: {lavacli} -i demo jobs list")


def start() -> None:
    demo = lab()
    demo.start()
    print(
        f"==> web server at {demo.url}: nginx (pid {demo.running('front')}) in front of "
        f"gunicorn (pid {demo.running('web')}) on {demo.socket}"
    )
    print(
        "==> scheduler (lava-server manage lava-scheduler --publisher)  "
        f"pid {demo.running('scheduler')}"
    )
    print(
        f"==> events at {demo.url}ws/ (the scheduler's publisher thread); "
        "try: lavacli -i demo events listen"
    )
    print(f"==> worker (lava-worker --name {demo.worker_name})  pid {demo.running('worker')}")


BOARD_DIR = INSTANCE / "board"


def board() -> Any:
    """The demo's emulated U-Boot board (`make demo BOARD=1`), set up and off."""
    from tools.board import Board
    from tools.board.files import arm64_guest

    return Board(
        "sim-arm64-01",
        state_dir=BOARD_DIR,
        tftp_root=BOARD_DIR / "tftp",
        guest_dir=arm64_guest(),
    ).setup()


def stop() -> None:
    for name, pid in lab().stop():
        print(f"==> stopped the demo's {name} (pid {pid})")
    if (BOARD_DIR / "board.json").exists():
        from tools.board import Board

        Board.load(BOARD_DIR).teardown()
        print("==> stopped the demo's board sim-arm64-01 (QEMU, ser2net)")


def status() -> None:
    demo = lab()
    for name in SERVICES:
        pid = demo.running(name)
        if name == "publisher" and not demo.separate_publisher:
            pid = demo.running("scheduler")
            print(f"{name:<10} {'a thread of the scheduler' if pid else 'stopped'}")
            continue
        print(f"{name:<10} {'running, pid ' + str(pid) if pid else 'stopped'}")


def summary() -> None:
    demo = lab()
    print("\n==> the lab's devices (lava-server manage devices list):")
    demo.manage("devices", "list")
    password = INSTANCE / "admin-password"
    print(f"\n==> the lab's pages: {demo.url}  (sign in as {ADMIN}, password in {password})")
    print(f"    the Django admin: {demo.url}admin/")
    print("    the services keep running; `make stop` stops them.")
    print("    admin commands on this instance:")
    print(f"    LAVA_SETTINGS={INSTANCE}/settings.yaml .venv/bin/lava-server manage devices list")


def main(argv: list[str]) -> int:
    verbs = {"setup": setup, "start": start, "stop": stop, "status": status, "summary": summary}
    if len(argv) != 1 or argv[0] not in verbs:
        print(f"usage: python -m tools.demo_server {'|'.join(verbs)}", file=sys.stderr)
        return 2
    try:
        verbs[argv[0]]()
    except LabError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
