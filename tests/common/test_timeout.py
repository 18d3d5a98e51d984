from __future__ import annotations

import pytest

from lava.common.timeout import ACTION_TIMEOUT, Timeout, format_duration, total_seconds


def test_default_is_lava_action_timeout() -> None:
    assert ACTION_TIMEOUT == 30
    assert Timeout.parse(None) == Timeout(30.0)
    assert Timeout.parse({}) == Timeout(30.0)
    assert Timeout.parse({"minutes": 0}) == Timeout(30.0)
    assert Timeout.parse(None, default=90) == Timeout(90.0)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ({"seconds": 10}, 10),
        ({"minutes": 5}, 300),
        ({"hours": 2}, 7200),
        ({"days": 1}, 86400),
        ({"days": 1, "hours": 1, "minutes": 1, "seconds": 1}, 90061),
    ],
)
def test_units_are_summed(value: dict[str, int], seconds: int) -> None:
    assert Timeout.parse(value).seconds == seconds


def test_skip() -> None:
    assert Timeout.parse({"minutes": 5, "skip": True}) == Timeout(300.0, skip=True)
    assert Timeout.parse({"skip": True}) == Timeout(30.0, skip=True)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"minutes": "5"}, "minutes"),
        ({"seconds": 1.5}, "seconds"),
        ({"hours": True}, "hours"),
        ({"seconds": -1}, "seconds"),
        ({"weeks": 1}, "weeks"),
        ({"skip": "yes"}, "skip"),
    ],
)
def test_bad_values_name_the_key(value: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        Timeout.parse(value)


def test_not_a_mapping() -> None:
    with pytest.raises(ValueError, match="mapping"):
        Timeout.parse(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "00:00:00"),
        (59.4, "00:00:59"),
        (59.6, "00:01:00"),
        (120, "00:02:00"),
        (3661, "01:01:01"),
        (90061, "25:01:01"),
        (-3, "00:00:00"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_str_is_duration() -> None:
    assert str(Timeout.parse({"minutes": 2})) == "00:02:00"


def test_a_timeout_too_long_for_a_float_is_a_value_error() -> None:
    # float() of such an int raises OverflowError, which no caller expects
    with pytest.raises(ValueError, match="too long"):
        Timeout.parse({"days": 10**400})


def test_total_seconds_is_exact() -> None:
    assert total_seconds({"days": 10**30, "seconds": 1}) == (10**30 * 86400 + 1, False)
    assert total_seconds({}) == (0, False)
