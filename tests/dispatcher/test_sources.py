"""What a job may make the worker fetch: a few schemes, local files only where allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lava.common.exceptions import JobError
from lava.dispatcher import git, sources


@pytest.mark.parametrize(
    ("url", "scheme", "path"),
    [
        ("https://example.org/a.img", "https", None),
        ("HTTP://example.org/a.img", "http", None),
        ("file:///srv/images/a.img", "file", "/srv/images/a.img"),
        ("file://localhost/srv/a%20b.img", "file", "/srv/a b.img"),
        ("file://otherhost/srv/a.img", "file://host", None),
        ("/srv/images/a.img", "file", "/srv/images/a.img"),
        ("relative/a.img", "file", "relative/a.img"),
        ("ftp://example.org/a.img", "ftp", None),
    ],
)
def test_parse(url: str, scheme: str, path: str | None) -> None:
    found = sources.parse(url)
    assert (found.scheme, found.path) == (scheme, Path(path) if path else None)


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("ext::sh -c touch% /tmp/pwned", "ext::"),
        ("fd::17", "fd::"),
        ("git@example.org:group/repo.git", "ssh"),
        ("ssh://git@example.org/repo.git", "ssh"),
        ("git://example.org/repo.git", "git"),
    ],
)
def test_parse_git(url: str, scheme: str) -> None:
    assert sources.parse(url, git=True).scheme == scheme


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ext::sh -c touch% /tmp/pwned", "the scheme 'ext::' is not allowed"),
        ("fd::17", "the scheme 'fd::' is not allowed"),
        ("git@example.org:repo.git", "the scheme 'ssh' is not allowed"),
        ("ssh://example.org/repo.git", "the scheme 'ssh' is not allowed"),
        ("--upload-pack=touch /tmp/pwned", "starts with '-'"),
        ("file:///etc", "local paths are allowed only under nowhere on this worker"),
        ("/etc", "local paths are allowed only under nowhere"),
    ],
)
def test_git_repositories_refused(url: str, message: str) -> None:
    with pytest.raises(JobError, match=f"^repo '.*'.*{message}"):
        git.check_repository(url, "repo", ())


def test_local_paths_only_under_allowed_directories(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "sub" / "a.img").write_text("x")
    (tmp_path / "secret").write_text("token")
    (allowed / "link").symlink_to(tmp_path / "secret")
    dirs = (allowed,)
    assert sources.check(f"file://{allowed}/sub/a.img", "url", ("https",), dirs).path
    assert sources.check(f"{allowed}/sub/../sub/a.img", "url", ("https",), dirs).path
    for url in (f"{allowed}/link", f"file://{allowed}/../secret", f"{tmp_path}/secret"):
        with pytest.raises(JobError, match=f"only under {allowed}"):
            sources.check(url, "url", ("https",), dirs)
    # lava-run by hand: any local path
    assert sources.check(f"{tmp_path}/secret", "url", ("https",), None).path


def test_messages_quote_the_url_as_written() -> None:
    with pytest.raises(JobError) as info:
        sources.check(
            "ftp://user:s3cr3t@host/x", "url", ("https",), (), shown="ftp://${AUTH}@host/x"
        )
    assert "s3cr3t" not in str(info.value)
    assert "ftp://${AUTH}@host/x" in str(info.value)


@pytest.mark.parametrize("ref", ["--upload-pack=touch /tmp/x", "-b", "main\nx"])
def test_refs_that_git_could_take_for_options(ref: str) -> None:
    with pytest.raises(JobError, match="is not a git revision or branch name"):
        git.check_ref(ref, "revision")
    assert git.check_ref("v1.0", "revision") == "v1.0"
