"""The job log line codec: one ``- {"dt": ..., "lvl": ..., "msg": ...}`` record a line.

Each line is at the same time a one-item YAML list (so a whole log file is a YAML
list, as LAVA and its clients expect) and, after the leading ``- ``, a JSON object
(so we can read it back without a YAML parser). Writing ASCII-only JSON gets us
both: JSON's ``\\uXXXX`` escapes are valid YAML double-quoted escapes. Two details
need care: characters outside the BMP must be written raw (libyaml rejects the
surrogate-pair escapes JSON would use) and floats must carry a dot and a signed
exponent, or YAML 1.1 reads ``1e-05`` as a string.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from lava.common import yamlio

LEVELS: tuple[str, ...] = (
    "exception",
    "error",
    "warning",
    "info",
    "debug",
    "input",
    "target",
    "feedback",
    "event",
    "results",
)
_LEVEL_SET = frozenset(LEVELS)

MAX_LINE = 10**5
"""Lines this long or longer are replaced, as LAVA does, to keep the log loadable."""
TOO_LONG_MSG = "<line way too long ...>"
TOO_LONG_DICT = {"skip": "line way too long ..."}
MASK = "[MASKED]"
MAX_KEY = 1000
"""Longer (encoded) mapping keys in a results message are cut short; YAML's limit is 1024."""

# JSON's spelling of a non-BMP character is an escaped surrogate pair, which libyaml
# rejects: write those characters raw. A lone surrogate (not text at all, and not
# encodable as UTF-8) becomes U+FFFD. The even run of backslashes in front keeps a
# literal "\\ud83d" in the message untouched.
_SURROGATES = re.compile(
    r"(?<!\\)((?:\\\\)*)\\u(?:(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|d[89a-f][0-9a-f]{2})"
)


def _unpair(match: re.Match[str]) -> str:
    if match.group(3) is None:
        return match.group(1) + "\\ufffd"
    high = int(match.group(2), 16)
    low = int(match.group(3), 16)
    return match.group(1) + chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def _float(value: float) -> str:
    if not math.isfinite(value):
        # Neither JSON nor a YAML/JSON common subset can spell these: keep the text.
        return _quote(repr(value))
    text = repr(value)
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def _key(key: Any) -> str:
    text = _quote(str(key))
    if len(text) > MAX_KEY:
        # YAML allows at most 1024 characters in an implicit (JSON-style) key.
        text = _quote(str(key)[: MAX_KEY // 6] + "...")
    return text


def _value(obj: Any) -> str:
    """Encode a results payload: JSON text that YAML 1.1 reads back identically."""
    if isinstance(obj, str):
        return _quote(obj)
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, float):
        return _float(obj)
    if isinstance(obj, Mapping):
        return "{" + ", ".join(f"{_key(k)}: {_value(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ", ".join(_value(v) for v in obj) + "]"
    return _quote(str(obj))


def _mask(obj: Any, secrets: Collection[str]) -> Any:
    if isinstance(obj, str):
        for secret in secrets:
            if secret:
                obj = obj.replace(secret, MASK)
        return obj
    if isinstance(obj, Mapping):
        return {k: _mask(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_mask(v, secrets) for v in obj]
    return obj


def format_dt(dt: datetime) -> str:
    """ISO-8601 in UTC with microseconds and ``+00:00``; a naive datetime is taken as UTC."""
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.isoformat(timespec="microseconds")


def parse_dt(text: str) -> datetime:
    """Read a log ``dt``: with an offset (LAVA ≥ 2026.05) or naive UTC (older LAVA)."""
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def encode(
    lvl: str,
    msg: str | Mapping[str, Any],
    dt: datetime | str | None = None,
    ns: str | None = None,
    *,
    secrets: Collection[str] = (),
) -> str:
    """One log line, ``- {...}``, without the trailing newline.

    ``dt`` defaults to now; ``ns`` is the namespace of ``feedback`` lines; every
    string in ``secrets`` is replaced by ``[MASKED]`` in the message.
    """
    if lvl not in _LEVEL_SET:
        raise ValueError(f"unknown log level {lvl!r}: use one of {', '.join(LEVELS)}")
    if dt is None:
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")
    elif isinstance(dt, str):
        stamp = dt
    else:
        stamp = format_dt(dt)
    if secrets:
        msg = _mask(msg, secrets)
    body = _quote(msg) if isinstance(msg, str) else _value(msg)
    tail = "}" if ns is None else f', "ns": {_quote(ns)}}}'
    line = f'- {{"dt": {_quote(stamp)}, "lvl": "{lvl}", "msg": {body}{tail}'
    if "\\ud" in line:
        line = _SURROGATES.sub(_unpair, line)
    if len(line) - 2 >= MAX_LINE:
        short = TOO_LONG_MSG if isinstance(msg, str) else TOO_LONG_DICT
        return encode(lvl, short, stamp, None if ns is None else ns[:1000])
    return line


def decode(line: str | bytes) -> dict[str, Any]:
    """Parse one log line, with or without its ``- `` prefix, into a dict.

    Our own lines take the JSON path; LAVA's (which may contain YAML-only forms
    such as ``!!float "1.5"`` or ``\\x85``) fall back to the YAML loader.
    """
    if isinstance(line, bytes):
        line = line.decode("utf-8")
    text = line.strip()
    if text.startswith("- "):
        text = text[2:]
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):  # nested too deep for json: YAML's limit says so
        try:
            record = yamlio.load(text)
        except yamlio.YAMLError as exc:
            raise ValueError(f"not a log line: {exc}") from None
    if not isinstance(record, dict) or "lvl" not in record or "msg" not in record:
        raise ValueError(f"not a log line (want a mapping with dt, lvl, msg): {line[:200]!r}")
    dt = record.get("dt")
    if isinstance(dt, datetime):  # an unquoted timestamp in hand-written YAML
        record["dt"] = format_dt(dt)
    return record
