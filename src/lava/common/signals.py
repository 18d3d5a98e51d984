"""Signals the test shell prints on the DUT console, and ``parse:`` patterns.

The helpers in the overlay (``lava-test-case``, ``lava-test-set``, ...) print
lines such as ``<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot RESULT=pass>``; with
``lava-signal: kmsg`` they write them to ``/dev/kmsg`` behind a ``<0>`` priority
prefix instead, so they may reach us with that prefix or a kernel timestamp in
front. This module turns such a line into a typed value and says clearly what is
wrong with a malformed one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SIGNAL_RE = re.compile(r"<LAVA_SIGNAL_(\S+) ([^>]+)>")
RUNNER_EXIT = "<LAVA_TEST_RUNNER EXIT>"
INSTALL_FAIL = "<LAVA_TEST_RUNNER INSTALL_FAIL>"
KMSG_PREFIX = "<0>"

RESULTS: tuple[str, ...] = ("pass", "fail", "skip", "unknown")
DEFAULT_FIXUPDICT: dict[str, str] = {
    "PASS": "pass",
    "FAIL": "fail",
    "SKIP": "skip",
    "UNKNOWN": "unknown",
}


class SignalError(ValueError):
    """A signal line or a parse pattern is malformed; the message says how."""


@dataclass(frozen=True)
class StartRun:
    """``STARTRUN <idx>_<name> <uuid>``: a test definition starts running."""

    run: str
    uuid: str


@dataclass(frozen=True)
class EndRun:
    """``ENDRUN <idx>_<name> <uuid>``: the definition's run.sh finished."""

    run: str
    uuid: str


@dataclass(frozen=True)
class StartTestCase:
    """``STARTTC <case>``: start of the log lines belonging to a case."""

    case: str


@dataclass(frozen=True)
class EndTestCase:
    """``ENDTC <case>``: end of the log lines belonging to a case."""

    case: str


@dataclass(frozen=True)
class TestCase:
    """``TESTCASE TEST_CASE_ID=.. RESULT=.. [UNITS=..] [MEASUREMENT=..]``."""

    # Not a test class, whatever pytest thinks of the name wherever it is imported.
    __test__ = False

    case: str
    result: str
    measurement: float | None = None
    units: str | None = None
    extra: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class TestSetStart:
    """``TESTSET START <name>``: following cases belong to set ``name``."""

    __test__ = False

    name: str


@dataclass(frozen=True)
class TestSetStop:
    """``TESTSET STOP``: following cases belong to no set."""

    __test__ = False


@dataclass(frozen=True)
class TestReference:
    """``TESTREFERENCE <case> <result> <url>``: a result pointing at a reference."""

    __test__ = False

    case: str
    result: str
    reference: str


@dataclass(frozen=True)
class TestRaise:
    """``TESTRAISE <message>``: the test asks to end the job as Incomplete."""

    __test__ = False

    message: str


@dataclass(frozen=True)
class TestFeedback:
    """``TESTFEEDBACK <namespace>``: read pending output of another namespace."""

    __test__ = False

    namespace: str


@dataclass(frozen=True)
class TestEvent:
    """``TESTEVENT <message>``: an ``event`` log line."""

    __test__ = False

    message: str


@dataclass(frozen=True)
class RunnerExit:
    """``<LAVA_TEST_RUNNER EXIT>``: lava-test-runner has finished the stage."""


@dataclass(frozen=True)
class InstallFail:
    """``<LAVA_TEST_RUNNER INSTALL_FAIL>``: an install.sh failed; the stage is skipped."""


@dataclass(frozen=True)
class OtherSignal:
    """A signal with a name this module does not know, left to protocol handlers."""

    name: str
    params: tuple[str, ...]


Signal = (
    StartRun
    | EndRun
    | StartTestCase
    | EndTestCase
    | TestCase
    | TestSetStart
    | TestSetStop
    | TestReference
    | TestRaise
    | TestFeedback
    | TestEvent
    | RunnerExit
    | InstallFail
    | OtherSignal
)


def check_result(value: str, fixupdict: Mapping[str, str] | None = None) -> str | None:
    """Map ``value`` through ``fixupdict``, lower-case it; None unless pass/fail/skip/unknown."""
    mapped = (DEFAULT_FIXUPDICT if fixupdict is None else fixupdict).get(value, value)
    result = str(mapped).lower()
    return result if result in RESULTS else None


def _measurement(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _exactly(name: str, parts: list[str], count: int, usage: str) -> None:
    if len(parts) != count:
        raise SignalError(
            f"malformed {name} signal: expected {usage}, got {' '.join(parts) or 'nothing'!r}"
        )


def _test_case(parts: list[str], fixupdict: Mapping[str, str] | None) -> TestCase:
    data: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise SignalError(
                f"malformed TESTCASE parameter {part!r}: expected KEY=VALUE "
                "(values cannot contain spaces)"
            )
        data[key.lower()] = value
    case = data.pop("test_case_id", "")
    if not case:
        raise SignalError(f"TESTCASE signal without TEST_CASE_ID: {' '.join(parts)!r}")
    if "result" not in data:
        raise SignalError(f"TESTCASE {case!r} has no RESULT")
    raw = data.pop("result")
    result = check_result(raw, fixupdict)
    if result is None:
        raise SignalError(f"TESTCASE {case!r} has result {raw!r}: use one of {', '.join(RESULTS)}")
    measurement = None
    if "measurement" in data:
        text = data.pop("measurement")
        measurement = _measurement(text)
        if measurement is None:
            raise SignalError(f"TESTCASE {case!r} has measurement {text!r}: not a finite number")
    units = data.pop("units", None)
    return TestCase(case, result, measurement, units, data)


def parse_signal(name: str, params: str, *, fixupdict: Mapping[str, str] | None = None) -> Signal:
    """Turn the two groups of SIGNAL_RE into a typed signal.

    ``fixupdict`` is the test definition's result mapping (LAVA's default maps
    upper-case results). Raises SignalError for a malformed known signal.
    """
    parts = params.split()
    if name in ("STARTRUN", "ENDRUN"):
        _exactly(name, parts, 2, "<index>_<definition name> <uuid>")
        return StartRun(*parts) if name == "STARTRUN" else EndRun(*parts)
    if name in ("STARTTC", "ENDTC"):
        _exactly(name, parts, 1, "one test case name without spaces")
        return StartTestCase(parts[0]) if name == "STARTTC" else EndTestCase(parts[0])
    if name == "TESTCASE":
        return _test_case(parts, fixupdict)
    if name == "TESTSET":
        if parts[:1] == ["START"]:
            _exactly(name, parts, 2, "START <set name without spaces>")
            return TestSetStart(parts[1])
        if parts == ["STOP"]:
            return TestSetStop()
        raise SignalError(f"malformed TESTSET signal {params!r}: expected START <name> or STOP")
    if name == "TESTREFERENCE":
        _exactly(name, parts, 3, "<case> <result> <reference url>")
        result = check_result(parts[1], fixupdict)
        if result is None:
            raise SignalError(
                f"TESTREFERENCE {parts[0]!r} has result {parts[1]!r}: "
                f"use one of {', '.join(RESULTS)}"
            )
        return TestReference(parts[0], result, parts[2])
    if name == "TESTRAISE":
        return TestRaise(" ".join(parts))
    if name == "TESTFEEDBACK":
        _exactly(name, parts, 1, "one namespace name")
        return TestFeedback(parts[0])
    if name == "TESTEVENT":
        return TestEvent(" ".join(parts))
    return OtherSignal(name, tuple(parts))


def find_signal(line: str, *, fixupdict: Mapping[str, str] | None = None) -> Signal | None:
    """The first signal in a console line (kmsg ``<0>`` prefix allowed), or None."""
    match = SIGNAL_RE.search(line)
    if match is not None:
        return parse_signal(match.group(1), match.group(2), fixupdict=fixupdict)
    if RUNNER_EXIT in line:
        return RunnerExit()
    if INSTALL_FAIL in line:
        return InstallFail()
    return None


def format_signal(signal: Signal, *, kmsg: bool = False) -> str:
    """The console line a DUT helper prints for ``signal`` (with ``<0>`` for kmsg)."""
    match signal:
        case StartRun(run, uuid):
            text = f"<LAVA_SIGNAL_STARTRUN {run} {uuid}>"
        case EndRun(run, uuid):
            text = f"<LAVA_SIGNAL_ENDRUN {run} {uuid}>"
        case StartTestCase(case):
            text = f"<LAVA_SIGNAL_STARTTC {case}>"
        case EndTestCase(case):
            text = f"<LAVA_SIGNAL_ENDTC {case}>"
        case TestCase():
            fields = [f"TEST_CASE_ID={signal.case}", f"RESULT={signal.result}"]
            if signal.units is not None:
                fields.append(f"UNITS={signal.units}")
            if signal.measurement is not None:
                fields.append(f"MEASUREMENT={signal.measurement!r}")
            fields.extend(f"{key.upper()}={value}" for key, value in signal.extra.items())
            text = f"<LAVA_SIGNAL_TESTCASE {' '.join(fields)}>"
        case TestSetStart(name):
            text = f"<LAVA_SIGNAL_TESTSET START {name}>"
        case TestSetStop():
            text = "<LAVA_SIGNAL_TESTSET STOP>"
        case TestReference(case, result, reference):
            text = f"<LAVA_SIGNAL_TESTREFERENCE {case} {result} {reference}>"
        case TestRaise(message):
            text = f"<LAVA_SIGNAL_TESTRAISE {message}>"
        case TestFeedback(namespace):
            text = f"<LAVA_SIGNAL_TESTFEEDBACK {namespace}>"
        case TestEvent(message):
            text = f"<LAVA_SIGNAL_TESTEVENT {message}>"
        case RunnerExit():
            text = RUNNER_EXIT
        case InstallFail():
            text = INSTALL_FAIL
        case OtherSignal(name, params):
            text = f"<LAVA_SIGNAL_{name} {' '.join(params)}>"
    return KMSG_PREFIX + text if kmsg else text


class PatternParser:
    """A test definition's ``parse: {pattern, fixupdict}`` applied to console lines.

    The pattern is compiled with ``re.M`` and needs the named groups
    ``test_case_id`` and ``result``; ``measurement`` and ``units`` are optional.
    """

    def __init__(self, pattern: str, fixupdict: Mapping[str, str] | None = None) -> None:
        if not isinstance(pattern, str):
            raise SignalError(f"parse pattern must be a string, not {pattern!r}")
        try:
            self.regex = re.compile(pattern, re.M)
        except re.error as exc:
            raise SignalError(f"invalid parse pattern {pattern!r}: {exc}") from None
        missing = [g for g in ("test_case_id", "result") if g not in self.regex.groupindex]
        if missing:
            raise SignalError(
                f"parse pattern {pattern!r} lacks the named group(s) "
                + ", ".join(f"(?P<{g}>...)" for g in missing)
            )
        if fixupdict is not None and not isinstance(fixupdict, Mapping):
            raise SignalError(f"parse fixupdict must be a mapping, not {fixupdict!r}")
        self.pattern = pattern
        self.fixupdict: dict[str, str] = dict(DEFAULT_FIXUPDICT if fixupdict is None else fixupdict)

    def _result(self, match: re.Match[str]) -> dict[str, Any] | None:
        groups = match.groupdict()
        case = (groups.get("test_case_id") or "").strip()
        raw = groups.get("result")
        # LAVA skips case ids with spaces; an empty one is no case at all.
        if not case or " " in case or raw is None:
            return None
        result = check_result(raw, self.fixupdict)
        if result is None:
            return None
        found: dict[str, Any] = {"case": case, "result": result}
        # A measurement that is not a number (e.g. "N/A" on a skipped case) is
        # dropped; the verdict itself still counts.
        text = groups.get("measurement")
        measurement = None if text is None else _measurement(text)
        if measurement is not None:
            found["measurement"] = measurement
            if groups.get("units") is not None:
                found["units"] = groups["units"]
        return found

    def parse(self, line: str) -> dict[str, Any] | None:
        """``{case, result[, measurement, units]}`` for a matching line, else None."""
        match = self.regex.search(line)
        return None if match is None else self._result(match)

    def parse_all(self, text: str) -> Iterator[dict[str, Any]]:
        """Every result in a block of text, in order."""
        for match in self.regex.finditer(text):
            found = self._result(match)
            if found is not None:
                yield found
