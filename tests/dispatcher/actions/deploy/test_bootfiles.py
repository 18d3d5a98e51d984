"""Preparing boot files for U-Boot: modules into the ramdisk, headers, kernel types."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from lava.common.exceptions import JobError
from lava.dispatcher.actions.deploy.bootfiles import boot_command
from lava.dispatcher.cpio import CpioWriter
from tests.dispatcher.support import uboot


def modules_tarball(path: Path, *, escape: bool = False) -> Path:
    """lib/modules/6.1.0/...: one module, an index, and the `build` link make install leaves."""
    with tarfile.open(path, "w:xz") as tar:
        for name, data in (
            ("lib/modules/6.1.0/kernel/drivers/foo.ko", b"\x7fELF module"),
            ("lib/modules/6.1.0/modules.dep", b"kernel/drivers/foo.ko:\n"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("lib/modules/6.1.0/build")
        link.type, link.linkname = tarfile.SYMTYPE, "/usr/src/linux-6.1.0"
        tar.addfile(link)
        if escape:
            info = tarfile.TarInfo("../../etc/cron.d/evil")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    return path


def deploy(tmp_path: Path, stream: io.StringIO, **ramdisk: Any) -> tuple[Any, Exception | None]:
    files = uboot.boot_files(tmp_path / "files")
    # a real (gzip'd, nearly empty) initramfs
    with gzip.open(files["ramdisk"], "wb") as f, CpioWriter(f) as cpio:
        cpio.add_dir("bin")
    definition = uboot.definition(files)
    deploy_block = definition["actions"][0]["deploy"]
    deploy_block["ramdisk"].update({"compression": "gz", **ramdisk})
    deploy_block["modules"] = {
        "url": modules_tarball(
            tmp_path / "modules.tar.xz", escape=ramdisk.pop("escape", False)
        ).as_uri(),
        "compression": "xz",
    }
    definition["actions"] = definition["actions"][:1]
    job = uboot.build(tmp_path, stream, definition, uboot.device())
    job.validate()
    # The deploy alone, no cleanup: the placed files stay to be looked at.
    try:
        with job.deadlines.frame("test", 60, JobError) as deadline:
            job.pipeline.actions[0].run(None, deadline)
    except JobError as exc:
        return job, exc
    finally:
        job.deadlines.disarm()
    return job, None


def unpacked(path: Path) -> bytes:
    """Every gzip member of the ramdisk, decompressed and joined (the cpio archives)."""
    return gzip.decompress(path.read_bytes())


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


def test_modules_are_added_to_the_ramdisk(tmp_path: Path, stream: io.StringIO) -> None:
    job, error = deploy(tmp_path, stream)
    assert error is None, error
    placed = tmp_path / "tftp" / job.state("common").boot_files.names["ramdisk"]
    content = unpacked(placed)
    assert b"lib/modules/6.1.0/kernel/drivers/foo.ko" in content
    assert b"\x7fELF module" in content
    assert b"lib/modules/6.1.0/build" not in content  # a link outside the tree: left out
    assert "modules" not in job.state("common").boot_files.names  # not served over TFTP
    assert "Added 2 module files" in stream.getvalue()


def test_install_modules_false_serves_the_tarball(tmp_path: Path, stream: io.StringIO) -> None:
    job, error = deploy(tmp_path, stream, install_modules=False)
    assert error is None, error
    names = job.state("common").boot_files.names
    assert "lib/modules" not in unpacked(tmp_path / "tftp" / names["ramdisk"]).decode("latin-1")
    assert names["modules"].endswith("modules/modules.tar")


def test_a_module_path_leaving_the_tree_refuses_the_job(
    tmp_path: Path, stream: io.StringIO
) -> None:
    _, error = deploy(tmp_path, stream, escape=True)
    assert isinstance(error, JobError)
    assert "is not a path inside the archive" in str(error)


@pytest.mark.parametrize(
    ("kernel_type", "groups", "command"),
    [
        ("image", {"booti", "bootm"}, "booti"),
        ("image", {"bootm"}, "bootm"),
        ("zimage", {"bootz"}, "bootz"),
        ("zimage", {"bootm"}, "bootm"),
        ("uimage", {"booti", "bootz"}, "bootm"),
        ("", {"booti"}, ""),
    ],
)
def test_boot_command_for_a_kernel_type(kernel_type: str, groups: set[str], command: str) -> None:
    assert boot_command(kernel_type, groups) == command
