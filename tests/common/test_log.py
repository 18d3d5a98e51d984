from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lava.common import log

DT = datetime(2026, 1, 5, 10, 0, 1, 123456, tzinfo=UTC)

LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])


def _yaml_item(line: str, loader: Any) -> Any:
    items = yaml.load(line, Loader=loader)
    assert isinstance(items, list)
    assert len(items) == 1
    return items[0]


def test_levels_are_lavas() -> None:
    assert log.LEVELS == (
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


def test_line_shape_matches_lava() -> None:
    line = log.encode("info", "start: 2 boot-image-retry (timeout 00:02:00) [common]", DT)
    assert line == (
        '- {"dt": "2026-01-05T10:00:01.123456+00:00", "lvl": "info", '
        '"msg": "start: 2 boot-image-retry (timeout 00:02:00) [common]"}'
    )


def test_feedback_namespace_comes_last() -> None:
    line = log.encode("feedback", "hello", DT, ns="host")
    assert line.endswith('"msg": "hello", "ns": "host"}')
    assert list(log.decode(line)) == ["dt", "lvl", "msg", "ns"]


def test_results_dict() -> None:
    msg = {
        "definition": "0_smoke",
        "case": "uname",
        "result": "pass",
        "measurement": 1e-05,
        "starttc": 412,
        "endtc": 415,
    }
    line = log.encode("results", msg, DT)
    assert '"measurement": 1.0e-05' in line
    for loader in LOADERS:
        assert _yaml_item(line, loader)["msg"] == msg
    assert log.decode(line)["msg"] == msg


def test_non_finite_float_does_not_break_the_line() -> None:
    line = log.encode("results", {"measurement": float("nan"), "x": float("-inf")}, DT)
    assert json.loads(line[2:])["msg"] == {"measurement": "nan", "x": "-inf"}
    for loader in LOADERS:
        assert _yaml_item(line, loader)["msg"] == {"measurement": "nan", "x": "-inf"}


def test_default_dt_is_now_utc() -> None:
    before = datetime.now(UTC)
    record = log.decode(log.encode("debug", "x"))
    stamp = log.parse_dt(record["dt"])
    assert before <= stamp <= datetime.now(UTC)
    assert record["dt"].endswith("+00:00")


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'verbose'"):
        log.encode("verbose", "x")


def test_too_long_message_is_replaced() -> None:
    line = log.encode("target", "x" * 100_000, DT)
    assert log.decode(line)["msg"] == "<line way too long ...>"
    line = log.encode("results", {"case": "x", "extra": "y" * 100_000}, DT)
    assert log.decode(line)["msg"] == {"skip": "line way too long ..."}
    # just below the limit is kept
    msg = "x" * (100_000 - 80)
    assert log.decode(log.encode("target", msg, DT))["msg"] == msg


def test_secrets_are_masked() -> None:
    line = log.encode("input", "login hunter2 ok", DT, secrets={"hunter2", ""})
    assert log.decode(line)["msg"] == "login [MASKED] ok"
    line = log.encode("results", {"case": "c", "extra": ["hunter2"]}, DT, secrets=["hunter2"])
    assert log.decode(line)["msg"] == {"case": "c", "extra": ["[MASKED]"]}


def test_non_bmp_characters_are_written_raw() -> None:
    line = log.encode("target", "smile \U0001f600, literal \\ud83d\\ude00", DT)
    assert "\U0001f600" in line
    assert "\\\\ud83d\\\\ude00" in line
    for loader in LOADERS:
        assert _yaml_item(line, loader)["msg"] == "smile \U0001f600, literal \\ud83d\\ude00"


def test_lone_surrogates_become_replacement_character() -> None:
    line = log.encode("target", "a\ud800b", DT)
    for loader in LOADERS:
        assert _yaml_item(line, loader)["msg"] == "a\ufffdb"
    line.encode("utf-8")  # the line can be written to a file


def test_decode_lava_lines() -> None:
    # As LAVA writes them: PyYAML double-quoted style, tagged numbers, naive dt.
    line = (
        '- {"dt": "2023-01-01T10:00:30.500000", "lvl": "results", "msg": {"definition": '
        '"0_smoke", "case": "uname", "result": "pass", "measurement": !!float "1.5", '
        '"starttc": !!int "412"}}'
    )
    record = log.decode(line)
    assert record["msg"]["measurement"] == 1.5
    assert record["msg"]["starttc"] == 412
    assert log.parse_dt(record["dt"]) == datetime(2023, 1, 1, 10, 0, 30, 500000, tzinfo=UTC)
    assert log.decode('{"dt": "x", "lvl": "target", "msg": "caf\\xe9 \\x85"}')["msg"] == "café \x85"


@pytest.mark.parametrize(
    "line", ["", "- ", "- [1, 2]", '- {"lvl": "info"}', "- {unclosed", "plain words"]
)
def test_decode_rejects_non_log_lines(line: str) -> None:
    with pytest.raises(ValueError, match="not a log line"):
        log.decode(line)


def test_decode_bytes_and_newline() -> None:
    line = log.encode("info", "é", DT) + "\n"
    assert log.decode(line.encode("utf-8"))["msg"] == "é"


def test_format_and_parse_dt() -> None:
    assert log.format_dt(datetime(2026, 1, 5, 10, 0, 1)) == "2026-01-05T10:00:01.000000+00:00"
    paris = timezone(timedelta(hours=1))
    assert log.format_dt(datetime(2026, 1, 5, 11, 0, 1, tzinfo=paris)) == (
        "2026-01-05T10:00:01.000000+00:00"
    )
    assert log.parse_dt("2026-01-05T10:00:01.123456") == DT
    assert log.parse_dt("2026-01-05T10:00:01.123456+00:00") == DT
    assert log.parse_dt("2026-01-05T11:00:01.123456+01:00") == DT
    assert log.parse_dt("2026-01-05T10:00:01.123456Z") == DT


def test_whole_file_is_a_yaml_list() -> None:
    lines = [log.encode(lvl, f"m{i}\n\t\x00", DT) for i, lvl in enumerate(log.LEVELS)]
    items = yaml.load("\n".join(lines) + "\n", Loader=LOADERS[-1])
    assert [i["lvl"] for i in items] == list(log.LEVELS)


def test_encode_rate() -> None:
    # The dispatcher logs every console line; encoding must never be the bottleneck.
    n = 50_000
    start = time.perf_counter()
    for _ in range(n):
        log.encode("target", "Linux version 6.1.0-13-arm64 (debian-kernel@lists.debian.org)")
    rate = n / (time.perf_counter() - start)
    assert rate > 50_000, f"{rate:.0f} lines/s"


# --- properties ----------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=150), inner, max_size=4)
    ),
    max_leaves=12,
)
datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def _check_line(line: str, expected: dict[str, Any]) -> None:
    assert "\n" not in line and "\r" not in line
    assert line.startswith("- {")
    assert json.loads(line[2:]) == expected
    for loader in LOADERS:
        assert _yaml_item(line, loader) == expected
    assert log.decode(line) == expected


@settings(max_examples=300, deadline=None)
@given(lvl=st.sampled_from(log.LEVELS), msg=st.text(), dt=datetimes, ns=st.none() | st.text())
def test_text_round_trip(lvl: str, msg: str, dt: datetime, ns: str | None) -> None:
    line = log.encode(lvl, msg, dt, ns)
    expected = {"dt": log.format_dt(dt), "lvl": lvl, "msg": msg}
    if ns is not None:
        expected["ns"] = ns
    _check_line(line, expected)


def test_long_keys_are_cut_to_stay_yaml() -> None:
    line = log.encode("results", {"k" * 2000: 1, "\x00" * 200: 2}, DT)
    assert log.decode(line)["msg"] == {"k" * 166 + "...": 1, "\x00" * 166 + "...": 2}
    for loader in LOADERS:
        assert _yaml_item(line, loader) == log.decode(line)


@settings(max_examples=300, deadline=None)
@given(msg=st.dictionaries(st.text(max_size=150), json_values, max_size=6), dt=datetimes)
def test_results_round_trip(msg: dict[str, Any], dt: datetime) -> None:
    line = log.encode("results", msg, dt)
    _check_line(line, {"dt": log.format_dt(dt), "lvl": "results", "msg": msg})


@settings(max_examples=200, deadline=None)
@given(msg=st.text(), dt=datetimes)
def test_decodes_what_pyyaml_writes(msg: str, dt: datetime) -> None:
    # LAVA dumps with PyYAML: flow style, every scalar double-quoted, one wide line.
    record = {"dt": dt.replace(tzinfo=None).isoformat(), "lvl": "target", "msg": msg}
    text = yaml.safe_dump(
        record, default_flow_style=True, default_style='"', width=10**5, sort_keys=False
    )[:-1]
    if "\n" in text:  # PyYAML folds some line breaks; LAVA splits those lines earlier
        return
    assert log.decode("- " + text) == record


def test_a_line_nested_past_the_json_parsers_depth_is_refused() -> None:
    line = '- {"lvl": "info", "msg": ' + "[" * 50_000 + "]" * 50_000 + "}"
    with pytest.raises(ValueError, match="nested too deeply"):
        log.decode(line)
