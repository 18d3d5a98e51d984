"""Interactive tests: send commands, expect prompts, successes or failures."""

from __future__ import annotations

import time
from typing import Any

import pexpect

from lava.common.exceptions import (
    ConnectionClosedError,
    InfrastructureError,
    JobError,
    LAVAError,
    LAVATimeoutError,
    TestError,
)
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action, RetryAction

EXCEPTIONS: dict[str, type[LAVAError]] = {
    "InfrastructureError": InfrastructureError,
    "JobError": JobError,
    "TestError": TestError,
}


class TestInteractiveRetry(RetryAction):
    """Retries the interactive block on failure."""

    __test__ = False
    name = "lava-test-interactive-retry"
    description = "Retry wrapper for lava-test-interactive"
    summary = "Retry support for Lava Test Interactive"

    def populate_children(self, parameters: dict[str, Any]) -> None:
        assert self.pipeline is not None
        self.pipeline.add_action(TestInteractiveAction())


class TestInteractiveAction(Action):
    """Runs each `interactive` script: one suite `<stage>_<name>`, one case per named step."""

    __test__ = False
    name = "lava-test-interactive"
    description = "Executing lava-test-interactive"
    summary = "Lava Test Interactive"
    timeout_exception = LAVATimeoutError

    def validate(self) -> None:
        super().validate()
        scripts = self.parameters.get("interactive")
        if not isinstance(scripts, list) or not scripts:
            self.errors.append("Missing 'interactive' scripts")
            return
        for position, script in enumerate(scripts):
            if not isinstance(script, dict) or not script.get("prompts"):
                self.errors.append(f"interactive[{position}]: 'prompts' missing")
            if not isinstance(script, dict) or not script.get("name"):
                self.errors.append(f"interactive[{position}]: 'name' missing")
            for name in (
                ("lava-send", "lava-sync", "lava-wait", "lava-wait-all")
                if isinstance(script, dict)
                else ()
            ):
                if any(name in step for step in script.get("script") or []):
                    self.errors.append(
                        f"interactive[{position}]: '{name}' needs MultiNode, "
                        "which this dispatcher does not support yet"
                    )

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        session = connection if connection is not None else self.job.connection
        if session is None:
            raise ConnectionClosedError("No connection to the device")
        stage = self.parameters.get("stage", 0)
        substitutions = {"{JOB_ID}": self.job.job_id}
        for script in self.parameters["interactive"]:
            suite = f"{stage}_{script['name']}"
            start = time.monotonic()
            record = {"definition": "lava", "case": suite, "result": "fail"}
            report: dict[str, str] = {}
            try:
                self._run_script(session, script, suite, substitutions, report, max_end_time)
                for case in sorted(set(script.get("expected") or []) - set(report)):
                    self.logger.results({"definition": suite, "case": case, "result": "fail"})
                record["result"] = "pass"
            finally:
                record["duration"] = f"{time.monotonic() - start:.02f}"
                self.logger.results(record)
        return session

    def _expect(self, session: Any, patterns: list[str], deadline: float) -> int:
        wait = self.connection_timeout.seconds
        index = session.expect([*patterns, pexpect.TIMEOUT], wait, deadline)
        if index == len(patterns):
            raise LAVATimeoutError(
                f"interactive connection timed out waiting for {patterns} ({wait:.0f}s)"
            )
        return index

    def _run_script(
        self,
        session: Any,
        script: dict[str, Any],
        suite: str,
        substitutions: dict[str, str],
        report: dict[str, str],
        deadline: float,
    ) -> None:
        prompts = [str(p) for p in script["prompts"]]
        expected = script.get("expected") or []
        for step in script.get("script") or []:
            if "delay" in step:
                self.logger.info(f"Delaying for {step['delay']}s")
                time.sleep(float(step["delay"]))
                continue
            command = step.get("command")
            if command is not None:
                for key, value in substitutions.items():
                    command = str(command).replace(key, value)
            start = time.monotonic()
            result = "fail"
            try:
                if command is None:
                    self.logger.info("Sending nothing, waiting")
                else:
                    self.logger.info(f"Sending '{command}'")
                    session.sendline(command)
                failures = step.get("failures") or []
                successes = step.get("successes") or []
                patterns = (
                    prompts
                    + [str(f["message"]) for f in failures]
                    + [str(s["message"]) for s in successes]
                )
                index = self._expect(session, patterns, deadline)
                if index < len(prompts):
                    if successes:
                        self.logger.error(
                            f"Matched a prompt (was expecting a success): '{patterns[index]}'"
                        )
                    else:
                        result = "pass"
                elif index < len(prompts) + len(failures):
                    failure = failures[index - len(prompts)]
                    self.logger.error(f"Matched a failure: '{patterns[index]}'")
                    if "exception" in failure:
                        cls = EXCEPTIONS.get(failure["exception"], JobError)
                        raise cls(str(failure.get("error", patterns[index])))
                else:
                    groups = (
                        session.match.groupdict() if hasattr(session.match, "groupdict") else {}
                    )
                    self.logger.info(f"Matched a success: '{patterns[index]}'")
                    for key, value in groups.items():
                        substitutions[f"{{{key}}}"] = str(value)
                    result = "pass"
                if index >= len(prompts) and step.get("wait_for_prompt", True):
                    self._expect(session, prompts, deadline)
                if "name" not in step and result == "fail":
                    raise TestError(f"Failed to run command '{command}'")
            finally:
                if "name" in step:
                    name = str(step["name"])
                    if expected and name not in expected:
                        self.logger.warning(f"{name!r} is not in the expected list")
                        result = "fail"
                    report[name] = result
                    self.logger.results(
                        {
                            "definition": suite,
                            "case": name,
                            "result": result,
                            "duration": f"{time.monotonic() - start:.02f}",
                        }
                    )
