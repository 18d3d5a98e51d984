"""The QEMU options a job may use, and the host files they may name."""

from __future__ import annotations

import shlex
import struct
from pathlib import Path

import pytest

from lava.common.device import load_device
from lava.common.exceptions import JobError
from lava.dispatcher.actions.boot.methods.qemu import console_on_stdio
from lava.dispatcher.actions.boot.qemu_args import FIRMWARE_DIRS, Where, check, split_opts
from tests.support.conformance import CONFORMANCE

DEVICES = CONFORMANCE / "devices"


@pytest.fixture
def where(tmp_path: Path) -> Where:
    job = tmp_path / "job"
    (job / "downloads").mkdir(parents=True)
    (job / "downloads" / "rootfs.img").write_bytes(b"\0" * 1024)
    (job / "downloads" / "vmlinuz").write_bytes(b"MZ")
    (tmp_path / "outside").write_text("secret")
    (job / "downloads" / "link").symlink_to(tmp_path / "outside")
    return Where(job, FIRMWARE_DIRS, cwd=job)


def args(text: str) -> list[str]:
    return shlex.split(text)


@pytest.mark.parametrize(
    "line",
    [
        "-m 512 -smp 2 -cpu max,+ssse3 -machine pc,accel=tcg -accel tcg -no-reboot",
        "-net nic,model=virtio,macaddr=52:54:00:12:34:58 -net user -monitor none -display none",
        "-netdev user,id=n0,hostname=guest -device virtio-net-pci,netdev=n0 -nic none",
        "-chardev stdio,id=lava-console,signal=off -serial chardev:lava-console",
        "-kernel {d}/vmlinuz -append 'console=ttyS0 root=/dev/vda' -initrd {d}/vmlinuz",
        "-drive format=raw,file={d}/rootfs.img -drive if=none,file={d}/rootfs.img,id=hd0",
        "-drive file={d}/rootfs.img,index=2,media=cdrom,readonly -hda {d}/rootfs.img",
        "-device virtio-blk-device,drive=hd0 -device loader,file={d}/vmlinuz,addr=0x1000",
        "-object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-pci,rng=rng0",
        "-bios bios-256k.bin -L /usr/share/qemu -device e1000,romfile=efi-e1000.rom",
        "-global driver=cfi.pflash01,property=secure,value=on -vga std -usb -snapshot",
        "-fw_cfg opt/x,string=hello -boot order=c,menu=off -rtc base=utc -name guest",
    ],
)
def test_allowed(where: Where, line: str) -> None:
    check(args(line.format(d=where.job_dir / "downloads")), where)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-chardev file,id=x,path=/etc/cron.d/x", "-chardev file is not allowed"),
        ("-chardev stdio,id=x,logfile=/tmp/x", "'logfile=' is not allowed"),
        ("-monitor tcp:127.0.0.1:4444,server,nowait", "-monitor tcp:"),
        ("-monitor stdio", "-monitor stdio is not allowed"),
        ("-serial file:/etc/passwd", "-serial file:/etc/passwd is not allowed"),
        ("-netdev tap,id=t,script=/tmp/x.sh", "-netdev tap is not allowed"),
        ("-netdev user,id=u,guestfwd=tcp:10.0.2.1:1-cmd:touch /tmp/x", "'guestfwd=' is not"),
        ("-netdev user,id=u,smb=/", "'smb=' is not allowed"),
        ("-net user,tftp=/etc", "'/etc' is outside"),
        ("-netdev user,type=tap,id=t", "-netdev tap is not allowed"),
        ("-device loader,file=/etc/shadow", "'/etc/shadow' is outside"),
        ("-device virtio-net-pci,romfile=/etc/shadow", "'/etc/shadow' is outside"),
        ("-device vfio-pci,host=01:00.0", "vfio-pci is not allowed"),
        ("-device usb-host,hostbus=1", "usb-host is not allowed"),
        ("-device driver=loader,driver=usb-mtp,rootdir=/", "usb-mtp is not allowed"),
        ('-device {{"driver":"loader","file":"/etc/shadow"}}', "JSON values are not allowed"),
        ("-global virtio-net-pci.romfile=/etc/shadow", "'/etc/shadow' is outside"),
        ("-drive file=/root/.ssh/id_rsa,format=raw", "'/root/.ssh/id_rsa' is outside"),
        ("-drive file=fat:rw:/etc,format=raw", "is not a plain file path"),
        ("-drive file=nbd:127.0.0.1:10809", "is not a plain file path"),
        ("-drive file={d}/rootfs.img,file.filename=/etc/shadow", "'file.filename=' is not"),
        ("-drive file={d}/rootfs.img,format=vvfat", "format 'vvfat' is not allowed"),
        ("-drive file={d}/link,format=raw", "'{d}/link' is outside"),
        ("-hda /etc/shadow", "'/etc/shadow' is outside"),
        ("-kernel ../../outside", "'../../outside' is outside"),
        ("-initrd {d}/vmlinuz,/etc/shadow", "'/etc/shadow' is outside"),
        ("-bios /etc/shadow", "'/etc/shadow' is outside"),
        ("-machine pc,dumpdtb=/tmp/x.dtb", "'dumpdtb=' is not allowed"),
        ("-object memory-backend-file,id=m,mem-path=/tmp", "memory-backend-file is not"),
        ("-object rng-random,filename=/etc/shadow,id=r", "rng-random reads only"),
        ("-object secret,id=s,file=/etc/shadow", "-object secret is not allowed"),
        ("-smbios file=/etc/shadow", "'/etc/shadow' is outside"),
        ("-fw_cfg opt/x,file=/etc/shadow", "'/etc/shadow' is outside"),
        ("-acpitable file={d}/vmlinuz:/etc/shadow", "'/etc/shadow' is outside"),
        ("-boot splash=/etc/shadow", "'/etc/shadow' is outside"),
        ("-icount shift=1,rr=record,rrfile=/tmp/x", "'rr=' is not allowed"),
        ("-audiodev wav,id=a,path=/tmp/x.wav", "-audiodev wav is not allowed"),
        ("-display vnc=:1", "-display vnc=:1 is not allowed"),
        ("-usbdevice disk:/etc/shadow", "is not allowed"),
        ("/etc/shadow", "'/etc/shadow' is not an option"),
        ("-m", "needs a value"),
        *(
            (f"-{option} x", f"-{option} is not allowed on this worker")
            for option in (
                *("gdb", "s", "D", "d", "pidfile", "runas", "chroot", "daemonize", "incoming"),
                *("virtfs", "fsdev", "semihosting", "semihosting-config", "plugin", "add-fd"),
                *("qmp", "mon", "readconfig", "writeconfig", "trace", "set", "blockdev"),
                *("tpmdev", "spice", "vnc", "mem-path", "loadvm", "S", "no-such-option"),
            )
        ),
    ],
)
def test_refused(where: Where, line: str, message: str) -> None:
    d = where.job_dir / "downloads"
    with pytest.raises(JobError, match="QEMU") as info:
        check(args(line.format(d=d)), where)
    assert message.format(d=d) in str(info.value)


def test_firmware_only_for_the_device(where: Where) -> None:
    check(["-L", "/usr/share/qemu"], where)
    job_only = Where(where.job_dir, (), cwd=where.cwd)
    with pytest.raises(JobError, match="'/usr/share/qemu' is outside the job's directory"):
        check(["-L", "/usr/share/qemu"], job_only)


def qcow2(path: Path, backing: bool = False, data_file: bool = False) -> Path:
    header = bytearray(512)
    header[0:4] = b"QFI\xfb"
    header[4:8] = struct.pack(">I", 3)
    if backing:
        header[8:16] = struct.pack(">Q", 104)
        header[104:115] = b"/etc/shadow"
    if data_file:
        header[72:80] = struct.pack(">Q", 1 << 2)
    path.write_bytes(bytes(header))
    return path


def test_images_that_name_other_files(where: Where) -> None:
    d = where.job_dir / "downloads"
    check(["-drive", f"file={qcow2(d / 'plain.qcow2')},format=qcow2"], where)
    for image, problem in (
        (qcow2(d / "backed.qcow2", backing=True), "with a backing file"),
        (qcow2(d / "data.qcow2", data_file=True), "with an external data file"),
    ):
        for line in (f"-drive file={image},format=qcow2", f"-drive file={image}", f"-hda {image}"):
            with pytest.raises(JobError, match=problem):
                check(args(line), where)
        check(args(f"-drive file={image},format=raw"), where)  # read as bytes: fine
    vmdk = d / "disk.vmdk"
    vmdk.write_bytes(b'# Disk DescriptorFile\nRW 8 FLAT "/etc/shadow" 0\n')
    with pytest.raises(JobError, match="a vmdk image"):
        check(["-hda", str(vmdk)], where)


def test_split_opts() -> None:
    assert split_opts("user,id=n0,hostfwd=tcp::22-:22,ipv6", "type") == [
        ("type", "user"),
        ("id", "n0"),
        ("hostfwd", "tcp::22-:22"),
        ("ipv6", "on"),
    ]
    assert split_opts("file=/a,,b,format=raw") == [("file", "/a,b"), ("format", "raw")]


@pytest.mark.skipif(not DEVICES.is_dir(), reason="no ../shared/conformance beside the checkout")
@pytest.mark.parametrize(
    "name",
    [*(f"qemu0{n}" for n in range(1, 7)), "kvm01", "kvm02", "kvm03", "fakeqemu1", "fakeqemu4"],
)
def test_conformance_devices_are_allowed(where: Where, name: str) -> None:
    text = (DEVICES / f"{name}.jinja2").read_text()
    for arch in ("amd64", "arm64", "riscv64", "i386"):
        device = load_device(text, {"arch": arch}, hostname=name)
        params = device["actions"]["boot"]["methods"]["qemu"]["parameters"]
        options = [*params["options"], *(params.get("extra") or [])]
        command = console_on_stdio(["qemu", *args(" ".join(map(str, options)))])
        check(command[1:], where)
