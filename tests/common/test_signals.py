from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lava.common import signals
from lava.common.signals import (
    EndRun,
    EndTestCase,
    InstallFail,
    OtherSignal,
    PatternParser,
    RunnerExit,
    SignalError,
    StartRun,
    StartTestCase,
    TestCase,
    TestEvent,
    TestFeedback,
    TestRaise,
    TestReference,
    TestSetStart,
    TestSetStop,
    find_signal,
    format_signal,
    parse_signal,
)
from tests.support.conformance import CONFORMANCE

needs_conformance = pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason=f"no conformance data at {CONFORMANCE}"
)


def test_constants() -> None:
    assert signals.SIGNAL_RE.pattern == r"<LAVA_SIGNAL_(\S+) ([^>]+)>"
    assert signals.RUNNER_EXIT == "<LAVA_TEST_RUNNER EXIT>"
    assert signals.INSTALL_FAIL == "<LAVA_TEST_RUNNER INSTALL_FAIL>"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("<LAVA_SIGNAL_STARTRUN 0_smoke 1234_1.1.2.1>", StartRun("0_smoke", "1234_1.1.2.1")),
        ("<LAVA_SIGNAL_ENDRUN 0_smoke 1234_1.1.2.1>", EndRun("0_smoke", "1234_1.1.2.1")),
        ("<LAVA_SIGNAL_STARTTC uname>", StartTestCase("uname")),
        ("<LAVA_SIGNAL_ENDTC uname>", EndTestCase("uname")),
        (
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=case RESULT=pass UNITS=ms MEASUREMENT=1.5>",
            TestCase("case", "pass", 1.5, "ms"),
        ),
        ("<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=case RESULT=fail>", TestCase("case", "fail")),
        ("<LAVA_SIGNAL_TESTSET START net>", TestSetStart("net")),
        ("<LAVA_SIGNAL_TESTSET STOP>", TestSetStop()),
        (
            "<LAVA_SIGNAL_TESTREFERENCE case pass https://example.org/x>",
            TestReference("case", "pass", "https://example.org/x"),
        ),
        ("<LAVA_SIGNAL_TESTRAISE disk  is full>", TestRaise("disk is full")),
        ("<LAVA_SIGNAL_TESTFEEDBACK host>", TestFeedback("host")),
        ("<LAVA_SIGNAL_TESTEVENT fw upgraded>", TestEvent("fw upgraded")),
        ("<LAVA_TEST_RUNNER EXIT>", RunnerExit()),
        ("<LAVA_TEST_RUNNER INSTALL_FAIL>", InstallFail()),
        ("<LAVA_SIGNAL_LXCSTART a b>", OtherSignal("LXCSTART", ("a", "b"))),
    ],
)
def test_every_signal(line: str, expected: signals.Signal) -> None:
    assert find_signal(line) == expected
    assert find_signal(f"+ echo noise {line} trailing") == expected
    assert find_signal(format_signal(expected)) == expected


def test_testcase_keys_any_case_any_order_extras_kept() -> None:
    sig = parse_signal(
        "TESTCASE", "measurement=0.25 Units=s result=SKIP Test_Case_Id=t1 ARCH=arm64"
    )
    assert sig == TestCase("t1", "skip", 0.25, "s", {"arch": "arm64"})


def test_testcase_fixupdict() -> None:
    fixup = {"ok": "pass", "bad": "FAIL"}
    assert parse_signal("TESTCASE", "TEST_CASE_ID=a RESULT=ok", fixupdict=fixup).result == "pass"
    assert parse_signal("TESTCASE", "TEST_CASE_ID=a RESULT=bad", fixupdict=fixup).result == "fail"


def test_testcase_value_may_contain_equals() -> None:
    sig = parse_signal("TESTCASE", "TEST_CASE_ID=timens.timerfd.clockid=7 RESULT=pass")
    assert sig == TestCase("timens.timerfd.clockid=7", "pass")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("RESULT=pass", "without TEST_CASE_ID"),
        ("TEST_CASE_ID= RESULT=pass", "without TEST_CASE_ID"),
        ("TEST_CASE_ID=x", "has no RESULT"),
        ("TEST_CASE_ID=x RESULT=for", "result 'for'"),
        ("TEST_CASE_ID=x RESULT=pass MEASUREMENT=fast", "measurement 'fast'"),
        ("TEST_CASE_ID=x RESULT=pass MEASUREMENT=nan", "not a finite number"),
        ("TEST_CASE_ID=my case RESULT=pass", "parameter 'case'"),
        ("TEST_CASE_ID=x =pass", "parameter '=pass'"),
    ],
)
def test_malformed_testcase(params: str, message: str) -> None:
    with pytest.raises(SignalError, match=message):
        parse_signal("TESTCASE", params)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("STARTRUN", "0_smoke", "STARTRUN"),
        ("ENDRUN", "0_smoke a b", "ENDRUN"),
        ("STARTTC", "two words", "STARTTC"),
        ("ENDTC", " ", "nothing"),
        ("TESTSET", "START", "START <set name"),
        ("TESTSET", "BEGIN x", "TESTSET"),
        ("TESTSET", "STOP now", "TESTSET"),
        ("TESTREFERENCE", "case pass", "TESTREFERENCE"),
        ("TESTREFERENCE", "case great http://x", "result 'great'"),
        ("TESTFEEDBACK", "a b", "namespace"),
    ],
)
def test_malformed_signals(name: str, params: str, message: str) -> None:
    with pytest.raises(SignalError, match=message):
        parse_signal(name, params)


def test_signal_error_is_a_value_error() -> None:
    assert issubclass(SignalError, ValueError)


def test_kmsg_forms() -> None:
    start = StartRun("0_smoke", "1_1.1")
    assert format_signal(start, kmsg=True) == "<0><LAVA_SIGNAL_STARTRUN 0_smoke 1_1.1>"
    assert find_signal("<0><LAVA_SIGNAL_STARTRUN 0_smoke 1_1.1>") == start
    assert find_signal("[   42.123456] <LAVA_SIGNAL_STARTRUN 0_smoke 1_1.1>") == start
    assert find_signal("<0>plain kernel text") is None


def test_no_signal() -> None:
    assert find_signal("Linux version 6.1.0") is None
    assert find_signal("<LAVA_SIGNAL_TESTSET>") is None  # no parameters: not a signal


def test_dataclasses_are_frozen_and_hashable() -> None:
    sig = TestCase("a", "pass", extra={"k": "v"})
    assert hash(sig) == hash(TestCase("a", "pass", extra={"k": "v"}))
    with pytest.raises(AttributeError):
        sig.case = "b"  # type: ignore[misc]


@needs_conformance
def test_real_capture_with_signals() -> None:
    # A real LKFT boot log: every signal line parses or is refused with SignalError.
    text = (CONFORMANCE / "kernel-logs" / "kernel-lkft.txt").read_text(errors="replace")
    found: list[signals.Signal] = []
    refused: list[str] = []
    for line in text.splitlines():
        try:
            sig = find_signal(line)
        except SignalError as exc:
            refused.append(str(exc))
            continue
        if sig is not None:
            found.append(sig)
    assert found[0] == StartRun("0_timesync-off", "5710146_2.1.4.1")
    assert EndRun("0_timesync-off", "5710146_2.1.4.1") in found
    cases = [s for s in found if isinstance(s, TestCase)]
    # the capture is full of bogus results (RESULT=for, RESULT=leak...), which LAVA refuses too
    assert len(cases) == 69
    assert len(refused) > 500
    assert TestCase("timens.timens", "pass") in cases
    assert {c.result for c in cases} <= set(signals.RESULTS)
    assert refused and all("result" in r for r in refused)
    assert found[-1] == RunnerExit()
    assert len(found) - 1 + len(refused) == text.count("<LAVA_SIGNAL_")


# --- parse: patterns --------------------------------------------------------------


def test_pattern_parser_basic() -> None:
    parser = PatternParser(r"^(?P<test_case_id>\S+):\s+(?P<result>PASS|FAIL)$", {"PASS": "pass"})
    assert parser.parse("ping: PASS") == {"case": "ping", "result": "pass"}
    assert parser.parse("ping: FAIL") == {"case": "ping", "result": "fail"}  # lower-cased
    assert parser.parse("nothing here") is None


def test_pattern_parser_measurement_and_units() -> None:
    parser = PatternParser(
        r"(?P<test_case_id>\w+) (?P<result>\w+) (?P<measurement>\S+) (?P<units>\w+)"
    )
    assert parser.parse("boot pass 1.25 s") == {
        "case": "boot",
        "result": "pass",
        "measurement": 1.25,
        "units": "s",
    }
    # not a number: the verdict stays, the measurement goes
    assert parser.parse("boot skip N/A s") == {"case": "boot", "result": "skip"}


def test_pattern_parser_skips_cases_with_spaces_and_bad_results() -> None:
    parser = PatternParser(r"^(?P<test_case_id>.+): (?P<result>\w+)$")
    assert parser.parse("two words: pass") is None
    assert parser.parse("  padded : pass") == {"case": "padded", "result": "pass"}
    assert parser.parse("x: maybe") is None


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(?P<test_case_id>", "invalid parse pattern"),
        (r"(?P<result>\w+)", "test_case_id"),
        (r"(?P<test_case_id>\w+)", "result"),
    ],
)
def test_pattern_parser_bad_pattern(pattern: str, message: str) -> None:
    with pytest.raises(SignalError, match=message):
        PatternParser(pattern)


def test_pattern_parser_is_multiline() -> None:
    parser = PatternParser(r"^(?P<test_case_id>\w+)=(?P<result>\w+)$")
    assert list(parser.parse_all("a=pass\nnoise\nb=FAIL\nc=what\n")) == [
        {"case": "a", "result": "pass"},
        {"case": "b", "result": "fail"},
    ]


@needs_conformance
def test_conformance_testdef_pattern() -> None:
    from lava.common import yamlio

    testdef = yamlio.load((CONFORMANCE / "testdefs" / "params.yaml").read_text())
    parser = PatternParser(testdef["parse"]["pattern"], testdef["parse"]["fixupdict"])
    lines = (CONFORMANCE / "testdefs" / "result-data.txt").read_text().splitlines()
    # fixupdict maps pass -> PASS and fail -> UNKNOWN, which are lower-cased
    assert [parser.parse(line) for line in lines] == [
        {"case": "test1a", "result": "pass"},
        {"case": "test2a", "result": "unknown"},
        None,
        None,
    ]


# --- properties ----------------------------------------------------------------------

NAMES = [
    "STARTRUN",
    "ENDRUN",
    "STARTTC",
    "ENDTC",
    "TESTCASE",
    "TESTSET",
    "TESTREFERENCE",
    "TESTRAISE",
    "TESTFEEDBACK",
    "TESTEVENT",
]
words = st.text(
    st.characters(blacklist_categories=("Cs", "Zs", "Cc", "Zl", "Zp"), blacklist_characters="<>="),
    min_size=1,
    max_size=12,
)
VALID_LINES = [
    "<LAVA_SIGNAL_STARTRUN 0_smoke 1234_1.1.2.1>",
    "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=case RESULT=pass UNITS=ms MEASUREMENT=1.5>",
    "<LAVA_SIGNAL_TESTSET START net>",
    "<LAVA_SIGNAL_TESTREFERENCE case pass https://example.org/x>",
    "<LAVA_TEST_RUNNER EXIT>",
]


def _verdict(line: str) -> None:
    try:
        sig = find_signal(line)
    except SignalError as exc:
        assert str(exc)
        return
    assert sig is None or isinstance(sig, signals.Signal)
    if isinstance(sig, TestCase | TestReference):
        assert sig.result in signals.RESULTS


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_random_lines_get_a_verdict(line: str) -> None:
    _verdict(line)


@settings(max_examples=500, deadline=None)
@given(
    base=st.sampled_from(VALID_LINES),
    edits=st.lists(
        st.tuples(st.integers(0, 200), st.sampled_from(["ins", "del", "rep"]), st.text(max_size=3)),
        max_size=5,
    ),
)
def test_mutated_lines_get_a_verdict(base: str, edits: list[tuple[int, str, str]]) -> None:
    line = base
    for pos, op, text in edits:
        pos %= len(line) + 1
        if op == "ins":
            line = line[:pos] + text + line[pos:]
        elif op == "del":
            line = line[:pos] + line[pos + 1 :]
        else:
            line = line[:pos] + text + line[pos + len(text) :]
    _verdict(line)


@settings(max_examples=500, deadline=None)
@given(name=st.sampled_from(NAMES) | words, params=st.text(min_size=1))
def test_parse_signal_never_crashes(name: str, params: str) -> None:
    try:
        sig = parse_signal(name, params)
    except SignalError:
        return
    assert isinstance(sig, signals.Signal)


@settings(max_examples=300, deadline=None)
@given(
    case=words,
    result=st.sampled_from(signals.RESULTS),
    measurement=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    units=st.none() | words,
    kmsg=st.booleans(),
)
def test_testcase_round_trip(
    case: str, result: str, measurement: float | None, units: str | None, kmsg: bool
) -> None:
    sig = TestCase(case, result, measurement, units)
    assert find_signal(format_signal(sig, kmsg=kmsg)) == sig


@settings(max_examples=300, deadline=None)
@given(run=words, uuid=words, message=st.lists(words, min_size=1, max_size=4))
def test_other_signals_round_trip(run: str, uuid: str, message: list[str]) -> None:
    text = " ".join(message)
    for sig in (
        StartRun(run, uuid),
        EndRun(run, uuid),
        StartTestCase(run),
        TestSetStart(run),
        TestReference(run, "fail", uuid),
        TestRaise(text),
        TestEvent(text),
        TestFeedback(run),
    ):
        assert find_signal(format_signal(sig)) == sig


FRAGMENTS = [r"\S+", r"\w+", r".*", r"[a-z]+", r"(pass|fail)", r"\d+(\.\d+)?", "PASS|FAIL", "("]


@settings(max_examples=300, deadline=None)
@given(
    case_re=st.sampled_from(FRAGMENTS),
    result_re=st.sampled_from(FRAGMENTS),
    sep=st.sampled_from([r":\s+", " ", r"\s*=\s*", ""]),
    with_measurement=st.booleans(),
    fixup=st.dictionaries(words, words, max_size=3),
    lines=st.lists(st.text(max_size=40), max_size=5),
)
def test_pattern_parser_always_gives_a_verdict(
    case_re: str,
    result_re: str,
    sep: str,
    with_measurement: bool,
    fixup: dict[str, str],
    lines: list[str],
) -> None:
    pattern = f"^(?P<test_case_id>{case_re}){sep}(?P<result>{result_re})"
    if with_measurement:
        pattern += r" (?P<measurement>\S+) (?P<units>\S+)"
    try:
        parser = PatternParser(pattern, fixup)
    except SignalError:
        return
    for line in [*lines, "ping: pass 1.5 ms", "x=FAIL NaN s"]:
        found = parser.parse(line)
        if found is None:
            continue
        assert found["result"] in signals.RESULTS
        assert found["case"] and " " not in found["case"]
        assert set(found) <= {"case", "result", "measurement", "units"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_random_patterns_are_accepted_or_refused(pattern: str) -> None:
    assume("(?P<test_case_id>" not in pattern)
    with pytest.raises(SignalError):
        PatternParser(pattern)
