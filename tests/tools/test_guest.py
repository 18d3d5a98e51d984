"""tools/guest/build-guest: its cache, its initramfs, and the real guest booted under QEMU."""

from __future__ import annotations

import argparse
import gzip
import importlib.machinery
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pexpect
import pytest

from lava.dispatcher.cpio import CpioWriter, append_cpio

ROOT = Path(__file__).resolve().parents[2]
BUILD_GUEST = ROOT / "tools" / "guest" / "build-guest"
PROMPT = "root@lava-guest:~# "
BOOT_TIMEOUT = 30


def load_builder() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("build_guest", str(BUILD_GUEST))
    spec = importlib.util.spec_from_loader("build_guest", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_guest"] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


builder = load_builder()


def plan(**changes: str) -> object:
    fields = {
        "arch": "amd64",
        "kernel_package": "linux-image-6.1.0-56-cloud-amd64",
        "kernel_version": "6.1.192-2",
        "busybox_version": "1:1.35.0-4+deb12u1+b1",
        "rootfs": "0123456789abcdef",
    }
    fields.update(changes)
    return builder.Plan(**fields)


# The builder's parts, without apt or QEMU


def test_key_changes_with_each_input() -> None:
    base = plan()
    assert base.key.startswith("amd64-6.1.0-56-cloud-amd64-")
    assert base.key == plan().key
    changed = [
        plan(kernel_package="linux-image-6.1.0-57-cloud-amd64"),
        plan(kernel_version="6.1.193-1"),
        plan(busybox_version="1:1.36.1-1"),
        plan(rootfs="fedcba9876543210"),
        plan(arch="arm64"),
    ]
    assert len({base.key, *(p.key for p in changed)}) == 1 + len(changed)


def test_rootfs_hash_is_stable_and_covers_init() -> None:
    assert builder.rootfs_hash() == builder.rootfs_hash()
    assert (builder.ROOTFS / "init").stat().st_mode & 0o111


def test_initramfs_content(tmp_path: Path) -> None:
    initrd = tmp_path / "initrd.gz"
    builder.pack_initramfs(initrd, b"not really busybox", plan())
    data = initrd.read_bytes()
    assert len(data) % 4 == 0
    listing = subprocess.run(
        ["cpio", "-tv", "--quiet", "--numeric-uid-gid"],
        input=gzip.decompress(data),
        capture_output=True,
        check=True,
    ).stdout.decode()
    entries = {
        line.split()[-1] if "->" not in line else line.split()[-3]: line
        for line in listing.splitlines()
    }
    assert entries["dev/console"].startswith("crw-------")
    assert entries["bin/busybox"].startswith("-rwxr-xr-x")
    assert entries["init"].startswith("-rwxr-xr-x")
    assert entries["bin/sh"].startswith("lrwxrwxrwx")
    assert entries["tmp"].startswith("drwxrwxrwt")
    for name in ("etc/profile", "etc/passwd", "etc/group", "etc/os-release", "etc/hostname"):
        assert name in entries
    release = builder.os_release(plan()).decode()
    assert "ID=busybox" in release and "VERSION_ID=1.35.0" in release
    assert 'PRETTY_NAME="LAVA guest (BusyBox 1.35.0, Linux 6.1.0-56-cloud-amd64)"' in release


def test_failed_download_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(builder.DownloadError) as error:
        builder.download("lava-no-such-package", "1.0", "amd64", tmp_path)
    message = str(error.value)
    assert "lava-no-such-package" in message
    assert "apt-get update" in message


def test_busybox_falls_back_to_the_installed_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installed = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "busybox-static"], capture_output=True, text=True
    ).stdout
    if not installed or not Path("/bin/busybox").is_file():
        pytest.skip("busybox-static is not installed")

    def offline(*args: object) -> None:
        raise builder.DownloadError("offline")

    monkeypatch.setattr(builder, "download", offline)
    same = plan(busybox_version=installed)
    assert builder.get_busybox(same, tmp_path) == Path("/bin/busybox").read_bytes()
    with pytest.raises(builder.DownloadError):
        builder.get_busybox(plan(busybox_version="1:0.1-1"), tmp_path)


def fake_guest(cache: Path, key: str, rootfs: str) -> Path:
    out = cache / key
    out.mkdir(parents=True)
    for name in builder.FILES:
        (out / name).write_bytes(b"x")
    (out / "guest.json").write_text(json.dumps({"key": key, "rootfs": rootfs}))
    return out


def test_newest_cached_guest_of_the_same_rootfs(tmp_path: Path) -> None:
    old = fake_guest(tmp_path, "amd64-6.1.0-55-cloud-amd64-aaaa", "r1")
    new = fake_guest(tmp_path, "amd64-6.1.0-56-cloud-amd64-bbbb", "r1")
    fake_guest(tmp_path, "amd64-6.1.0-57-cloud-amd64-cccc", "other-rootfs")
    broken = fake_guest(tmp_path, "amd64-6.1.0-58-cloud-amd64-dddd", "r1")
    (broken / "initrd.gz").unlink()
    os.utime(old / "guest.json", (1, 1))
    assert builder.newest_cached(tmp_path, "amd64", "r1") == new
    assert builder.newest_cached(tmp_path, "arm64", "r1") is None
    assert builder.usable(new) and not builder.usable(broken)


def test_apt_failing_falls_back_to_the_last_guest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_apt(*args: object, **kwargs: object) -> None:
        raise builder.BuildError("apt-cache: no lists")

    monkeypatch.setattr(builder, "resolve", no_apt)
    args = argparse.Namespace(arch="amd64", cache=str(tmp_path), force=False)
    with pytest.raises(builder.BuildError, match="no lists"):
        builder.guest_dir(args)
    cached = fake_guest(tmp_path, "amd64-6.1.0-55-cloud-amd64-aaaa", builder.rootfs_hash())
    assert builder.guest_dir(args) == cached
    with pytest.raises(builder.BuildError):
        builder.guest_dir(argparse.Namespace(arch="amd64", cache=str(tmp_path), force=True))


# The real guest (built once per session by the shared `guest` fixture)


@pytest.mark.slow
def test_build_into_a_fresh_cache_is_reproducible(tmp_path: Path) -> None:
    env = {**os.environ, "LAVA_GUEST_CACHE": str(tmp_path)}
    cmd = [sys.executable, str(BUILD_GUEST), "--print-dir"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    out = Path(first.stdout.strip())
    assert out.parent == tmp_path
    assert "downloading linux-image-" in first.stderr
    assert "packing initramfs" in first.stderr
    initrd = (out / "initrd.gz").read_bytes()
    again = subprocess.run([*cmd, "--cache", str(tmp_path)], capture_output=True, text=True)
    assert again.stdout == first.stdout and "up to date" in again.stderr
    forced = subprocess.run([*cmd, "--force"], capture_output=True, text=True, env=env)
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == first.stdout and "packing initramfs" in forced.stderr
    assert (out / "initrd.gz").read_bytes() == initrd
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [out.name]


@pytest.mark.slow
def test_second_run_only_prints(guest: Path) -> None:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(BUILD_GUEST), "--print-dir"], capture_output=True, text=True
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(guest)]
    assert "up to date" in proc.stderr
    assert elapsed < 5
    info = json.loads((guest / "guest.json").read_text())
    assert info["key"] == guest.name
    assert Path(info["vmlinuz"]) == guest / "vmlinuz"
    assert Path(info["initrd"]) == guest / "initrd.gz"
    assert info["kernel"]["package"] == "linux-image-" + info["kernel"]["release"]
    assert info["busybox"]["package"] == "busybox-static"


@pytest.mark.slow
def test_summary_without_print_dir(guest: Path) -> None:
    proc = subprocess.run([sys.executable, str(BUILD_GUEST)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == str(guest)
    assert any(line.startswith("boot:") and "qemu-system-x86_64" in line for line in lines)


def qemu(
    guest: Path, options: str = "", initrd: Path | None = None, arch: str = "amd64"
) -> pexpect.spawn:
    """Start the guest under QEMU (TCG) with our options added to the kernel command line."""
    spec = builder.ARCHES[arch]
    if shutil.which(spec.qemu) is None:
        pytest.skip(f"{spec.qemu} is not installed")
    args = [
        *spec.machine, "-accel", "tcg", "-m", "256", "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-serial", "mon:stdio",
        "-no-reboot", "-kernel", str(guest / "vmlinuz"),
        "-initrd", str(initrd or guest / "initrd.gz"),
        "-append", f"console={spec.console} quiet panic=-1 {options}".strip(),
    ]  # fmt: skip
    return pexpect.spawn(spec.qemu, args, encoding="utf-8", codec_errors="replace", timeout=20)


@pytest.fixture
def console() -> Iterator[list[pexpect.spawn]]:
    """Spawned QEMUs, stopped at the end of the test whatever happened."""
    children: list[pexpect.spawn] = []
    yield children
    for child in children:
        if child.isalive():
            child.terminate(force=True)


def run(child: pexpect.spawn, command: str) -> str:
    """Run one shell command on the guest and return its output lines, joined."""
    child.sendline(command)
    child.expect_exact(PROMPT)
    lines = child.before.replace("\r", "").split("\n")
    return "\n".join(line for line in lines[1:] if line).strip()


def power_off(child: pexpect.spawn) -> None:
    child.sendline("poweroff -f")
    child.expect(pexpect.EOF, timeout=10)
    child.close()
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)


def report(request: pytest.FixtureRequest, what: str, seconds: float) -> None:
    request.node.user_properties.append((what, round(seconds, 2)))
    print(f"\n{request.node.name}: {what} {seconds:.2f} s")


@pytest.mark.slow
def test_boot_to_root_shell(
    guest: Path, console: list[pexpect.spawn], request: pytest.FixtureRequest
) -> None:
    start = time.monotonic()
    child = qemu(guest)
    console.append(child)
    child.expect_exact(PROMPT, timeout=BOOT_TIMEOUT)
    report(request, "boot-to-prompt", time.monotonic() - start)
    release = json.loads((guest / "guest.json").read_text())["kernel"]["release"]
    assert run(child, "uname -r") == release
    assert run(child, "echo $((6*7))") == "42"
    assert run(child, "stty size") == "24 250"
    assert run(child, "echo $HOME; pwd; hostname") == "/root\n/root\nlava-guest"
    assert "PRETTY_NAME=" in run(child, "cat /etc/os-release")
    assert run(child, "ls -l /dev/console | cut -c1") == "c"
    start = time.monotonic()
    power_off(child)
    assert time.monotonic() - start < 5


@pytest.mark.slow
def test_login_and_password_prompts(
    guest: Path, console: list[pexpect.spawn], request: pytest.FixtureRequest
) -> None:
    start = time.monotonic()
    child = qemu(guest, "lava_guest.login=1 lava_guest.password=s3cret lava_guest.cols=120")
    console.append(child)
    child.expect_exact("lava-guest login:", timeout=BOOT_TIMEOUT)
    child.sendline("root")
    child.expect_exact("Password:")
    child.sendline("s3cret")
    child.expect_exact(PROMPT)
    report(request, "boot-to-prompt (login)", time.monotonic() - start)
    assert run(child, "id -u; stty size") == "0\n24 120"
    shadow = run(child, "cut -d: -f2 /etc/shadow")
    assert shadow.startswith("$6$") and "s3cret" not in shadow
    power_off(child)


@pytest.mark.slow
def test_login_without_password_asks_only_login(guest: Path, console: list[pexpect.spawn]) -> None:
    child = qemu(guest, "lava_guest.login=1")
    console.append(child)
    child.expect_exact("login:", timeout=BOOT_TIMEOUT)
    child.sendline("root")
    assert child.expect_exact([PROMPT, "Password:"]) == 0
    power_off(child)


@pytest.mark.slow
def test_appended_overlays_appear_in_the_guest(
    guest: Path, console: list[pexpect.spawn], tmp_path: Path
) -> None:
    initrd = tmp_path / "initrd.gz"
    shutil.copyfile(guest / "initrd.gz", initrd)
    # A gzip overlay of unaligned length, then a plain one that must start 4-byte aligned.
    first = io.BytesIO()
    padding = b""
    while True:
        first.seek(0)
        first.truncate()
        with CpioWriter(first) as archive:
            archive.add_file("lava/first.txt", b"from the gzip overlay\n" + padding)
            archive.add_file("etc/hostname", b"overlaid\n")
        compressed = gzip.compress(first.getvalue(), mtime=0)
        if len(compressed) % 4:
            break
        padding += b"\n"
    append_cpio(initrd, compressed)
    assert initrd.stat().st_size % 4
    plain = io.BytesIO()
    with CpioWriter(plain) as archive:
        archive.add_file("lava/second.txt", b"from the plain overlay\n")
    append_cpio(initrd, plain.getvalue())

    child = qemu(guest, initrd=initrd)
    console.append(child)
    child.expect_exact("root@overlaid:~# ", timeout=BOOT_TIMEOUT)
    child.sendline("cat /lava/first.txt /lava/second.txt")
    child.expect_exact("from the gzip overlay")
    child.expect_exact("from the plain overlay")
    power_off(child)


@pytest.fixture(scope="module")
def arm64_guest() -> Path:
    """The arm64 guest, when this host can fetch arm64 packages and run them."""
    if shutil.which("qemu-system-aarch64") is None:
        pytest.skip("qemu-system-aarch64 is not installed (package qemu-system-arm)")
    proc = subprocess.run(
        [sys.executable, str(BUILD_GUEST), "--arch", "arm64", "--print-dir"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 and "dpkg is not set up for arm64" in proc.stderr:
        pytest.skip("arm64 packages are not available (dpkg --add-architecture arm64)")
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip())


@pytest.mark.slow
def test_arm64_boot_to_root_shell(
    arm64_guest: Path, console: list[pexpect.spawn], request: pytest.FixtureRequest
) -> None:
    start = time.monotonic()
    child = qemu(arm64_guest, arch="arm64")
    console.append(child)
    child.expect_exact(PROMPT, timeout=BOOT_TIMEOUT)
    report(request, "boot-to-prompt (arm64)", time.monotonic() - start)
    assert run(child, "uname -m; echo $((6*7))") == "aarch64\n42"
    power_off(child)
