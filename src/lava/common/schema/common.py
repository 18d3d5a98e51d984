"""Schema pieces shared by the job, deploy, boot and test schemas."""

from __future__ import annotations

from typing import Any as TypingAny

from voluptuous import (
    PREVENT_EXTRA,
    All,
    Any,
    In,
    Length,
    Match,
    NotIn,
    Optional,
    Range,
    Required,
    Schema,
)

TIMEOUT_UNITS = ("days", "hours", "minutes", "seconds")

RESERVED_NAMESPACES = ("common", "docker-test-shell")

# Keys a job may set in `context`; they also reach device-type template rendering.
QEMU_CONTEXT = (
    "arch",
    "boot_console",
    "boot_root",
    "cpu",
    "extra_options",
    "guestfs_driveid",
    "guestfs_interface",
    "guestfs_size",
    "machine",
    "memory",
    "model",
    "monitor",
    "netdevice",
    "no_kvm",
    "no_network",
    "serial",
    "vga",
)
UBOOT_CONTEXT = tuple(
    f"{command}_{what}_addr"
    for command in ("booti", "bootm", "bootz")
    for what in ("kernel", "ramdisk", "dtb")
)
OTHER_CONTEXT = (
    "boot_character_delay",
    "boot_retry",
    "bootloader_prompt",
    "console_device",
    "custom_kernel_args",
    "deploy_character_delay",
    "extra_kernel_args",
    "extra_nfsroot_args",
    "failure_retry",
    "kernel_loglevel",
    "kernel_start_message",
    "lava_test_results_dir",
    "menu_interrupt_prompt",
    "mustang_menu_list",
    "test_character_delay",
    "tftp_mac_address",
    "uboot_altbank",
    "uboot_extra_error_message",
    "uboot_needs_interrupt",
)
CONTEXT_VARIABLES: tuple[str, ...] = QEMU_CONTEXT + UBOOT_CONTEXT + OTHER_CONTEXT

# A name and an optional tag, as docker itself accepts them.
DOCKER_IMAGE_PATTERN = r"^[a-z0-9]+[a-z0-9._/:-]*[a-z0-9]+(:[a-zA-Z0-9_]+[a-zA-Z0-9._-]*)?$"
SAFE_NAME_PATTERN = r"^[-_a-zA-Z0-9.]+$"

Spec = dict[TypingAny, TypingAny]


def timeout() -> TypingAny:
    """A timeout: exactly one of days/hours/minutes/seconds (at least 1), maybe ``skip``."""
    return Any(
        *({Required(unit): Range(min=1), Optional("skip"): bool} for unit in TIMEOUT_UNITS),
        msg="a timeout is one of days, hours, minutes or seconds (at least 1),"
        " optionally with skip: true/false",
    )


def safe_name() -> TypingAny:
    """Names that become file and result names: letters, digits, ``-``, ``_``, ``.``."""
    return Match(SAFE_NAME_PATTERN, msg=f"name must match {SAFE_NAME_PATTERN}")


def non_empty_str() -> TypingAny:
    return All(str, Length(min=1))


def context(extra_variables: tuple[str, ...] = ()) -> Schema:
    """The ``context`` mapping; closed to unknown keys even in non-strict mode."""
    allowed = CONTEXT_VARIABLES + tuple(extra_variables)
    key = In(allowed, msg="not an allowed context variable (see schema.CONTEXT_VARIABLES)")
    return Schema({key: Any(int, str, [int, str])}, extra=PREVENT_EXTRA)


def action_keys() -> Spec:
    """Keys every action block (deploy, boot, test, command) may carry."""
    return {
        Optional("namespace"): All(
            str,
            NotIn(
                RESERVED_NAMESPACES,
                msg="'common' and 'docker-test-shell' are reserved namespace names",
            ),
        ),
        Optional("connection-namespace"): str,
        Optional("protocols"): object,
        Optional("role"): [str],
        Optional("timeout"): timeout(),
        Optional("timeouts"): {str: timeout()},
        Optional("repeat"): Range(min=1),
        Optional("failure_retry"): Range(min=1),
        Optional("failure_retry_interval"): Range(min=1),
    }


def docker_image() -> TypingAny:
    return Match(DOCKER_IMAGE_PATTERN, msg="Invalid docker image name")


def docker(image_key: str = "image") -> Spec:
    """A container to run in: image name, local or pulled (optionally after a login)."""
    return {
        Required(image_key): docker_image(),
        Optional("local"): bool,
        Optional("container_name"): str,
        Optional("network_from"): str,
        Optional("login"): {
            Required("registry"): str,
            Required("user"): str,
            Required("password"): str,
        },
    }
