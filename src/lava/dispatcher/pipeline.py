"""Job → Pipeline → Actions: build the whole tree, validate it, then run it.

Actions are numbered by level (`1`, `1.2`, `1.2.3`); each gets its timeout
from the job, the device and its action block (override order as in LAVA),
and runs under a deadline that never exceeds its parent's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lava.common.exceptions import (
    InfrastructureError,
    JobError,
    LAVABug,
    LAVAError,
    LAVATimeoutError,
    TestError,
)
from lava.common.timeout import ACTION_TIMEOUT, Timeout, format_duration
from lava.dispatcher.deadline import Deadlines
from lava.dispatcher.interfaces import Console
from lava.dispatcher.state import NamespaceState

if TYPE_CHECKING:
    from lava.common.fetch_policy import FetchPolicy
    from lava.dispatcher.device import Device
    from lava.dispatcher.interfaces import Console, Power
    from lava.dispatcher.logger import JobLogger

CLEANUP_TIMEOUT = 300.0


class Action:
    """One step of a job. Subclasses set `name`, `description`, `summary`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # Raised when the action's deadline passes.
    timeout_exception: ClassVar[type[LAVAError]] = JobError

    def __init__(self) -> None:
        self.level = ""
        self.job: Job = None  # type: ignore[assignment]  # set by Pipeline.add_action
        self.parent: Action | None = None
        self.pipeline: Pipeline | None = None
        self.parameters: dict[str, Any] = {}
        self.timeout = Timeout(ACTION_TIMEOUT)
        self.connection_timeout = Timeout(ACTION_TIMEOUT)
        self.max_retries = 1
        self.results: dict[str, Any] = {}
        self.errors: list[str] = []
        self.elapsed = 0.0

    # -- building ---------------------------------------------------------
    def populate(self, parameters: dict[str, Any]) -> None:
        """Build the internal pipeline, if any. Called once by add_action."""

    def make_pipeline(self) -> Pipeline:
        self.pipeline = Pipeline(self.job, parent=self)
        return self.pipeline

    @property
    def namespace(self) -> str:
        return str(self.parameters.get("namespace", "common"))

    @property
    def logger(self) -> JobLogger:
        return self.job.logger

    @property
    def state(self) -> NamespaceState:
        """What this namespace's actions hand to each other (typed)."""
        return self.job.state(self.namespace)

    # -- life cycle -------------------------------------------------------
    def validate(self) -> None:
        """Check parameters and device without touching the device."""
        if self.pipeline is not None:
            self.pipeline.validate_actions()

    def all_errors(self) -> list[str]:
        errors = [f"{self.level} {self.name}: {e}" for e in self.errors]
        if self.pipeline is not None:
            errors.extend(self.pipeline.errors())
        return errors

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        """Do the work; return the connection for the following actions."""
        if self.pipeline is not None:
            return self.pipeline.run_actions(connection, max_end_time)
        return connection

    def cleanup(self, connection: Console | None) -> None:
        """Undo what run() left behind; called once at the end of the job."""
        if self.pipeline is not None:
            self.pipeline.cleanup(connection)

    def describe(self) -> dict[str, Any]:
        desc: dict[str, Any] = {
            "class": type(self).__name__,
            "name": self.name,
            "level": self.level,
            "max_retries": self.max_retries,
            "description": self.description,
            "summary": self.summary,
            "timeout": round(self.timeout.seconds, 2),
        }
        url = getattr(self, "url", None)
        if url:
            desc["url"] = str(url)
        if self.pipeline is not None and self.pipeline.actions:
            desc["pipeline"] = self.pipeline.describe()
        return desc


class Pipeline:
    """An ordered list of actions, the job's or an action's own."""

    def __init__(self, job: Job, parent: Action | None = None) -> None:
        self.job = job
        self.parent = parent
        self.actions: list[Action] = []

    def add_action(self, action: Action, parameters: Mapping[str, Any] | None = None) -> Action:
        """Number the action, give it its timeouts and let it build its children."""
        params = dict(parameters if parameters is not None else {})
        if self.parent is not None and not params:
            params = dict(self.parent.parameters)
        index = len(self.actions) + 1
        action.level = f"{self.parent.level}.{index}" if self.parent else str(index)
        action.job = self.job
        action.parent = self.parent
        action.parameters = params
        self._set_timeouts(action, params)
        self.actions.append(action)
        action.populate(params)
        return action

    def _set_timeouts(self, action: Action, params: Mapping[str, Any]) -> None:
        job, device, name = self.job, self.job.device, action.name
        job_timeouts = job.parameters.get("timeouts") or {}
        seconds = Timeout.parse(job_timeouts.get("action")).seconds
        if name in device.action_timeouts:
            seconds = device.action_timeouts[name]
        if params.get("timeout"):
            seconds = Timeout.parse(params["timeout"]).seconds
        parent = self.parent
        if parent is not None and parent.max_retries > 1:
            seconds = parent.timeout.seconds / parent.max_retries
        if name in (job_timeouts.get("actions") or {}):
            seconds = Timeout.parse(job_timeouts["actions"][name]).seconds
        if name in (params.get("timeouts") or {}):
            seconds = Timeout.parse(params["timeouts"][name]).seconds
        skip = bool((params.get("timeout") or {}).get("skip", False))
        action.timeout = Timeout(seconds, skip=skip)

        conn = Timeout.parse(job_timeouts.get("connection")).seconds
        if name in device.connection_timeouts:
            conn = device.connection_timeouts[name]
        if name in (job_timeouts.get("connections") or {}):
            conn = Timeout.parse(job_timeouts["connections"][name]).seconds
        action.connection_timeout = Timeout(conn)

    def describe(self) -> list[dict[str, Any]]:
        return [action.describe() for action in self.actions]

    def errors(self) -> list[str]:
        return [error for action in self.actions for error in action.all_errors()]

    def validate_actions(self) -> None:
        """Collect every job error; any other error type stops validation at once."""
        for action in self.actions:
            try:
                action.validate()
            except JobError as exc:
                action.errors.append(str(exc))

    def run_actions(self, connection: Console | None, max_end_time: float | None) -> Console | None:
        for action in self.actions:
            connection = self._run_one(action, connection, max_end_time)
        return connection

    def _run_one(
        self, action: Action, connection: Console | None, max_end_time: float | None
    ) -> Console | None:
        log = action.logger.info if self.parent is None else action.logger.debug
        failed = False
        start = time.monotonic()
        new_connection = None
        try:
            with self.job.deadlines.frame(
                action.name, action.timeout.seconds, action.timeout_exception, max_end_time
            ) as deadline:
                log(
                    f"start: {action.level} {action.name} "
                    f"(timeout {format_duration(deadline - start)}) [{action.namespace}]"
                )
                new_connection = action.run(connection, deadline)
        except LAVATimeoutError as exc:
            failed = True
            action.logger.exception(str(exc))
            action.results = {"fail": str(exc)}
            if not action.timeout.skip:
                raise TestError(str(exc)) from exc
            if self.parent is not None:
                raise
            action.logger.warning(
                f"skip_timeout is set for {action.name} - continuing to next action block."
            )
        except LAVAError as exc:
            failed = True
            action.logger.exception(str(exc))
            action.results = {"fail": str(exc)}
            raise
        except Exception as exc:
            failed = True
            action.logger.traceback()
            action.results = {"fail": str(exc)}
            raise LAVABug(str(exc)) from exc
        finally:
            action.elapsed = time.monotonic() - start
            log(
                f"end: {action.level} {action.name} "
                f"(duration {format_duration(action.elapsed)}) [{action.namespace}]"
            )
            self._log_results(action, failed)
        return new_connection if new_connection is not None else connection

    @staticmethod
    def _log_results(action: Action, failed: bool) -> None:
        if not action.results:
            return
        action.logger.results(
            {
                "definition": "lava",
                "namespace": action.namespace,
                "case": action.name,
                "level": action.level,
                "duration": f"{action.elapsed:.02f}",
                "result": "fail" if failed or action.errors else "pass",
                "extra": action.results,
            }
        )

    def cleanup(self, connection: Console | None) -> None:
        failed = False
        for action in self.actions:
            try:
                action.cleanup(connection)
            except Exception as exc:
                action.logger.error(f"Failed to clean after action '{action.name}': {exc}")
                failed = True
        if failed:
            raise InfrastructureError("Failed to clean after job")


class RetryAction(Action):
    """Runs its internal pipeline up to `failure_retry` times, or `repeat` times."""

    # "boot" wrappers take the device's `boot_retry` constant over `failure_retry`.
    section: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self.repeat = 1
        self.retry_interval = 1.0

    def populate(self, parameters: dict[str, Any]) -> None:
        if "failure_retry" in parameters and "repeat" in parameters:
            self.errors.append("Only one of failure_retry or repeat can be specified.")
        self.max_retries = int(parameters.get("failure_retry", self.default_retries()))
        self.repeat = int(parameters.get("repeat", 1))
        self.retry_interval = float(parameters.get("failure_retry_interval", 1))
        self.make_pipeline()
        self.populate_children(parameters)

    def default_retries(self) -> int:
        constants = self.job.device.constants
        if self.section == "boot" and constants.boot_retry:
            return max(1, constants.boot_retry)
        return max(1, constants.failure_retry)

    def populate_children(self, parameters: dict[str, Any]) -> None:
        """Add the actions to retry."""
        raise NotImplementedError

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        assert self.pipeline is not None
        if self.repeat > 1:
            for run in range(1, self.repeat + 1):
                self.logger.info(f"{self.name}: repeat {run} of {self.repeat}")
                connection = self.pipeline.run_actions(connection, max_end_time)
            return connection
        error: LAVAError | None = None
        for attempt in range(1, self.max_retries + 1):
            try:
                return self.pipeline.run_actions(connection, max_end_time)
            except (InfrastructureError, JobError, TestError) as exc:
                error = exc
                if attempt == self.max_retries:
                    break
                self.logger.warning(
                    f"{self.name}: attempt {attempt} of {self.max_retries} failed: {exc}"
                )
                self.pipeline.cleanup(connection)
                if time.monotonic() + self.retry_interval >= max_end_time:
                    break
                time.sleep(self.retry_interval)
        assert error is not None
        if self.max_retries == 1:
            raise error
        raise type(error)(
            f"{self.max_retries} retries out of {self.max_retries} failed for {self.name}"
        )


class Job:
    """One job on one device: the parameters, the device, the pipeline, the log."""

    def __init__(
        self,
        job_id: str,
        parameters: dict[str, Any],
        device: Device,
        logger: JobLogger,
        work_dir: Path,
    ) -> None:
        self.job_id = job_id
        self.parameters = parameters
        self.device = device
        self.logger = logger
        self.work_dir = work_dir
        self.pipeline = Pipeline(self)
        self.deadlines = Deadlines()
        self.timeout = Timeout.parse((parameters.get("timeouts") or {}).get("job"))
        self._states: dict[str, NamespaceState] = {}
        # Set once the device has been powered off at the end (finalize).
        self.powered_off = False
        self._power: Power | None = None
        # Filled by the parser: per namespace, the test stages in job order.
        self.test_plan: dict[str, list[Any]] = {}
        # The device's console session once a boot action has opened one.
        self.connection: Console | None = None
        self.cleaned = False
        # Set by lava-run from its options.
        self.cache_dir: Path = work_dir / "cache"
        self.output_dir: Path = work_dir
        self.dispatcher_config: dict[str, Any] = {}
        self.env_dut: Any = None
        # Directories under which the job may name local files; None: anywhere.
        self.local_dirs: tuple[Path, ...] | None = None
        # The addresses the job may fetch from over the network; None: any.
        self.fetch_policy: FetchPolicy | None = None

    @property
    def power(self) -> Power:
        """How to switch the device: its power commands (none for QEMU)."""
        if self._power is None:
            from lava.dispatcher.power import CommandPower

            self._power = CommandPower(self.device.commands, self.logger)
        return self._power

    @power.setter
    def power(self, power: Power) -> None:
        self._power = power

    def state(self, namespace: str) -> NamespaceState:
        """The typed state one namespace's actions share (created on first use)."""
        if namespace not in self._states:
            self._states[namespace] = NamespaceState()
        return self._states[namespace]

    def describe(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline.describe()}

    def validate(self) -> None:
        """Validate every action; raise JobError listing all problems."""
        from lava import __version__

        self.logger.info(f"lava-dispatcher, installed at version: {__version__}")
        self.logger.info("start: 0 validate")
        start = time.monotonic()
        success = False
        try:
            with self.deadlines.frame("validate", self.timeout.seconds, JobError):
                self.pipeline.validate_actions()
            errors = self.pipeline.errors()
            if errors:
                raise JobError("Invalid job data: " + "; ".join(errors))
            success = True
        finally:
            self.logger.info(f"validate duration: {time.monotonic() - start:.02f}")
            self.logger.results(
                {"definition": "lava", "case": "validate", "result": "pass" if success else "fail"}
            )

    def run(self) -> None:
        """Run the pipeline under the job timeout; always clean up."""
        try:
            with self.deadlines.frame("job", self.timeout.seconds, JobError) as deadline:
                self.connection = self.pipeline.run_actions(self.connection, deadline)
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        if self.cleaned:
            return
        self.cleaned = True
        self.logger.info("Cleaning after the job")
        with self.deadlines.frame("job-cleanup", CLEANUP_TIMEOUT, InfrastructureError):
            self.pipeline.cleanup(self.connection)
