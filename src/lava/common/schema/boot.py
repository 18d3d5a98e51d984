"""Boot actions: one schema per ``method:`` value.

``METHODS`` is keyed by the name as LAVA spells it. LAVA finds the schema
through a module name (``-`` → ``_``), so the lookup is by that form and each
schema then checks that ``method`` is spelled exactly as LAVA spells it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any as TypingAny

from voluptuous import Any, Msg, Optional, Required

from .common import Spec, action_keys, docker, non_empty_str

COMMANDS = Any(str, [str])


def prompts() -> Any:
    """Shell prompts to wait for: one string or a list (LAVA accepts both)."""
    return Any(non_empty_str(), [non_empty_str()])


def auto_login() -> Any:
    """Log in at a login prompt, with or without a password."""
    return Any(
        {
            Required("login_prompt"): non_empty_str(),
            Required("username"): str,
            Optional("login_commands"): [non_empty_str()],
        },
        {
            Required("login_prompt"): non_empty_str(),
            Required("username"): str,
            Required("password_prompt"): str,
            Required("password"): str,
            Optional("login_commands"): [str],
        },
    )


def transfer_overlay() -> Any:
    """Send the test overlay over the console: download + unpack, or zmodem + unpack."""
    return Any(
        {
            Required("download_command"): str,
            Required("unpack_command"): str,
            Optional("transfer_method"): str,
        },
        {Required("transfer_method"): Any("zmodem"), Required("unpack_command"): str},
    )


def boot_keys() -> Spec:
    """Keys any boot block accepts besides its own."""
    return {
        **action_keys(),
        Optional("parameters"): {
            Optional("bootloader-final-message"): str,
            Optional("kernel-start-message"): str,
            Optional("shutdown-message"): str,
        },
        Optional("soft_reboot"): Any(str, [str]),
        Optional("ignore_kernel_messages"): bool,
    }


def shell(*, login: bool = True, overlay: bool = True) -> Spec:
    """Keys of methods that end at a shell: prompts, maybe auto-login and overlay transfer."""
    keys: Spec = {Optional("prompts"): prompts()}
    if login:
        keys[Optional("auto_login")] = auto_login()
    if overlay:
        keys[Optional("transfer_overlay")] = transfer_overlay()
    return keys


def build(method: str, own: Spec | None = None) -> Spec:
    check = Msg(method, f"'method' should be '{method}'")
    return {**boot_keys(), Required("method"): check, **(own or {})}


def avh() -> Spec:
    return build(
        "avh",
        {
            Optional("bootargs"): {Optional("normal"): str, Optional("restore"): str},
            Optional("docker"): docker(),
            Required("prompts"): prompts(),
            Optional("auto_login"): auto_login(),
        },
    )


def barebox() -> Spec:
    return build("barebox", {Required("commands"): COMMANDS, **shell()})


def bootloader() -> Spec:
    return build(
        "bootloader",
        {
            Required("bootloader"): str,
            Optional("commands"): [str],
            Optional("use_bootscript"): bool,
            Optional("prompts"): prompts(),
            Optional("reset_connection"): bool,
            Optional("reset_device"): bool,
            Optional("reset"): bool,
        },
    )


def depthcharge() -> Spec:
    return build(
        "depthcharge",
        {
            Required("commands"): COMMANDS,
            Optional("extra_kernel_args"): str,
            Optional("use_bootscript"): bool,
            **shell(),
        },
    )


def docker_boot() -> Spec:
    return build(
        "docker",
        {
            Required("command"): str,
            Optional("prompts"): prompts(),
            Optional("downloads-namespace"): str,
        },
    )


def fastboot() -> Spec:
    return build(
        "fastboot",
        {
            Optional("commands"): [str],
            Optional("use_bootscript"): bool,
            Optional("docker"): docker(),
            **shell(),
        },
    )


def fvp() -> Spec:
    return build(
        "fvp",
        {
            Optional("use_telnet"): bool,
            Required("console_string"): str,
            Optional("feedbacks"): [str],
            Required("image"): str,
            Optional("license_variable"): str,
            Optional("environment"): [str],
            Optional("ubl_license"): str,
            Optional("version_string"): str,
            Required("arguments"): [str],
            Required("docker"): docker("name"),
            Optional("erpc_app"): str,
            Optional("commands"): [str],
            **shell(),
        },
    )


def gdb() -> Spec:
    return build("gdb", {Required("commands"): str, Optional("container"): str})


def grub_keys() -> Spec:
    return {
        Required("commands"): COMMANDS,
        Optional("boot_finished"): Any(str, [str]),
        Optional("reset"): bool,
        Optional("expect_shell"): bool,
        Optional("use_bootscript"): bool,
        **shell(),
    }


def grub() -> Spec:
    return build("grub", grub_keys())


def grub_efi() -> Spec:
    return build("grub-efi", grub_keys())


def ipxe() -> Spec:
    own = {Required("commands"): COMMANDS, Optional("use_bootscript"): bool, **shell()}
    return build("ipxe", own)


def jlink() -> Spec:
    return build(
        "jlink",
        {Optional("prompts"): [str], Optional("commands"): [str], Optional("coretype"): str},
    )


def kexec() -> Spec:
    return build(
        "kexec",
        {
            Required("boot_message"): str,
            Optional("deploy"): bool,
            Optional("command"): str,
            Optional("kernel"): str,
            Optional("dtb"): str,
            Optional("initrd"): str,
            Optional("options"): [str],
            Optional("kernel-config"): str,
            Optional("on_panic"): bool,
            **shell(),
        },
    )


def minimal() -> Spec:
    return build(
        "minimal",
        {
            Optional("pre_power_command"): bool,
            Optional("pre_os_command"): bool,
            Optional("reset"): bool,
            **shell(),
        },
    )


def new_connection() -> Spec:
    return build("new_connection", {Required("connection"): str, **shell()})


def nodebooter() -> Spec:
    return build(
        "nodebooter",
        {
            Required("command"): str,
            Optional("prompts"): prompts(),
            Optional("downloads-namespace"): str,
        },
    )


def qdl() -> Spec:
    return build(
        "qdl",
        {
            Required("firehose_program"): str,
            Required("rawprogram"): str,
            Optional("patch"): str,
            Optional("path"): str,
            Optional("storage"): str,
            Optional("debug"): bool,
            Optional("docker"): docker(),
        },
    )


def qemu() -> Spec:
    return build(
        "qemu",
        {
            Optional("connection"): "serial",
            Optional("media"): "tmpfs",
            Optional("docker"): {**docker(), Optional("binary"): str},
            **shell(),
        },
    )


def qemu_iso() -> Spec:
    return build("qemu-iso", {Required("media"): "img", **shell(overlay=False)})


def qemu_nfs() -> Spec:
    return build("qemu-nfs", {Optional("connection"): "serial", **shell()})


def recovery() -> Spec:
    return build("recovery", {Required("commands"): Any("recovery", "exit")})


def schroot() -> Spec:
    return build(
        "schroot",
        {Optional("prompts"): prompts(), Required("connection"): "ssh", Required("schroot"): str},
    )


def ssh() -> Spec:
    spec = build("ssh", {Optional("prompts"): prompts()})
    # ssh takes host parameters instead of the console messages other methods take
    spec[Optional("parameters")] = {Optional("hostID"): str, Optional("host_key"): str}
    return spec


def u_boot() -> Spec:
    return build(
        "u-boot",
        {
            Required("commands"): COMMANDS,
            Optional("reset"): bool,
            Optional("use_bootscript"): bool,
            **shell(),
        },
    )


def uefi() -> Spec:
    own = {Required("commands"): COMMANDS, Optional("shell_menu"): str}
    return build("uefi", {**own, **shell(overlay=False)})


def uefi_menu() -> Spec:
    own = {Optional("commands"): str, Optional("line_separator"): str}
    return build("uefi-menu", {**own, **shell(overlay=False)})


def uuu() -> Spec:
    return build(
        "uuu",
        {
            Required("commands"): Any(str, [{str: str}]),
            Optional("docker"): docker(),
            Optional("skip_uuu_if_bootloader_valid"): bool,
        },
    )


def bare(method: str) -> Callable[[], Spec]:
    """Methods with no keys of their own (debug probes, flashing tools, monitor)."""
    return lambda: build(method)


METHODS: dict[str, Callable[[], TypingAny]] = {
    "avh": avh,
    "barebox": barebox,
    "bootloader": bootloader,
    "cmsis-dap": bare("cmsis-dap"),
    "depthcharge": depthcharge,
    "dfu": bare("dfu"),
    "docker": docker_boot,
    "fastboot": fastboot,
    "fvp": fvp,
    "gdb": gdb,
    "grub": grub,
    "grub-efi": grub_efi,
    "ipxe": ipxe,
    "jlink": jlink,
    "kexec": kexec,
    "minimal": minimal,
    "monitor": bare("monitor"),
    "musca": lambda: build("musca", {Optional("prompts"): prompts()}),
    "new_connection": new_connection,
    "nodebooter": nodebooter,
    "openocd": bare("openocd"),
    "pyocd": bare("pyocd"),
    "qdl": qdl,
    "qemu": qemu,
    "qemu-iso": qemu_iso,
    "qemu-nfs": qemu_nfs,
    "recovery": recovery,
    "schroot": schroot,
    "ssh": ssh,
    "u-boot": u_boot,
    "uefi": uefi,
    "uefi-menu": uefi_menu,
    "uuu": uuu,
}
