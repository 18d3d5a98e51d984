"""The KVM probe: its payload, its verdict and the verdict's cache."""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

import pytest

from lava.dispatcher.actions.boot import kvm

QEMU = shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64"


def test_payload_is_a_multiboot_image() -> None:
    image = kvm.payload()
    magic, flags, checksum, header, load, load_end, bss_end, entry = struct.unpack_from(
        "<8I", image
    )
    assert magic == 0x1BADB002
    assert (magic + flags + checksum) & 0xFFFFFFFF == 0
    assert flags & 0x00010000  # the a.out kludge: QEMU loads it at `load`
    assert header == load == kvm.LOAD and load_end == bss_end == 0
    assert kvm.LOAD < entry < kvm.LOAD + len(image)
    assert image.endswith(kvm.MARKER + b"\n\0")
    assert len(image) < 512


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """Replace the QEMU runs by a recorded verdict (the real runs are tested below)."""
    calls: list[tuple[str, str | None]] = []

    def measure(qemu: str, cpu: str | None, timeout: float) -> kvm.Verdict:
        calls.append((qemu, cpu))
        return kvm.Verdict(False, "too slow", None, 0.4, "QEMU emulator version 7.2")

    monkeypatch.setattr(kvm, "_measure", measure)
    return calls


@pytest.fixture
def kvm_device(tmp_path: Path) -> Path:
    path = tmp_path / "kvm"
    path.touch(mode=0o666)
    return path


def test_verdict_is_cached_per_kernel_binary_and_cpu(
    tmp_path: Path, kvm_device: Path, measured: list[tuple[str, str | None]]
) -> None:
    first = kvm.probe(QEMU, "host", tmp_path, device=kvm_device)
    assert (first.usable, first.reason, first.cached) == (False, "too slow", False)
    again = kvm.probe(QEMU, "host", tmp_path, device=kvm_device)
    assert again.cached and again.reason == "too slow" and again.tcg_seconds == 0.4
    kvm.probe(QEMU, None, tmp_path, device=kvm_device)
    assert measured == [(QEMU, "host"), (QEMU, None)]
    cache = json.loads((tmp_path / kvm.CACHE_FILE).read_text())
    assert len(cache) == 2
    key = next(k for k in cache if k.endswith("cpu=host"))
    assert key.startswith(f"{os.uname().release} {os.path.realpath(QEMU)} ")
    assert cache[key]["qemu_version"] == "QEMU emulator version 7.2"
    assert cache[key]["checked"].endswith("Z")


def test_a_new_qemu_binary_is_probed_again(
    tmp_path: Path, kvm_device: Path, measured: list[tuple[str, str | None]]
) -> None:
    binary = tmp_path / "qemu-system-x86_64"
    shutil.copy(QEMU, binary)
    kvm.probe(str(binary), "host", tmp_path, device=kvm_device)
    os.utime(binary, ns=(0, 0))  # as an upgrade would change it
    kvm.probe(str(binary), "host", tmp_path, device=kvm_device)
    assert len(measured) == 2


def test_corrupt_cache_is_probed_again(
    tmp_path: Path, kvm_device: Path, measured: list[tuple[str, str | None]]
) -> None:
    (tmp_path / kvm.CACHE_FILE).write_text("{not json")
    assert not kvm.probe(QEMU, "host", tmp_path, device=kvm_device).cached
    assert json.loads((tmp_path / kvm.CACHE_FILE).read_text())


def test_no_kvm_device_needs_no_probe(
    tmp_path: Path, measured: list[tuple[str, str | None]]
) -> None:
    verdict = kvm.probe(QEMU, "host", tmp_path, device=tmp_path / "missing")
    assert not verdict.usable and "does not exist" in verdict.reason
    assert not measured and not (tmp_path / kvm.CACHE_FILE).exists()


def test_only_x86_guests_are_probed(
    tmp_path: Path, kvm_device: Path, measured: list[tuple[str, str | None]]
) -> None:
    verdict = kvm.probe("/usr/bin/qemu-system-aarch64", None, tmp_path, device=kvm_device)
    assert not verdict.usable and "x86 guests only" in verdict.reason
    assert not measured


@pytest.mark.slow
def test_payload_runs_under_tcg() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "probe"
        image.write_bytes(kvm.payload())
        command = [QEMU, "-M", "pc", "-m", "64", "-nodefaults", "-display", "none"]
        command += ["-serial", "stdio", "-accel", "tcg", "-kernel", str(image)]
        seen, seconds, output, exited = kvm._run(command, 10)
    assert seen, output
    assert output.startswith("S")  # written on reaching 64-bit mode
    assert not exited and seconds < 10


@pytest.mark.slow
def test_real_probe_here(tmp_path: Path) -> None:
    """The verdict on this host, measured then cached (printed for the record)."""
    start = time.monotonic()
    verdict = kvm.probe(QEMU, "host", tmp_path)
    took = time.monotonic() - start
    print(f"\nKVM probe (-cpu host): {verdict} in {took:.2f} s")
    assert took < 2 * kvm.PROBE_TIMEOUT + 2
    if Path("/dev/kvm").exists():
        assert verdict.tcg_seconds is not None  # the reference run worked
    start = time.monotonic()
    assert kvm.probe(QEMU, "host", tmp_path).cached
    assert time.monotonic() - start < 0.1
