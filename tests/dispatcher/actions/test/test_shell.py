"""lava-test-shell's reading of the runner's output, on a scripted console."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

from lava.common import log
from lava.common.exceptions import ConnectionClosedError, LAVATimeoutError, TestError
from lava.dispatcher.actions.test.shell import TestShellAction, _RunState
from lava.dispatcher.connections.serial import ShellSession
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.pipeline import Job

DEVICE = {"actions": {}, "timeouts": {"actions": {}, "connections": {}}}
DEFINITIONS = [
    {"run": "0_smoke", "repository": "inline", "path": "inline/smoke.yaml", "revision": None},
    {
        "run": "1_parsed",
        "repository": "https://example.org/tests.git",
        "path": "parsed.yaml",
        "revision": "abc",
        "commit_id": "0123abc",
        "parse": {"pattern": r"^(?P<test_case_id>\w+): (?P<result>OK|KO)$",
                  "fixupdict": {"OK": "pass", "KO": "fail"}},
    },
    {"run": "2_expected", "repository": "inline", "path": "e.yaml", "expected": ["a", "b"]},
]  # fmt: skip


def follow(tmp_path: Path, console: str, definitions: list[dict[str, Any]] = DEFINITIONS) -> Any:
    stream = io.StringIO()
    logger = JobLogger(stream)
    job = Job(
        "1", {"timeouts": {"job": {"minutes": 1}}}, Device.from_dict(DEVICE), logger, tmp_path
    )
    action = job.pipeline.add_action(TestShellAction(), {"stage": 0, "definitions": []})
    state = _RunState(action, definitions, {})  # type: ignore[arg-type]
    session = ShellSession(["printf", "%s", console], logger, name="scripted")
    error = None
    try:
        state.follow(session, time.monotonic() + 30)
    except Exception as exc:
        error = exc
    finally:
        state.close()
        session.close()
    records = [log.decode(line) for line in stream.getvalue().splitlines()]
    results = [r["msg"] for r in records if r["lvl"] == "results"]
    return error, results, state


def test_signals_become_results(tmp_path: Path) -> None:
    console = (
        "<LAVA_SIGNAL_STARTRUN 0_smoke 1_1.1>\r\n"
        "<LAVA_SIGNAL_STARTTC uname>\r\nLinux\r\n<LAVA_SIGNAL_ENDTC uname>\r\n"
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=uname RESULT=pass>\r\n"
        "<LAVA_SIGNAL_TESTSET START net>\r\n"
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=speed RESULT=pass UNITS=Mb/s MEASUREMENT=94.5>\r\n"
        "<LAVA_SIGNAL_TESTSET STOP>\r\n"
        "<LAVA_SIGNAL_TESTREFERENCE docs pass https://example.org/x>\r\n"
        "<LAVA_SIGNAL_ENDRUN 0_smoke 1_1.1>\r\n<LAVA_TEST_RUNNER EXIT>\r\n"
    )
    error, results, _ = follow(tmp_path, console)
    assert error is None
    uname, speed, docs, run = results
    assert (uname["definition"], uname["case"], uname["result"]) == ("0_smoke", "uname", "pass")
    assert 0 < uname["starttc"] < uname["endtc"]
    assert speed == {
        "definition": "0_smoke", "case": "speed", "result": "pass",
        "measurement": 94.5, "units": "Mb/s", "set": "net",
    }  # fmt: skip
    assert docs["reference"] == "https://example.org/x" and "set" not in docs
    assert run["definition"] == "lava" and run["case"] == "0_smoke"
    assert run["result"] == "pass" and run["revision"] == "unspecified"


def test_parse_pattern_and_fixupdict(tmp_path: Path) -> None:
    console = (
        "<LAVA_SIGNAL_STARTRUN 1_parsed 1_1.2>\r\nfirst: OK\r\nsecond: KO\r\n"
        "third: maybe\r\nnoise <LAVA_SIGNAL_TESTCASE TEST_CASE_ID=mid RESULT=KO>\r\n"
        "<LAVA_SIGNAL_ENDRUN 1_parsed 1_1.2>\r\nlater: OK\r\n"
        "<LAVA_TEST_RUNNER EXIT>\r\n"
    )
    error, results, _ = follow(tmp_path, console)
    assert error is None
    cases = [(r["definition"], r["case"], r["result"]) for r in results]
    assert cases == [
        ("1_parsed", "first", "pass"),
        ("1_parsed", "second", "fail"),
        ("1_parsed", "mid", "fail"),
        ("lava", "1_parsed", "pass"),
    ]
    assert results[-1]["commit_id"] == "0123abc"


def test_unfinished_run_is_failed_and_eof_is_infrastructure(tmp_path: Path) -> None:
    error, results, _ = follow(tmp_path, "<LAVA_SIGNAL_STARTRUN 0_smoke 1_1.1>\r\nboom\r\n")
    assert isinstance(error, ConnectionClosedError)
    assert results == [
        {"definition": "lava", "case": "0_smoke", "uuid": "1_1.1", "result": "fail",
         "duration": results[0]["duration"]}
    ]  # fmt: skip


def test_test_raise_is_a_test_error(tmp_path: Path) -> None:
    console = "<LAVA_SIGNAL_STARTRUN 0_smoke 1_1.1>\r\n<LAVA_SIGNAL_TESTRAISE disk full>\r\n"
    error, _, _ = follow(tmp_path, console)
    assert isinstance(error, TestError) and str(error) == "disk full"


def test_testcase_before_startrun_is_a_test_error(tmp_path: Path) -> None:
    error, _, _ = follow(tmp_path, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x RESULT=pass>\r\n")
    assert isinstance(error, TestError)


def test_malformed_signal_is_logged_not_fatal(tmp_path: Path) -> None:
    console = (
        "<LAVA_SIGNAL_STARTRUN 0_smoke 1_1.1>\r\n"
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x RESULT=great>\r\n"
        "<LAVA_SIGNAL_ENDRUN 0_smoke 1_1.1>\r\n<LAVA_TEST_RUNNER EXIT>\r\n"
    )
    error, results, _ = follow(tmp_path, console)
    assert error is None
    assert [r["case"] for r in results] == ["0_smoke"]


def test_expected_cases(tmp_path: Path) -> None:
    console = (
        "<LAVA_SIGNAL_STARTRUN 2_expected 1_1.3>\r\n"
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=pass>\r\n"
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=surprise RESULT=pass>\r\n"
        "<LAVA_SIGNAL_ENDRUN 2_expected 1_1.3>\r\n<LAVA_TEST_RUNNER EXIT>\r\n"
    )
    error, results, _ = follow(tmp_path, console)
    assert error is None
    cases = {r["case"]: r["result"] for r in results if r["definition"] == "2_expected"}
    assert cases == {"a": "pass", "surprise": "fail", "b": "fail"}


def test_install_failure_fails_the_stage(tmp_path: Path) -> None:
    error, results, state = follow(
        tmp_path, "<LAVA_TEST_RUNNER INSTALL_FAIL>\r\n<LAVA_TEST_RUNNER EXIT>\r\n"
    )
    assert error is None
    assert state.errors == ["Unable to start test stage 0"]
    assert results == [{"definition": "lava", "case": "stage_0", "result": "fail"}]


@pytest.mark.parametrize("seconds", [1])
def test_per_definition_timeout(tmp_path: Path, seconds: int) -> None:
    stream = io.StringIO()
    logger = JobLogger(stream)
    job = Job("1", {}, Device.from_dict(DEVICE), logger, tmp_path)
    action = job.pipeline.add_action(TestShellAction(), {"stage": 0, "definitions": []})
    state = _RunState(action, DEFINITIONS, {"0_smoke": seconds})  # type: ignore[arg-type]
    script = "printf '<LAVA_SIGNAL_STARTRUN 0_smoke 1_1.1>\\r\\n'; sleep 30"
    session = ShellSession(["sh", "-c", script], logger)
    started = time.monotonic()
    with pytest.raises(LAVATimeoutError, match="test definition 0_smoke timed out after 1 seconds"):
        state.follow(session, time.monotonic() + 60)
    session.close()
    assert time.monotonic() - started < 10
