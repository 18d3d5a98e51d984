"""Sign-in attempts are rate-limited per client address and per user name.

Each password check costs ~0.27 s of CPU (PBKDF2): without a limit an
anonymous caller could burn the server's CPU and try passwords as fast as it
liked. Every attempt counts, whether it succeeds or not, once against the
client's address and once against the user name it tries; over either rate
it is refused with 429 and Retry-After, before any password is hashed.

The counting is django-ratelimit's; its counters live in the ``ratelimit``
cache (settings.CACHES): diskcache's SQLite files under DATA_DIR, shared by
every gunicorn process of the host, with atomic increments and no service to
run.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage

from .config import UNIX_PEER

IPV6_NETWORK = 64  # one IPv6 host holds a /64: counted as one address


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(
        ipaddress.ip_network(proxy, strict=False) for proxy in proxies if proxy != UNIX_PEER
    )


def _trusted(address: str) -> bool:
    if not address:  # a peer on gunicorn's unix socket: a front on this host, if so set
        return UNIX_PEER in settings.LAVA.trusted_proxies
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.LAVA.trusted_proxies)))


def client_address(request: HttpRequest) -> str:
    """The client's address: the connection's, or behind a trusted proxy, the address that
    proxy says it forwarded for (the last one in X-Forwarded-For no trusted proxy added)."""
    address = request.META.get("REMOTE_ADDR", "")
    if _trusted(address):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            address = hop
            if not _trusted(hop):
                break
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_NETWORK}", strict=False).network_address)
    return str(ip)


def sign_in_wait(request: HttpRequest, username: str) -> int | None:
    """Count one sign-in attempt for the client and for ``username``; the seconds to wait
    when either is over its rate, else None."""
    lava = settings.LAVA
    waits = []
    for group, value, rate in (
        ("sign-in by address", client_address(request), lava.login_rate_per_address),
        ("sign-in by username", username.strip().lower()[:150], lava.login_rate_per_username),
    ):
        usage = get_usage(
            request, group=group, key=lambda _group, _request, v=value: v, rate=rate, increment=True
        )
        if usage is not None and usage["should_limit"]:
            waits.append(max(int(usage["time_left"]), 1))
    return max(waits) if waits else None


def too_many(wait: int) -> HttpResponse:
    """429 with Retry-After."""
    answer = HttpResponse(
        f"Too many sign-in attempts: try again in {wait} s.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    answer["Retry-After"] = str(wait)
    return answer


def limit_sign_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A login view whose POSTs (the attempts) are counted and refused over the rates."""

    @functools.wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            wait = sign_in_wait(request, str(request.POST.get("username", "")))
            if wait is not None:
                return too_many(wait)
        return view(request, *args, **kwargs)

    return limited
