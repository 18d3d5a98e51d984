"""The fetch policy on one host: resolved once, every address checked, messages without secrets."""

from __future__ import annotations

import socket

import pytest

from lava.common.fetch_policy import FetchPolicy, parse_rule
from lava.dispatcher import fetch_guard
from lava.dispatcher.fetch_guard import FetchRefused

DEFAULT = FetchPolicy()


@pytest.mark.parametrize(
    ("url", "quoted"),
    [
        ("http://files.example/k.img", "http://files.example/k.img"),
        (
            "https://bot:s3cr3t@files.example/k?X-Signature=abc#f",
            "https://bot:***@files.example/k?***",
        ),
        ("https://t0ken@files.example:8443/k", "https://***@files.example:8443/k"),
        ("http://files.example/" + "a" * 300, "http://files.example/" + "a" * 176 + "..."),
    ],
)
def test_urls_are_quoted_without_their_secrets(url: str, quoted: str) -> None:
    assert fetch_guard.shown(url) == quoted


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("http://files.example/x", ("files.example", 80)),
        ("https://files.example/x", ("files.example", 443)),
        ("git://git.example/x.git", ("git.example", 9418)),
        ("HTTP://Files.Example:8080/x", ("files.example", 8080)),
        ("http://[::1]:8000/x", ("::1", 8000)),
        ("http://u:p@2130706433/x", ("2130706433", 80)),
    ],
)
def test_endpoints(url: str, endpoint: tuple[str, int]) -> None:
    assert fetch_guard.endpoint(url) == endpoint


def test_a_bad_port_is_the_jobs_error() -> None:
    with pytest.raises(fetch_guard.JobError, match="Port out of range"):
        fetch_guard.endpoint("http://files.example:99999/x")


def test_literal_hosts_need_no_dns() -> None:
    assert fetch_guard.check_literal(DEFAULT, "files.example", 80) is None
    assert fetch_guard.check_literal(DEFAULT, "10.0.0.1", 80) == "10.0.0.1"
    with pytest.raises(FetchRefused, match=r"^0x7f\.1 means 127\.0\.0\.1, a loopback address"):
        fetch_guard.check_literal(DEFAULT, "0x7f.1", 80)
    with pytest.raises(FetchRefused, match=r"^169\.254\.169\.254 is a link-local address"):
        fetch_guard.check_literal(DEFAULT, "169.254.169.254", 80)


def test_every_address_of_a_name_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[object]:
        assert host == "files.example"
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fd00::5", port, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert fetch_guard.resolve(DEFAULT, "files.example", 80) == ["fd00::5", "10.0.0.5"]
    refusing = FetchPolicy(refuse=(parse_rule("fd00::/8"),))
    with pytest.raises(
        FetchRefused, match=r"files\.example resolves to fd00::5, in fd00::/8, which"
    ):
        fetch_guard.resolve(refusing, "files.example", 80)


def test_a_name_that_does_not_resolve() -> None:
    with pytest.raises(socket.gaierror):
        fetch_guard.resolve(DEFAULT, "nowhere.invalid", 80)


def test_refusals_name_the_jobs_url_and_the_redirect() -> None:
    refused = FetchRefused("127.0.0.1 is a loopback address", hop="http://127.0.0.1/x?t=1")
    named = refused.naming("'url' of image 'kernel'", "http://u:pw@files.example/k")
    assert str(named) == (
        "'url' of image 'kernel' 'http://u:***@files.example/k': it redirects to "
        "'http://127.0.0.1/x?***', and 127.0.0.1 is a loopback address"
    )
    direct = FetchRefused("x", hop="http://files.example/k").naming("w", "http://files.example/k")
    assert str(direct) == "w 'http://files.example/k': x"
    assert isinstance(direct, fetch_guard.JobError)


def test_proxies_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    assert not fetch_guard.proxied("http://files.example/x")
    monkeypatch.setenv("https_proxy", "http://proxy.lab:3128")
    monkeypatch.setenv("no_proxy", "internal.lab")
    assert fetch_guard.proxied("https://files.example/x")
    assert not fetch_guard.proxied("http://files.example/x")
    assert not fetch_guard.proxied("https://git.internal.lab/x")
