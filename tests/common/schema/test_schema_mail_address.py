"""Which notification addresses the server would accept."""

from __future__ import annotations

import pytest

from lava.common.schema.mail_address import is_email_address

VALID = [
    "lab@example.org",
    "first.last+tag@mail.example.co.uk",
    "o'brien@example.ie",
    "LAB@EXAMPLE.ORG",
    '"two\\ words"@example.org',
    '"escaped\\"quote"@example.org',
    "admin@localhost",
    "lab@[192.0.2.1]",
    "lab@[2001:db8::1]",
    "lab@[0000:0000:0000:0000:0000:ffff:192.0.2.1]",
    "lab@bücher.example",
    "lab@example.xn--p1ai",
    "lab@a-b.example.org",
    "a@" + "b" * 63 + ".org",
]

INVALID = [
    "",
    "plain",
    "someone@",
    "@example.org",
    "a..b@example.org",
    ".a@example.org",
    "a.@example.org",
    "two words@example.org",
    "lab@example",
    "lab@example.o",
    "lab@example.c0m",
    "lab@example.org.",
    "lab@-example.org",
    "lab@example-.org",
    "lab@exa_mple.org",
    "lab@example..org",
    "lab@[300.1.1.1]",
    "lab@[fe80::1%1]",
    "lab@[0000:0000:0000:0000:0000:ffff:192.168.100.200]",  # over 39 characters
    '"two words"@example.org',  # a space inside quotes must be escaped
    "lab@localhost.",
    "lab@example.org\n",
    "a@" + "b" * 64 + ".org",
    "a" * 310 + "@example.org",
]


@pytest.mark.parametrize("address", VALID)
def test_valid(address: str) -> None:
    assert is_email_address(address)


@pytest.mark.parametrize("address", INVALID)
def test_invalid(address: str) -> None:
    assert not is_email_address(address)
