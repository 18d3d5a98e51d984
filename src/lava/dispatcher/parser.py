"""Turn a job definition and a device into a Job with its whole pipeline."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lava.common.exceptions import JobError
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.pipeline import Action, Job

SECTIONS = ("deploy", "boot", "test", "command")


@dataclass
class TestStage:
    """One test action that runs definitions: its stage number and definitions.

    `first_index` is the index of its first definition among all definitions
    of the namespace, which names the suites `<index>_<name>`.
    """

    __test__ = False  # not a pytest class
    stage: int
    first_index: int
    definitions: list[dict[str, Any]] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)


def _load(package: str, registry: dict[str, str], key: str) -> type[Action]:
    module_name, _, class_name = registry[key].partition(":")
    module = importlib.import_module(f"lava.dispatcher.actions.{package}.{module_name}")
    return getattr(module, class_name)


def select_action(section: str, params: dict[str, Any], device: Device) -> type[Action]:
    """Pick the action class for one block of the job, or raise JobError."""
    if section == "command":
        from lava.dispatcher.actions.command import CommandAction

        return CommandAction
    if section == "deploy":
        from lava.dispatcher.actions.deploy.methods import METHODS

        to = params.get("to")
        if to not in METHODS:
            raise JobError(
                f"deploy to '{to}' is not supported by this dispatcher "
                f"(supported: {', '.join(sorted(METHODS))})"
            )
        return _load("deploy.methods", METHODS, str(to))
    if section == "boot":
        from lava.dispatcher.actions.boot.methods import METHODS as BOOT_METHODS

        method = params.get("method")
        if method not in BOOT_METHODS:
            raise JobError(
                f"boot method '{method}' is not supported by this dispatcher "
                f"(supported: {', '.join(sorted(BOOT_METHODS))})"
            )
        if method not in device.boot_methods:
            raise JobError(
                f"boot method '{method}' is not available on device '{device.hostname}' "
                f"(device offers: {', '.join(sorted(device.boot_methods)) or 'none'})"
            )
        return _load("boot.methods", BOOT_METHODS, str(method))
    if section == "test":
        from lava.dispatcher.actions.test import FORMS

        for key, target in FORMS.items():
            if key in params:
                return _load("test", {key: target}, key)
        raise JobError(
            "test action needs one of: " + ", ".join(sorted(FORMS)) + " (monitors and "
            "services are not supported by this dispatcher yet)"
        )
    raise JobError(f"unknown action '{section}' (expected one of {', '.join(SECTIONS)})")


def plan_tests(actions: list[dict[str, Any]]) -> dict[str, list[TestStage]]:
    """Number test stages (every test block counts) and definitions per namespace."""
    plan: dict[str, list[TestStage]] = {}
    stages_seen: dict[str, int] = {}
    for block in actions:
        section, params = next(iter(block.items()))
        if section != "test" or not isinstance(params, dict):
            continue
        ns = params.get("namespace", "common")
        stage = stages_seen.get(ns, 0)
        stages_seen[ns] = stage + 1
        if "definitions" not in params:
            continue
        stages = plan.setdefault(ns, [])
        first = sum(len(s.definitions) for s in stages)
        stages.append(TestStage(stage, first, list(params["definitions"] or []), params))
    return plan


def parse_job(
    definition: dict[str, Any],
    device: Device,
    job_id: str,
    logger: JobLogger,
    work_dir: Path,
) -> Job:
    """Build the job and its pipeline (nothing touches the device)."""
    actions = definition.get("actions")
    if not isinstance(actions, list) or not actions:
        raise JobError("The job has no actions")
    job = Job(job_id, definition, device, logger, work_dir)
    job.test_plan = plan_tests(actions)
    test_stage: dict[str, int] = {}
    for position, block in enumerate(actions):
        if not isinstance(block, dict) or len(block) != 1:
            raise JobError(f"actions[{position}] must be a mapping with one key")
        section, params = next(iter(block.items()))
        if not isinstance(params, dict):
            raise JobError(f"actions[{position}].{section} must be a mapping")
        params = dict(params)
        params.setdefault("namespace", "common")
        if section == "test":
            ns = params["namespace"]
            params["stage"] = test_stage.get(ns, 0)
            test_stage[ns] = params["stage"] + 1
        cls = select_action(section, params, device)
        job.pipeline.add_action(cls(), params)

    from lava.dispatcher.actions.finalize import FinalizeAction

    job.pipeline.add_action(FinalizeAction(), {"namespace": "common"})
    return job
