"""Put the job's test definitions into the overlay, stage by stage.

`test-definition` adds, for each definition of its namespace (in job order),
a repo action then `test-overlay`, `test-install-overlay` and
`test-runscript-overlay`, as LAVA does, so that the levels, and hence the
definition UUIDs (`<job id>_<level of the repo action>`), match LAVA's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lava.common import yamlio
from lava.common.exceptions import JobError, LAVABug
from lava.common.limits import safe_name_problem
from lava.dispatcher import git, paths
from lava.dispatcher.actions.deploy import testdef_scripts
from lava.dispatcher.actions.deploy.testdef_repo import (
    REPO_ACTIONS,
    DefinitionSpec,
)
from lava.dispatcher.deadline import remaining
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action

EXECUTABLE = 0o755
# Files of the overlay: the device's test user may not be root.
READABLE = 0o644


class TestDefinitionAction(Action):
    """Loads every test definition of the namespace and writes the runner configs."""

    __test__ = False
    name = "test-definition"
    description = "load test definitions into image"
    summary = "loading test definitions"

    def __init__(self) -> None:
        super().__init__()
        self.specs: list[DefinitionSpec] = []
        self.stages: list[int] = []

    def populate(self, parameters: dict[str, Any]) -> None:
        pipeline = self.make_pipeline()
        results_dir = self.job.device.results_dir(self.job.job_id)
        for stage in self.job.test_plan.get(self.namespace, []):
            self.stages.append(stage.stage)
            for position, definition in enumerate(stage.definitions):
                if not isinstance(definition, dict):
                    self.errors.append(f"test stage {stage.stage}: definition must be a mapping")
                    continue
                source = definition.get("from")
                handler = REPO_ACTIONS.get(str(source))
                if handler is None:
                    self.errors.append(
                        f"definition '{definition.get('name')}': unsupported 'from: {source}' "
                        f"(use one of {', '.join(REPO_ACTIONS)})"
                    )
                    continue
                index = stage.first_index + position
                name = str(definition.get("name", ""))
                spec = DefinitionSpec(
                    stage=stage.stage,
                    index=index,
                    name=name,
                    definition=definition,
                    dut_dir=f"{results_dir}/{stage.stage}/tests/{index}_{name}",
                )
                repo = pipeline.add_action(handler(spec), parameters)
                spec.uuid = f"{self.job.job_id}_{repo.level}"
                for overlay in (TestOverlayAction, TestInstallAction, TestRunnerAction):
                    pipeline.add_action(overlay(spec), parameters)
                self.specs.append(spec)

    def validate(self) -> None:
        seen: set[str] = set()
        for spec in self.specs:
            problem = safe_name_problem(spec.name, "test definition name")
            if problem:
                self.errors.append(problem)
            elif spec.name == "lava":
                self.errors.append("The 'lava' test definition name is reserved")
            elif spec.name in seen:
                self.errors.append(
                    f"Test definition names need to be unique: '{spec.name}' is used twice"
                )
            seen.add(spec.name)
            expected = spec.definition.get("expected")
            if expected is not None and not isinstance(expected, list):
                self.errors.append(f"definition '{spec.name}': 'expected' must be a list")
        super().validate()

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        if self.state.overlay.dir is None:
            raise LAVABug(f"{self.name} ran before lava-overlay created the overlay")
        overlay_dir = self.state.overlay.dir
        self.logger.info("Loading test definitions")
        connection = super().run(connection, max_end_time)
        self.logger.info("Creating lava-test-runner.conf files")
        for stage in self.stages:
            specs = [spec for spec in self.specs if spec.stage == stage]
            stage_dir = overlay_dir / str(stage)
            stage_dir.mkdir(parents=True, exist_ok=True)
            self.logger.debug(f"Using lava-test-runner path: {stage_dir} for stage {stage}")
            (stage_dir / "lava-test-runner.conf").write_text(
                "".join(f"{spec.dut_dir}\n" for spec in specs), encoding="utf-8"
            )
            self.state.definitions[stage] = [spec.summary() for spec in specs]
        return connection


class _SpecAction(Action):
    """An overlay step for one definition, run after its repo action."""

    def __init__(self, spec: DefinitionSpec) -> None:
        super().__init__()
        self.spec = spec

    @property
    def host_dir(self) -> Path:
        if self.spec.host_dir is None:
            raise JobError(f"{self.spec.test_name}: the test definition was not fetched")
        return self.spec.host_dir

    def _results(self, **extra: Any) -> dict[str, Any]:
        results: dict[str, Any] = {"uuid": self.spec.uuid, **extra}
        results.update(name=self.spec.name, path=self.spec.path)
        results["from"] = self.spec.definition.get("from")
        if results["from"] != "inline":
            results["repository"] = self.spec.definition.get("repository")
        return results


class TestOverlayAction(_SpecAction):
    """Writes `testdef.yaml`, `uuid` and `testdef_metadata` next to the definition."""

    __test__ = False
    name = "test-overlay"
    description = "overlay test support files onto image"
    summary = "applying LAVA test overlay"

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        spec = self.spec
        host = self.host_dir
        paths.write_file(host / "testdef.yaml", yamlio.dump(spec.testdef), READABLE)
        paths.write_file(host / "uuid", spec.uuid, READABLE)
        metadata = testdef_scripts.testdef_metadata(spec.testdef, spec.vcs, spec.commit_id)
        paths.write_file(host / "testdef_metadata", yamlio.dump(metadata), READABLE)
        self.results = self._results()
        return connection


class TestInstallAction(_SpecAction):
    """Writes `install.sh` (skipping the parts in `skip_install`) and clones `git-repos`."""

    __test__ = False
    name = "test-install-overlay"
    description = "overlay dependency installation support files onto image"
    summary = "applying LAVA test install scripts"

    def validate(self) -> None:
        super().validate()
        try:
            testdef_scripts.skip_options(self.spec.definition.get("skip_install"))
        except JobError as exc:
            self.errors.append(f"definition '{self.spec.name}': {exc}")

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        spec = self.spec
        if "install" not in spec.testdef:
            self.results = {f"skipped {self.name}": spec.uuid}
            return connection
        skip = testdef_scripts.skip_options(spec.definition.get("skip_install"))
        if skip:
            self.logger.info(f"{spec.test_name}: skipping install {', '.join(sorted(skip))}")
        script = testdef_scripts.install_script(
            spec.testdef,
            spec.definition,
            spec.dut_dir,
            skip,
            distro=self.parameters.get("os"),
        )
        paths.write_file(self.host_dir / "install.sh", script, EXECUTABLE)
        if "git-repos" not in skip:
            for url, destination, branch in testdef_scripts.git_repos(
                spec.testdef, spec.definition
            ):
                self._clone(url, destination, branch, max_end_time)
        self.results = self._results()
        return connection

    def _clone(self, url: str, destination: str, branch: str | None, max_end_time: float) -> None:
        target = self.host_dir / destination
        if os.path.lexists(target):
            raise JobError(
                f"{self.spec.test_name}: install.git-repos destination '{destination}' "
                "already exists in the test repository"
            )
        what = f"{self.spec.test_name}: install.git-repos"
        policy = self.job.fetch_policy
        source = git.check_repository(url, f"{what} url", self.job.local_dirs, policy=policy)
        args = [*git.pinned(source, policy, f"{what} url"), "clone", "--quiet", "--template="]
        if branch:
            args.append(f"--branch={git.check_ref(branch, f'{what} branch')}")
        self.logger.info(f"Cloning {url} into {destination}")
        git.run(
            [*args, "--", url, str(target)],
            remaining(max_end_time),
            self.logger.debug,
            allowed=git.protocols(source),
        )


class TestRunnerAction(_SpecAction):
    """Writes `run.sh`: parameters, STARTRUN, the steps under `set -e`, ENDRUN."""

    __test__ = False
    # LAVA tallies submitted definitions against results by this name.
    name = "test-runscript-overlay"
    description = "overlay run script onto image"
    summary = "applying LAVA test run script"

    def validate(self) -> None:
        super().validate()
        try:
            testdef_scripts.parameter_lines({}, self.spec.definition)
        except JobError as exc:
            self.errors.append(f"definition '{self.spec.name}': {exc}")

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        spec = self.spec
        delay = int(self.job.device.character_delays.get("test", 0) or 0)
        if delay:
            self.logger.debug(f"A delay of {delay} ms will be used for sending result signals")
        script = testdef_scripts.run_script(
            spec.testdef, spec.definition, spec.test_name, spec.dut_dir, delay
        )
        path = self.host_dir / "run.sh"
        paths.write_file(path, script, EXECUTABLE)
        self.logger.debug(f"runner path: {spec.dut_dir} test_uuid {spec.uuid}")
        self.results = self._results(filename=str(path))
        return connection
