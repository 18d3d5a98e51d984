"""The LAVA overlay: `/lava-<job id>` with the helper scripts and the test definitions.

`lava-overlay` builds the tree on the dispatcher under the job's work dir
(`<work dir>/overlay/<level>/` stands for the device's `/`), its children add
the test definitions, and `compress-overlay` packs it as a gzip newc cpio (to
append to a ramdisk) and as a tar.gz (to send over the console or unpack into
an image).
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lava.common.exceptions import JobError
from lava.common.limits import safe_name_problem
from lava.dispatcher import paths, shell
from lava.dispatcher.actions.deploy.overlay_env import DeployDeviceEnvironment, environment_file
from lava.dispatcher.actions.deploy.overlay_ramdisk import ApplyOverlayRamdiskAction
from lava.dispatcher.actions.deploy.testdef import TestDefinitionAction
from lava.dispatcher.cpio import CpioWriter
from lava.dispatcher.interfaces import Console
from lava.dispatcher.job_secrets import job_secrets, secrets_file
from lava.dispatcher.pipeline import Action

__all__ = [
    "ApplyOverlayRamdiskAction",
    "CompressOverlay",
    "DeployDeviceEnvironment",
    "MultinodeOverlayAction",
    "OverlayAction",
]

EXECUTABLE = 0o755
# The tar.gz crosses a slow console: a good ratio pays. The cpio only lands
# in a ramdisk the guest's kernel unpacks: compressing fast matters more
# (level 1 packs 1 MB in ~14 ms against ~35 ms at level 6, 15 % larger).
GZIP_LEVEL = 6
CPIO_GZIP_LEVEL = 1


class OverlayAction(Action):
    """Builds the overlay when a test action of the namespace runs definitions."""

    name = "lava-overlay"
    description = "add lava scripts during deployment for test shell use"
    summary = "overlay the lava support scripts"

    def populate(self, parameters: dict[str, Any]) -> None:
        pipeline = self.make_pipeline()
        if not self.needs_overlay():
            return
        pipeline.add_action(MultinodeOverlayAction())
        pipeline.add_action(TestDefinitionAction())
        pipeline.add_action(CompressOverlay())

    def needs_overlay(self) -> bool:
        return bool(self.job.test_plan.get(self.namespace))

    def validate(self) -> None:
        super().validate()
        if not self.needs_overlay():
            return
        results_dir = self.job.device.results_dir(self.job.job_id)
        if not results_dir.startswith("/") or any(
            safe_name_problem(part, "") for part in results_dir[1:].split("/")
        ):
            # The job's context can set it, and the overlay is built under it on the worker.
            self.errors.append(
                "lava_test_results_dir must be an absolute path of plain names (letters, "
                "digits, _ . + -) such as /lava-%s, not "
                f"{self.job.device.constants.lava_test_results_dir[:200]!r}"
            )
        try:
            if not shell.helper_scripts(self.parameters.get("os")):
                self.errors.append(f"no lava test shell helper scripts in {shell.SHELL_DIR}")
            self._script_values()
        except ValueError as exc:
            self.errors.append(str(exc))

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        if not self.needs_overlay():
            self.logger.info(f"[{self.namespace}] skipped {self.name} - no test action.")
            return connection
        start = time.monotonic()
        root = self.job.work_dir / "overlay" / self.level
        if root.exists():
            shutil.rmtree(root)
        results_dir = self.job.device.results_dir(self.job.job_id)
        lava_dir = paths.inside(root, results_dir.lstrip("/"), what="lava_test_results_dir")
        self.logger.debug(f"[{self.namespace}] Preparing overlay in {lava_dir}")
        for sub in ("bin", "tests", "results"):
            (lava_dir / sub).mkdir(parents=True, exist_ok=True)
        overlay = self.state.overlay
        overlay.root, overlay.dir, overlay.results_dir = root, lava_dir, results_dir
        self._write_scripts(lava_dir / "bin")
        self.logger.debug(f"Creating {lava_dir}/environment")
        (lava_dir / "environment").write_text(
            environment_file(self.job, self.logger.warning), encoding="utf-8"
        )
        self._write_secrets(lava_dir / "secrets")
        self.logger.debug(f"overlay scripts written in {time.monotonic() - start:.3f}s")
        return super().run(connection, max_end_time)

    def _script_values(self) -> dict[str, str]:
        """The values injected into the helper scripts (target IP, MAC, probe, storage)."""
        device = self.job.device
        target = ((device.parameters.get("interfaces") or {}).get("target")) or {}
        values = {
            "TARGET_DEVICE_IP": str(target.get("ip", "")),
            "TARGET_DEVICE_MAC": str(target.get("mac", "")),
        }
        for info in device.info.get("static_info", ()):
            if "probe_channel" in info and "probe_ip" in info:
                values["PROBE_DEVICE_IP"] = str(info["probe_ip"])
                values["PROBE_DEVICE_CHANNEL"] = str(info["probe_channel"])
                break
        storage = [dict(m) for m in device.info.get("storage_info", ())]
        if storage:
            values["LAVA_STORAGE"] = shell.storage_value(storage)
        return values

    def _write_scripts(self, bin_dir: Path) -> None:
        sh_cmd = self.job.device.constants.lava_test_sh_cmd
        values = self._script_values()
        scripts = shell.helper_scripts(self.parameters.get("os"))
        for name, path in sorted(scripts.items()):
            target = bin_dir / name
            target.write_bytes(shell.render_script(path, sh_cmd, values))
            target.chmod(EXECUTABLE)
        self.logger.debug(f"{len(scripts)} helper scripts in {bin_dir} ('#!{sh_cmd}')")

    def _write_secrets(self, path: Path) -> None:
        secrets = job_secrets(self.job.parameters)
        env_dut = self.state.environment.variables
        if not secrets and not env_dut:
            return
        self.logger.debug(f"Creating {path} ({len(secrets)} secret(s), {len(env_dut)} env-dut)")
        path.write_text(secrets_file(secrets, env_dut), encoding="utf-8")
        path.chmod(0o600)


class MultinodeOverlayAction(Action):
    """Placeholder for LAVA's MultiNode scripts (not supported yet).

    It keeps the levels, and so the definition UUIDs, the same as LAVA's.
    """

    name = "lava-multinode-overlay"
    description = "add lava scripts during deployment for multinode test shell use"
    summary = "overlay the lava multinode scripts"

    def validate(self) -> None:
        super().validate()
        if "lava-multinode" in (self.job.parameters.get("protocols") or {}):
            self.errors.append("MultiNode jobs are not supported by this dispatcher yet")

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        self.logger.debug(f"skipped {self.name}")
        return connection


class CompressOverlay(Action):
    """Packs the overlay as `lava-<id>/...` into a gzip newc cpio and a tar.gz."""

    name = "compress-overlay"
    description = "Create a lava overlay tarball and store alongside the job"
    summary = "Compress the lava overlay files"

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        start = time.monotonic()
        entries = _entries(self)
        cpio_path = self.job.work_dir / f"overlay-{self.level}.cpio.gz"
        write_cpio(cpio_path, entries)
        elapsed = time.monotonic() - start
        cpio_size = cpio_path.stat().st_size
        self.logger.info(
            f"Compressed {len(entries)} overlay entries in {elapsed * 1000:.0f} ms: "
            f"{cpio_path.name} {cpio_size} bytes"
        )
        self.state.overlay.cpio = cpio_path
        self.results = {"entries": len(entries), "cpio.gz": cpio_size}
        return connection


def _entries(action: Action) -> list[Entry]:
    overlay = action.state.overlay
    if overlay.root is None or not overlay.results_dir:
        raise JobError(f"{action.name}: lava-overlay did not build an overlay")
    return overlay_entries(overlay.root, overlay.results_dir.strip("/"))


def overlay_tarball(action: Action) -> Path:
    """The overlay as a tar.gz (`lava-<id>/...`), built the first time it is asked for.

    Only a transfer over the console needs it, so jobs whose overlay rides in
    the ramdisk never pay for it.
    """
    existing = action.state.overlay.tarball
    if existing is not None:
        return existing
    start = time.monotonic()
    path = action.job.work_dir / "overlay.tar.gz"
    write_tar(path, _entries(action))
    action.logger.info(
        f"Packed the overlay for the console in {(time.monotonic() - start) * 1000:.0f} ms: "
        f"{path.name} {path.stat().st_size} bytes"
    )
    action.state.overlay.tarball = path
    return path


@dataclass(frozen=True)
class Entry:
    """One file, directory or link of the overlay, read once for both archives."""

    name: str
    mode: int
    data: bytes = b""
    link: str | None = None

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


def overlay_entries(root: Path, top: str) -> list[Entry]:
    """Every entry under `root/top` (named `top/...`), parents first, sorted."""
    parts = top.split("/")
    entries = [
        Entry("/".join(parts[:depth]), stat.S_IFDIR | 0o755) for depth in range(1, len(parts))
    ]
    entries.append(Entry(top, (root / top).lstat().st_mode))
    for dirpath, dirnames, filenames in os.walk(root / top):
        dirnames.sort()
        base = Path(dirpath)
        rel = base.relative_to(root).as_posix()
        for name in sorted(dirnames + filenames):
            path = base / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                entries.append(Entry(f"{rel}/{name}", mode, link=os.readlink(path)))
            elif stat.S_ISREG(mode):
                entries.append(Entry(f"{rel}/{name}", mode, path.read_bytes()))
            elif stat.S_ISDIR(mode):
                entries.append(Entry(f"{rel}/{name}", mode))
    return entries


def write_tar(path: Path, entries: list[Entry]) -> None:
    """A tar.gz of the entries, owned by root."""
    now = int(time.time())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.mode = stat.S_IMODE(entry.mode)
            info.mtime = now
            info.uname = info.gname = "root"
            if entry.is_dir:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.link is not None:
                info.type = tarfile.SYMTYPE
                info.linkname = entry.link
                tar.addfile(info)
            else:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
    # One compression call over the whole archive is several times faster
    # than streaming each small member through GzipFile.
    path.write_bytes(gzip.compress(buffer.getvalue(), GZIP_LEVEL, mtime=0))


def write_cpio(path: Path, entries: list[Entry]) -> None:
    """A gzip newc cpio of the entries (what the kernel unpacks), owned by root.

    Padded to 4 bytes so that another archive can follow it in a ramdisk.
    """
    buffer = io.BytesIO()
    with CpioWriter(buffer) as writer:
        for entry in entries:
            if entry.is_dir:
                writer.add_dir(entry.name, stat.S_IMODE(entry.mode))
            elif entry.link is not None:
                writer.add_symlink(entry.name, entry.link)
            else:
                writer.add_file(entry.name, entry.data, stat.S_IMODE(entry.mode))
    data = gzip.compress(buffer.getvalue(), CPIO_GZIP_LEVEL, mtime=0)
    path.write_bytes(data + b"\0" * (-len(data) % 4))
