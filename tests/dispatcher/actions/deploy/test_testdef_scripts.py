"""run.sh / install.sh generation and test definition checks, run under a real shell."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio
from lava.common.exceptions import JobError
from lava.dispatcher.actions.deploy import testdef_scripts as ts

SHELLS = [sh for sh in ("busybox", "dash") if shutil.which(sh)]


def make_testdef(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "metadata": {"format": ts.TESTDEF_FORMAT, "name": "smoke"},
        "run": {"steps": ["echo one"]},
    }
    data.update(extra)
    return data


def run_sh(script: str, tmp_path: Path, shell: str = "busybox") -> subprocess.CompletedProcess:
    (tmp_path / "uuid").write_text("7_1.1.2.1")
    path = tmp_path / "run.sh"
    path.write_text(script)
    cmd = ["busybox", "sh", "-e", str(path)] if shell == "busybox" else [shell, "-e", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)


def test_run_sh_layout_matches_lava() -> None:
    script = ts.run_script(
        make_testdef(params={"A": "1"}), {}, "0_smoke", "/lava-7/0/tests/0_smoke"
    )
    assert script.splitlines() == [
        "###default parameters from test definition###",
        "A=1",
        "######",
        "###test parameters from job submission###",
        "######",
        "set -e",
        "set -x",
        "export TESTRUN_ID=0_smoke",
        "cd /lava-7/0/tests/0_smoke",
        'UUID="$(cat uuid)"',
        "set +x",
        'echo "<LAVA_SIGNAL_STARTRUN $TESTRUN_ID $UUID>"',
        "set -x",
        "echo one",
        "set +x",
        'echo "<LAVA_SIGNAL_ENDRUN $TESTRUN_ID $UUID>"',
    ]


@pytest.mark.parametrize("shell", SHELLS)
def test_run_sh_stops_at_the_first_failing_step(tmp_path: Path, shell: str) -> None:
    steps = ["echo first-step", "false", "echo never-reached"]
    script = ts.run_script(make_testdef(run={"steps": steps}), {}, "0_smoke", str(tmp_path))
    proc = run_sh(script, tmp_path, shell)
    assert proc.returncode != 0
    assert "<LAVA_SIGNAL_STARTRUN 0_smoke 7_1.1.2.1>" in proc.stdout
    assert "first-step" in proc.stdout
    assert "never-reached" not in proc.stdout
    assert "ENDRUN" not in proc.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_run_sh_params_job_values_win_and_are_quoted(tmp_path: Path, shell: str) -> None:
    definition = make_testdef(
        params={"GREETING": "hello", "COUNT": 3, "EMPTY": None},
        run={"steps": ['echo "[$GREETING] [$COUNT] [$EMPTY] [$ODD]"']},
    )
    job = {"params": {"GREETING": "it's $HOME; `id`"}, "parameters": {"ODD": "a b"}}
    proc = run_sh(ts.run_script(definition, job, "3_smoke", str(tmp_path)), tmp_path, shell)
    assert proc.returncode == 0, proc.stderr
    assert "[it's $HOME; `id`] [3] [] [a b]" in proc.stdout
    lines = proc.stdout.splitlines()
    assert lines[0] == "<LAVA_SIGNAL_STARTRUN 3_smoke 7_1.1.2.1>"
    assert lines[-1] == "<LAVA_SIGNAL_ENDRUN 3_smoke 7_1.1.2.1>"


def test_job_params_override_order_matches_lava() -> None:
    lines = ts.parameter_lines(
        {"params": {"X": "def"}}, {"parameters": {"X": "job-parameters"}, "params": {"X": "job"}}
    )
    assignments = [line for line in lines if line.startswith("X=")]
    assert assignments == ["X=def", "X=job-parameters", "X=job"]


def test_invalid_parameter_name_is_a_job_error() -> None:
    with pytest.raises(JobError, match="'BAD-NAME' is not a valid shell variable"):
        ts.parameter_lines({}, {"params": {"BAD-NAME": "x"}})


def test_kmsg_and_character_delay() -> None:
    script = ts.run_script(make_testdef(), {"lava-signal": "kmsg"}, "0_smoke", "/lava-1/0", 250)
    assert "# USE_KMSG\nexport KMSG=true\n" in script
    assert 'echo "<0><LAVA_SIGNAL_STARTRUN $TESTRUN_ID $UUID>" > /dev/kmsg' in script
    assert 'echo "<0><LAVA_SIGNAL_ENDRUN $TESTRUN_ID $UUID>" > /dev/kmsg' in script
    assert "export CHARACTER_DELAY=0.25\nsleep 0.25\n" in script


def test_positional_parameters_of_shell_cases_are_escaped() -> None:
    steps = ["lava-test-case x --shell awk '{print $1}'", "echo $1"]
    script = ts.run_script(make_testdef(run={"steps": steps}), {}, "0_x", "/d")
    assert "lava-test-case x --shell awk '{print \\$1}'\n" in script
    assert "\necho $1\n" in script


def test_install_sh_parts_and_skip_install() -> None:
    install = {
        "keys": ["k1"],
        "sources": ["s1"],
        "deps": ["curl", "jq"],
        "deps-debian": ["procps"],
        "steps": ["make"],
    }
    full = ts.install_script(
        make_testdef(install=install), {}, "/lava-1/0/tests/0_x", distro="debian"
    )
    assert "lava-add-keys k1\nlava-add-sources s1\n" in full
    assert "lava-install-packages curl jq procps\n" in full
    assert full.endswith("cd /lava-1/0/tests/0_x\npwd\nmake\n")
    skip = ts.skip_options(["deps", "steps"])
    partial = ts.install_script(make_testdef(install=install), {}, "/d", skip)
    assert "lava-install-packages" not in partial and "make" not in partial
    assert "lava-add-keys k1" in partial
    assert ts.skip_options(["all"]) == set(ts.SKIP_INSTALL)
    with pytest.raises(JobError, match="Unrecognised skip_install"):
        ts.skip_options(["everything"])


def test_git_repos_use_parameters_for_url_and_destination() -> None:
    definition = make_testdef(
        params={"REPO": "https://example.org/default.git"},
        install={"git-repos": ["https://example.org/a.git", {"url": "REPO", "branch": "b1"}]},
    )
    repos = ts.git_repos(definition, {"params": {"REPO": "https://example.org/job.git"}})
    assert repos == [
        ("https://example.org/a.git", "a", None),
        ("https://example.org/job.git", "job", "b1"),
    ]
    bad = make_testdef(install={"git-repos": [{"url": "u", "destination": "../x"}]})
    with pytest.raises(JobError, match="destination"):
        ts.git_repos(bad, {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Unable to find the test definition 'smoke' \\(path: t/smoke.yaml\\)"),
        ("metadata: [unclosed", "Invalid YAML in the test definition 'smoke'"),
        ("run: {steps: [a]}", "has no 'metadata' mapping"),
        ("metadata: {name: x}\nrun: {steps: [a]}", "no 'metadata.format'"),
        ("metadata: {format: f}\nrun: {steps: [a]}", "no 'metadata.name'"),
        ("metadata: {format: f, name: x}", "no 'run.steps' list"),
        ("metadata: {format: f, name: x}\nrun: {steps: [a: b]}", "run.steps\\[0\\] is a dict"),
    ],
)
def test_load_testdef_errors_name_the_definition(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "t" / "smoke.yaml"
    if content is not None:
        path.parent.mkdir()
        path.write_text(content)
    with pytest.raises(JobError, match=message):
        ts.load_testdef(path, "smoke", "t/smoke.yaml")


def test_load_testdef_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "smoke.yaml"
    path.write_text(yamlio.dump(make_testdef(expected=["a"])))
    loaded = ts.load_testdef(path, "smoke", "smoke.yaml")
    assert ts.testdef_metadata(loaded, "git", "abc") == {
        "os": "",
        "devices": "",
        "environment": "",
        "branch_vcs": "git",
        "project_name": "smoke",
        "commit_id": "abc",
    }
    assert ts.expected_cases(loaded, {}) == ["a"]
    assert ts.expected_cases(loaded, {"expected": ["b"]}) == ["b"]
