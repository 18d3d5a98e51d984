"""Bootloader command lists: LAVA's `{PLACEHOLDER}` substitution, as pure functions.

A line holding a placeholder whose value is empty is dropped whole: that is
how `tftp {TEE_ADDR} {TEE}` disappears when the job deploys no TEE. Braces
that are not ours (`${filesize}`, a shell's `{a,b}`) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from lava.dispatcher.device import LoadAddresses

PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Z][A-Z0-9_]*)\}")
# Names the dispatcher fills in; any other {NAME} is text.
KNOWN = frozenset(
    {
        "SERVER_IP",
        "LAVA_DISPATCHER_IP",
        "KERNEL",
        "RAMDISK",
        "INITRD",
        "DTB",
        "TEE",
        "KERNEL_ADDR",
        "RAMDISK_ADDR",
        "DTB_ADDR",
        "TEE_ADDR",
        "DTBO_ADDR",
        "BOOTX",
        "NFSROOTFS",
        "NFS_SERVER_IP",
        "LAVA_JOB_ID",
        "LAVA_MAC",
        "ROOT",
        "ROOT_PART",
    }
)


def substitute(commands: Sequence[str], values: Mapping[str, str | None]) -> list[str]:
    """Each command with our placeholders replaced; lines with an empty one dropped."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[name]) if name in KNOWN else match.group(0)

    out = []
    for command in commands:
        names = [name for name in PLACEHOLDER.findall(command) if name in KNOWN]
        if any(not values.get(name) for name in names):
            continue
        out.append(PLACEHOLDER.sub(fill, command))
    return out


def bootx(
    command: str,
    addresses: LoadAddresses,
    has_ramdisk: bool,
    ramdisk_header: str,
    has_tee: bool = False,
) -> str:
    """`{BOOTX}`: `<bootm|bootz|booti> <kernel> <ramdisk> <dtb>` as LAVA builds it.

    The ramdisk is `-` when there is none (or its header is neither u-boot nor
    raw); a raw ramdisk needs its size, `<addr>:${initrd_size}`. With a TEE, the
    TEE's address takes the kernel's place.
    """
    if not command:
        return ""
    first = addresses.tee if has_tee and addresses.tee else addresses.kernel
    if not has_ramdisk or ramdisk_header not in ("u-boot", "raw"):
        ramdisk = "-"
    elif ramdisk_header == "raw":
        ramdisk = f"{addresses.ramdisk}:${{initrd_size}}"
    else:
        ramdisk = addresses.ramdisk
    return f"{command} {first} {ramdisk} {addresses.dtb}"
