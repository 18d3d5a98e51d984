"""The helpers that print what the dispatcher or the system knows about the device."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest
from shell_overlay import Overlay

from lava.dispatcher.shell import storage_value

VALUES = {
    "TARGET_DEVICE_IP": "192.168.1.20",
    "TARGET_DEVICE_MAC": "52:54:00:12:34:56",
    "PROBE_DEVICE_IP": "10.0.0.9",
    "PROBE_DEVICE_CHANNEL": "probe 'two'",
    "LAVA_STORAGE": storage_value(
        [
            {"UMS": "/dev/disk/by-id/usb-Linux_UMS_disk_0-0:0"},
            {"SATA": "/dev/disk/by-id/ata-ST500DM002_W3T79GCW"},
            {"UMS": "/dev/disk/by-id/usb-second"},
        ]
    ),
}


@pytest.mark.parametrize(
    ("script", "name"),
    [
        ("lava-target-ip", "TARGET_DEVICE_IP"),
        ("lava-target-mac", "TARGET_DEVICE_MAC"),
        ("lava-probe-ip", "PROBE_DEVICE_IP"),
        ("lava-probe-channel", "PROBE_DEVICE_CHANNEL"),
    ],
)
def test_values_filled_in_by_the_overlay_builder(overlay: Overlay, script: str, name: str) -> None:
    empty = overlay.helper(script)
    assert (empty.returncode, empty.stdout) == (0, "\n")
    overlay.install(values=VALUES)
    filled = overlay.helper(script)
    assert (filled.returncode, filled.stdout) == (0, f"{VALUES[name]}\n")


def test_target_storage(overlay: Overlay) -> None:
    assert overlay.helper("lava-target-storage").stdout == ""
    assert overlay.helper("lava-target-storage", "UMS").returncode == 1
    overlay.install(values=VALUES)
    everything = overlay.helper("lava-target-storage")
    assert everything.returncode == 0
    assert everything.stdout.splitlines() == [
        "UMS\t/dev/disk/by-id/usb-Linux_UMS_disk_0-0:0",
        "SATA\t/dev/disk/by-id/ata-ST500DM002_W3T79GCW",
        "UMS\t/dev/disk/by-id/usb-second",
    ]
    ums = overlay.helper("lava-target-storage", "UMS")
    assert ums.returncode == 0
    assert ums.stdout.splitlines() == [
        "/dev/disk/by-id/usb-Linux_UMS_disk_0-0:0",
        "/dev/disk/by-id/usb-second",
    ]
    missing = overlay.helper("lava-target-storage", "NVME")
    assert (missing.returncode, missing.stdout) == (1, "")


def os_release_description() -> str | None:
    for path in (Path("/etc/os-release"), Path("/usr/lib/os-release")):
        if path.exists():
            text = path.read_text()
            match = re.search(r"^PRETTY_NAME=(.*)$", text, re.MULTILINE)
            if match:
                return match.group(1).strip().strip("\"'")
    return None


def test_os_build_reads_os_release(overlay: Overlay) -> None:
    expected = os_release_description()
    if expected is None:
        pytest.skip("this host has no os-release PRETTY_NAME")
    proc = overlay.helper("lava-os-build")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{expected}\n"


def test_echo_ipv4_of_loopback(overlay: Overlay) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 0))
        except OSError:
            pytest.skip("no IPv4 loopback address here")
    if not any(shutil.which(tool, path=overlay.tools) for tool in ("ip", "ifconfig")):
        pytest.skip("neither ip nor ifconfig is installed")
    proc = overlay.helper("lava-echo-ipv4", "lo")
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"127\.\d+\.\d+\.\d+\n", proc.stdout)


def test_echo_ipv4_errors(overlay: Overlay) -> None:
    unknown = overlay.helper("lava-echo-ipv4", "no-such-if0")
    assert (unknown.returncode, unknown.stdout) == (0, "")
    usage = overlay.helper("lava-echo-ipv4")
    assert usage.returncode == 1
    assert "Usage: lava-echo-ipv4 INTERFACE" in usage.stderr
