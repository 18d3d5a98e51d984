"""lava-test-shell: start the test runner on the device and turn its signals into results."""

from __future__ import annotations

import re
import time
from typing import Any

import pexpect

from lava.common import signals
from lava.common.exceptions import (
    ConnectionClosedError,
    JobError,
    LAVATimeoutError,
    TestError,
)
from lava.common.timeout import Timeout
from lava.dispatcher.deadline import remaining
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action, RetryAction

LINE_RE = re.compile(r"[^\n]*\n")
# How often the loop wakes up with nothing to read, to check per-definition deadlines.
POLL_SECONDS = 5.0


class TestShellRetry(RetryAction):
    """Retries the whole test shell block on failure (`failure_retry`)."""

    __test__ = False
    name = "lava-test-retry"
    description = "Retry support for Lava Test Shell"
    summary = "Retry support for Lava Test Shell"

    def populate_children(self, parameters: dict[str, Any]) -> None:
        assert self.pipeline is not None
        self.pipeline.add_action(TestShellAction())


class TestShellAction(Action):
    """Runs `lava-test-runner` for one test stage and follows its signals."""

    __test__ = False
    name = "lava-test-shell"
    description = "Executing lava-test-runner"
    summary = "Lava Test Shell"
    timeout_exception = LAVATimeoutError

    def __init__(self) -> None:
        super().__init__()
        self.run_state: _RunState | None = None

    def validate(self) -> None:
        super().validate()
        definitions = self.parameters.get("definitions")
        if not isinstance(definitions, list) or not definitions:
            self.errors.append("Missing test 'definitions'")
            return
        for position, testdef in enumerate(definitions):
            if not isinstance(testdef, dict) or "repository" not in testdef:
                self.errors.append(f"definitions[{position}]: repository missing")
            elif "timeout" in testdef:
                try:
                    Timeout.parse(testdef["timeout"])
                except ValueError as exc:
                    self.errors.append(f"definitions[{position}].timeout: {exc}")

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        session = connection if connection is not None else self.job.connection
        if session is None:
            raise JobError(
                "No connection to the device: a boot action must come before the test action"
            )
        stage = int(self.parameters.get("stage", 0))
        results_dir = self.state.overlay.results_dir
        definitions = self.state.definitions.get(stage)
        if results_dir is None or definitions is None:
            raise JobError(
                "Nothing to run: the test definitions were not deployed "
                "(is the deploy action missing?)"
            )
        if self.timeout.skip:
            self.logger.info(
                "The timeout has 'skip' enabled: if this test block times out, "
                "the job continues with the next action block."
            )
        if not session.prompts:
            session.prompts = [self.job.device.constants.default_shell_prompt]
        wait = self.connection_timeout.seconds
        sh_cmd = self.job.device.constants.lava_test_sh_cmd
        session.sendline(f"export SHELL={sh_cmd}; . {results_dir}/environment")
        if not session.wait_for_prompt(wait, max_end_time):
            raise TestError(f"The shell prompt {session.prompts} did not come back")
        timeouts = {
            f"{d['run']}": Timeout.parse(raw["timeout"]).seconds
            for d, raw in zip(definitions, self.parameters["definitions"], strict=False)
            if isinstance(raw, dict) and raw.get("timeout")
        }
        self.run_state = _RunState(self, definitions, timeouts)
        session.sendline(f"{results_dir}/bin/lava-test-runner {results_dir}/{stage}")
        self.logger.info(
            f"Test shell timeout: {round(remaining(max_end_time))}s, "
            f"{len(definitions)} definition(s) in stage {stage}"
        )
        try:
            self.run_state.follow(session, max_end_time)
        finally:
            self.run_state.close()
        self.results = {
            "definitions": [d["run"] for d in definitions],
            "stage": stage,
        }
        if self.run_state.errors:
            raise TestError("; ".join(self.run_state.errors))
        return session


class _RunState:
    """What the runner has told us so far: the current run, set and patterns."""

    EXIT, INSTALL_FAIL, SIGNAL, EOF, TIMEOUT, LINE = range(6)

    def __init__(
        self,
        action: TestShellAction,
        definitions: list[dict[str, Any]],
        timeouts: dict[str, float],
    ) -> None:
        self.action = action
        self.logger = action.logger
        self.by_run = {d["run"]: d for d in definitions}
        self.timeouts = timeouts
        self.errors: list[str] = []
        self.current: dict[str, Any] | None = None
        self.run_name: str | None = None
        self.run_start = 0.0
        self.run_deadline: float | None = None
        self.test_set: str | None = None
        self.report: dict[str, str] = {}
        self.parser: signals.PatternParser | None = None
        self.markers: dict[str, dict[str, int]] = {}
        self._patterns = self._compile()

    # -- patterns ------------------------------------------------------------
    def _compile(self) -> list[Any]:
        patterns: list[Any] = [
            re.escape(signals.RUNNER_EXIT),
            re.escape(signals.INSTALL_FAIL),
            signals.SIGNAL_RE.pattern,
            pexpect.EOF,
            pexpect.TIMEOUT,
        ]
        if self.parser is not None:
            # Whole lines, so that the definition's pattern sees a line without
            # the pty's `\r` (a `$`-anchored pattern would never match) and
            # never a piece of two lines.
            patterns.append(LINE_RE)
        return patterns

    def follow(self, session: Any, max_end_time: float) -> None:
        """Read the console until the runner exits."""
        while True:
            deadline = max_end_time
            if self.run_deadline is not None:
                deadline = min(deadline, self.run_deadline)
            index = session.expect(self._patterns, POLL_SECONDS, deadline)
            if index == self.EXIT:
                self.logger.info("ok: lava_test_shell seems to have completed")
                return
            if index == self.INSTALL_FAIL:
                self._install_failed()
            elif index == self.SIGNAL:
                name, params = session.match.group(1), session.match.group(2)
                self._signal(name, params)
            elif index == self.LINE:
                if self._line(session.match.group(0)):
                    self.logger.info("ok: lava_test_shell seems to have completed")
                    return
            elif index == self.EOF:
                raise ConnectionClosedError("The device's console closed during the test")
            elif self.run_deadline is not None and time.monotonic() >= self.run_deadline:
                elapsed = round(time.monotonic() - self.run_start)
                raise LAVATimeoutError(
                    f"test definition {self.run_name} timed out after {elapsed} seconds"
                )

    def close(self) -> None:
        """Report a run that started and never ended as failed."""
        if self.current is not None:
            self.logger.error("Marking unfinished test run as failed")
            self.current["duration"] = f"{time.monotonic() - self.run_start:.02f}"
            self.logger.results(self.current)
            self.current = None

    # -- events ----------------------------------------------------------------
    def _install_failed(self) -> None:
        stage = int(self.action.parameters.get("stage", 0))
        self.logger.error(f"Unable to start stage {stage}: the install step failed")
        self.errors.append(f"Unable to start test stage {stage}")
        self.logger.results({"definition": "lava", "case": f"stage_{stage}", "result": "fail"})

    def _signal(self, name: str, params: str) -> None:
        self.logger.debug(f"Received signal: <{name}> {params}")
        try:
            fixupdict = self.parser.fixupdict if self.parser is not None else None
            signal = signals.parse_signal(name, params, fixupdict=fixupdict)
        except signals.SignalError as exc:
            self.logger.error(f"Ignoring malformed signal <{name}> {params}: {exc}")
            return
        handler = getattr(self, f"_on_{type(signal).__name__}", None)
        if handler is not None:
            handler(signal)

    def _on_StartRun(self, sig: signals.StartRun) -> None:
        self.close()
        self.run_name = sig.run
        self.run_start = time.monotonic()
        self.report = {}
        self.test_set = None
        definition = self.by_run.get(sig.run, {})
        seconds = self.timeouts.get(sig.run)
        self.run_deadline = self.run_start + seconds if seconds else None
        self.logger.info(f"Starting test lava.{sig.run} ({sig.uuid})")
        parse = definition.get("parse")
        self.parser = None
        if parse and parse.get("pattern"):
            try:
                self.parser = signals.PatternParser(parse["pattern"], parse.get("fixupdict"))
            except signals.SignalError as exc:
                raise TestError(f"{sig.run}: invalid parse pattern: {exc}") from exc
            self.logger.info(f"Enabling test definition pattern {parse['pattern']!r}")
        self._patterns = self._compile()
        self.current = {"definition": "lava", "case": sig.run, "uuid": sig.uuid, "result": "fail"}
        if definition.get("commit_id"):
            self.current["commit_id"] = definition["commit_id"]

    def _on_EndRun(self, sig: signals.EndRun) -> None:
        definition = self.by_run.get(sig.run, {})
        if definition.get("expected"):
            self._missing_expected(definition["expected"], sig.run)
        duration = time.monotonic() - self.run_start if self.run_start else 0.0
        self.logger.info(f"Ending test lava.{sig.run} ({sig.uuid}), duration {duration:.02f}")
        result: dict[str, Any] = {
            "definition": "lava",
            "case": sig.run,
            "uuid": sig.uuid,
            "repository": definition.get("repository", ""),
            "path": definition.get("path", ""),
            "duration": f"{duration:.02f}",
            "result": "pass",
            "revision": definition.get("revision") or "unspecified",
            "namespace": self.action.namespace,
        }
        if definition.get("commit_id"):
            result["commit_id"] = definition["commit_id"]
        self.logger.results(result)
        self.current = None
        self.run_name = None
        self.run_deadline = None
        self.parser = None
        self._patterns = self._compile()

    def _on_StartTestCase(self, sig: signals.StartTestCase) -> None:
        self.markers.setdefault(sig.case, {})["starttc"] = self.logger.line_count

    def _on_EndTestCase(self, sig: signals.EndTestCase) -> None:
        self.markers.setdefault(sig.case, {})["endtc"] = self.logger.line_count

    def _on_TestCase(self, sig: signals.TestCase) -> None:
        if self.run_name is None:
            self.logger.error(
                "A TESTCASE signal arrived before STARTRUN (the signal was lost or split)"
            )
            raise TestError("Invalid TESTCASE signal")
        result = self._adjusted(sig.case, sig.result)
        record: dict[str, Any] = {"definition": self.run_name, "case": sig.case, "result": result}
        if sig.measurement is not None:
            record["measurement"] = sig.measurement
            if sig.units:
                record["units"] = sig.units
        if self.test_set:
            record["set"] = self.test_set
        record.update(self.markers.pop(sig.case, {}))
        self.report[sig.case] = result
        self.logger.results(record)

    def _on_TestReference(self, sig: signals.TestReference) -> None:
        record = {
            "definition": self.run_name or "lava",
            "case": sig.case,
            "result": sig.result,
            "reference": sig.reference,
        }
        if self.test_set:
            record["set"] = self.test_set
        self.logger.results(record)

    def _on_TestSetStart(self, sig: signals.TestSetStart) -> None:
        self.test_set = sig.name
        self.logger.info(f"Starting test_set {sig.name}")

    def _on_TestSetStop(self, _sig: signals.TestSetStop) -> None:
        self.logger.info(f"Closing test_set {self.test_set}")
        self.test_set = None

    def _on_TestRaise(self, sig: signals.TestRaise) -> None:
        raise TestError(sig.message)

    def _on_TestEvent(self, sig: signals.TestEvent) -> None:
        self.logger.event(sig.message)

    def _on_TestFeedback(self, sig: signals.TestFeedback) -> None:
        self.logger.info(f"Feedback requested from namespace {sig.namespace}: nothing to read")

    def _line(self, line: str) -> bool:
        """One line while a parse pattern is active; True when the runner exited."""
        line = line.rstrip("\r\n")
        for match in signals.SIGNAL_RE.finditer(line):
            self._signal(match.group(1), match.group(2))
        if signals.INSTALL_FAIL in line:
            self._install_failed()
        if signals.RUNNER_EXIT in line:
            return True
        if self.parser is not None and not signals.SIGNAL_RE.search(line):
            self._parsed(line)
        return False

    def _parsed(self, text: str) -> None:
        if self.parser is None or self.run_name is None:
            return
        parsed = self.parser.parse(text)
        if parsed is None:
            return
        case = str(parsed["case"]).replace("/", "_")
        record: dict[str, Any] = {
            "definition": self.run_name,
            "case": case,
            "result": self._adjusted(case, parsed["result"]),
        }
        if parsed.get("measurement") is not None:
            record["measurement"] = parsed["measurement"]
            if parsed.get("units"):
                record["units"] = parsed["units"]
        if self.test_set:
            record["set"] = self.test_set
        self.report[case] = record["result"]
        self.logger.results(record)

    # -- expected test cases ------------------------------------------------
    def _adjusted(self, case: str, result: str) -> str:
        """Force an unexpected case to fail when the definition lists its cases."""
        expected = (self.by_run.get(self.run_name or "", {}) or {}).get("expected")
        if not expected or case in expected:
            return result
        self.logger.warning(f"{case!r} is not in the expected test case list")
        return "fail"

    def _missing_expected(self, expected: list[str], run: str) -> None:
        missing = sorted(set(expected) - set(self.report))
        if missing:
            self.logger.warning("Reporting missing expected test cases as 'fail'")
        for case in missing:
            record = {"definition": run, "case": case, "result": "fail"}
            if self.test_set:
                record["set"] = self.test_set
            self.logger.results(record)
