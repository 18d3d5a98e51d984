"""Is this text an email address the server would send to? The rules Django's validator applies."""

from __future__ import annotations

import ipaddress
import re

MAX_LENGTH = 320  # RFC 3696, section 3
MAX_LABEL = 63
MAX_IPV6_TEXT = 39  # eight groups of four hex digits and seven colons

# RFC 5322 local part: a dot-atom, or a quoted string with backslash escapes.
ATOM = r"[-!#$%&'*+/=?^_`{}|~0-9A-Z]+"
QUOTED_CHAR = r"[\x01-\x08\x0b\x0c\x0e-\x1f!#-\[\]-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f]"
LOCAL_PART = re.compile(rf'{ATOM}(?:\.{ATOM})*|"(?:{QUOTED_CHAR})*"', re.IGNORECASE)
ADDRESS_LITERAL = re.compile(r"\[([0-9A-F:.]+)\]", re.IGNORECASE)
PUNYCODE_TLD = re.compile(r"xn--[a-z0-9]{1,59}", re.IGNORECASE)


def is_letter(char: str) -> bool:
    # Internationalised names are written as they are; any character past
    # Latin-1's punctuation counts as a letter, as the validator counts it.
    return ("a" <= char.lower() <= "z" and char.isascii()) or "\u00a1" <= char <= "\uffff"


def is_label(label: str, digits: bool = True) -> bool:
    """A DNS label: 1..63 letters, digits or '-', not starting or ending with '-'."""
    if not 1 <= len(label) <= MAX_LABEL or label[0] == "-" or label[-1] == "-":
        return False
    return all(is_letter(c) or c == "-" or (digits and c in "0123456789") for c in label)


def is_domain(domain: str) -> bool:
    """host.example.org style: two labels at least; the last has no digits (or is punycode)."""
    *labels, tld = domain.split(".")
    if not labels or not all(is_label(label) for label in labels):
        return False
    return (len(tld) >= 2 and is_label(tld, digits=False)) or bool(PUNYCODE_TLD.fullmatch(tld))


def is_address_literal(domain: str) -> bool:
    """``[192.0.2.1]`` or ``[2001:db8::1]``."""
    match = ADDRESS_LITERAL.fullmatch(domain)
    if not match:
        return False
    address = match[1]
    try:
        ipaddress.IPv4Address(address)
        return True
    except ValueError:
        pass
    if len(address) > MAX_IPV6_TEXT:
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def is_email_address(value: str) -> bool:
    """True for ``local@domain``: a DNS name, ``localhost`` or an address literal."""
    if not value or "@" not in value or len(value) > MAX_LENGTH:
        return False
    local, domain = value.rsplit("@", 1)
    if not LOCAL_PART.fullmatch(local):
        return False
    return domain == "localhost" or is_domain(domain) or is_address_literal(domain)
