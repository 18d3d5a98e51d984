"""Deploy actions: one schema per ``to:`` value.

``METHODS`` is keyed by the name as LAVA spells it. LAVA finds the schema
through a module name (``-`` → ``_``), so the lookup is by that form and each
schema then checks that ``to`` is spelled exactly as LAVA spells it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any as TypingAny

from voluptuous import All, Any, Exclusive, Extra, Length, Match, Optional, Range, Required

from .common import Spec, action_keys, docker, docker_image

COMPRESSIONS = ("bz2", "gz", "xz", "zip", "zstd", None)
OVERLAY_BACKENDS = ("auto", "e2fsprogs", "guestfs")
KERNEL_TYPES = ("image", "uimage", "zimage")
FASTBOOT_REBOOTS = (
    "hard-reset",
    "fastboot-reboot",
    "fastboot-reboot-bootloader",
    "fastboot-reboot-fastboot",
)


def deploy_keys() -> Spec:
    """Keys any deploy block accepts besides its own."""
    return {
        **action_keys(),
        Optional("os"): str,
        Optional("authorize"): "ssh",
        Optional("overlay_backend"): Any(*OVERLAY_BACKENDS),
    }


def download_keys() -> Spec:
    return {
        Required("url"): str,
        Optional("headers"): dict,
        Optional("compression"): Any(*COMPRESSIONS),
        Optional("archive"): "tar",
        Optional("md5sum"): str,
        Optional("sha256sum"): str,
        Optional("sha512sum"): str,
        Optional("use_cache"): bool,
    }


def artifact(extra: Spec | None = None) -> Any:
    """One file to download; a filesystem image may also get files laid over it."""
    plain = {**download_keys(), **(extra or {})}
    with_overlays = {
        **plain,
        Required("format"): Any("cpio.newc", "ext4", "tar"),
        Optional("partition"): int,
        Optional("sparse"): bool,
        Optional("overlay_backend"): Any(*OVERLAY_BACKENDS),
        Required("overlays"): {
            Optional("lava"): bool,
            str: {**download_keys(), Required("format"): Any("file", "tar"), Required("path"): str},
        },
    }
    return Any(plain, with_overlays)


def images(extra: Spec | None = None) -> Spec:
    """A non-empty mapping of label → artifact."""
    return {Required(str, "'images' is empty"): artifact(extra)}


def build(to: TypingAny, own: Spec) -> Spec:
    return {**deploy_keys(), Required("to"): to, **own}


def avh() -> Any:
    image_keys = {
        Optional("format"): "ext4",
        Optional("root_partition"): Range(min=0),
        Optional("type"): "image",  # AVH boots only kernels in Image format
    }
    options = {
        Optional("options"): {
            Optional("model"): str,
            Optional("api_endpoint"): str,
            Optional("project_name"): str,
        }
    }
    package = artifact({**image_keys, Optional("storage_file"): str})
    return Any(
        build("avh", {**options, Required("images"): images(image_keys)}),
        build("avh", {**options, Required("fw_package"): package}),
    )


def docker_deploy() -> Spec:
    return build("docker", {Required("image"): Any(docker_image(), docker("name"))})


def download() -> Spec:
    return build("download", {Required("images"): images()})


def downloads() -> Spec:
    postprocess = {**docker(), Required("steps"): [str], Optional("devices"): [str]}
    return build(
        "downloads",
        {
            Required("images"): images(),
            Optional("uniquify"): bool,
            Optional("postprocess"): {Required("docker"): postprocess},
        },
    )


def fastboot() -> Spec:
    image_keys = {
        Optional("apply-overlay"): bool,
        Optional("root_partition"): Range(min=0),
        Optional("sparse"): bool,
        Optional("reboot"): Any(*FASTBOOT_REBOOTS),
    }
    return build("fastboot", {Required("images"): images(image_keys), Optional("docker"): docker()})


def flasher() -> Spec:
    return build(
        "flasher",
        {
            Required("images"): {str: artifact({Optional("download"): bool})},
            Optional("uniquify"): bool,
        },
    )


def fvp() -> Spec:
    ramdisk = {
        Optional("install_overlay"): bool,
        Optional("compression"): str,
        Optional("header"): "u-boot",
    }
    return build(
        "fvp",
        {Optional("ramdisk"): ramdisk, Optional("uniquify"): bool, Required("images"): images()},
    )


def iso_installer() -> Spec:
    return build(
        "iso-installer",
        {
            Required("images"): {
                Required("iso"): artifact({Optional("image_arg"): str}),
                Required("preseed"): artifact(),
            },
            Required("iso"): {
                Required("installation_size"): str,
                Optional("kernel"): str,
                Optional("initrd"): str,
            },
        },
    )


def mps() -> Spec:
    binaries = {
        Optional("recovery_image"): artifact(),
        Optional(Match(r"test_binary(_\w+)?$")): artifact({Optional("rename"): str}),
    }
    return build("mps", {Required("images"): All(binaries, Length(min=1))})


def musca() -> Spec:
    binary = Required("test_binary", "'images' has no 'test_binary' entry")
    return build("musca", {Required("images"): {binary: artifact()}})


def nbd() -> Spec:
    return build(
        "nbd",
        {
            Required("kernel", msg="needs a kernel to deploy"): artifact(
                {Optional("type"): Any(*KERNEL_TYPES)}
            ),
            Required("nbdroot"): artifact(),
            Required("initrd"): artifact(),
            Optional("dtb"): artifact(),
        },
    )


def nfs() -> Any:
    return Any(
        build("nfs", {Optional("nfsrootfs"): artifact(), Optional("modules"): artifact()}),
        build("nfs", {Required("images"): images({Optional("image_arg"): str})}),
    )


def overlay() -> Spec:
    return build("overlay", {})


def qdl() -> Spec:
    # LAVA accepts either the mapping or anything non-empty here (Any, not All).
    flash = Any({Any(str): artifact(), Optional("apply-overlay"): bool}, Length(min=1))
    return build(
        "qdl",
        {
            Required("qcomflash"): flash,
            Optional("uniquify"): bool,
            Optional("rootfs_image"): str,
        },
    )


def recovery() -> Spec:
    return build("recovery", {Required("images"): images()})


def removable() -> Spec:
    """``sata``, ``sd`` and ``usb``: write an image to removable media from a running OS."""
    tool = {Required("tool"): str, Required("options"): str, Required("prompt"): str}
    return build(
        Any("sata", "sd", "usb"),
        {
            Exclusive("images", "image"): {
                Required("image"): artifact(),
                Optional(str): artifact(),
            },
            Exclusive("image", "image"): artifact({Optional("root_partition"): int}),
            Required("device"): str,
            Optional("download"): tool,
            Optional("writer"): tool,
            Optional("tool"): {Required("prompts"): [str]},
            Optional("uniquify"): bool,
        },
    )


def ssh() -> Spec:
    files = ("firmware", "kernel", "rootfs", "modules")
    return build("ssh", {Optional(name): artifact() for name in files})


def tftp() -> Spec:
    install = {Optional("install_modules"): bool, Optional("install_overlay"): bool}
    return build(
        "tftp",
        {
            Optional("kernel"): artifact({Optional("type"): Any(*KERNEL_TYPES)}),
            Optional("dtb"): artifact(),
            Optional("dtbo"): [artifact()],
            Optional("modules"): artifact(),
            Optional("preseed"): artifact(),
            Optional("ramdisk"): artifact({**install, Optional("header"): "u-boot"}),
            # the root filesystem is either downloaded or already on an NFS server
            Exclusive("nfsrootfs", "nfs"): artifact({**install, Optional("prefix"): str}),
            Exclusive("persistent_nfs", "nfs"): {
                Required("address"): str,
                Optional("install_overlay"): bool,
            },
            Optional("tee"): artifact(),
            Optional("extra_files"): {Extra: artifact()},
        },
    )


def tmpfs() -> Spec:
    return build(
        "tmpfs",
        {
            Required("images"): images({Optional("image_arg"): str}),
            Optional("type"): "monitor",
            Optional("uefi"): artifact(),
        },
    )


def u_boot_ums() -> Spec:
    image = artifact({Optional("root_partition"): Range(min=0)})
    return build("u-boot-ums", {Required("image"): image})


def usbg_ms() -> Spec:
    return build("usbg-ms", {Required("image"): artifact()})


def uuu() -> Spec:
    partition = {Optional("apply-overlay"): bool, Optional("root_partition"): Range(min=0)}
    images_ = {Required("boot"): artifact(), Any(str): artifact(partition)}
    return build(
        "uuu",
        {Required("images"): All(images_, Length(min=1)), Optional("uniquify"): bool},
    )


def vemsd() -> Spec:
    return build("vemsd", {Required("recovery_image"): artifact()})


METHODS: dict[str, Callable[[], TypingAny]] = {
    "avh": avh,
    "docker": docker_deploy,
    "download": download,
    "downloads": downloads,
    "fastboot": fastboot,
    "flasher": flasher,
    "fvp": fvp,
    "iso-installer": iso_installer,
    "mps": mps,
    "musca": musca,
    "nbd": nbd,
    "nfs": nfs,
    "overlay": overlay,
    "qdl": qdl,
    "recovery": recovery,
    "sata": removable,
    "sd": removable,
    "ssh": ssh,
    "tftp": tftp,
    "tmpfs": tmpfs,
    "u-boot-ums": u_boot_ums,
    "usb": removable,
    "usbg-ms": usbg_ms,
    "uuu": uuu,
    "vemsd": vemsd,
}
