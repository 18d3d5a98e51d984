"""The addresses a worker fetches from for a job: every class, every spelling, the admin's rules."""

from __future__ import annotations

import argparse
import ipaddress
import re

import pytest

from lava.common.fetch_policy import (
    FetchPolicy,
    Rule,
    literal_address,
    parse_rule,
    rule_argument,
)

DEFAULT = FetchPolicy()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback"),
        ("127.255.255.254", "a loopback"),
        ("::1", "a loopback"),
        ("169.254.169.254", "a link-local"),  # cloud metadata
        ("169.254.0.1", "a link-local"),
        ("fe80::1", "a link-local"),
        ("fe80::1%eth0", "a link-local"),
        ("febf:ffff::1", "a link-local"),
        ("0.0.0.0", "an unspecified"),
        ("0.1.2.3", "an unspecified"),
        ("::", "an unspecified"),
        ("224.0.0.1", "a multicast"),
        ("239.255.255.250", "a multicast"),
        ("ff02::1", "a multicast"),
        ("240.0.0.1", "a reserved"),
        ("255.255.255.255", "a reserved"),
        ("100::1", "a reserved"),  # the discard-only prefix
        ("::127.0.0.1", "a reserved"),  # IPv4-compatible, deprecated
        ("fec0::1", "a reserved"),  # site-local, deprecated
    ],
)
def test_refused_by_default(address: str, kind: str) -> None:
    reason = DEFAULT.refusal(address, 80)
    assert reason is not None
    assert reason.startswith(f"{kind} address, which the worker does not fetch from for jobs")
    assert reason.endswith("(lava-worker --allow-fetch-from to allow)")


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",  # labs keep their images on private networks
        "172.16.0.1",
        "192.168.1.10",
        "100.64.0.1",
        "192.0.2.2",
        "8.8.8.8",
        "fd00::2",
        "2001:db8::1",
        "2606:4700:4700::1111",
        "::ffff:10.0.0.1",
        "64:ff9b::808:808",  # NAT64 towards a public server
    ],
)
def test_allowed_by_default(address: str) -> None:
    assert DEFAULT.refusal(address, 443) is None


@pytest.mark.parametrize(
    ("address", "carried", "kind"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1", "a loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "169.254.169.254", "a link-local"),
        ("64:ff9b::7f00:1", "127.0.0.1", "a loopback"),  # NAT64
        ("2002:7f00:1::", "127.0.0.1", "a loopback"),  # 6to4
        ("2002:a9fe:a9fe::1", "169.254.169.254", "a link-local"),
    ],
)
def test_ipv6_carrying_ipv4_is_judged_by_it(address: str, carried: str, kind: str) -> None:
    reason = DEFAULT.refusal(address, 80)
    assert reason is not None and reason.startswith(
        f"an address carrying {carried}, {kind} address"
    )


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # decimal
        ("0x7f.1", "127.0.0.1"),  # hex, short form
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("127.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("fe80::1%25eth0", "fe80::1%25eth0"),
    ],
)
def test_literal_addresses_in_every_spelling(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host", ["localhost", "example.org", "deadbeef", "1e2", "127.0.0.1.nip.io", "", "0x7g"]
)
def test_names_are_not_literal_addresses(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize(
    ("text", "network", "port", "shown"),
    [
        ("10.20.0.0/16", "10.20.0.0/16", None, "10.20.0.0/16"),
        ("127.0.0.1", "127.0.0.1/32", None, "127.0.0.1"),
        ("127.0.0.1:8080", "127.0.0.1/32", 8080, "127.0.0.1:8080"),
        ("127.0.0.0/8:8080", "127.0.0.0/8", 8080, "127.0.0.0/8:8080"),
        ("fd00::/8", "fd00::/8", None, "fd00::/8"),
        ("::1", "::1/128", None, "::1"),
        ("[::1]:8080", "::1/128", 8080, "[::1]:8080"),
        ("[fd00::/8]", "fd00::/8", None, "fd00::/8"),
        (" 192.168.0.0/24 ", "192.168.0.0/24", None, "192.168.0.0/24"),
    ],
)
def test_rules(text: str, network: str, port: int | None, shown: str) -> None:
    rule = parse_rule(text)
    assert rule == Rule(ipaddress.ip_network(network), port)
    assert str(rule) == shown
    assert parse_rule(str(rule)) == rule


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("10.1.2.3/8", "has host bits set"),
        ("lab.example.org", "does not appear to be an IPv4 or IPv6 network"),
        ("127.0.0.1:0", "the port must be between 1 and 65535"),
        ("127.0.0.1:65536", "the port must be between 1 and 65535"),
        ("127.0.0.1:http", "is not a network"),
        ("[::1]:", "is not a network"),
        ("", "is not a network"),
    ],
)
def test_bad_rules_say_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_rule(text)
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(f"'{text}'")):
        rule_argument(text)


def test_an_allowance_lifts_a_default_refusal_for_its_port_only() -> None:
    policy = FetchPolicy(allow=(parse_rule("127.0.0.1:8080"),))
    assert policy.refusal("127.0.0.1", 8080) is None
    assert policy.refusal("::ffff:127.0.0.1", 8080) is None
    assert policy.refusal("127.0.0.1", 8000) is not None  # the lab's own server
    assert policy.refusal("127.0.0.2", 8080) is not None
    assert policy.refusal("::1", 8080) is not None


def test_the_admin_refuses_more_and_a_refusal_wins() -> None:
    policy = FetchPolicy(
        allow=(parse_rule("10.0.0.0/8"), parse_rule("127.0.0.0/8")),
        refuse=(parse_rule("10.20.0.0/16"), parse_rule("127.0.0.1:8000"), parse_rule("fd00::/8")),
    )
    reason = policy.refusal("10.20.3.4", 80)
    assert reason == (
        "in 10.20.0.0/16, which this worker refuses to fetch from for jobs "
        "(lava-worker --refuse-fetch-from)"
    )
    assert policy.refusal("10.21.0.1", 80) is None
    assert policy.refusal("127.0.0.1", 8000) is not None
    assert policy.refusal("127.0.0.1", 8001) is None
    assert policy.refusal("fd00::2", 80) is not None
    assert policy.refusal("::ffff:10.20.0.1", 80) is not None


def test_everything_can_be_allowed() -> None:
    policy = FetchPolicy(allow=(parse_rule("0.0.0.0/0"), parse_rule("::/0")))
    for address in ("127.0.0.1", "169.254.169.254", "::1", "ff02::1", "2002:7f00:1::"):
        assert policy.refusal(address, 80) is None, address
