"""The worker's fetch policy applied to one host: resolve it once, check every address.

Callers connect to the addresses `resolve` returns, never to the name again,
so a name that resolves to a public address when checked and to 127.0.0.1
when connected (DNS rebinding) cannot get past. A name that resolves to a
refused address among allowed ones is refused as a whole.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from lava.common.exceptions import JobError
from lava.common.fetch_policy import FetchPolicy, literal_address

DEFAULT_PORTS = {"http": 80, "https": 443, "git": 9418}
MAX_SHOWN = 200


class FetchRefused(JobError):
    """A fetch the worker's policy refuses: the job's fault, named with the rule.

    `hop` is the URL that was refused when it differs from the one the job
    gave (a redirect).
    """

    def __init__(self, detail: str, hop: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.hop = hop

    def naming(self, what: str, url: str) -> FetchRefused:
        """The same refusal, saying which of the job's URLs led to it."""
        via = ""
        if self.hop and self.hop != url:
            via = f"it redirects to '{shown(self.hop)}', and "
        return FetchRefused(f"{what} '{shown(url)}': {via}{self.detail}", self.hop)


def shown(url: str) -> str:
    """`url` as an error may quote it: no password, no query (signed URLs carry tokens there)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        if parts.username is not None:
            netloc = f"{parts.username}:***@{netloc}" if parts.password else f"***@{netloc}"
        url = parts._replace(
            netloc=netloc, query="***" if parts.query else "", fragment=""
        ).geturl()
    except ValueError:
        pass
    return url if len(url) <= MAX_SHOWN else url[: MAX_SHOWN - 3] + "..."


def endpoint(url: str) -> tuple[str, int]:
    """The host and port a fetch of `url` connects to (the scheme's port by default)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise JobError(f"'{shown(url)}': {exc}") from None
    return parts.hostname or "", port or DEFAULT_PORTS.get(parts.scheme.lower(), 80)


def described(host: str, address: str, reason: str) -> str:
    """`host` and the `address` it led to, for a refusal's message."""
    literal = literal_address(host)
    if literal is None:
        return f"{host} resolves to {address}, {reason}"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:  # a spelling only inet_aton reads
        return f"{host} means {address}, {reason}"
    return f"{host} is {reason}"


def proxied(url: str) -> bool:
    """Whether a proxy from the environment (http_proxy, https_proxy, all_proxy) fetches `url`."""
    import urllib.request

    parts = urlsplit(url)
    found = urllib.request.getproxies_environment()
    if not (found.get(parts.scheme.lower()) or found.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(parts.hostname or "", found)


def check_literal(policy: FetchPolicy, host: str, port: int) -> str | None:
    """The address `host` spells, checked without DNS (FetchRefused); None for a name."""
    address = literal_address(host)
    if address is None:
        return None
    reason = policy.refusal(address, port)
    if reason is not None:
        raise FetchRefused(described(host, str(address), reason))
    return str(address)


def resolve(policy: FetchPolicy, host: str, port: int) -> list[str]:
    """Every address of `host`, each allowed by `policy` (else FetchRefused).

    socket.gaierror when the name does not resolve.
    """
    literal = check_literal(policy, host, port)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        reason = policy.refusal(address, port)
        if reason is not None:
            raise FetchRefused(described(host, address, reason))
    return addresses
