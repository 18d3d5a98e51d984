"""LAVA's `{PLACEHOLDER}` substitution in bootloader commands, and `{BOOTX}`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lava.dispatcher.actions.boot.substitutions import KNOWN, PLACEHOLDER, bootx, substitute
from lava.dispatcher.device import LoadAddresses

ADDRESSES = LoadAddresses(
    kernel="0x80000000", ramdisk="0x82000000", dtb="0x81000000", tee="0x83000000"
)
VALUES = {
    "SERVER_IP": "10.0.0.1",
    "KERNEL_ADDR": "0x80000000",
    "KERNEL": "7/tftp-deploy-x/kernel/Image",
    "RAMDISK_ADDR": "0x82000000",
    "RAMDISK": "7/tftp-deploy-x/ramdisk/rootfs.cpio.gz",
    "TEE_ADDR": "0x83000000",
    "TEE": None,
    "DTB": "",
}


def test_placeholders_are_filled_in() -> None:
    assert substitute(["setenv serverip {SERVER_IP}", "tftp {KERNEL_ADDR} {KERNEL}"], VALUES) == [
        "setenv serverip 10.0.0.1",
        "tftp 0x80000000 7/tftp-deploy-x/kernel/Image",
    ]


@pytest.mark.parametrize(
    "line",
    ["tftp {TEE_ADDR} {TEE}", "tftp {DTB_ADDR} {DTB}", "setenv x {NFSROOTFS}"],
    ids=["none", "empty", "absent"],
)
def test_a_line_with_an_empty_placeholder_is_dropped_whole(line: str) -> None:
    assert substitute(["dhcp", line, "boot"], VALUES) == ["dhcp", "boot"]


def test_foreign_braces_are_left_alone() -> None:
    commands = [
        "setenv initrd_size ${filesize}",
        "load {lower} {UNKNOWN_NAME} {KERNEL}",
        "echo ${SERVER_IP}",
        "echo {a,b} {}",
    ]
    assert substitute(commands, VALUES) == [
        "setenv initrd_size ${filesize}",
        "load {lower} {UNKNOWN_NAME} 7/tftp-deploy-x/kernel/Image",
        "echo ${SERVER_IP}",
        "echo {a,b} {}",
    ]


def test_an_unknown_empty_name_does_not_drop_the_line() -> None:
    assert substitute(["fdt apply {APPLY_DTBO_COMMANDS}"], {}) == [
        "fdt apply {APPLY_DTBO_COMMANDS}"
    ]


def test_a_value_holding_a_placeholder_is_not_expanded_again() -> None:
    values = {"KERNEL": "{RAMDISK}", "RAMDISK": "{KERNEL}", "KERNEL_ADDR": "{KERNEL_ADDR}"}
    assert substitute(["tftp {KERNEL_ADDR} {KERNEL} {RAMDISK}"], values) == [
        "tftp {KERNEL_ADDR} {RAMDISK} {KERNEL}"
    ]


# -- properties ----------------------------------------------------------------

names = st.sampled_from(sorted(KNOWN))
values = st.dictionaries(names, st.one_of(st.none(), st.text(max_size=20)))
known_token = names.map(lambda n: "{" + n + "}")
command_text = st.lists(
    st.one_of(st.text(max_size=12), known_token, st.just("${filesize}"), st.just("{lower}")),
    max_size=8,
).map("".join)


@given(st.lists(st.text(max_size=40), max_size=5), values)
def test_any_text_never_raises(commands: list[str], mapping: dict[str, str | None]) -> None:
    result = substitute(commands, mapping)
    assert len(result) <= len(commands)


@given(st.lists(st.text(max_size=40), max_size=5), values)
def test_lines_without_our_placeholders_pass_unchanged(
    commands: list[str], mapping: dict[str, str | None]
) -> None:
    plain = [c for c in commands if not any(n in KNOWN for n in PLACEHOLDER.findall(c))]
    assert substitute(plain, mapping) == plain


@given(command_text, st.dictionaries(names, st.text(min_size=1, max_size=20)))
def test_each_placeholder_is_replaced_once_by_its_value(
    command: str, mapping: dict[str, str]
) -> None:
    used = [n for n in PLACEHOLDER.findall(command) if n in KNOWN]
    result = substitute([command], mapping)
    if any(n not in mapping for n in used):
        assert result == []
        return
    # Rebuild the line by hand: the values go in verbatim, nothing is expanded twice.
    expected = PLACEHOLDER.sub(
        lambda m: mapping[m.group(1)] if m.group(1) in KNOWN else m.group(0), command
    )
    assert result == [expected]


@given(command_text)
def test_values_holding_placeholders_are_not_expanded_again(command: str) -> None:
    # Every value names {RAMDISK}, whose own value would show a second pass.
    mapping = {**dict.fromkeys(KNOWN, "{RAMDISK}"), "RAMDISK": "<twice>"}
    [result] = substitute([command], mapping)
    assert result == PLACEHOLDER.sub(
        lambda m: mapping[m.group(1)] if m.group(1) in KNOWN else m.group(0), command
    )
    if "{RAMDISK}" not in command and "<" not in command:
        assert "<twice>" not in result


# -- {BOOTX} -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("has_ramdisk", "header", "expected"),
    [
        (False, "", "booti 0x80000000 - 0x81000000"),
        (False, "u-boot", "booti 0x80000000 - 0x81000000"),
        (True, "", "booti 0x80000000 - 0x81000000"),
        (True, "gzip", "booti 0x80000000 - 0x81000000"),
        (True, "u-boot", "booti 0x80000000 0x82000000 0x81000000"),
        (True, "raw", "booti 0x80000000 0x82000000:${initrd_size} 0x81000000"),
    ],
)
def test_bootx_ramdisk(has_ramdisk: bool, header: str, expected: str) -> None:
    assert bootx("booti", ADDRESSES, has_ramdisk, header) == expected


def test_bootx_tee_address_replaces_the_kernel_address() -> None:
    assert bootx("bootm", ADDRESSES, True, "u-boot", has_tee=True) == (
        "bootm 0x83000000 0x82000000 0x81000000"
    )


def test_bootx_tee_without_an_address_keeps_the_kernel() -> None:
    addresses = LoadAddresses(kernel="0x1", ramdisk="0x2", dtb="0x3")
    assert bootx("bootz", addresses, False, "", has_tee=True) == "bootz 0x1 - 0x3"


def test_bootx_without_a_boot_command_is_empty() -> None:
    # An empty {BOOTX} drops its line, as an unknown kernel type should.
    assert bootx("", ADDRESSES, True, "raw") == ""
    assert substitute(["{BOOTX}"], {"BOOTX": bootx("", ADDRESSES, True, "raw")}) == []


@given(
    st.sampled_from(["bootm", "bootz", "booti"]),
    st.booleans(),
    st.text(max_size=8),
    st.booleans(),
)
def test_bootx_has_four_words(command: str, ramdisk: bool, header: str, tee: bool) -> None:
    words = bootx(command, ADDRESSES, ramdisk, header, tee).split(" ")
    assert words[0] == command and len(words) == 4
    assert words[2] == "-" or words[2].startswith(ADDRESSES.ramdisk)
