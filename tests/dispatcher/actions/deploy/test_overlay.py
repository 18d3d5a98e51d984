"""lava-overlay and its children on a real Job: layout, data for the test shell, archives."""

from __future__ import annotations

import functools
import gzip
import io
import os
import shutil
import stat
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio
from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher.actions.deploy.overlay import (
    ApplyOverlayRamdiskAction,
    DeployDeviceEnvironment,
    OverlayAction,
    overlay_tarball,
)
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.parser import plan_tests
from lava.dispatcher.pipeline import Action, Job
from lava.dispatcher.state import DeployedImage, NamespaceState

FORMAT = "Lava-Test Test Definition 1.0"
SMOKE = {
    "metadata": {"format": FORMAT, "name": "smoke"},
    "run": {"steps": ["lava-test-case one --shell true", "lava-test-case two --result pass"]},
}
INLINE = {"from": "inline", "name": "smoke", "path": "inline/smoke.yaml", "repository": SMOKE}


def device_dict(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "hostname": "qemu-01",
        "devicetype": "qemu",
        "actions": {"deploy": {"methods": {"image": {}}}, "boot": {"methods": {"qemu": {}}}},
        "timeouts": {"actions": {}, "connections": {}},
        "environment": {"DEVICE_VAR": "device value"},
        "parameters": {"interfaces": {"target": {"ip": "10.0.0.5", "mac": "52:54:00:12:34:56"}}},
    }
    data.update(extra)
    return data


class Deploy(Action):
    """Stands for a deploy action so that levels are LAVA's (1.1 lava-overlay, ...)."""

    name = "deployimages"

    def populate(self, parameters: dict[str, Any]) -> None:
        pipeline = self.make_pipeline()
        pipeline.add_action(OverlayAction())
        pipeline.add_action(DeployDeviceEnvironment())
        pipeline.add_action(ApplyOverlayRamdiskAction())


def make_job(
    tmp_path: Path,
    *stages: list[dict[str, Any]],
    device: dict[str, Any] | None = None,
    deploy: dict[str, Any] | None = None,
    job_id: str = "7",
    **extra: Any,
) -> Job:
    actions: list[dict[str, Any]] = [{"deploy": {"to": "tmpfs", **(deploy or {})}}]
    actions += [{"test": {"definitions": definitions}} for definitions in stages]
    definition = {"job_name": "overlay", "timeouts": {"job": {"minutes": 5}}, "actions": actions}
    definition.update(extra)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    job = Job(
        job_id,
        definition,
        Device.from_dict(device or device_dict()),
        JobLogger(io.StringIO()),
        work,
    )
    job.test_plan = plan_tests(actions)
    job.pipeline.add_action(Deploy(), {"namespace": "common", **actions[0]["deploy"]})
    return job


def run(job: Job) -> Job:
    job.validate()
    job.pipeline.run_actions(None, None)
    return job


def state(job: Job) -> NamespaceState:
    return job.state("common")


def tarball(job: Job) -> Path:
    """The console transfer's tar.gz, built on demand from the job's overlay."""
    return overlay_tarball(job.pipeline.actions[0])


def lava_dir(job: Job) -> Path:
    directory = state(job).overlay.dir
    assert directory is not None
    return directory


def git(repo: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.org",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.org",
    )
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return proc.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A local git repo: commit 1 (old) and 2 (head) of a testdef with params + scripts/."""
    path = tmp_path / "tests-repo"
    (path / "scripts").mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    testdef = {
        "metadata": {"format": FORMAT, "name": "net", "os": ["busybox"]},
        "params": {"GREETING": "hello", "COUNT": "1"},
        "install": {"deps": ["curl"], "steps": ["./scripts/setup.sh"]},
        "parse": {"pattern": r"^(?P<test_case_id>\S+): (?P<result>PASS|FAIL)$"},
        "run": {"steps": ["./scripts/check.sh $GREETING $COUNT"]},
    }
    (path / "net.yaml").write_text(yamlio.dump(testdef))
    (path / "scripts" / "check.sh").write_text('#!/bin/sh\necho version-1 "$@"\n')
    (path / "scripts" / "check.sh").chmod(0o755)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "one")
    old = git(path, "rev-parse", "HEAD")
    (path / "scripts" / "check.sh").write_text('#!/bin/sh\necho version-2 "$@"\n')
    git(path, "commit", "-q", "-am", "two")
    return path, old, git(path, "rev-parse", "HEAD")


def test_inline_definition_builds_lava_layout(tmp_path: Path) -> None:
    job = run(make_job(tmp_path, [INLINE], environment={"JOB_VAR": "it's"}, tags=["a", "b"]))
    root = lava_dir(job)
    assert root.name == "lava-7"
    assert state(job).overlay.results_dir == "/lava-7"
    runner = root / "bin" / "lava-test-runner"
    assert runner.read_text().startswith("#!/bin/sh\n")
    assert runner.stat().st_mode & stat.S_IXUSR
    assert "TARGET_DEVICE_IP=10.0.0.5" in (root / "bin" / "lava-target-ip").read_text()
    env = (root / "environment").read_text()
    assert "export DEVICE_VAR='device value'\n" in env
    assert "export JOB_VAR='it'\"'\"'s'\n" in env
    assert "export LAVA_JOB_ID=7\n" in env
    assert "export LAVA_JOB_TAGS=a,b\n" in env
    assert "export LAVA_DEVICE_HOSTNAME=qemu-01\nexport LAVA_DEVICE_TYPE=qemu\n" in env
    assert (root / "0" / "lava-test-runner.conf").read_text() == "/lava-7/0/tests/0_smoke\n"
    test_dir = root / "0" / "tests" / "0_smoke"
    assert yamlio.load((test_dir / "inline" / "smoke.yaml").read_text()) == SMOKE
    assert yamlio.load((test_dir / "testdef.yaml").read_text()) == SMOKE
    assert (test_dir / "uuid").read_text() == "7_1.1.2.1"
    assert yamlio.load((test_dir / "testdef_metadata").read_text())["branch_vcs"] == "inline"
    assert not (test_dir / "install.sh").exists()
    run_sh = (test_dir / "run.sh").read_text()
    assert "export TESTRUN_ID=0_smoke\ncd /lava-7/0/tests/0_smoke\n" in run_sh
    assert state(job).definitions[0] == [
        {
            "index": 0,
            "name": "smoke",
            "run": "0_smoke",
            "uuid": "7_1.1.2.1",
            "from": "inline",
            "repository": "inline",
            "path": "inline/smoke.yaml",
            "revision": "unspecified",
            "commit_id": None,
            "parse": None,
            "expected": None,
        }
    ]


def test_environment_file_sources_to_the_exact_values(tmp_path: Path) -> None:
    tricky = {"QUOTE": 'it\'s "quoted" $HOME `x`', "NUM": 3, "FLAG": True, "NEST": {"A": "b"}}
    job = run(make_job(tmp_path, [INLINE], environment=tricky))
    env_file = lava_dir(job) / "environment"
    proc = subprocess.run(
        ["busybox", "sh", "-c", f'. {env_file}; printf "%s|%s|%s|%s" "$QUOTE" $NUM $FLAG $NEST_A'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout == 'it\'s "quoted" $HOME `x`|3|1|b'


def test_pipeline_levels_match_lava(tmp_path: Path) -> None:
    job = make_job(tmp_path, [INLINE, {**INLINE, "name": "second"}])
    overlay = job.pipeline.describe()[0]["pipeline"][0]
    assert (overlay["name"], overlay["level"]) == ("lava-overlay", "1.1")
    children = [(a["name"], a["level"]) for a in overlay["pipeline"]]
    assert children == [
        ("lava-multinode-overlay", "1.1.1"),
        ("test-definition", "1.1.2"),
        ("compress-overlay", "1.1.3"),
    ]
    testdef = overlay["pipeline"][1]["pipeline"]
    assert [(a["name"], a["level"]) for a in testdef] == [
        ("inline-repo-action", "1.1.2.1"),
        ("test-overlay", "1.1.2.2"),
        ("test-install-overlay", "1.1.2.3"),
        ("test-runscript-overlay", "1.1.2.4"),
        ("inline-repo-action", "1.1.2.5"),
        ("test-overlay", "1.1.2.6"),
        ("test-install-overlay", "1.1.2.7"),
        ("test-runscript-overlay", "1.1.2.8"),
    ]


def test_git_revision_params_and_commit_id(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, old, _head = repo
    definition = {
        "from": "git",
        "name": "net",
        "repository": str(path),
        "path": "net.yaml",
        "revision": old,
        "params": {"GREETING": "from job"},
        "history": False,
    }
    job = run(make_job(tmp_path, [INLINE], [definition]))
    test_dir = lava_dir(job) / "1" / "tests" / "1_net"
    assert (test_dir / "scripts" / "check.sh").read_text().startswith("#!/bin/sh\necho version-1")
    assert not (test_dir / ".git").exists()
    run_sh = (test_dir / "run.sh").read_text()
    assert "GREETING=hello\nCOUNT=1\n" in run_sh
    assert "GREETING='from job'\n" in run_sh
    assert run_sh.index("GREETING=hello") < run_sh.index("GREETING='from job'")
    install = (test_dir / "install.sh").read_text()
    assert "lava-install-packages curl\ncd /lava-7/1/tests/1_net\npwd\n./scripts/setup.sh\n" in (
        install
    )
    (entry,) = state(job).definitions[1]
    assert entry["run"] == "1_net" and entry["index"] == 1
    assert entry["uuid"] == "7_1.1.2.5"
    assert entry["commit_id"] == old and entry["revision"] == old
    assert entry["repository"] == str(path) and entry["from"] == "git"
    assert entry["parse"]["pattern"].startswith("^(?P<test_case_id>")
    conf = (lava_dir(job) / "1" / "lava-test-runner.conf").read_text()
    assert conf == "/lava-7/1/tests/1_net\n"


def test_git_clone_keeps_history_by_default(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, old, head = repo
    definition = {"from": "git", "name": "net", "repository": str(path), "path": "net.yaml"}
    job = run(make_job(tmp_path, [definition], [{**definition, "name": "old", "revision": old}]))
    test_dir = lava_dir(job) / "0" / "tests" / "0_net"
    assert "version-2" in (test_dir / "scripts" / "check.sh").read_text()
    assert git(test_dir, "rev-parse", "HEAD") == head
    assert state(job).definitions[0][0]["commit_id"] == head
    old_dir = lava_dir(job) / "1" / "tests" / "1_old"
    assert "version-1" in (old_dir / "scripts" / "check.sh").read_text()
    assert git(old_dir, "rev-parse", "HEAD") == old
    assert state(job).definitions[1][0]["commit_id"] == old


def test_missing_testdef_file_is_a_job_error(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, _old, _head = repo
    definition = {"from": "git", "name": "net", "repository": str(path), "path": "nope.yaml"}
    job = make_job(tmp_path, [definition])
    job.validate()
    with pytest.raises(JobError, match=r"test definition 'net' \(path: nope.yaml\)"):
        job.pipeline.run_actions(None, None)


def test_unknown_revision_and_missing_repo(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, _old, _head = repo
    bad_rev = {"from": "git", "name": "n", "repository": str(path), "path": "net.yaml"}
    job = make_job(tmp_path, [{**bad_rev, "revision": "deadbeef"}])
    job.validate()
    with pytest.raises(JobError, match="revision 'deadbeef' is not in"):
        job.pipeline.run_actions(None, None)
    job = make_job(tmp_path, [{**bad_rev, "repository": str(tmp_path / "nowhere")}])
    with pytest.raises(JobError, match="no git repository at"):
        job.validate()


def test_remote_clone_failure_is_an_infrastructure_error(tmp_path: Path) -> None:
    definition = {
        "from": "git",
        "name": "n",
        "repository": "http://127.0.0.1:9/missing.git",  # the discard port: refused
        "path": "x.yaml",
    }
    job = make_job(tmp_path, [definition])
    job.validate()
    with pytest.raises(InfrastructureError, match="git clone failed"):
        job.pipeline.run_actions(None, None)


def test_skip_install(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, _old, _head = repo
    definition = {
        "from": "git",
        "name": "net",
        "repository": str(path),
        "path": "net.yaml",
        "skip_install": ["deps"],
    }
    job = run(make_job(tmp_path, [definition]))
    install = (lava_dir(job) / "0" / "tests" / "0_net" / "install.sh").read_text()
    assert "lava-install-packages" not in install
    assert "./scripts/setup.sh" in install
    job = make_job(tmp_path, [{**definition, "skip_install": ["bogus"]}])
    with pytest.raises(JobError, match="Unrecognised skip_install"):
        job.validate()


@pytest.mark.parametrize(
    ("definitions", "message"),
    [
        ([INLINE, INLINE], "need to be unique"),
        ([{**INLINE, "name": "lava"}], "'lava' test definition name is reserved"),
        ([{**INLINE, "name": "bad name"}], "test definition name 'bad name' is not a safe name"),
        ([{**INLINE, "from": "svn"}], "unsupported 'from: svn'"),
        ([{**INLINE, "repository": {"run": {"steps": []}}}], "no 'metadata' mapping"),
        ([{**INLINE, "params": {"A-B": "1"}}], "'A-B' is not a valid shell variable"),
    ],
)
def test_validation_errors(tmp_path: Path, definitions: list[Any], message: str) -> None:
    with pytest.raises(JobError, match=message):
        make_job(tmp_path, definitions).validate()


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside every job directory that a test repository aims at."""
    path = tmp_path / "victim" / "notes.txt"
    path.parent.mkdir()
    path.write_text("do not overwrite\n")
    return path


@pytest.mark.parametrize("history", [True, False])
def test_links_in_a_repository_never_write_outside(
    tmp_path: Path, victim: Path, history: bool
) -> None:
    """A repository's run.sh, uuid... links are replaced by the generated files, not followed."""
    path = tmp_path / "evil-repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    testdef = {**SMOKE, "install": {"steps": ["true"]}}
    (path / "smoke.yaml").write_text(yamlio.dump(testdef))
    for name in ("run.sh", "install.sh", "uuid", "testdef.yaml", "testdef_metadata"):
        (path / name).symlink_to(victim)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "links")
    definition = {
        "from": "git",
        "name": "evil",
        "repository": str(path),
        "path": "smoke.yaml",
        "history": history,
    }
    if not history:  # exported with `git archive`: such links are refused when unpacked
        with pytest.raises(JobError, match=r"the link 'install\.sh' points to '/"):
            run(make_job(tmp_path, [definition]))
        assert victim.read_text() == "do not overwrite\n"
        return
    job = run(make_job(tmp_path, [definition]))
    assert victim.read_text() == "do not overwrite\n"
    test_dir = lava_dir(job) / "0" / "tests" / "0_evil"
    for name in ("run.sh", "install.sh", "uuid", "testdef.yaml", "testdef_metadata"):
        assert not (test_dir / name).is_symlink(), name
    assert (test_dir / "uuid").read_text() == "7_1.1.2.1"


def test_definition_path_through_a_link_is_refused(tmp_path: Path, victim: Path) -> None:
    path = tmp_path / "evil-repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "smoke.yaml").symlink_to(victim)
    (path / "dir").symlink_to(victim.parent)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "links")
    for relative in ("smoke.yaml", "dir/notes.txt"):
        definition = {"from": "git", "name": "evil", "repository": str(path), "path": relative}
        job = make_job(tmp_path, [definition])
        job.validate()
        with pytest.raises(JobError, match=f"path '{relative}' leads out of"):
            job.pipeline.run_actions(None, None)


def test_local_repositories_only_where_the_worker_allows(
    tmp_path: Path, repo: tuple[Path, str, str]
) -> None:
    path, _old, _head = repo
    definition = {"from": "git", "name": "net", "repository": str(path), "path": "net.yaml"}
    job = make_job(tmp_path, [definition])
    job.local_dirs = (tmp_path / "elsewhere",)
    with pytest.raises(JobError, match="is a local path, and local paths are allowed only under"):
        job.validate()
    job = make_job(tmp_path, [definition, {**definition, "name": "exported", "history": False}])
    job.local_dirs = (path.parent,)
    run(job)
    assert (lava_dir(job) / "0" / "tests" / "0_net" / "net.yaml").is_file()
    assert (lava_dir(job) / "0" / "tests" / "1_exported" / "net.yaml").is_file()


def test_submodules_never_come_from_the_worker(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    """The repository names its submodules: file:// (a repository of the worker) is refused."""
    path, _old, _head = repo
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    (outer / "smoke.yaml").write_text(yamlio.dump(SMOKE))
    git(
        outer, "-c", "protocol.file.allow=always", "submodule", "add", "-q", f"file://{path}", "sub"
    )
    git(outer, "add", ".")
    git(outer, "commit", "-q", "-m", "with a submodule")
    definition = {
        "from": "git",
        "name": "outer",
        "repository": str(outer),
        "path": "smoke.yaml",
        "recursive": True,
    }
    job = make_job(tmp_path, [definition])
    job.local_dirs = (outer,)
    job.validate()
    with pytest.raises(JobError, match=r"submodule 'sub' url 'file://.*' is a local path"):
        job.pipeline.run_actions(None, None)
    assert not list((tmp_path / "work").rglob("net.yaml"))


@pytest.fixture
def http_repo(tmp_path: Path, repo: tuple[Path, str, str]) -> Iterator[str]:
    """The test repository served over git's dumb http protocol: its URL without a scheme."""
    served = tmp_path / "served"
    served.mkdir()
    git(served, "clone", "-q", "--bare", str(repo[0]), "repo.git")
    git(served / "repo.git", "update-server-info")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}/repo.git"
    finally:
        server.shutdown()
        server.server_close()


def test_secrets_in_a_repository_url_stay_off_git_command_line(
    tmp_path: Path, http_repo: str
) -> None:
    raw = "http://${USER}:${TOKEN}@" + http_repo
    definition = {
        "from": "git",
        "name": "net",
        "repository": raw,
        "path": "net.yaml",
        "shallow": False,
    }
    secrets = {"USER": "bot", "TOKEN": "s3cr3t-t0ken"}
    job = run(make_job(tmp_path, [definition], secrets=secrets))
    test_dir = lava_dir(job) / "0" / "tests" / "0_net"
    assert (test_dir / "net.yaml").is_file()
    assert git(test_dir, "config", "remote.origin.url") == raw
    stream = job.logger._stream
    assert isinstance(stream, io.StringIO)
    commands = [line for line in stream.getvalue().splitlines() if "Running 'git" in line]
    assert commands and not any("s3cr3t-t0ken" in line for line in commands)
    assert not list(test_dir.rglob("git-*")), "the credentials file is not in the overlay"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"url": "ext::sh -c touch% /tmp/pwned"}, "the scheme 'ext::' is not allowed"),
        ({"url": "https://example.org/x.git", "branch": "--upload-pack=x"}, "branch"),
    ],
)
def test_install_git_repos_are_checked(tmp_path: Path, entry: dict[str, str], message: str) -> None:
    testdef = {**SMOKE, "install": {"git-repos": [entry]}}
    job = make_job(tmp_path, [{**INLINE, "repository": testdef}])
    job.validate()
    with pytest.raises(JobError, match=message):
        job.pipeline.run_actions(None, None)


@pytest.mark.parametrize(
    "results_dir", ["/lava-%s/../../../../tmp/x", "lava-%s", "/lava-%s/", "/a b/lava-%s", "/%d"]
)
def test_results_dir_must_be_plain_names(tmp_path: Path, results_dir: str) -> None:
    device = device_dict(constants={"posix": {"lava_test_results_dir": results_dir}})
    job = make_job(tmp_path, [INLINE], device=device)
    with pytest.raises(JobError, match="lava_test_results_dir must be an absolute path of plain"):
        job.validate()


def test_url_repository_tarball_with_strip_components(tmp_path: Path) -> None:
    src = tmp_path / "src" / "top" / "defs"
    src.mkdir(parents=True)
    (src / "smoke.yaml").write_text(yamlio.dump(SMOKE))
    tarball = tmp_path / "tests.tar.xz"
    with tarfile.open(tarball, "w:xz") as tar:
        tar.add(tmp_path / "src" / "top", arcname="top")
    definition = {
        "from": "url",
        "name": "smoke",
        "repository": tarball.as_uri(),
        "path": "defs/smoke.yaml",
        "strip-components": 1,
    }
    job = run(make_job(tmp_path, [definition]))
    test_dir = lava_dir(job) / "0" / "tests" / "0_smoke"
    assert (test_dir / "defs" / "smoke.yaml").is_file()
    assert (test_dir / "run.sh").is_file()


def test_no_test_definitions_no_overlay(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    overlay = job.pipeline.actions[0].pipeline.actions[0]
    assert overlay.pipeline.actions == []
    run(job)
    assert state(job).overlay.dir is None
    assert state(job).overlay.delivery == ""


def test_secrets_and_env_dut(tmp_path: Path) -> None:
    job = make_job(tmp_path, [INLINE], secrets={"TOKEN": "s3cr3t"})
    job.env_dut = {"purge": True, "overrides": {"LANG": "C", "PROXY": "http://p:3128"}}
    run(job)
    assert (lava_dir(job) / "secrets").read_text() == (
        "TOKEN=s3cr3t\nLANG=C\nPROXY=http://p:3128\n"
    )
    lines = state(job).environment.lines
    assert lines == [
        "echo 'export LANG=C' >> ~/.bashrc",
        "echo 'export PROXY=http://p:3128' >> ~/.bashrc",
        ". ~/.bashrc",
    ]
    assert state(job).environment.shell_file == "~/.bashrc"


def test_secrets_file_sources_to_the_exact_values(tmp_path: Path) -> None:
    """Each value is one shell word: sourcing the file runs nothing, whatever it holds."""
    marker = tmp_path / "ran"
    tricky = {
        "QUOTE": 'it\'s "quoted"',
        "RUN": f"$(touch {marker}) `touch {marker}`; touch {marker}",
        "LINES": "one\ntwo",
    }
    job = run(make_job(tmp_path, [INLINE], secrets=tricky))
    secrets = lava_dir(job) / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    script = f". {secrets}; " + "; ".join(f'printf "%s\\0" "${name}"' for name in tricky)
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split("\0")[:-1] == list(tricky.values())
    assert not marker.exists()


def _cpio_names(payload: bytes) -> list[str]:
    """Names in a newc stream of concatenated archives, as the kernel reads them."""
    names, pos = [], 0
    while pos < len(payload):
        if payload[pos : pos + 4] == b"\0\0\0\0":
            pos += 4  # padding between archives
            continue
        assert payload[pos : pos + 6] == b"070701", f"bad magic at {pos}"
        fields = [int(payload[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        size, namesize = fields[6], fields[11]
        name = payload[pos + 110 : pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        pos += size + (-size % 4)
        if name != "TRAILER!!!":
            names.append(name)
    return names


def _gunzip_all(raw: bytes) -> bytes:
    """Decompress concatenated gzip members, skipping the zero padding between them."""
    out, rest = b"", raw
    while rest.strip(b"\0"):
        rest = rest.lstrip(b"\0")
        decomp = __import__("zlib").decompressobj(31)
        out += decomp.decompress(rest)
        rest = decomp.unused_data
    return out


def test_compress_cpio_and_tar_paths(tmp_path: Path) -> None:
    job = run(make_job(tmp_path, [INLINE]))
    cpio_path = Path(str(state(job).overlay.cpio))
    listing = subprocess.run(
        ["cpio", "-t", "--quiet"],
        input=gzip.decompress(cpio_path.read_bytes()),
        capture_output=True,
        check=True,
    ).stdout.decode()
    names = listing.split()
    for expected in (
        "lava-7",
        "lava-7/bin/lava-test-runner",
        "lava-7/0/lava-test-runner.conf",
        "lava-7/0/tests/0_smoke/run.sh",
        "lava-7/environment",
    ):
        assert expected in names
    with tarfile.open(tarball(job)) as tar:
        runner = tar.getmember("lava-7/bin/lava-test-runner")
        assert runner.mode == 0o755 and runner.uid == 0
        assert set(tar.getnames()) == set(names)


def test_overlay_appended_to_a_gzip_initrd(tmp_path: Path) -> None:
    from lava.dispatcher.cpio import CpioWriter

    initrd = tmp_path / "work" / "downloads" / "initrd.gz"
    initrd.parent.mkdir(parents=True)
    with CpioWriter(initrd, compress=True) as base:
        base.add_file("init", b"#!/bin/sh\nexec sh\n", mode=0o755)
    with initrd.open("ab") as f:
        f.write(b"x")  # an odd size: the overlay must still start 4-byte aligned
    base_size = initrd.stat().st_size
    job = make_job(tmp_path, [INLINE], deploy={"images": {"initrd": {"url": "file:///x"}}})
    state(job).images["initrd"] = DeployedImage("initrd", initrd)
    run(job)
    assert state(job).overlay.delivery == "ramdisk"
    raw = initrd.read_bytes()
    overlay = Path(str(state(job).overlay.cpio)).read_bytes()
    start = base_size + (-base_size % 4)
    assert raw[start:] == overlay
    names = _cpio_names(_gunzip_all(raw[: base_size - 1]) + _gunzip_all(raw[start:]))
    assert names[0] == "init"
    assert "lava-7/bin/lava-test-runner" in names
    assert "lava-7/0/tests/0_smoke/run.sh" in names


def test_hardlinked_ramdisk_is_copied_not_modified(tmp_path: Path) -> None:
    cache = tmp_path / "cache-ramdisk.cpio"
    cache.write_bytes(b"070701" + b"0" * 200)
    link = tmp_path / "work" / "ramdisk.cpio"
    link.parent.mkdir(parents=True)
    os.link(cache, link)
    job = make_job(tmp_path, [INLINE], deploy={"images": {"ramdisk": {"url": "file:///x"}}})
    state(job).images["ramdisk"] = DeployedImage("ramdisk", link)
    run(job)
    assert cache.stat().st_size == 206
    copy = state(job).images["ramdisk"].path
    assert copy != link and copy.stat().st_size > 206


def test_no_ramdisk_means_serial(tmp_path: Path) -> None:
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"MZ kernel")
    job = make_job(tmp_path, [INLINE], deploy={"images": {"kernel": {"url": "file:///k"}}})
    state(job).images["kernel"] = DeployedImage("kernel", kernel)
    run(job)
    assert state(job).overlay.delivery == "serial"
    assert kernel.read_bytes() == b"MZ kernel"


def test_runner_runs_the_overlay_for_real(tmp_path: Path) -> None:
    """Unpack the tarball on the host and run lava-test-runner under busybox sh."""
    device_root = tmp_path / "dut"
    device_root.mkdir()
    device = device_dict(constants={"posix": {"lava_test_results_dir": f"{device_root}/lava-%s"}})
    failing = {
        "from": "inline",
        "name": "failing",
        "path": "f.yaml",
        "repository": {
            "metadata": {"format": FORMAT, "name": "failing"},
            "run": {"steps": ["echo before-fail", "false", "echo after-fail"]},
        },
    }
    job = run(make_job(tmp_path, [INLINE, failing], device=device))
    with tarfile.open(tarball(job)) as tar:
        tar.extractall("/", filter="data")
    results_dir = f"{device_root}/lava-7"
    proc = subprocess.run(
        [
            "busybox",
            "sh",
            "-c",
            f". {results_dir}/environment; {results_dir}/bin/lava-test-runner {results_dir}/0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ["PATH"], "SHELL": "/bin/sh", "HOME": str(tmp_path)},
        check=False,
    )
    out = proc.stdout
    assert "<LAVA_SIGNAL_STARTRUN 0_smoke 7_1.1.2.1>" in out, out + proc.stderr
    assert "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=one RESULT=pass>" in out
    assert "<LAVA_SIGNAL_ENDRUN 0_smoke 7_1.1.2.1>" in out
    assert "<LAVA_SIGNAL_STARTRUN 1_failing 7_1.1.2.5>" in out
    assert "before-fail" in out and "after-fail" not in out
    assert "<LAVA_SIGNAL_ENDRUN 1_failing" not in out
    assert out.rstrip().endswith("<LAVA_TEST_RUNNER EXIT>")


def test_overlay_build_time_two_definitions(
    tmp_path: Path, repo: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _old, _head = repo
    git_def = {"from": "git", "name": "net", "repository": str(path), "path": "net.yaml"}
    job = make_job(tmp_path, [INLINE, git_def])
    job.validate()
    overlay = job.pipeline.actions[0].pipeline.actions[0]
    start = time.monotonic()
    job.pipeline.run_actions(None, None)
    total = time.monotonic() - start
    compress = overlay.pipeline.actions[2].elapsed
    with capsys.disabled():
        print(
            f"\noverlay build + compress, 2 definitions (inline + local git): "
            f"{overlay.elapsed * 1000:.1f} ms (compress {compress * 1000:.1f} ms, "
            f"whole deploy {total * 1000:.1f} ms)"
        )
    assert overlay.elapsed < 1.0


def test_clean_rebuild_on_retry(tmp_path: Path) -> None:
    job = run(make_job(tmp_path, [INLINE]))
    stale = lava_dir(job) / "0" / "tests" / "0_smoke" / "stale"
    stale.write_text("x")
    job.pipeline.run_actions(None, None)
    assert not stale.exists()
    shutil.rmtree(tmp_path / "work")
