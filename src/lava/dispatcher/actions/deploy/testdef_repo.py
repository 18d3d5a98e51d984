"""Fetch one test definition into the overlay: from git, inline in the job, or a tarball.

Each repo action fills the definition's directory `<stage>/tests/<idx>_<name>/`
and parses its test definition once; the overlay actions that follow it read
the result from the shared `DefinitionSpec`.
"""

from __future__ import annotations

import posixpath
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

from lava.common import yamlio
from lava.common.exceptions import InfrastructureError, JobError, LAVABug
from lava.common.limits import limit
from lava.dispatcher import fetch_guard, git, job_secrets, paths, sources
from lava.dispatcher.actions.deploy import testdef_scripts
from lava.dispatcher.deadline import remaining
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action

DOWNLOAD_CHUNK = 1 << 16


@dataclass
class DefinitionSpec:
    """One job definition entry and what the overlay actions learn about it."""

    stage: int
    index: int
    name: str
    definition: dict[str, Any]
    dut_dir: str
    uuid: str = ""
    host_dir: Path | None = None
    testdef: dict[str, Any] = field(default_factory=dict)
    commit_id: str | None = None
    vcs: str = ""

    @property
    def test_name(self) -> str:
        """`<idx>_<name>`: the suite name and the directory under `tests/`."""
        return f"{self.index}_{self.name}"

    @property
    def path(self) -> str:
        return str(self.definition.get("path", ""))

    def summary(self) -> dict[str, Any]:
        """The entry the test shell reads from `test-definition` / `stage-<n>`."""
        source = self.definition.get("from")
        parse = self.testdef.get("parse")
        return {
            "index": self.index,
            "name": self.name,
            "run": self.test_name,
            "uuid": self.uuid,
            "from": source,
            "repository": "inline" if source == "inline" else self.definition.get("repository"),
            "path": self.path,
            "revision": str(self.definition.get("revision") or "unspecified"),
            "commit_id": self.commit_id,
            "parse": (
                {"pattern": parse.get("pattern", ""), "fixupdict": parse.get("fixupdict") or {}}
                if isinstance(parse, dict) and parse.get("pattern")
                else None
            ),
            "expected": testdef_scripts.expected_cases(self.testdef, self.definition),
        }


def safe_join(base: Path, relative: str, what: str) -> Path:
    """`base / relative`, refusing absolute paths, `..` and links that leave `base`."""
    normal = posixpath.normpath(relative)
    if not relative or posixpath.isabs(relative) or normal == ".." or normal.startswith("../"):
        raise JobError(f"{what} '{relative}' must be a relative path inside the repository")
    return paths.inside(base, normal, what=what)


class RepoAction(Action):
    """Base of the repo actions: clears the definition's directory, parses its YAML."""

    vcs: ClassVar[str] = ""

    def __init__(self, spec: DefinitionSpec) -> None:
        super().__init__()
        self.spec = spec

    def validate(self) -> None:
        super().validate()
        if not self.spec.path:
            self.errors.append(f"definition '{self.spec.name}': 'path' is missing")
        if "repository" not in self.spec.definition:
            self.errors.append(f"definition '{self.spec.name}': 'repository' is missing")

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        overlay_dir = self.state.overlay.dir
        if not overlay_dir:
            raise LAVABug(f"{self.name} ran before lava-overlay created the overlay")
        spec = self.spec
        host_dir = Path(overlay_dir) / str(spec.stage) / "tests" / spec.test_name
        if host_dir.exists():
            shutil.rmtree(host_dir)
        host_dir.parent.mkdir(parents=True, exist_ok=True)
        spec.host_dir = host_dir
        spec.vcs = self.vcs
        spec.commit_id = self.fetch(host_dir, max_end_time)
        yaml_file = safe_join(host_dir, spec.path, "path")
        spec.testdef = testdef_scripts.load_testdef(yaml_file, spec.name, spec.path)
        fmt = spec.testdef["metadata"]["format"]
        if fmt != testdef_scripts.TESTDEF_FORMAT:
            self.logger.warning(
                f"{spec.test_name}: metadata.format is '{fmt}', "
                f"expected '{testdef_scripts.TESTDEF_FORMAT}'"
            )
        self.logger.debug(f"uuid={spec.uuid} {spec.test_name} from {spec.path}")
        return connection

    def fetch(self, host_dir: Path, max_end_time: float) -> str | None:
        """Fill `host_dir`; return the commit id when there is one."""
        raise NotImplementedError


class GitRepoAction(RepoAction):
    """Clones a git repository (URL or local path) into the definition's directory."""

    name = "git-repo-action"
    description = "apply git repository of tests to the test image"
    summary = "clone git test repo"
    vcs = "git"

    def validate(self) -> None:
        super().validate()
        definition, name = self.spec.definition, self.spec.name
        repository = definition.get("repository")
        if not isinstance(repository, str) or not repository:
            self.errors.append(f"definition '{name}': 'repository' must be a git URL")
        else:
            try:
                source = self.source()
                if source.path is not None and not source.path.exists():
                    self.errors.append(
                        f"definition '{name}': no git repository at {repository} on this dispatcher"
                    )
            except JobError as exc:
                self.errors.append(str(exc))
        for key in ("revision", "branch"):
            if definition.get(key) is not None:
                try:
                    git.check_ref(definition[key], f"definition '{name}': {key}")
                except JobError as exc:
                    self.errors.append(str(exc))
        if shutil.which("git") is None:
            self.errors.append("git is not installed on the dispatcher")

    def source(self) -> sources.Source:
        """The repository with the job's secrets filled in, if the worker may fetch it."""
        raw = str(self.spec.definition["repository"])
        url = job_secrets.expand(raw, job_secrets.job_secrets(self.job.parameters))
        return git.check_repository(
            url, self.what, self.job.local_dirs, shown=raw, policy=self.job.fetch_policy
        )

    @property
    def what(self) -> str:
        return f"definition '{self.spec.name}': repository"

    def fetch(self, host_dir: Path, max_end_time: float) -> str | None:
        definition = self.spec.definition
        source = self.source()
        revision = definition.get("revision")
        branch = definition.get("branch")
        history = definition.get("history", True) is not False
        self.logger.info(f"Fetching tests from {definition['repository']}")
        if source.path is not None and source.path.is_dir() and not history:
            # No .git wanted from a repository on this disk: export the tree,
            # several times faster than a clone.
            commit_id = self._export(
                source.path, str(revision or branch or "HEAD"), host_dir, max_end_time
            )
        else:
            commit_id = self._clone(source, host_dir, revision, branch, max_end_time)
            if not history:
                shutil.rmtree(host_dir / ".git", ignore_errors=True)
        self.results = {
            "commit": commit_id,
            "repository": definition["repository"],
            "path": self.spec.path,
        }
        return commit_id

    def _clone(
        self,
        source: sources.Source,
        host_dir: Path,
        revision: Any,
        branch: Any,
        max_end_time: float,
    ) -> str:
        raw = str(self.spec.definition["repository"])
        config = git.credentials_config(raw, source.url, self.job.work_dir / f"git-{self.level}")
        config += git.pinned(source, self.job.fetch_policy, self.what, raw)
        # No hook samples: fewer files to pack into the overlay.
        args = [*config, "clone", "--quiet", "--template="]
        if branch:
            args.append(f"--branch={branch}")
        # git ignores --depth for a local path (and a local clone is cheap anyway).
        if not revision and self.spec.definition.get("shallow", True) and source.path is None:
            args.append("--depth=1")
        if revision:
            args.append("--no-checkout")
        allowed = git.protocols(source)
        self._git([*args, "--", raw, str(host_dir)], max_end_time, allowed=allowed)
        if revision:
            self._git(
                ["-C", str(host_dir), "checkout", "--quiet", str(revision), "--"],
                max_end_time,
                JobError,
                f"revision '{revision}' is not in {raw}",
            )
        if self.spec.definition.get("recursive"):
            self._submodules(host_dir, max_end_time)
        return self._git(["-C", str(host_dir), "rev-parse", "HEAD"], max_end_time)

    def _submodules(self, repo: Path, max_end_time: float, depth: int = 1) -> None:
        """Fetch the submodules of `repo` level by level, each URL checked as the job's own.

        The repository names them: never from this worker's disk, and only from
        addresses the worker's fetch policy allows.
        """
        if not (repo / ".gitmodules").is_file():
            return
        if depth > limit("submodule_depth"):
            raise JobError(
                f"{self.what}: submodules nest deeper than {limit('submodule_depth')} levels"
            )
        self._git(["-C", str(repo), "submodule", "--quiet", "init"], max_end_time)
        config = self._git(["-C", str(repo), "config", "--local", "--null", "--list"], max_end_time)
        options: list[str] = []
        for entry in config.split("\0"):
            key, _, url = entry.partition("\n")
            if key.startswith("submodule.") and key.endswith(".url"):
                what = f"{self.what}: submodule '{key[10:-4]}' url"
                source = git.check_repository(url, what, (), policy=self.job.fetch_policy)
                options += git.pinned(source, self.job.fetch_policy, what)
        self._git(["-C", str(repo), *options, "submodule", "--quiet", "update"], max_end_time)
        listing = self._git(["-C", str(repo), "ls-files", "--stage", "-z"], max_end_time)
        for entry in listing.split("\0"):
            mode, _, path = entry.partition(" ")
            if mode == "160000":  # a submodule: "<mode> <object> <stage>\t<path>"
                self._submodules(repo / path.partition("\t")[2], max_end_time, depth + 1)

    def _export(self, repo: Path, ref: str, host_dir: Path, max_end_time: float) -> str:
        commit_id = self._git(
            ["-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            max_end_time,
            JobError,
            f"revision '{ref}' is not in {repo}",
            allowed=git.LOCAL,
        )
        self.logger.debug(f"Exporting {commit_id} of {repo}")
        proc = subprocess.Popen(
            ["git", "-C", str(repo), "archive", "--format=tar", commit_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=git.environment(git.LOCAL),
        )
        assert proc.stdout is not None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                paths.extract(tar, tar, host_dir)
        finally:
            proc.stdout.close()
            _, stderr = proc.communicate()
        if proc.returncode != 0:
            raise InfrastructureError(f"git archive of {repo} failed: {stderr.decode().strip()}")
        return commit_id

    def _git(
        self,
        args: list[str],
        max_end_time: float,
        error: type[Exception] = InfrastructureError,
        hint: str = "",
        allowed: str = git.NETWORK,
    ) -> str:
        return git.run(args, remaining(max_end_time), self.logger.debug, error, hint, allowed)


class InlineRepoAction(RepoAction):
    """Writes the job's inline test definition to `path`."""

    name = "inline-repo-action"
    description = "apply inline test definition to the test image"
    summary = "extract inline test definition"
    vcs = "inline"

    def validate(self) -> None:
        super().validate()
        repository = self.spec.definition.get("repository")
        if "repository" in self.spec.definition and not isinstance(repository, dict):
            self.errors.append(
                f"definition '{self.spec.name}': an inline 'repository' must be a test "
                "definition mapping"
            )
        elif isinstance(repository, dict):
            try:
                testdef_scripts.check_testdef(
                    repository, f"inline test definition '{self.spec.name}'"
                )
            except JobError as exc:
                self.errors.append(str(exc))

    def fetch(self, host_dir: Path, max_end_time: float) -> str | None:
        target = safe_join(host_dir, self.spec.path, "path")
        target.parent.mkdir(parents=True, exist_ok=True)
        paths.write_file(target, yamlio.dump(self.spec.definition["repository"]), 0o644)
        return None


class UrlRepoAction(RepoAction):
    """Downloads a tarball of tests and unpacks it (with `strip-components`)."""

    name = "url-repo-action"
    description = "apply a single test file to the test image"
    summary = "download file test"
    vcs = "url"

    def validate(self) -> None:
        super().validate()
        repository = self.spec.definition.get("repository")
        if not isinstance(repository, str) or not repository:
            self.errors.append(f"definition '{self.spec.name}': 'repository' must be a URL")
        else:
            try:
                self.source()
            except JobError as exc:
                self.errors.append(str(exc))
        strip = self.spec.definition.get("strip-components", 0)
        if not isinstance(strip, int) or strip < 0:
            self.errors.append(
                f"definition '{self.spec.name}': 'strip-components' must be a positive integer"
            )

    def fetch(self, host_dir: Path, max_end_time: float) -> str | None:
        definition = self.spec.definition
        url = str(definition["repository"])
        strip = int(definition.get("strip-components", 0))
        self.logger.info(f"Downloading tests from {url}")
        with tempfile.TemporaryFile(dir=self.job.work_dir) as tmp:
            size = self._download(url, tmp, max_end_time)
            tmp.seek(0)
            self.logger.debug(f"Unpacking {size} bytes into {host_dir}, stripping {strip}")
            unpack_tarball(tmp, host_dir, strip, str(definition.get("compression") or ""))
        self.results = {"repository": url, "path": self.spec.path, "size": size}
        return None

    def source(self) -> sources.Source:
        """The tarball's URL, if the worker may fetch it."""
        url = str(self.spec.definition["repository"])
        return sources.check(
            url, self.what, sources.HTTP_SCHEMES, self.job.local_dirs, policy=self.job.fetch_policy
        )

    @property
    def what(self) -> str:
        return f"definition '{self.spec.name}': repository"

    def _download(self, url: str, out: IO[bytes], max_end_time: float) -> int:
        path = self.source().path
        if path is not None:
            try:
                with path.open("rb") as src:
                    shutil.copyfileobj(src, out)
            except OSError as exc:
                raise JobError(f"Unable to read the tests tarball {path}: {exc}") from exc
            return out.tell()
        import requests  # only jobs with `from: url` definitions pay for it

        from lava.dispatcher import guarded_http

        headers = self.spec.definition.get("headers") or {}
        try:
            with (
                guarded_http.session(self.job.fetch_policy) as http,
                http.get(
                    url, headers=headers, stream=True, timeout=remaining(max_end_time, 60)
                ) as response,
            ):
                if response.status_code >= 400:
                    error = JobError if response.status_code in (401, 403, 404) else None
                    raise (error or InfrastructureError)(
                        f"Unable to download {url}: HTTP {response.status_code}"
                    )
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    out.write(chunk)
        except fetch_guard.FetchRefused as exc:
            raise exc.naming(self.what, url) from None
        except requests.RequestException as exc:
            raise InfrastructureError(f"Unable to download {url}: {exc}") from exc
        return out.tell()


def unpack_tarball(src: IO[bytes], dest: Path, strip: int = 0, compression: str = "") -> None:
    """Unpack a (compressed) tarball into `dest`, dropping `strip` leading components."""
    dest.mkdir(parents=True, exist_ok=True)
    stream: IO[bytes] = src
    if compression in ("zstd", "zst"):
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(src)  # type: ignore[assignment]
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            paths.extract(_stripped(tar, strip), tar, dest)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise JobError(f"Unable to unpack the tests tarball: {exc}") from exc


def _stripped(members: Iterable[tarfile.TarInfo], strip: int) -> Iterator[tarfile.TarInfo]:
    """The members with their first `strip` path components dropped (empty ones skipped)."""
    for member in members:
        parts = Path(member.name).parts[strip:]
        if not parts:
            continue
        member.name = str(Path(*parts))
        if member.islnk() and strip:
            link_parts = Path(member.linkname).parts[strip:]
            member.linkname = str(Path(*link_parts)) if link_parts else ""
        yield member


REPO_ACTIONS: dict[str, type[RepoAction]] = {
    "git": GitRepoAction,
    "inline": InlineRepoAction,
    "url": UrlRepoAction,
}
"""The job's `from:` value → the action that fetches the definition."""
