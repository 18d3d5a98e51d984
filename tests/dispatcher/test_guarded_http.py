"""A job's HTTP fetches connect only where the worker's policy allows: each hop, each address.

Real servers on 127.0.0.1 (the worker itself: refused) and 127.0.0.2 (allowed
here, as an admin allows a local artifact cache).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from lava.common.fetch_policy import FetchPolicy, parse_rule
from lava.dispatcher import guarded_http
from lava.dispatcher.fetch_guard import FetchRefused
from tests.support.fetch_servers import Site, site

POLICY = FetchPolicy(allow=(parse_rule("127.0.0.2"),))
LOOPBACK = "a loopback address, which the worker does not fetch from for jobs"


@pytest.fixture
def inside() -> Iterator[Site]:
    """A service of the worker itself (the lab's server, a PDU's API)."""
    with site("127.0.0.1") as server:
        server.put("/secret", b"internal")
        yield server


@pytest.fixture
def cache() -> Iterator[Site]:
    """A server the admin allows."""
    with site("127.0.0.2") as server:
        server.put("/image", b"image bytes")
        yield server


def fetch(url: str, policy: FetchPolicy | None = POLICY, **kwargs: Any) -> bytes:
    with guarded_http.session(policy) as http:
        response = http.get(url, timeout=10, **kwargs)
        return response.content


def test_an_allowed_server_answers(cache: Site) -> None:
    assert fetch(cache.url("/image")) == b"image bytes"


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback"),
        ("localhost", "localhost resolves to 127.0.0.1, a loopback"),
        ("2130706433", "2130706433 means 127.0.0.1, a loopback"),
        ("0x7f.1", "0x7f.1 means 127.0.0.1, a loopback"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1 is an address carrying 127.0.0.1, a loopback"),
        ("::1", "::1 is a loopback"),
    ],
)
def test_the_worker_itself_is_refused(inside: Site, host: str, said: str) -> None:
    url = inside.url("/secret", host=host)
    with pytest.raises(FetchRefused, match=said) as refused:
        fetch(url)
    assert refused.value.hop == url
    assert inside.seen() == []


def test_a_port_rule_allows_that_port_only(inside: Site) -> None:
    policy = FetchPolicy(allow=(parse_rule(f"127.0.0.1:{inside.server_port}"),))
    assert fetch(inside.url("/secret"), policy) == b"internal"
    with pytest.raises(FetchRefused, match=r"127\.0\.0\.1 is a loopback"):
        fetch(inside.url("/secret").replace(str(inside.server_port), "1"), policy)


def test_a_redirect_to_the_worker_is_refused(cache: Site, inside: Site) -> None:
    url = cache.redirect("/moved", inside.url("/secret"))
    with pytest.raises(FetchRefused, match=f"127.0.0.1 is {LOOPBACK}") as refused:
        fetch(url)
    assert refused.value.hop == inside.url("/secret")
    assert cache.seen() == ["/moved"]
    assert inside.seen() == []
    message = str(refused.value.naming("'url' of image 'kernel'", url))
    assert message.startswith(f"'url' of image 'kernel' '{url}': it redirects to ")
    # the allowed hop of a chain still leads where it may
    cache.redirect("/again", cache.url("/image"))
    assert fetch(cache.url("/again")) == b"image bytes"


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local"),
        ("http://[fe80::1]/", "fe80::1 is a link-local"),
        ("http://0.0.0.0:{port}/secret", "0.0.0.0 is an unspecified"),
        ("http://localhost:{port}/secret", "localhost resolves to 127.0.0.1"),
    ],
)
def test_every_hop_is_checked(cache: Site, inside: Site, location: str, said: str) -> None:
    cache.redirect("/hop1", cache.url("/hop2"))
    cache.redirect("/hop2", location.format(port=inside.server_port), status=307)
    with pytest.raises(FetchRefused, match=said):
        fetch(cache.url("/hop1"))
    assert cache.seen() == ["/hop1", "/hop2"]
    assert inside.seen() == []


def fake_dns(monkeypatch: pytest.MonkeyPatch, name: str, *answers: list[str]) -> list[str]:
    """`name` resolves to each of `answers` in turn (the last one from then on); the log of
    the lookups of `name`. Other names resolve as usual."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != name:
            return real(host, port, *args, **kwargs)
        addresses = answers[min(len(asked), len(answers) - 1)]
        asked.append(host)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_rebinding_name_is_connected_to_as_checked(
    monkeypatch: pytest.MonkeyPatch, cache: Site, inside: Site
) -> None:
    """The answer checked is the address connected to: there is no second lookup to win."""
    inside.put("/image", b"internal")
    asked = fake_dns(monkeypatch, "files.lab.test", ["127.0.0.2"], ["127.0.0.1"])
    url = f"http://files.lab.test:{cache.server_port}/image"
    assert fetch(url) == b"image bytes"
    assert asked == ["files.lab.test"]
    assert inside.seen() == []


def test_a_name_with_one_refused_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, cache: Site
) -> None:
    fake_dns(monkeypatch, "files.lab.test", ["127.0.0.2", "169.254.169.254"])
    with pytest.raises(FetchRefused, match=re.escape("files.lab.test resolves to 169.254.169.254")):
        fetch(f"http://files.lab.test:{cache.server_port}/image")
    assert cache.seen() == []


def test_through_a_proxy_the_urls_host_is_checked(
    monkeypatch: pytest.MonkeyPatch, inside: Site
) -> None:
    """The proxy of the environment connects (it may well be on 127.0.0.1): the check is on
    the URL's host, as the worker resolves it; names only the proxy knows go to the proxy."""
    with site("127.0.0.1") as proxy:
        proxy.put("/proxied", b"from the proxy")
        monkeypatch.setenv("http_proxy", proxy.url())
        monkeypatch.setenv("no_proxy", "")
        assert fetch("http://192.0.2.10/image") == b"from the proxy"
        assert fetch("http://files.invalid/image") == b"from the proxy"
        for url in (inside.url("/secret"), "http://localhost/", "http://169.254.169.254/"):
            with pytest.raises(FetchRefused):
                fetch(url)
        assert proxy.seen() == ["http://192.0.2.10/image", "http://files.invalid/image"]
    assert inside.seen() == []


def test_lava_run_by_hand_fetches_anywhere(inside: Site) -> None:
    assert fetch(inside.url("/secret"), policy=None) == b"internal"
