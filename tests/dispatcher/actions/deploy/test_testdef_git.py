"""git fetches test repositories only from addresses the worker's fetch policy allows.

Repositories are served over git's dumb http protocol by real servers: on
127.0.0.1 (the worker itself: refused) and 127.0.0.2 (allowed here).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_overlay import INLINE, SMOKE, git, lava_dir, make_job, run

from lava.common import yamlio
from lava.common.exceptions import JobError
from lava.common.fetch_policy import FetchPolicy, parse_rule
from lava.common.limits import limit
from tests.support.fetch_servers import Site, site

POLICY = FetchPolicy(allow=(parse_rule("127.0.0.2"),))
LOOPBACK = "a loopback address, which the worker does not fetch from for jobs"


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "smoke.yaml")  # not -A: a submodule's gitlink has no checkout here
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def serve(work: Path, served: Path, name: str) -> None:
    """Publish the repository `work` as `served/name` for dumb http."""
    target = served / name
    if target.exists():
        git(work, "push", "-q", "--force", str(target), "HEAD:refs/heads/main")
    else:
        git(served, "clone", "-q", "--bare", str(work), name)
    git(target, "update-server-info")


def new_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "smoke.yaml").write_text(yamlio.dump(SMOKE))
    return path


def with_submodule(repo: Path, url: str, sha: str) -> None:
    """Make `sub` a submodule of `repo` at `url`, commit `sha`."""
    (repo / ".gitmodules").write_text(f'[submodule "sub"]\n\tpath = sub\n\turl = {url}\n')
    git(repo, "add", ".gitmodules")
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sha},sub")


@pytest.fixture
def served(tmp_path: Path) -> Path:
    path = tmp_path / "served"
    path.mkdir()
    return path


@pytest.fixture
def inside(served: Path) -> Iterator[Site]:
    """The worker's own address serving repositories."""
    with site("127.0.0.1", served) as server:
        yield server


@pytest.fixture
def cache(served: Path) -> Iterator[Site]:
    """An allowed server of the same repositories."""
    with site("127.0.0.2", served) as server:
        yield server


@pytest.fixture
def tests_repo(tmp_path: Path, served: Path) -> str:
    """A test repository, served as tests.git: its commit."""
    repo = new_repo(tmp_path / "tests")
    sha = commit(repo, "tests")
    serve(repo, served, "tests.git")
    return sha


def git_job(tmp_path: Path, url: str, **extra: Any) -> Any:
    definition = {"from": "git", "name": "smoke", "repository": url, "path": "smoke.yaml"}
    definition["shallow"] = False  # git's dumb http protocol has no shallow clones
    job = make_job(tmp_path, [{**definition, **extra}])
    job.fetch_policy = POLICY
    return job


def refused_at_run(job: Any, message: str) -> None:
    """The job validates; then fetching its tests fails with a JobError matching `message`."""
    job.validate()
    with pytest.raises(JobError, match=message):
        job.pipeline.run_actions(None, None)


def fake_dns(monkeypatch: pytest.MonkeyPatch, name: str, address: str) -> None:
    """`name` resolves to `address` for lava-run only: git cannot resolve it."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_literal_address_of_the_worker_is_refused_at_validate(
    tmp_path: Path, inside: Site, tests_repo: str
) -> None:
    url = inside.url("/tests.git")
    with pytest.raises(JobError, match=f"repository '{url}': 127.0.0.1 is {LOOPBACK}"):
        git_job(tmp_path, url).validate()
    assert inside.seen() == []


def test_a_name_of_the_worker_is_refused_before_git_runs(
    tmp_path: Path, inside: Site, tests_repo: str
) -> None:
    job = git_job(tmp_path, inside.url("/tests.git", host="localhost"))
    refused_at_run(job, f"localhost resolves to 127.0.0.1, {LOOPBACK}")
    assert inside.seen() == []


def test_git_connects_to_the_addresses_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Site, tests_repo: str
) -> None:
    """git is handed the checked address: it never resolves the name again (here it could
    not at all), so a name cannot change its answer between the check and the clone."""
    fake_dns(monkeypatch, "git.lab.test", "127.0.0.2")
    job = run(git_job(tmp_path, f"http://git.lab.test:{cache.server_port}/tests.git"))
    assert (lava_dir(job) / "0" / "tests" / "0_smoke" / "smoke.yaml").is_file()
    assert "/tests.git/info/refs" in cache.seen()[0]


def test_git_follows_no_redirect(
    tmp_path: Path, cache: Site, inside: Site, tests_repo: str
) -> None:
    url = cache.redirect("/moved.git/info/refs", inside.url("/tests.git/info/refs"))
    job = git_job(tmp_path, url.removesuffix("/info/refs"))
    refused_at_run(job, "git follows no redirect for jobs on this worker")
    assert inside.seen() == []


def test_submodules_are_checked_before_git_fetches_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, served: Path, cache: Site, inside: Site
) -> None:
    sub = new_repo(tmp_path / "sub")
    sha = commit(sub, "sub")
    serve(sub, served, "sub.git")
    outer = new_repo(tmp_path / "outer")
    with_submodule(outer, inside.url("/sub.git"), sha)
    commit(outer, "a submodule on the worker")
    serve(outer, served, "outer.git")
    job = git_job(tmp_path, cache.url("/outer.git"), recursive=True)
    refused_at_run(job, f"submodule 'sub' url '{inside.url('/sub.git')}': 127.0.0.1 is {LOOPBACK}")
    assert inside.seen() == []
    # from an allowed server, by a name git could not resolve itself: pinned as well
    fake_dns(monkeypatch, "git.lab.test", "127.0.0.2")
    with_submodule(outer, f"http://git.lab.test:{cache.server_port}/sub.git", sha)
    commit(outer, "a submodule on an allowed server")
    serve(outer, served, "outer.git")
    (tmp_path / "again").mkdir()
    job = run(git_job(tmp_path / "again", cache.url("/outer.git"), recursive=True))
    assert (lava_dir(job) / "0" / "tests" / "0_smoke" / "sub" / "smoke.yaml").is_file()


def test_submodules_nest_only_so_deep(tmp_path: Path, served: Path, cache: Site) -> None:
    """Each commit has the one before as its submodule: a chain deeper than the limit."""
    repo = new_repo(tmp_path / "chain")
    sha = commit(repo, "0")
    for number in range(limit("submodule_depth") + 1):
        with_submodule(repo, cache.url("/chain.git"), sha)
        sha = commit(repo, str(number + 1))
    serve(repo, served, "chain.git")
    job = git_job(tmp_path, cache.url("/chain.git"), recursive=True)
    refused_at_run(job, f"submodules nest deeper than {limit('submodule_depth')} levels")


def test_install_git_repos_of_the_worker_are_refused(
    tmp_path: Path, inside: Site, tests_repo: str
) -> None:
    url = inside.url("/tests.git", host="localhost")
    testdef = {**SMOKE, "install": {"git-repos": [{"url": url}]}}
    job = make_job(tmp_path, [{**INLINE, "repository": testdef}])
    job.fetch_policy = POLICY
    refused_at_run(job, f"install.git-repos url '{url}': localhost resolves")
    assert inside.seen() == []


@pytest.mark.parametrize(
    "url", ["http://evil\\@git.example/tests.git", "http://git.example./tests.git"]
)
def test_a_host_that_parsers_could_read_apart_is_refused(tmp_path: Path, url: str) -> None:
    """git must connect to the host checked: a URL that another parser reads otherwise is
    refused before git sees it."""
    job = git_job(tmp_path, url)
    refused_at_run(job, "the host part is not plain")
