"""Kernel-message detection: LAVA's real captures, streaming, pexpect, and the real guest."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pexpect
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lava.dispatcher.kernel import (
    KERNEL_PATTERNS,
    KernelMessage,
    KernelMonitor,
    classify,
    scan,
    start_regexes,
)
from tests.support.conformance import CONFORMANCE

LOGS = CONFORMANCE / "kernel-logs"
needs_logs = pytest.mark.skipif(not LOGS.is_dir(), reason=f"no kernel captures in {LOGS}")


def capture(name: str) -> str:
    return (LOGS / name).read_text(errors="replace")


W, B = "warning", "bug"
# What LAVA reports for each capture, in order.
EXPECTED = {
    "kernel-1.txt": [],
    "kernel-2.txt": [W] * 8 + [B] + [W] * 5,
    "kernel-4.txt": ["oops", "panic"],
    "kernel-5.txt": [],
    "kernel-bug.txt": [B] * 6,
    "kernel-kasan.txt": ["kasan"],
    "kernel-kfence.txt": ["kfence"],
    "kernel-login-error.txt": [],
    "kernel-many-errors.txt": ["oops", B, "oops", B],
    "kernel-oops.txt": ["oops"],
    "kernel-panic-and-reset-overlapped.txt": ["panic"],
    "kernel-panic.txt": ["panic"],
}
FATAL = {"kernel-4.txt", "kernel-panic.txt", "kernel-panic-and-reset-overlapped.txt"}


@needs_logs
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_kinds(name: str) -> None:
    messages = scan(capture(name))
    assert [m.kind for m in messages] == EXPECTED[name]
    fatal = [m for m in messages if m.fatal]
    assert bool(fatal) == (name in FATAL)
    assert all(m.kind in ("panic", "DUT_has_reset") for m in fatal)


@needs_logs
def test_all_captures_are_covered() -> None:
    assert {p.name for p in LOGS.glob("*.txt")} == {*EXPECTED, "kernel-lkft.txt"}


@needs_logs
def test_lkft_capture() -> None:
    messages = scan(capture("kernel-lkft.txt"))
    assert len(messages) == 134
    assert Counter(m.kind for m in messages) == {"warning": 130, "oops": 4}
    assert not any(m.fatal for m in messages)
    assert all(m.complete for m in messages)


@needs_logs
def test_blocks_run_from_their_first_line_to_their_end_marker() -> None:
    (kasan,) = scan(capture("kernel-kasan.txt"))
    assert kasan.message.startswith(
        "[   92.229826] BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x190/0x3b8"
    )
    assert kasan.message.endswith("=" * 66)
    (kfence,) = scan(capture("kernel-kfence.txt"))
    assert kfence.message.startswith("[   39.998586] BUG: KFENCE: memory corruption in kfree")
    assert kfence.message.endswith("=" * 66)
    # A "cut here" block that holds a BUG and an Oops is an oops, up to its end trace.
    (oops,) = scan(capture("kernel-oops.txt"))
    assert oops.message.startswith("[   14.446502] ------------[ cut here ]------------")
    assert oops.message.endswith("[   36.213248] ---[ end trace 1bd963a5953b065c ]---")
    assert oops.message.count("\n") > 400


@needs_logs
def test_one_line_messages() -> None:
    messages = scan(capture("kernel-many-errors.txt"))
    assert [m.message for m in messages[1:]] == [
        "[   39.006114] BUG: spinlock lockup suspected on CPU#4, swapper/4/0",
        "[   14.461360] Internal error: Oops - BUG: 0 [#1] PREEMPT SMP",
        "[   15.447835] BUG: spinlock lockup suspected on CPU#3, gdbus/2329",
    ]
    assert all(m.message.startswith("[   ") for m in scan(capture("kernel-bug.txt")))
    # A message starting mid-line keeps the start of its line.
    bug = scan(capture("kernel-2.txt"))[8]
    assert bug.message.endswith("(stk) :ldisc_install = 0[ BUG: bad unlock balance detected! ]")


@needs_logs
def test_panic_block_and_the_boot_before_it() -> None:
    text = capture("kernel-panic.txt")
    (panic,) = scan(text)
    assert panic.fatal and panic.complete
    assert panic.message.startswith("[    4.946791] Kernel panic - not syncing: Attempted to kill")
    assert panic.message.endswith(
        "---[ end Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200"
    )
    boot = text[: text.index("Kernel panic")]
    assert boot.count("\n") > 300
    assert scan(boot) == []


@needs_logs
def test_panic_without_end_marker_is_fatal_and_incomplete() -> None:
    (panic,) = scan(capture("kernel-panic-and-reset-overlapped.txt"))
    assert panic.fatal and not panic.complete
    assert panic.message == "[    5.867574] Kernel panic - not syncing: Fatal exception"
    assert panic.as_result() == {"kind": "panic", "message": panic.message}


@needs_logs
def test_fatal_is_known_before_the_end_marker() -> None:
    text = capture("kernel-panic.txt")
    first_line_end = text.index("\n", text.index("Kernel panic")) + 1
    monitor = KernelMonitor()
    assert monitor.feed(text[:first_line_end]) == []
    assert monitor.fatal is not None and not monitor.fatal.complete
    assert monitor.fatal.message.endswith("Attempted to kill init! exitcode=0x00000200")
    (done,) = monitor.feed(text[first_line_end:])
    assert done.complete and monitor.fatal == done and monitor.pending is None


def test_panic_inside_a_trace_ends_the_trace() -> None:
    text = (
        "[ 1.0] ------------[ cut here ]------------\n"
        "[ 1.1] WARNING: CPU: 0 PID: 1 at mm/slab.c:42\n"
        "[ 1.2] Kernel panic - not syncing: Fatal exception\n"
        "[ 1.3] ---[ end Kernel panic - not syncing: Fatal exception ]---\n"
    )
    warning, panic = scan(text)
    assert (warning.kind, warning.complete, warning.fatal) == ("warning", False, False)
    assert warning.message.endswith("mm/slab.c:42")
    assert (panic.kind, panic.complete, panic.fatal) == ("panic", True, True)


def test_a_block_without_end_is_cut() -> None:
    monitor = KernelMonitor(max_block=200)
    monitor.feed("[ 1.0] BUG: KASAN: use-after-free\n" + "[ 1.1] frame\n" * 50)
    (kasan,) = monitor.messages
    assert not kasan.complete and len(kasan.message) <= 200
    assert kasan.message.endswith("frame")
    monitor.close()
    assert len(monitor.messages) == 1


def test_classify() -> None:
    def kind(text: str) -> str | None:
        pattern = classify(text)
        return None if pattern is None else pattern.kind

    assert kind("Kernel panic - not syncing: VFS: Unable to mount root fs") == "panic"
    assert kind("[ 1.0] BUG: KASAN: slab-out-of-bounds") == "kasan"
    assert kind("BUG: KCSAN: data-race") == "kcsan"
    assert kind("[ 1.0] BUG: scheduling while atomic") == "bug"
    assert kind("kernel BUG at mm/slub.c:42!") == "bug"
    assert kind("Internal error: Oops - BUG: 0") == "oops"  # the earlier marker wins
    assert kind("------------[ cut here ]------------") == "trace"
    assert kind("invalid opcode: 0000 [#1] SMP") == "invalid opcode"
    assert kind("Unhandled fault: imprecise external abort") == "fault"
    assert kind("U-Boot SPL 2023.04 (Apr 01 2023)") == "DUT_has_reset"
    assert kind("Linux version 6.1.0 (debian-kernel@lists.debian.org)") is None
    assert [p.kind for p in KERNEL_PATTERNS if p.fatal] == ["panic", "DUT_has_reset"]
    assert start_regexes() == [p.regex for p in KERNEL_PATTERNS]


@needs_logs
@pytest.mark.parametrize("name", ["kernel-panic.txt", "kernel-many-errors.txt"])
def test_with_pexpect(name: str) -> None:
    """The start regexes as a pexpect pattern list, and the monitor as its logfile_read."""
    text = capture(name)
    monitor = KernelMonitor()
    child = pexpect.spawn("cat", [str(LOGS / name)], encoding="utf-8", codec_errors="replace")
    child.logfile_read = monitor
    index = child.expect([*start_regexes(), pexpect.EOF], timeout=10)
    assert KERNEL_PATTERNS[index].kind == ("panic" if "panic" in name else "trace")
    child.expect(pexpect.EOF, timeout=10)
    child.close()
    monitor.close()
    # Through a pty lines end \r\n; the messages are the same.
    expected = [(m.kind, m.message) for m in scan(text)]
    assert [(m.kind, m.message.replace("\r\n", "\n")) for m in monitor.messages] == expected


@needs_logs
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_chunking_does_not_change_the_result(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(EXPECTED)))
    text = capture(name)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=40)))
    monitor = KernelMonitor()
    for begin, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        monitor.feed(text[begin:end])
    monitor.close()
    assert monitor.messages == scan(text)


FRAGMENTS = [
    "\n",
    "\r\n",
    "\r",
    " ",
    "x",
    "[    1.234567] ",
    "------------[ cut here ]------------",
    "---[ end trace 0123abcd ]---",
    "---[ end Kernel panic - not syncing: Fatal exception ]---",
    "Kernel panic - not syncing: ",
    "WARNING: at foo.c:1",
    "BUG: KASAN: oob",
    "BUG: KFENCE: ",
    "BUG: KCSAN: ",
    "BUG: ",
    "kernel BUG at ",
    "Oops: ",
    "Oops - ",
    "invalid opcode: ",
    "Unhandled fault",
    "U-Boot SPL 2024",
    "=====",
]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=60).map("".join),
    ),
    st.integers(1, 50),
)
def test_any_text(text: str, chunk: int) -> None:
    messages = scan(text)
    kinds = {p.kind for p in KERNEL_PATTERNS} | {"oops", "bug", "warning", "unknown"}
    for message in messages:
        assert isinstance(message, KernelMessage)
        assert message.kind in kinds
        assert message.message in text
        assert message.fatal == (message.kind in ("panic", "DUT_has_reset"))
    monitor = KernelMonitor()
    for begin in range(0, len(text), chunk):
        monitor.feed(text[begin : begin + chunk])
    monitor.close()
    assert monitor.messages == messages


# The real guest: a normal boot has no kernel message, a missing init panics.


def boot_output(guest: Path, append: str) -> str:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    args = [
        "-M", "pc", "-accel", "tcg", "-cpu", "max", "-m", "256", "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-serial", "mon:stdio",
        "-no-reboot", "-kernel", str(guest / "vmlinuz"), "-initrd", str(guest / "initrd.gz"),
        "-append", f"console=ttyS0 panic=-1 {append}",
    ]  # fmt: skip
    child = pexpect.spawn("qemu-system-x86_64", args, encoding="utf-8", codec_errors="replace")
    try:
        child.expect_exact(["root@lava-guest:~# ", pexpect.EOF], timeout=60)
        output = child.before
        if child.isalive():
            child.sendline("poweroff -f")
            child.expect(pexpect.EOF, timeout=10)
            output += child.before
        return output
    finally:
        child.close(force=True)


@pytest.mark.slow
def test_guest_boot_log_has_no_kernel_message(guest: Path) -> None:
    output = boot_output(guest, "")
    assert "Linux version" in output  # a full, not quiet, boot log
    assert scan(output) == []


@pytest.mark.slow
def test_guest_without_init_panics(guest: Path) -> None:
    output = boot_output(guest, "rdinit=/nonexistent")
    messages = scan(output)
    assert [m.kind for m in messages] == ["panic"]
    assert messages[0].fatal
    assert "Unable to mount root fs" in messages[0].message
