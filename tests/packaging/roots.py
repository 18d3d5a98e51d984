"""Clean Debian 12 roots for the package tests: a host of its own each, made with mmdebstrap.

A root is a directory with Debian's ``apt`` variant in it, its own network
namespace (only loopback, plus the links a test adds between roots), /proc and
a private devpts. It is a container with no init: its services start from
their init scripts, which ``/usr/sbin/policy-rc.d`` allows, as a container
image's policy would. Packages are fetched in the host's namespace
(``apt-get install --download-only``) and installed inside the root's, where
the services they start then run.

Everything a root starts is killed, and everything it mounted unmounted, when
it is removed; ``Root.remove`` refuses to delete a directory that still has a
mount under it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
HOST_TOOLS = ("mmdebstrap", "ip", "chroot", "mount")
# a root's commands see this environment only, never the test's
ENV = (
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C.UTF-8",
    "DEBIAN_FRONTEND=noninteractive",
    "HOME=/root",
)


class RootError(RuntimeError):
    """A root could not be made or a command in it failed; the message has its output."""


def missing_tools() -> list[str]:
    return [tool for tool in HOST_TOOLS if shutil.which(tool) is None]


def _run(args: list[str], timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RootError(
            f"`{' '.join(args)}` failed with status {proc.returncode}:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


class Root:
    """One clean Debian root in its own network namespace, named ``name`` (its host name)."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.netns = f"lavapkg-{name}"
        self.mounts: list[Path] = []
        self.last_install: subprocess.CompletedProcess | None = None

    # -- making and removing ------------------------------------------------------------

    def create(self) -> float:
        """mmdebstrap the root, give it a host name, loopback, /proc and ptys; seconds taken."""
        started = time.monotonic()
        _run(["mmdebstrap", "--variant=apt", "--quiet", SUITE, str(self.path), *MIRRORS])
        (self.path / "etc" / "hostname").write_text(f"{self.name}\n")
        (self.path / "etc" / "hosts").write_text(
            f"127.0.0.1\tlocalhost\n127.0.1.1\t{self.name}\n::1\tlocalhost ip6-localhost\n"
        )
        policy = self.path / "usr" / "sbin" / "policy-rc.d"
        policy.write_text("#!/bin/sh\n# a container without init: its services may start\nexit 0\n")
        policy.chmod(0o755)
        self._mount(["-t", "proc", "proc"], "proc")
        self._mount(["-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts"], "dev/pts")
        self._mount(["--bind", str(self.path / "dev" / "pts" / "ptmx")], "dev/ptmx")
        _run(["ip", "netns", "delete", self.netns], check=False)  # left by a killed run
        _run(["ip", "netns", "add", self.netns])
        _run(["ip", "netns", "exec", self.netns, "ip", "link", "set", "lo", "up"])
        return time.monotonic() - started

    def _mount(self, options: list[str], target: str) -> None:
        where = self.path / target
        _run(["mount", *options, str(where)])
        self.mounts.append(where)

    def processes(self) -> list[int]:
        """The processes running inside this root."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if os.readlink(entry / "root") == str(self.path):
                    found.append(int(entry.name))
        return found

    def kill_all(self) -> None:
        for _ in range(20):
            pids = self.processes()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)

    def remove(self) -> None:
        """Kill what runs in the root, unmount, drop its namespace, delete it."""
        self.kill_all()
        for where in reversed(self.mounts):
            _run(["umount", "--lazy", str(where)], check=False)
        self.mounts.clear()
        _run(["ip", "netns", "delete", self.netns], check=False)
        still = [
            line.split()[1]
            for line in Path("/proc/mounts").read_text().splitlines()
            if line.split()[1].startswith(str(self.path) + "/")
        ]
        if still:
            raise RootError(f"not removing {self.path}: still mounted under it: {still}")
        shutil.rmtree(self.path, ignore_errors=True)

    # -- using ---------------------------------------------------------------------------

    def run(
        self, *args: str, user: str | None = None, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        """Run a command inside the root and its network namespace (as ``user``, else root)."""
        command = list(args)
        if user:
            command = ["runuser", "-u", user, "--", *command]
        return _run(
            ["ip", "netns", "exec", self.netns, "chroot", str(self.path), "env", "-i", *ENV,
             *command],
            timeout=timeout, check=check,
        )  # fmt: skip

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("sh", "-ec", script, check=check)

    def host_run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        """A host program in this root's network namespace (lavacli, curl)."""
        return _run(["ip", "netns", "exec", self.netns, *args], check=check)

    def apt_install(self, debs: list[Path], *names: str) -> tuple[float, int]:
        """``apt-get install`` these .deb files (and packages): fetched in the host's
        network, installed in the root's. Returns (seconds, packages installed)."""
        inside = []
        store = self.path / "srv" / "debs"
        store.mkdir(parents=True, exist_ok=True)
        for deb in debs:
            shutil.copy2(deb, store / deb.name)
            inside.append(f"/srv/debs/{deb.name}")
        before = self._installed()
        started = time.monotonic()
        _run(["chroot", str(self.path), "env", "-i", *ENV, "apt-get", "update", "-q"])
        _run(
            ["chroot", str(self.path), "env", "-i", *ENV, "apt-get", "install", "-y", "-q",
             "--download-only", *inside, *names],
        )  # fmt: skip
        self.last_install = self.run("apt-get", "install", "-y", "-q", *inside, *names)
        seconds = time.monotonic() - started
        return seconds, len(self._installed() - before)

    def _installed(self) -> set[str]:
        out = _run(
            ["chroot", str(self.path), "dpkg-query", "-W", "-f", "${Package} ${Status}\\n"]
        ).stdout
        return {line.split()[0] for line in out.splitlines() if line.endswith("installed")}

    def link(self, other: Root, prefix: str = "10.213.7") -> tuple[str, str]:
        """A veth link between the two roots' namespaces; returns (our address, theirs)."""
        here, there = f"lpk-{self.name}"[:15], f"lpk-{other.name}"[:15]
        _run(["ip", "link", "add", here, "netns", self.netns, "type", "veth", "peer",
              "name", there, "netns", other.netns])  # fmt: skip
        ours, theirs = f"{prefix}.1", f"{prefix}.2"
        for netns, dev, address in ((self.netns, here, ours), (other.netns, there, theirs)):
            _run(["ip", "-n", netns, "addr", "add", f"{address}/24", "dev", dev])
            _run(["ip", "-n", netns, "link", "set", dev, "up"])
        return ours, theirs
