"""Which QEMU command lines a job may start: an allow-list of options and of what they name.

The command line comes from the device's `options` and `extra`, which the
job's `context` fills in (`extra_options`, `memory`, `netdevice`, `monitor`,
...), and from each image's `image_arg`: all of it is the job's to choose.
QEMU can write host files (`-chardev file`, `-D`), run host commands
(`-monitor`, `-netdev tap,script=`, `guestfwd=...cmd:`) and read host files
into the guest (`-device loader`, `-drive file=`, a qcow2 backing file).
So every option must be in `OPTIONS`, a key=value option may use only the
keys and backends listed for it, and every file it names must resolve
inside the job's directory (or, for the device's own options, a firmware
directory of the system). `check` runs on the final command line, just
before QEMU starts.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from lava.common.exceptions import JobError

FIRMWARE_DIRS = tuple(
    Path(p)
    for p in (
        "/usr/share/qemu",
        "/usr/share/seabios",
        "/usr/share/ovmf",
        "/usr/share/OVMF",
        "/usr/share/AAVMF",
        "/usr/share/qemu-efi-aarch64",
        "/usr/lib/ipxe/qemu",
        "/usr/lib/u-boot",
    )
)
"""Read-only system directories the device's own options may name files in."""


@dataclass(frozen=True)
class Where:
    """Where files named on a command line may be: the job's directory, maybe firmware."""

    job_dir: Path
    firmware: tuple[Path, ...] = ()
    cwd: Path = field(default_factory=Path.cwd)  # QEMU's, for relative paths

    def check(self, option: str, value: str, lookup: bool = False) -> Path | None:
        """The file `value` resolved; JobError naming `option` when it is elsewhere.

        `lookup`: a bare name that is not in the current directory is one QEMU
        looks up in its firmware directories (`-bios bios-256k.bin`).
        """
        if not value:
            return None
        if ":" in value:  # QEMU would read it as a protocol (nbd:, fat:rw:) or a list
            raise JobError(f"QEMU option {option}: '{value[:200]}' is not a plain file path")
        if lookup and "/" not in value and not os.path.lexists(self.cwd / value):
            return None
        real = Path(os.path.realpath(self.cwd / value))
        bases = (self.job_dir, *self.firmware)
        if any(real.is_relative_to(os.path.realpath(base)) for base in bases):
            return real
        places = "the job's directory" + (" or the firmware directories" if self.firmware else "")
        raise JobError(
            f"QEMU option {option}: '{value[:200]}' is outside {places} ({self.job_dir})"
        )


# -- QemuOpts values: `type,key=value,key2`, where ',,' is a comma ----------------------


def split_opts(value: str, implied: str | None = None) -> list[tuple[str, str]]:
    """(key, value) pairs of a QemuOpts string; a bare first item is `implied`, others `=on`."""
    items, current, i = [], [], 0
    while i < len(value):
        if value[i] == ",":
            if value[i + 1 : i + 2] == ",":
                current.append(",")
                i += 2
                continue
            items.append("".join(current))
            current = []
        else:
            current.append(value[i])
        i += 1
    items.append("".join(current))
    pairs = []
    for position, item in enumerate(items):
        key, equal, found = item.partition("=")
        if equal:
            pairs.append((key, found))
        elif position == 0 and implied:
            pairs.append((implied, item))
        else:
            pairs.append((item, "on"))
    return pairs


Check = Callable[[str, str, Where], None]


def anything(option: str, value: str, where: Where) -> None:
    """A value that names nothing on the host (`-m 512`, `-append ...`)."""


def one_of(*allowed: str) -> Check:
    def check(option: str, value: str, where: Where) -> None:
        if value not in allowed:
            raise JobError(
                f"QEMU option {option} {value[:200]} is not allowed (only: {', '.join(allowed)})"
            )

    return check


def host_file(lookup: bool = False) -> Check:
    def check(option: str, value: str, where: Where) -> None:
        where.check(option, value, lookup)

    return check


def disk_image(option: str, value: str, where: Where, image_format: str | None = None) -> None:
    """A disk image: in an allowed place, and not one that makes QEMU open other files."""
    path = where.check(option, value)
    problem = image_problem(path, image_format) if path is not None else None
    if problem:
        raise JobError(f"QEMU option {option}: '{value[:200]}' is {problem}")


def initrd(option: str, value: str, where: Where) -> None:
    """`-initrd FILE`, or a multiboot list `FILE ARGS,FILE ARGS`."""
    for module in value.split(","):
        where.check(option, module.split(" ", 1)[0])


@dataclass(frozen=True)
class KeyVal:
    """A QemuOpts option: the keys it may use, the backends it may name, the files in it."""

    implied: str | None = None
    keys: Collection[str] | None = None  # None: any key but `forbidden`
    forbidden: Collection[str] = ()
    types: Collection[str] | None = None  # allowed values of the `implied` key
    paths: Collection[str] = ()  # keys naming a host file
    lookup: Collection[str] = ()  # ... that QEMU may look up in its firmware directories
    type_keys: dict[str, Collection[str]] = field(default_factory=dict)  # per type

    def __call__(self, option: str, value: str, where: Where) -> None:
        if value.startswith("{"):
            raise JobError(f"QEMU option {option}: JSON values are not allowed")
        pairs = split_opts(value, self.implied)
        kinds = [found for key, found in pairs if key == self.implied] or [""]
        for kind in kinds:
            if self.types is not None and kind not in self.types:
                allowed = ", ".join(sorted(self.types))
                raise JobError(f"QEMU option {option} {kind[:80]} is not allowed (only: {allowed})")
        keys = self.type_keys.get(kinds[-1], self.keys)  # QEMU keeps the last one
        for key, found in pairs:
            if key in self.forbidden or (keys is not None and key not in keys):
                raise JobError(f"QEMU option {option}: '{key[:80]}=' is not allowed")
            if key in self.paths:
                where.check(f"{option} {key}=", found, key in self.lookup)


# -- the options with their own rules -------------------------------------------------


def serial(option: str, value: str, where: Where) -> None:
    """A serial port on nothing, or on one of the job's own (harmless) chardevs."""
    if value not in ("none", "null", "vc") and not value.startswith("chardev:"):
        raise JobError(
            f"QEMU option {option} {value[:200]} is not allowed (none, null, chardev:ID)"
        )


DRIVE_KEYS = frozenset(
    {
        *("file", "format", "driver", "if", "index", "media", "snapshot", "cache", "aio", "id"),
        *("readonly", "bus", "unit", "discard", "detect-zeroes", "werror", "rerror", "serial"),
        *("copy-on-read", "cyls", "heads", "secs", "trans", "addr", "node-name"),
        *("auto-read-only", "force-share"),
    }
)
IMAGE_FORMATS = frozenset({"raw", "qcow2"})


def drive(option: str, value: str, where: Where) -> None:
    """`-drive`: a raw or qcow2 file of the job, no protocol, no nested (dotted) options."""
    if value.startswith("{"):
        raise JobError(f"QEMU option {option}: JSON values are not allowed")
    pairs = split_opts(value)
    for key, _found in pairs:
        if key not in DRIVE_KEYS and not key.startswith("throttling."):
            raise JobError(f"QEMU option {option}: '{key[:80]}=' is not allowed")
    formats = [found for key, found in pairs if key in ("format", "driver")]
    for image_format in formats:
        if image_format not in IMAGE_FORMATS:
            raise JobError(
                f"QEMU option {option}: format '{image_format[:80]}' is not allowed (raw, qcow2)"
            )
    for key, found in pairs:
        if key == "file":  # QEMU keeps the last format given
            disk_image(f"{option} file=", found, where, formats[-1] if formats else None)


# Devices that reach the host: its PCI and USB devices, its files and sockets.
DEVICE_DENIED = (
    *("vfio", "vhost", "passthru", "redir", "ivshmem", "9p", "usb-host", "input-host"),
    *("u2f", "usb-mtp", "xen", "x-remote", "pci-assign", "ccid-card-emulated", "hv-syndbg"),
    "pvrdma",
)
DEVICE_FORBIDDEN = frozenset(
    {"host", "hostdevice", "sysfsdev", "evdev", "fd", "fds", "vhostfd", "vhostfds", "rootdir"}
)
DEVICE_PATHS = frozenset({"romfile", "file", "kernel", "initrd"})


def device(option: str, value: str, where: Where) -> None:
    if value.startswith("{"):
        raise JobError(f"QEMU option {option}: JSON values are not allowed")
    for key, driver in split_opts(value, "driver"):
        if key == "driver":
            _check_driver(option, driver)
    KeyVal("driver", forbidden=DEVICE_FORBIDDEN, paths=DEVICE_PATHS, lookup={"romfile"})(
        option, value, where
    )


def _check_driver(option: str, driver: str) -> None:
    if any(denied in driver for denied in DEVICE_DENIED):
        raise JobError(f"QEMU option {option} {driver[:80]} is not allowed (it uses the host)")


def global_property(option: str, value: str, where: Where) -> None:
    """`-global driver.property=value` (or driver=,property=,value=): a device's property."""
    pairs = dict(split_opts(value))
    if {"driver", "property"} <= pairs.keys():
        driver, prop, found = pairs["driver"], pairs["property"], pairs.get("value", "")
    else:
        name, _, found = value.partition("=")
        driver, _, prop = name.rpartition(".")
    _check_driver(option, driver)
    if prop in DEVICE_FORBIDDEN:
        raise JobError(f"QEMU option {option}: '{prop[:80]}' is not allowed")
    if prop in DEVICE_PATHS:
        where.check(f"{option} {driver}.{prop}", found, prop == "romfile")


def acpitable(option: str, value: str, where: Where) -> None:
    """`-acpitable file=A:B` or `data=A:B`: lists of files to put in the guest's tables."""
    for key, found in split_opts(value):
        if key in ("file", "data"):
            for path in found.split(":"):
                where.check(f"{option} {key}=", path)


USER_NET = frozenset(
    {
        *("type", "id", "name", "net", "host", "restrict", "hostname", "dhcpstart", "dns"),
        *("dnssearch", "domainname", "ipv4", "ipv6", "ipv6-net", "ipv6-prefix"),
        *("ipv6-prefixlen", "ipv6-host", "ipv6-dns", "tftp", "bootfile", "tftp-server-name"),
    }
)
NIC = frozenset({"type", "model", "macaddr", "mac", "netdev", "name", "addr", "vectors", "id"})
HUBPORT = frozenset({"type", "id", "hubid", "netdev"})

OPTIONS: dict[str, Check | None] = {
    # flags
    **dict.fromkeys(
        (
            *("nographic", "enable-kvm", "no-reboot", "no-shutdown", "snapshot", "nodefaults"),
            *("no-user-config", "no-acpi", "no-hpet", "usb", "no-fd-bootchk", "mem-prealloc"),
        ),
        None,
    ),
    # values that name nothing on the host
    **dict.fromkeys(
        ("cpu", "smp", "append", "uuid", "k", "vga", "watchdog-action", "action", "sandbox"),
        anything,
    ),
    **dict.fromkeys(("msg", "overcommit", "numa"), anything),
    "m": KeyVal("size", keys={"size", "slots", "maxmem"}),
    "name": KeyVal("guest", keys={"guest", "process", "debug-threads"}),
    "rtc": KeyVal(keys={"base", "clock", "driftfix"}),
    "icount": KeyVal("shift", keys={"shift", "align", "sleep"}),
    "accel": KeyVal("accel"),
    **dict.fromkeys(
        ("machine", "M"),
        KeyVal("type", forbidden={"dumpdtb"}, paths={"dtb", "firmware", "kernel", "initrd"}),
    ),
    # consoles, displays and the monitor: nothing that reaches the host
    "display": one_of("none"),
    "monitor": one_of("none"),
    "parallel": one_of("none", "null"),
    "serial": serial,
    "usbdevice": one_of("tablet", "mouse", "keyboard", "wacom-tablet"),
    "chardev": KeyVal(
        "backend",
        types={"stdio", "null", "ringbuf", "memory", "msmouse", "wctablet", "testdev", "vc"},
        keys={"backend", "id", "signal", "size", "mux", "cols", "rows", "width", "height"},
    ),
    "audiodev": KeyVal("driver", types={"none"}, keys={"driver", "id"}),
    # network: user mode only (tap and bridge run scripts, guestfwd runs commands)
    **dict.fromkeys(
        ("net", "nic"),
        KeyVal(
            "type",
            types={"nic", "user", "none", "hubport"},
            paths={"tftp"},
            type_keys={"nic": NIC, "user": USER_NET | NIC, "none": {"type"}, "hubport": HUBPORT},
        ),
    ),
    "netdev": KeyVal(
        "type",
        types={"user", "hubport"},
        paths={"tftp"},
        type_keys={"user": USER_NET, "hubport": HUBPORT},
    ),
    # devices and the objects behind them
    "device": device,
    "global": global_property,
    "object": KeyVal(
        "qom-type",
        types={
            *("rng-random", "rng-builtin", "iothread", "memory-backend-ram"),
            *("memory-backend-memfd", "throttle-group", "can-bus", "thread-context"),
        },
        type_keys={"rng-random": {"qom-type", "id", "filename"}},
        forbidden={"mem-path"},
    ),
    # files: the job's images, or the system's firmware
    **dict.fromkeys(("kernel", "dtb", "L"), host_file()),
    **dict.fromkeys(("bios", "option-rom"), host_file(lookup=True)),
    "initrd": initrd,
    "drive": drive,
    **dict.fromkeys(
        ("hda", "hdb", "hdc", "hdd", "cdrom", "fda", "fdb", "mtdblock", "sd", "pflash"),
        disk_image,
    ),
    "boot": KeyVal(
        "order",
        keys={"order", "once", "menu", "splash", "splash-time", "reboot-timeout", "strict"},
        paths={"splash"},
    ),
    "smbios": KeyVal(paths={"file"}),
    "fw_cfg": KeyVal("name", keys={"name", "file", "string", "gen_id"}, paths={"file"}),
    "acpitable": acpitable,
}
"""QEMU option (without its dashes) → how its value is checked; None: it takes none."""

RANDOM_SOURCES = ("/dev/urandom", "/dev/random")


def check(args: list[str], where: Where) -> None:
    """JobError naming the first of `args` (the command line without the binary) a job may
    not use."""
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-") or arg in ("-", "--"):
            # QEMU would take it as a disk image.
            raise JobError(f"QEMU argument '{arg[:200]}' is not an option")
        name = arg[2:] if arg.startswith("--") else arg[1:]
        if name not in OPTIONS:
            raise JobError(
                f"QEMU option {arg[:80]} is not allowed on this worker (README: the QEMU options "
                "a job may use)"
            )
        rule = OPTIONS[name]
        if rule is None:
            i += 1
            continue
        if i + 1 >= len(args):
            raise JobError(f"QEMU option {arg} needs a value")
        value = args[i + 1]
        rule(arg, value, where)
        if name == "object":
            _check_random_source(arg, value)
        i += 2


def _check_random_source(option: str, value: str) -> None:
    pairs = dict(split_opts(value, "qom-type"))
    if pairs.get("qom-type") == "rng-random" and pairs.get("filename") not in (
        None,
        *RANDOM_SOURCES,
    ):
        raise JobError(f"QEMU option {option}: rng-random reads only {' or '.join(RANDOM_SOURCES)}")


# -- disk images that name other files ----------------------------------------------------

QCOW_MAGIC = b"QFI\xfb"
QCOW2_EXTERNAL_DATA = 1 << 2
# Formats QEMU probes whose images can name more files on the host (backing files,
# extents, parents, key files).
REFERRING_MAGICS = {
    b"QED\x00": "qed",
    b"KDMV": "vmdk",
    b"# Disk DescriptorFile": "vmdk",
    b"vhdxfile": "vhdx",
    b"conectix": "vpc",
    b"LUKS\xba\xbe": "luks",
}


def image_problem(path: Path, image_format: str | None) -> str | None:
    """Why QEMU must not open this image as `image_format` (None: probed), or None."""
    if image_format == "raw":
        return None  # read as bytes, whatever they look like
    try:
        with path.open("rb") as image:
            head = image.read(512)
    except OSError:
        return None  # QEMU reports a missing file itself
    if head.startswith(QCOW_MAGIC) and len(head) >= 80:
        version, backing = struct.unpack(">IQ", head[4:16])
        if backing:
            return "a qcow image with a backing file, which QEMU would open on the worker"
        if version >= 3 and struct.unpack(">Q", head[72:80])[0] & QCOW2_EXTERNAL_DATA:
            return "a qcow2 image with an external data file, which QEMU would open on the worker"
        return None
    if image_format is None:
        for magic, name in REFERRING_MAGICS.items():
            if head.startswith(magic):
                return f"a {name} image, which can name other files: use format=raw or qcow2"
    return None
