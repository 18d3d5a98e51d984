"""The demo's lava-server instance: create it, bring up its services, stop them.

``python tools/demo_server.py setup``   instance in demo-instance/ (SQLite), admin
                                        user, device type qemu, worker, qemu-01
``python tools/demo_server.py start``   gunicorn (web) and the scheduler daemon
``python tools/demo_server.py stop``    stop both (``make stop``)
``python tools/demo_server.py status``  what runs, and where

Every step is idempotent: running the demo twice reuses the instance.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
INSTANCE = Path(os.environ.get("LAVA_DEMO_INSTANCE", ROOT / "demo-instance"))
DEVICE_DICT = ROOT / "examples" / "devices" / "qemu-01.jinja2"
ADMIN = "admin"
SERVICES = ("web", "scheduler")


def environment() -> dict[str, str]:
    """The server's settings for the demo: everything under the instance directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAVA_")}
    env["LAVA_SETTINGS"] = str(INSTANCE / "settings.yaml")
    return env


def manage(*args: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    """Run ``lava-server manage ARGS`` on the demo instance."""
    proc = subprocess.run(
        [str(BIN / "lava-server"), "manage", *args],
        env=environment(),
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"demo: `lava-server manage {' '.join(args)}` failed")
    if not quiet and proc.stdout.strip():
        print("  " + proc.stdout.strip().replace("\n", "\n  "))
    return proc


def worker_name() -> str:
    return socket.gethostname()


def setup() -> None:
    """Create (or bring up to date) the instance and the lab in it."""
    INSTANCE.mkdir(parents=True, exist_ok=True)
    settings = INSTANCE / "settings.yaml"
    if not settings.exists():
        settings.write_text(
            "# lava-server settings of the demo instance (README: Settings)\n"
            f"DATA_DIR: {INSTANCE}\n"
            f"DISPATCHER_CONFIG: {INSTANCE / 'dispatcher-config'}\n"
        )
    print(f"==> lava-server instance in {INSTANCE}/ (SQLite: {INSTANCE / 'lava.sqlite3'})")
    manage("migrate", "--noinput", quiet=True)
    manage("collectstatic", "--noinput", quiet=True)
    password_file = INSTANCE / "admin-password"
    if manage("users", "details", ADMIN, check=False, quiet=True).returncode != 0:
        password_file.write_text(secrets.token_urlsafe(12) + "\n")
        password_file.chmod(0o600)
        print(f"==> admin user {ADMIN!r} (password in {password_file})")
        manage("users", "add", ADMIN, "--superuser", "--staff", "--passwd-file", str(password_file))
    if manage("device-types", "details", "qemu", check=False, quiet=True).returncode != 0:
        print("==> device type qemu")
        manage("device-types", "add", "qemu")
    worker = worker_name()
    if manage("workers", "details", worker, check=False, quiet=True).returncode != 0:
        print(f"==> worker {worker!r} (this host)")
        manage("workers", "add", worker, "--description", "the demo's local worker")
    if manage("devices", "details", "qemu-01", check=False, quiet=True).returncode != 0:
        print(f"==> device qemu-01 on {worker!r}, dictionary {DEVICE_DICT.relative_to(ROOT)}")
        manage(
            "devices",
            "add",
            "qemu-01",
            "--device-type",
            "qemu",
            "--worker",
            worker,
            "--device-dict",
            str(DEVICE_DICT),
        )


def pid_file(name: str) -> Path:
    return INSTANCE / f"{name}.pid"


def running(name: str) -> int | None:
    """The PID of a demo service that is alive, else None."""
    try:
        pid = int(pid_file(name).read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise SystemExit("demo: no free TCP port on 127.0.0.1")


def spawn(name: str, argv: list[str]) -> None:
    logs = INSTANCE / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            argv,
            env=environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives `make demo`; `make stop` ends it
        )
    pid_file(name).write_text(f"{proc.pid}\n")


def url() -> str:
    port = (INSTANCE / "web.port").read_text().strip()
    return f"http://127.0.0.1:{port}/"


def wait_for_web(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url() + "healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if running("web") is None:
            break
        time.sleep(0.2)
    log = INSTANCE / "logs" / "web.log"
    raise SystemExit(
        f"demo: the web server did not answer at {url()} in {timeout:.0f} s; see {log}"
    )


def start() -> None:
    """Start gunicorn and the scheduler unless they already run."""
    if running("web") is None:
        port = free_port(int(os.environ.get("LAVA_DEMO_PORT", "8000")))
        (INSTANCE / "web.port").write_text(f"{port}\n")
        spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "lava.server.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
        )
    if running("scheduler") is None:
        spawn("scheduler", [str(BIN / "lava-server"), "manage", "lava-scheduler"])
    wait_for_web()
    time.sleep(0.5)
    if running("scheduler") is None:
        log = INSTANCE / "logs" / "scheduler.log"
        raise SystemExit(f"demo: the scheduler stopped at once; see {log}")
    print(f"==> web server (gunicorn) at {url()}  pid {running('web')}")
    print(f"==> scheduler (lava-server manage lava-scheduler)  pid {running('scheduler')}")


def stop() -> None:
    for name in SERVICES:
        pid = running(name)
        if pid is None:
            pid_file(name).unlink(missing_ok=True)
            continue
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while running(name) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if running(name) is not None:
            os.killpg(pid, signal.SIGKILL)
        pid_file(name).unlink(missing_ok=True)
        print(f"==> stopped the demo's {name} (pid {pid})")


def status() -> None:
    for name in SERVICES:
        pid = running(name)
        print(f"{name:<10} {'running, pid ' + str(pid) if pid else 'stopped'}")


def summary() -> None:
    print("\n==> the lab's devices (lava-server manage devices list):")
    manage("devices", "list")
    print(f"\n==> admin page: {url()}admin/  (user {ADMIN}, password in {INSTANCE}/admin-password)")
    print("    the services keep running; `make stop` stops them.")
    print("    admin commands on this instance:")
    print(f"    LAVA_SETTINGS={INSTANCE}/settings.yaml .venv/bin/lava-server manage devices list")


def main(argv: list[str]) -> int:
    verbs = {"setup": setup, "start": start, "stop": stop, "status": status, "summary": summary}
    if len(argv) != 1 or argv[0] not in verbs:
        print(f"usage: python tools/demo_server.py {'|'.join(verbs)}", file=sys.stderr)
        return 2
    verbs[argv[0]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
