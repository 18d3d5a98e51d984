"""Pipeline building, timeouts, retries and error types, without a device."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

from lava.common.exceptions import InfrastructureError, JobError, LAVABug, TestError
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.pipeline import Action, Job, RetryAction

DEVICE = {
    "actions": {"deploy": {"methods": {}}, "boot": {"methods": {}}},
    "timeouts": {
        "actions": {"named-step": {"seconds": 7}, "retried": {"minutes": 1}},
        "connections": {"named-step": {"seconds": 3}},
    },
    "constants": {"failure_retry": 1},
}


def make_job(tmp_path: Path, **params: Any) -> Job:
    definition: dict[str, Any] = {"timeouts": {"job": {"minutes": 5}}, "actions": []}
    definition.update(params)
    return Job("1", definition, Device.from_dict(DEVICE), JobLogger(io.StringIO()), tmp_path)


class Step(Action):
    name = "named-step"
    description = "a step"
    summary = "step"

    def __init__(self, behaviour: Any = None) -> None:
        super().__init__()
        self.behaviour = behaviour
        self.calls = 0

    def run(self, connection: Any, max_end_time: float) -> Any:
        self.calls += 1
        if callable(self.behaviour):
            return self.behaviour(self)
        return connection


class Parent(Action):
    name = "parent"

    def populate(self, parameters: dict[str, Any]) -> None:
        pipeline = self.make_pipeline()
        pipeline.add_action(Step())
        pipeline.add_action(Nested())


class Nested(Action):
    name = "nested"

    def populate(self, parameters: dict[str, Any]) -> None:
        self.make_pipeline().add_action(Step())


class Retried(RetryAction):
    name = "retried"

    def __init__(self, behaviour: Any) -> None:
        super().__init__()
        self.behaviour = behaviour

    def populate_children(self, parameters: dict[str, Any]) -> None:
        assert self.pipeline is not None
        self.pipeline.add_action(Step(self.behaviour))


def test_levels_are_numbered_depth_first(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.pipeline.add_action(Step(), {})
    job.pipeline.add_action(Parent(), {})
    levels = [(a["level"], a["name"]) for a in job.describe()["pipeline"]]
    assert levels == [("1", "named-step"), ("2", "parent")]
    parent = job.describe()["pipeline"][1]["pipeline"]
    assert [a["level"] for a in parent] == ["2.1", "2.2"]
    assert parent[1]["pipeline"][0]["level"] == "2.2.1"


def test_timeout_override_order(tmp_path: Path) -> None:
    # job action timeout < device named timeout < block timeout < job named < block named
    job = make_job(tmp_path, timeouts={"job": {"hours": 1}, "action": {"seconds": 11}})
    assert job.pipeline.add_action(Step(), {}).timeout.seconds == 7  # device wins over job
    assert job.pipeline.add_action(Step(), {"timeout": {"seconds": 20}}).timeout.seconds == 20
    job = make_job(
        tmp_path,
        timeouts={"job": {"hours": 1}, "actions": {"named-step": {"seconds": 30}}},
    )
    assert job.pipeline.add_action(Step(), {"timeout": {"seconds": 20}}).timeout.seconds == 30
    step = job.pipeline.add_action(Step(), {"timeouts": {"named-step": {"seconds": 40}}})
    assert step.timeout.seconds == 40
    assert step.connection_timeout.seconds == 3


def test_retry_children_share_the_parent_timeout(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    retried = job.pipeline.add_action(Retried(None), {"failure_retry": 3})
    assert retried.max_retries == 3
    assert retried.pipeline is not None
    assert retried.pipeline.actions[0].timeout.seconds == pytest.approx(60 / 3)


def test_retry_until_success(tmp_path: Path) -> None:
    def flaky(step: Step) -> None:
        if step.calls < 3:
            raise InfrastructureError("flaky")

    job = make_job(tmp_path)
    retried = job.pipeline.add_action(Retried(flaky), {"failure_retry": 3})
    retried.retry_interval = 0
    job.run()
    assert retried.pipeline is not None
    assert retried.pipeline.actions[0].calls == 3


def test_retries_exhausted_keep_the_error_type(tmp_path: Path) -> None:
    def broken(step: Step) -> None:
        raise TestError("always")

    job = make_job(tmp_path)
    retried = job.pipeline.add_action(Retried(broken), {"failure_retry": 2})
    retried.retry_interval = 0
    with pytest.raises(TestError, match="2 retries out of 2 failed for retried"):
        job.run()


def test_unexpected_exception_is_a_bug(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.pipeline.add_action(Step(lambda step: 1 / 0), {})
    with pytest.raises(LAVABug):
        job.run()


def test_deadline_interrupts_a_blocked_action(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.pipeline.add_action(Step(lambda step: time.sleep(5)), {"timeout": {"seconds": 1}})
    start = time.monotonic()
    with pytest.raises(JobError, match="named-step timed out after 1 seconds"):
        job.run()
    assert time.monotonic() - start < 3


def test_validate_collects_every_error(tmp_path: Path) -> None:
    class Invalid(Step):
        def validate(self) -> None:
            self.errors.append("bad parameter")

    job = make_job(tmp_path)
    job.pipeline.add_action(Invalid(), {})
    job.pipeline.add_action(Invalid(), {})
    with pytest.raises(JobError, match="1 named-step: bad parameter; 2 named-step: bad"):
        job.validate()
