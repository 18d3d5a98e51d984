"""Which network addresses a worker fetches from for a job: not its own, nor reserved ones.

A job's URL may name the worker itself (127.0.0.1: the lab's server, other
local services), the cloud's metadata service (169.254.169.254: credentials)
or anything else the worker reaches; what comes back is copied into the
guest, where the submitter reads it, and the request alone may act on a
service (a PDU's HTTP API). So lava-worker makes lava-run refuse loopback,
link-local, unspecified, multicast and reserved addresses, IPv4 and IPv6; an
IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4) is judged by
that one. Private networks (10/8, 172.16/12, 192.168/16, fc00::/7) stay
allowed: labs keep their images there. The worker's admin adds rules: networks
to refuse (the PDUs' network) and to allow (an artifact cache on
127.0.0.1:8080), each optionally for one port; a refusal wins over an allowance.

Shared by lava-worker (which checks its options) and lava-run (which applies them).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import socket
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUSED_BY_DEFAULT: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "an unspecified"),  # "this network": 0.0.0.0 reaches the host itself
    ("127.0.0.0/8", "a loopback"),
    ("169.254.0.0/16", "a link-local"),  # cloud metadata services live here
    ("224.0.0.0/4", "a multicast"),
    ("240.0.0.0/4", "a reserved"),  # with the broadcast address 255.255.255.255
    ("::/128", "an unspecified"),
    ("::1/128", "a loopback"),
    ("fe80::/10", "a link-local"),
    ("ff00::/8", "a multicast"),
)
"""Networks the worker does not fetch from for jobs unless its admin allows them, and
what kind of address each holds (for the message)."""

_REFUSED = tuple((ipaddress.ip_network(net), kind) for net, kind in REFUSED_BY_DEFAULT)
# IPv6 that is neither global unicast nor unique-local is reserved (IANA), except the above.
_IPV6_UNICAST = (ipaddress.IPv6Network("2000::/3"), ipaddress.IPv6Network("fc00::/7"))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # DNS64 labs reach IPv4 servers through it
# inet_aton's spellings of IPv4 (2130706433, 0x7f.1, 0177.0.0.1, 127.1): names that
# getaddrinfo takes for addresses without asking DNS.
_NUMERIC = re.compile(r"[0-9a-fA-FxX.]+")
_RULE = re.compile(r"\[(?P<bracketed>[^\]]+)\](?::(?P<port6>\d+))?|(?P<v4>[^:]+):(?P<port4>\d+)")
RULE_SYNTAX = "ADDRESS[/PREFIX][:PORT], an IPv6 one in [] when it has a port"


@dataclass(frozen=True)
class Rule:
    """A network, and optionally one port, that the worker's admin allows or refuses."""

    network: Network
    port: int | None = None

    def __str__(self) -> str:
        network = self.network
        text = str(network.network_address if network.num_addresses == 1 else network)
        if self.port is None:
            return text
        return f"[{text}]:{self.port}" if network.version == 6 else f"{text}:{self.port}"

    def matches(self, address: Address, port: int) -> bool:
        """Whether a connection to `address`:`port` falls under the rule."""
        return (
            address.version == self.network.version
            and address in self.network
            and self.port in (None, port)
        )


def parse_rule(text: str) -> Rule:
    """The rule `text` (10.1.0.0/16, 127.0.0.1:8080, [::1]:8080); ValueError saying why not."""
    found = _RULE.fullmatch(text.strip())
    network, port = text.strip(), None
    if found:
        network = found["bracketed"] or found["v4"]
        port = found["port6"] or found["port4"]
    try:
        rule = Rule(ipaddress.ip_network(network), int(port) if port else None)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a network ({RULE_SYNTAX}): {exc}") from None
    if rule.port is not None and not 0 < rule.port < 65536:
        raise ValueError(f"'{text}': the port must be between 1 and 65535")
    return rule


def rule_argument(text: str) -> Rule:
    """`parse_rule` for argparse: a bad rule is a usage error that says why."""
    try:
        return parse_rule(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser, who: str) -> None:
    """--allow-fetch-from and --refuse-fetch-from, for lava-worker and lava-run (`who`:
    "jobs", "the job")."""
    parser.add_argument(
        "--allow-fetch-from",
        type=rule_argument,
        action="append",
        default=[],
        metavar="NETWORK[:PORT]",
        help=f"let {who} fetch from this network (only this port, if given) although it is "
        "loopback, link-local or reserved, e.g. 127.0.0.1:8080 for a local artifact cache "
        "(repeatable)",
    )
    parser.add_argument(
        "--refuse-fetch-from",
        type=rule_argument,
        action="append",
        default=[],
        metavar="NETWORK[:PORT]",
        help=f"never let {who} fetch from this network (only this port, if given), e.g. the "
        "PDUs' network; wins over --allow-fetch-from (repeatable)",
    )


def literal_address(host: str) -> Address | None:
    """The address `host` (as a URL writes it) spells without DNS, in any spelling; else None."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if not _NUMERIC.fullmatch(text):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def judged(address: Address) -> tuple[Address, ...]:
    """The addresses a connection to `address` reaches, for the policy: itself, or the IPv4
    address it carries instead (mapped, NAT64) or as well (6to4)."""
    if isinstance(address, ipaddress.IPv4Address):
        return (address,)
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address in _NAT64:
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    if address.sixtofour is not None:
        return (address, address.sixtofour)
    return (address,)


def default_kind(address: Address) -> str | None:
    """'a loopback', 'a link-local'... for an address refused by default; None otherwise."""
    for network, kind in _REFUSED:
        if address.version == network.version and address in network:
            return kind
    if address.version == 6 and not any(address in net for net in _IPV6_UNICAST):
        return "a reserved"
    return None


@dataclass(frozen=True)
class FetchPolicy:
    """The worker's rules for the addresses lava-run fetches from for a job."""

    allow: tuple[Rule, ...] = ()
    refuse: tuple[Rule, ...] = ()

    def refusal(self, address: str | Address, port: int) -> str | None:
        """Why the worker does not fetch from `address`:`port` for a job; None if it does."""
        found = ipaddress.ip_address(address) if isinstance(address, str) else address
        for reached in judged(found):
            reason = self._refusal(reached, port)
            if reason is not None:
                return reason if reached == found else f"an address carrying {reached}, {reason}"
        return None

    def _refusal(self, address: Address, port: int) -> str | None:
        for rule in self.refuse:
            if rule.matches(address, port):
                return (
                    f"in {rule}, which this worker refuses to fetch from for jobs "
                    "(lava-worker --refuse-fetch-from)"
                )
        if any(rule.matches(address, port) for rule in self.allow):
            return None
        kind = default_kind(address)
        if kind is None:
            return None
        return (
            f"{kind} address, which the worker does not fetch from for jobs "
            "(lava-worker --allow-fetch-from to allow)"
        )
