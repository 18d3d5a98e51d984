"""Test definition files: read and check one, and write its run.sh and install.sh.

Pure functions, so that the generated scripts can be tested (and run under a
real shell) without building a job.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lava.common import yamlio
from lava.common.exceptions import JobError

TESTDEF_FORMAT = "Lava-Test Test Definition 1.0"
SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SKIP_INSTALL = ("keys", "sources", "deps", "steps", "git-repos")
# `lava-test-case NAME --shell CMD` hands CMD to a shell again: positional
# parameters in it belong to that inner shell, not to run.sh.
_POSITIONAL = re.compile(r"\$(\d+)\b")


def load_testdef(path: Path, name: str, relative: str) -> dict[str, Any]:
    """Read and check the test definition `relative` of definition `name`.

    Raises JobError naming the definition and the path when the file is
    missing, is not YAML, or lacks `metadata.format`, `metadata.name` or
    `run.steps`.
    """
    where = f"test definition '{name}' (path: {relative})"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise JobError(
            f"Unable to find the {where}: no such file in the repository; check 'path'"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"Unable to read the {where}: {exc}") from exc
    try:
        testdef = yamlio.load(text)
    except yamlio.YAMLError as exc:
        raise JobError(f"Invalid YAML in the {where}: {exc}") from exc
    check_testdef(testdef, where)
    return testdef


def check_testdef(testdef: Any, where: str) -> None:
    """Raise JobError when `testdef` lacks what the test shell needs."""
    if not isinstance(testdef, dict):
        raise JobError(f"The {where} must be a mapping, not {type(testdef).__name__}")
    metadata = testdef.get("metadata")
    if not isinstance(metadata, dict):
        raise JobError(f"The {where} has no 'metadata' mapping")
    for key in ("format", "name"):
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            raise JobError(f"The {where} has no 'metadata.{key}'")
    run = testdef.get("run")
    if not isinstance(run, dict) or not isinstance(run.get("steps"), list):
        raise JobError(f"The {where} has no 'run.steps' list")
    for position, step in enumerate(run["steps"]):
        if step is not None and not isinstance(step, str):
            raise JobError(
                f"The {where}: run.steps[{position}] is a {type(step).__name__}, not a "
                "command; quote steps that contain ': ' or start with '{' or '['"
            )
    for key in ("params", "parameters"):
        if key in testdef and not isinstance(testdef[key], dict):
            raise JobError(f"The {where}: '{key}' must be a mapping")
    if "install" in testdef and not isinstance(testdef["install"], dict):
        raise JobError(f"The {where}: 'install' must be a mapping")
    parse = testdef.get("parse")
    if parse is not None and not isinstance(parse, dict):
        raise JobError(f"The {where}: 'parse' must be a mapping")


def _assignments(values: Any, source: str) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, Mapping):
        raise JobError(f"{source} must be a mapping of NAME: value")
    lines = []
    for name, value in values.items():
        if not SHELL_NAME.match(str(name)):
            raise JobError(
                f"{source}: '{name}' is not a valid shell variable name "
                "(letters, digits and '_', not starting with a digit)"
            )
        lines.append(f"{name}={shlex.quote('' if value is None else str(value))}")
    return lines


def parameter_lines(testdef: Mapping[str, Any], definition: Mapping[str, Any]) -> list[str]:
    """Shell assignments: the testdef defaults, then the job's values (which win)."""
    lines = ["###default parameters from test definition###"]
    lines += _assignments(testdef.get("params"), "test definition 'params'")
    lines += _assignments(testdef.get("parameters"), "test definition 'parameters'")
    lines += ["######", "###test parameters from job submission###"]
    lines += _assignments(definition.get("parameters"), "job definition 'parameters'")
    lines += _assignments(definition.get("params"), "job definition 'params'")
    lines.append("######")
    return lines


def run_script(
    testdef: Mapping[str, Any],
    definition: Mapping[str, Any],
    testrun_id: str,
    dut_dir: str,
    character_delay_ms: int = 0,
) -> str:
    """The `run.sh` of one definition, laid out as LAVA's (signals, `set -e`, steps)."""
    kmsg = definition.get("lava-signal", "stdout") == "kmsg"
    lines = parameter_lines(testdef, definition)
    lines += [
        "set -e",
        "set -x",
        f"export TESTRUN_ID={testrun_id}",
        f"cd {shlex.quote(dut_dir)}",
        'UUID="$(cat uuid)"',
        "set +x",
    ]
    delay = f"{character_delay_ms / 1000:g}" if character_delay_ms else ""
    if delay:
        lines += [f"export CHARACTER_DELAY={delay}", f"sleep {delay}"]
    if kmsg:
        # lava-test-runner greps for this marker to send its own signals to kmsg.
        lines += [
            "# USE_KMSG",
            "export KMSG=true",
            'echo "<0><LAVA_SIGNAL_STARTRUN $TESTRUN_ID $UUID>" > /dev/kmsg',
        ]
    else:
        lines.append('echo "<LAVA_SIGNAL_STARTRUN $TESTRUN_ID $UUID>"')
    lines.append("set -x")
    for step in testdef["run"]["steps"]:
        if step is None:
            continue
        if "--shell" in step or "--cmd" in step:
            step = _POSITIONAL.sub(r"\\$\1", step)
        lines.append(step)
    lines.append("set +x")
    if delay:
        lines.append(f"sleep {delay}")
    if kmsg:
        lines += ["unset KMSG", 'echo "<0><LAVA_SIGNAL_ENDRUN $TESTRUN_ID $UUID>" > /dev/kmsg']
    else:
        lines.append('echo "<LAVA_SIGNAL_ENDRUN $TESTRUN_ID $UUID>"')
    return "\n".join(lines) + "\n"


def skip_options(skip_install: Any) -> set[str]:
    """The install parts to skip; raises JobError on an unknown value."""
    if skip_install is None:
        return set()
    if isinstance(skip_install, str):
        skip_install = [skip_install]
    if not isinstance(skip_install, list):
        raise JobError("'skip_install' must be a list such as [deps, steps]")
    unknown = set(skip_install) - {*SKIP_INSTALL, "all"}
    if unknown:
        raise JobError(
            f"Unrecognised skip_install value(s) {sorted(map(str, unknown))}: "
            f"use {', '.join((*SKIP_INSTALL, 'all'))}"
        )
    return set(SKIP_INSTALL) if "all" in skip_install else set(skip_install)


def install_script(
    testdef: Mapping[str, Any],
    definition: Mapping[str, Any],
    dut_dir: str,
    skip: Iterable[str] = (),
    distro: str | None = None,
) -> str:
    """The `install.sh` of one definition: keys, sources, packages, then the steps.

    `git-repos` are cloned on the dispatcher (see `install_git_repos`), not here.
    """
    skip = set(skip)
    install = testdef.get("install") or {}
    lines = parameter_lines(testdef, definition)
    if "keys" not in skip:
        lines += [f"lava-add-keys {key}" for key in _strings(install, "keys")]
    if "sources" not in skip:
        lines += [f"lava-add-sources {src}" for src in _strings(install, "sources")]
    if "deps" not in skip:
        deps = _strings(install, "deps")
        if distro:
            deps += _strings(install, f"deps-{distro}")
        if deps:
            lines.append("lava-install-packages " + " ".join(deps))
    if "steps" not in skip:
        steps = _strings(install, "steps")
        if steps:
            lines += [f"cd {shlex.quote(dut_dir)}", "pwd", *steps]
    return "\n".join(lines) + "\n"


def _strings(install: Mapping[str, Any], key: str) -> list[str]:
    values = install.get(key) or []
    if not isinstance(values, list):
        raise JobError(f"install.{key} must be a list")
    return [str(value) for value in values if value is not None]


def git_repos(
    testdef: Mapping[str, Any], definition: Mapping[str, Any]
) -> list[tuple[str, str, str | None]]:
    """(url, destination, branch) of each `install.git-repos` entry.

    A value naming a parameter (`url: REPO_URL`) takes that parameter's value,
    the job's value winning over the definition's default.
    """
    params: dict[str, Any] = {}
    for source in (
        testdef.get("params"),
        testdef.get("parameters"),
        definition.get("parameters"),
        definition.get("params"),
    ):
        if isinstance(source, Mapping):
            params.update(source)

    def lookup(value: Any) -> str | None:
        if value is None:
            return None
        return str(params.get(value, value)) if isinstance(value, str) else str(value)

    repos = []
    for entry in (testdef.get("install") or {}).get("git-repos") or []:
        if isinstance(entry, str):
            url, destination, branch = entry, None, None
        elif isinstance(entry, Mapping) and entry.get("url"):
            url = lookup(entry["url"]) or ""
            destination = lookup(entry.get("destination"))
            branch = lookup(entry.get("branch"))
        else:
            raise JobError(f"install.git-repos: {entry!r} needs a 'url'")
        if not destination:
            destination = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
        if not destination or "/" in destination or destination in (".", ".."):
            raise JobError(
                f"install.git-repos: destination '{destination}' must be one directory name"
            )
        repos.append((url, destination, branch))
    return repos


def testdef_metadata(
    testdef: Mapping[str, Any], vcs: str, commit_id: str | None = None
) -> dict[str, Any]:
    """What LAVA writes to `testdef_metadata` next to run.sh."""
    metadata = testdef["metadata"]
    value: dict[str, Any] = {
        "os": metadata.get("os", ""),
        "devices": metadata.get("devices", ""),
        "environment": metadata.get("environment", ""),
        "branch_vcs": vcs,
        "project_name": metadata["name"],
    }
    if commit_id:
        value["commit_id"] = commit_id
    return value


def expected_cases(testdef: Mapping[str, Any], definition: Mapping[str, Any]) -> list[str] | None:
    """The expected test case ids: the job's list wins over the definition's."""
    expected: Sequence[Any] | None = definition.get("expected") or testdef.get("expected")
    return [str(case) for case in expected] if expected else None
