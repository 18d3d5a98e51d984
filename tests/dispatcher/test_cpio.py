"""The newc cpio writer, checked against GNU cpio (listing and extraction)."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lava.dispatcher.cpio import CpioWriter, append_cpio

pytestmark = pytest.mark.skipif(shutil.which("cpio") is None, reason="GNU cpio is not installed")


def cpio(args: list[str], data: bytes, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        ["cpio", "--quiet", *args], input=data, capture_output=True, cwd=cwd, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def listing(data: bytes) -> list[str]:
    return cpio(["-t"], data).splitlines()


def extract(data: bytes, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    # Everything stays under dest; device nodes are left out (mknod needs root).
    cpio(["-id", "--no-absolute-filenames", "--nonmatching", "dev/*"], data, cwd=dest)
    return dest


def sample(out: io.BytesIO | Path, compress: bool = False) -> None:
    with CpioWriter(out, compress=compress) as archive:
        archive.add_dir("etc")
        archive.add_file("etc/hostname", b"lava-guest\n")
        archive.add_file("/init", b"#!/bin/sh\necho hi\n", mode=0o755)
        archive.add_symlink("bin/sh", "busybox")
        archive.add_file("bin/busybox", b"\x7fELF" + bytes(range(256)) * 3, mode=0o755)
        archive.add_char_device("dev/console", 5, 1)


def test_listing_matches_gnu_cpio() -> None:
    out = io.BytesIO()
    sample(out)
    data = out.getvalue()
    assert data.startswith(b"070701")
    assert len(data) % 4 == 0
    assert listing(data) == [
        "etc",
        "etc/hostname",
        "init",
        "bin",
        "bin/sh",
        "bin/busybox",
        "dev",
        "dev/console",
    ]


def test_extracted_content_modes_and_links(tmp_path: Path) -> None:
    out = io.BytesIO()
    sample(out)
    root = extract(out.getvalue(), tmp_path / "x")
    assert (root / "etc/hostname").read_bytes() == b"lava-guest\n"
    assert (root / "init").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert os.access(root / "init", os.X_OK)
    assert (root / "etc/hostname").stat().st_mode & 0o777 == 0o644
    assert os.readlink(root / "bin/sh") == "busybox"
    assert (root / "bin/busybox").read_bytes() == b"\x7fELF" + bytes(range(256)) * 3


def test_device_node_and_owner_in_verbose_listing() -> None:
    out = io.BytesIO()
    sample(out)
    lines = cpio(["-tv", "--numeric-uid-gid"], out.getvalue()).splitlines()
    console = next(line for line in lines if line.endswith("dev/console"))
    fields = console.split()
    assert fields[0] == "crw-------"
    assert (fields[2], fields[3]) == ("0", "0")
    assert fields[4:6] == ["5,", "1"]
    assert all(line.split()[2:4] == ["0", "0"] for line in lines)
    assert any(line.startswith("lrwxrwxrwx") and "bin/sh -> busybox" in line for line in lines)


def test_gzip_to_path_is_padded_and_decompresses(tmp_path: Path) -> None:
    path = tmp_path / "initrd.gz"
    sample(path, compress=True)
    data = path.read_bytes()
    assert data[:2] == b"\x1f\x8b"
    assert len(data) % 4 == 0
    plain = io.BytesIO()
    sample(plain)
    # Python's gzip and `gzip -dc` both accept the zero padding after the member.
    assert gzip.decompress(data) == plain.getvalue()
    unzipped = subprocess.run(["gzip", "-dc"], input=data, capture_output=True, check=True)
    assert unzipped.stdout == plain.getvalue()


def test_same_input_same_bytes(tmp_path: Path) -> None:
    first, second = io.BytesIO(), io.BytesIO()
    sample(first, compress=True)
    sample(second, compress=True)
    assert first.getvalue() == second.getvalue()


def test_parent_directories_are_added_once() -> None:
    out = io.BytesIO()
    with CpioWriter(out) as archive:
        archive.add_file("a/b/c/file", b"x")
        archive.add_dir("a/b", mode=0o700)  # already there: ignored
        archive.add_file("a/b/other", b"y")
    assert listing(out.getvalue()) == ["a", "a/b", "a/b/c", "a/b/c/file", "a/b/other"]


def test_add_tree_keeps_executable_bits_and_links(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "etc/init.d").mkdir(parents=True)
    (src / "etc/profile").write_text("export PS1='# '\n")
    (src / "etc/init.d/rcS").write_text("#!/bin/sh\n")
    (src / "etc/init.d/rcS").chmod(0o755)
    (src / "link").symlink_to("etc/profile")
    out = io.BytesIO()
    with CpioWriter(out) as archive:
        archive.add_tree(src, "overlay")
    data = out.getvalue()
    assert listing(data) == [
        "overlay",
        "overlay/etc",
        "overlay/etc/init.d",
        "overlay/etc/init.d/rcS",
        "overlay/etc/profile",
        "overlay/link",
    ]
    root = extract(data, tmp_path / "x")
    assert os.access(root / "overlay/etc/init.d/rcS", os.X_OK)
    assert not os.access(root / "overlay/etc/profile", os.X_OK)
    assert os.readlink(root / "overlay/link") == "etc/profile"


def test_add_tree_at_root(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "init").write_text("#!/bin/sh\n")
    out = io.BytesIO()
    with CpioWriter(out) as archive:
        archive.add_tree(tmp_path / "src", "/")
    assert listing(out.getvalue()) == ["init"]


def test_bad_paths_are_refused(tmp_path: Path) -> None:
    archive = CpioWriter(io.BytesIO())
    with pytest.raises(ValueError, match=r"'\.\.'"):
        archive.add_file("../etc/passwd", b"")
    with pytest.raises(ValueError, match="needs a name"):
        archive.add_file("/", b"")
    with pytest.raises(NotADirectoryError):
        archive.add_tree(tmp_path / "missing", "x")
    archive.close()
    with pytest.raises(ValueError, match="already closed"):
        archive.add_file("late", b"")


def test_append_cpio_pads_the_base_to_four_bytes(tmp_path: Path) -> None:
    base = tmp_path / "initrd.gz"
    base.write_bytes(b"\x1f\x8b" + b"x" * 5)  # 7 bytes: not aligned
    overlay = io.BytesIO()
    with CpioWriter(overlay) as archive:
        archive.add_file("etc/extra", b"overlay\n")
    append_cpio(base, overlay.getvalue())
    data = base.read_bytes()
    assert data[:8] == b"\x1f\x8bxxxxx\0"
    assert data[8:] == overlay.getvalue()


def test_concatenated_archives_extract_in_order(tmp_path: Path) -> None:
    base = tmp_path / "initrd"
    with CpioWriter(base) as archive:
        archive.add_file("etc/motd", b"base\n")
        archive.add_file("etc/keep", b"kept\n")
    overlay = io.BytesIO()
    with CpioWriter(overlay) as archive:
        archive.add_file("etc/motd", b"overlay\n")
    append_cpio(base, overlay.getvalue())
    # GNU cpio stops at the first trailer; read the two archives one after the other,
    # as the kernel does, later entries over earlier ones.
    dest = tmp_path / "x"
    dest.mkdir()
    with open(base, "rb") as stream:
        for _ in range(2):
            subprocess.run(
                ["cpio", "--quiet", "-idu", "--no-absolute-filenames"],
                stdin=stream,
                cwd=dest,
                check=True,
            )
    assert (dest / "etc/motd").read_text() == "overlay\n"
    assert (dest / "etc/keep").read_text() == "kept\n"


names = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12).filter(
        lambda s: s not in (".", "..")
    ),
    min_size=1,
    max_size=6,
    unique=True,
)


@settings(max_examples=30, deadline=None)
@given(names=names, blobs=st.lists(st.binary(max_size=300), min_size=6, max_size=6))
def test_any_files_round_trip(names: list[str], blobs: list[bytes]) -> None:
    out = io.BytesIO()
    with CpioWriter(out) as archive:
        for name, blob in zip(names, blobs, strict=False):
            archive.add_file(f"d/{name}", blob)
    data = out.getvalue()
    assert len(data) % 4 == 0
    with tempfile.TemporaryDirectory() as tmp:
        dest = extract(data, Path(tmp))
        for name, blob in zip(names, blobs, strict=False):
            assert (dest / "d" / name).read_bytes() == blob
