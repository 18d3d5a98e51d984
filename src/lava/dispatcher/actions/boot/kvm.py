"""Does KVM really work on this host? Run real guest code under it and see.

`/dev/kvm` existing and opening proves little: on some hosts a guest aborts
at once (KVM refuses an MSR that `-cpu host` sets) or runs far slower than
plain emulation and looks hung. So the probe boots a tiny multiboot payload,
built below, that goes to 64-bit mode, touches 32 MiB page by page, spins a
multiply loop and prints a marker on the serial port: once under TCG (the
reference) and once under KVM with the job's CPU model. KVM is used only if
the marker comes within 5 s and no later than under TCG. The verdict is
cached per host kernel, QEMU binary and CPU model in `kvm-probe.json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import struct
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lava.common.private import write_atomic

PROBE_TIMEOUT = 5.0
CACHE_FILE = "kvm-probe.json"
MARKER = b"LAVA-KVM-PROBE-OK"
X86_BINARIES = ("qemu-system-x86_64", "qemu-system-i386")
X86_HOSTS = ("x86_64", "amd64", "i386", "i686")
KVM_DEVICE = Path("/dev/kvm")

# Guest-physical layout of the payload (QEMU loads multiboot images at LOAD).
LOAD = 0x100000
PAGE_TABLES = 0x200000  # PML4, PDPT, PD: three 4 KiB pages
TOUCH_START, TOUCH_END = 0x1000000, 0x3000000  # 16..48 MiB, needs -m 64
TOUCH_ROUNDS = 2
SPIN_LOOPS = 50_000_000


@dataclass(frozen=True)
class Verdict:
    """Whether to use KVM, and why; seconds are wall-clock payload runs."""

    usable: bool
    reason: str
    kvm_seconds: float | None = None
    tcg_seconds: float | None = None
    qemu_version: str = ""
    cached: bool = False


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def payload() -> bytes:
    """The probe image: a multiboot header (a.out kludge) and hand-assembled code.

    32-bit entry: identity-map the first 1 GiB with 2 MiB pages, enable PAE,
    long mode and paging, far-jump to 64-bit code which writes 'S', the page
    walk, the multiply loop, then MARKER on COM1 and halts.
    """
    header_size = 32
    entry = LOAD + header_size
    pml4, pdpt, pd = PAGE_TABLES, PAGE_TABLES + 0x1000, PAGE_TABLES + 0x2000
    code32_size = 0x76  # the bytes below up to and including the far jump
    long_mode = entry + code32_size
    code64 = b"".join(
        [
            b"\xb8\x10\x00\x00\x00",  # mov $0x10, %eax
            b"\x8e\xd8\x8e\xc0\x8e\xd0",  # mov %eax, %ds / %es / %ss
            b"\xba\xf8\x03\x00\x00",  # mov $0x3f8, %edx (COM1)
            b"\xb0\x53\xee",  # mov $'S', %al; out %al, %dx
            b"\x41\xb8" + _u32(TOUCH_ROUNDS),  # mov $rounds, %r8d
            b"\xbf" + _u32(TOUCH_START),  # 1: mov $start, %edi
            b"\x48\x89\x3f",  # 2: mov %rdi, (%rdi)
            b"\x48\x81\xc7\x00\x10\x00\x00",  # add $0x1000, %rdi
            b"\x48\x81\xff" + _u32(TOUCH_END),  # cmp $end, %rdi
            b"\x72\xed",  # jb 2b
            b"\x41\xff\xc8",  # dec %r8d
            b"\x75\xe3",  # jnz 1b
            b"\xb9" + _u32(SPIN_LOOPS),  # mov $loops, %ecx
            b"\x48\x0f\xaf\xc1",  # 3: imul %rcx, %rax
            b"\x48\xff\xc9",  # dec %rcx
            b"\x75\xf7",  # jnz 3b
        ]
    )
    lea_at = len(code64)
    tail = b"".join(
        [
            b"\xac",  # 4: lodsb
            b"\x84\xc0",  # test %al, %al
            b"\x74\x03",  # jz 5f
            b"\xee",  # out %al, %dx
            b"\xeb\xf8",  # jmp 4b
            b"\xfa\xf4\xeb\xfc",  # 5: cli; hlt; jmp 5b
        ]
    )
    lea_size = 7
    code64_size = lea_at + lea_size + len(tail)
    gdt = long_mode + code64_size
    gdt += -gdt % 8
    gdtr = gdt + 24
    message = gdtr + 6
    lea = b"\x48\x8d\x35" + _u32(message - (long_mode + lea_at + lea_size))  # lea msg(%rip), %rsi
    code64 += lea + tail

    code32 = b"".join(
        [
            b"\xfa",  # cli
            b"\xbf" + _u32(pml4),  # mov $pml4, %edi
            b"\x31\xc0",  # xor %eax, %eax
            b"\xb9" + _u32(3 * 1024),  # mov $3072, %ecx
            b"\xf3\xab",  # rep stosl: clear the three tables
            b"\xc7\x05" + _u32(pml4) + _u32(pdpt | 3),  # movl $pdpt|3, pml4
            b"\xc7\x05" + _u32(pdpt) + _u32(pd | 3),  # movl $pd|3, pdpt
            b"\xbf" + _u32(pd),  # mov $pd, %edi
            b"\xb8\x83\x00\x00\x00",  # mov $0x83, %eax (present, writable, 2 MiB)
            b"\xb9\x00\x02\x00\x00",  # mov $512, %ecx
            b"\x89\x07",  # 1: mov %eax, (%edi)
            b"\x05\x00\x00\x20\x00",  # add $0x200000, %eax
            b"\x83\xc7\x08",  # add $8, %edi
            b"\xe2\xf4",  # loop 1b
            b"\x0f\x20\xe0\x83\xc8\x20\x0f\x22\xe0",  # cr4 |= PAE
            b"\xb8" + _u32(pml4) + b"\x0f\x22\xd8",  # cr3 = pml4
            b"\xb9\x80\x00\x00\xc0\x0f\x32",  # rdmsr EFER
            b"\x0d\x00\x01\x00\x00\x0f\x30",  # EFER |= LME; wrmsr
            b"\x0f\x20\xc0\x0d\x01\x00\x00\x80\x0f\x22\xc0",  # cr0 |= PG | PE
            b"\x0f\x01\x15" + _u32(gdtr),  # lgdt gdtr
            b"\xea" + _u32(long_mode) + b"\x08\x00",  # ljmp $0x08, $long_mode
        ]
    )
    assert len(code32) == code32_size
    magic, flags = 0x1BADB002, 0x00010000  # flags: load addresses are in the header
    header = struct.pack(
        "<8I", magic, flags, (-(magic + flags)) & 0xFFFFFFFF, LOAD, LOAD, 0, 0, entry
    )
    image = header + code32 + code64
    image += bytes(gdt - LOAD - len(image))
    image += struct.pack("<3Q", 0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF)  # null, code64, data
    image += struct.pack("<HI", 23, gdt)
    return image + MARKER + b"\n\0"


def _run(command: list[str], timeout: float) -> tuple[bool, float, str, bool]:
    """Start QEMU on the payload; (marker seen, seconds, last output, QEMU exited)."""
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return False, 0.0, str(exc), True
    assert proc.stdout is not None
    output = b""
    eof = False
    try:
        while MARKER not in output:
            left = start + timeout - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if not ready:
                break
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                eof = True
                break
            output += chunk
    finally:
        elapsed = time.monotonic() - start
        exited = eof or proc.poll() is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    text = output.decode("utf-8", errors="replace").strip()
    return MARKER in output, elapsed, text[-300:], exited


def _key(qemu: str, cpu: str | None) -> str:
    stat = os.stat(qemu)
    return (
        f"{os.uname().release} {os.path.realpath(qemu)} "
        f"{stat.st_mtime_ns}:{stat.st_size} cpu={cpu or 'default'}"
    )


def _load(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(path: Path, key: str, verdict: Verdict) -> None:
    """Add one verdict; write atomically (several jobs may probe at once)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _load(path)
        entry = asdict(verdict)
        del entry["cached"]
        entry["checked"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        data[key] = entry
        write_atomic(path, json.dumps(data, indent=2, sort_keys=True))


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def qemu_version(qemu: str) -> str:
    """The first line of `qemu --version`, or '' if it does not run."""
    try:
        proc = subprocess.run(
            [qemu, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else ""


def probe(
    qemu: str,
    cpu: str | None,
    cache_dir: Path,
    timeout: float = PROBE_TIMEOUT,
    device: Path = KVM_DEVICE,
) -> Verdict:
    """Whether guests run under KVM here with this QEMU and CPU model (cached)."""
    name = os.path.basename(qemu)
    if name not in X86_BINARIES:
        return Verdict(False, f"no KVM probe for {name} (x86 guests only)")
    if os.uname().machine not in X86_HOSTS:
        return Verdict(False, f"the host is {os.uname().machine}, not x86")
    if not device.exists():
        return Verdict(False, f"{device} does not exist (no KVM on this host)")
    if not os.access(device, os.R_OK | os.W_OK):
        return Verdict(False, f"{device} is not readable and writable by uid {os.getuid()}")
    cache = cache_dir / CACHE_FILE
    try:
        key = _key(qemu, cpu)
    except OSError as exc:
        return Verdict(False, f"cannot stat {qemu}: {exc.strerror}")
    entry = _load(cache).get(key)
    if isinstance(entry, dict) and "usable" in entry:
        return Verdict(
            bool(entry["usable"]),
            str(entry.get("reason", "")),
            _seconds(entry.get("kvm_seconds")),
            _seconds(entry.get("tcg_seconds")),
            str(entry.get("qemu_version", "")),
            cached=True,
        )
    verdict = _measure(qemu, cpu, timeout)
    _save(cache, key, verdict)
    return verdict


def _measure(qemu: str, cpu: str | None, timeout: float) -> Verdict:
    version = qemu_version(qemu)
    with tempfile.TemporaryDirectory(prefix="lava-kvm-probe-") as tmp:
        image = Path(tmp) / "probe.multiboot"
        image.write_bytes(payload())
        base = [
            qemu,
            *("-M", "pc", "-m", "64", "-nodefaults", "-no-user-config"),
            *("-display", "none", "-serial", "stdio", "-no-reboot"),
            *("-kernel", str(image)),
        ]
        ok, tcg, output, _ = _run([*base, "-accel", "tcg", "-cpu", "max"], timeout)
        if not ok:
            return Verdict(
                False, f"the probe failed even under TCG: {output!r}", None, None, version
            )
        cpu_args = ["-cpu", cpu] if cpu else []
        # No point waiting much longer than TCG took: slower than TCG is a no.
        budget = min(timeout, 2 * tcg + 1.0)
        ok, kvm, output, exited = _run([*base, "-accel", "kvm", *cpu_args], budget)
    tcg, kvm = round(tcg, 3), round(kvm, 3)
    cpu_text = cpu or "the default CPU"
    if not ok:
        detail = output.splitlines()[-1] if output else "no output"
        what = "exited" if exited else f"did not finish in {kvm:.1f} s (TCG: {tcg:.2f} s)"
        return Verdict(
            False, f"QEMU under KVM with {cpu_text} {what}: {detail}", None, tcg, version
        )
    if kvm > tcg:
        return Verdict(
            False,
            f"KVM with {cpu_text} is slower than TCG ({kvm:.2f} s > {tcg:.2f} s)",
            kvm,
            tcg,
            version,
        )
    return Verdict(
        True, f"KVM with {cpu_text} works ({kvm:.2f} s, TCG {tcg:.2f} s)", kvm, tcg, version
    )
