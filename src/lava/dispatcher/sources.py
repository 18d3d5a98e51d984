"""What a job may make the worker fetch: remote URLs of a few schemes, local files only where
the worker's admin allows.

Images and `from: url` test tarballs come over http or https; git repositories
over http, https or git's own protocol. A `file://` URL or a plain path names
a file of the worker itself (its token, /etc/shadow), which the job would copy
into its guest and print: lava-run accepts one only under the directories of
its `--allow-local-path` options when it has any (or `--no-local-paths`), as
lava-worker always runs it. Run by hand without them, lava-run keeps
accepting local paths, as LAVA's does. The path is resolved first, so a link
under an allowed directory does not lead out of it.

Over the network, lava-worker's fetch policy (`lava.common.fetch_policy`)
says which addresses a job may reach: a URL whose host is a refused address
is refused here, at validate; a name is checked as it is fetched
(`fetch_guard`), where each address it resolves to is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from lava.common.exceptions import JobError
from lava.common.fetch_policy import FetchPolicy
from lava.dispatcher import fetch_guard

HTTP_SCHEMES = ("http", "https")
GIT_SCHEMES = ("http", "https", "git")
LOCAL_HOSTS = ("", "localhost")

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# git's `<transport>::<address>` (ext::, fd::, remote helpers) and scp-like `host:path`.
_HELPER = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::")
_SCP_LIKE = re.compile(r"[^/]*:")


@dataclass(frozen=True)
class Source:
    """A URL as the worker would fetch it: its scheme and, for a local one, the path."""

    url: str
    scheme: str
    path: Path | None = None


def parse(url: str, git: bool = False) -> Source:
    """The scheme of `url` (`file` for a plain path) and the local path it names."""
    if git and _HELPER.match(url):
        return Source(url, url.partition("::")[0].lower() + "::")
    found = _SCHEME.match(url)
    if found is None:
        if git and _SCP_LIKE.match(url):
            return Source(url, "ssh")
        return Source(url, "file", Path(url))
    scheme = found.group(1).lower()
    if scheme != "file":
        return Source(url, scheme)
    parsed = urlparse(url)
    if parsed.netloc not in LOCAL_HOSTS:
        return Source(url, "file://host")
    return Source(url, "file", Path(unquote(parsed.path)))


def check(
    url: str,
    what: str,
    schemes: Sequence[str],
    local_dirs: Sequence[Path] | None,
    git: bool = False,
    shown: str | None = None,
    policy: FetchPolicy | None = None,
) -> Source:
    """`url` parsed, or JobError naming `what` when the worker may not fetch it.

    `local_dirs` None: any local path (lava-run by hand); else only under those.
    `policy`: the addresses the job may fetch from, checked here when the URL
    names one (a name is checked when it is fetched); None: any.
    Messages quote `shown` (the URL as the job wrote it, before secrets) if given.
    """
    quoted = (url if shown is None else shown)[:200]
    if url.startswith("-"):
        raise JobError(f"{what} '{quoted}' starts with '-'")
    source = parse(url, git)
    if source.path is None:
        if source.scheme not in schemes:
            allowed = ", ".join((*schemes, "file (where the worker allows)"))
            raise JobError(
                f"{what} '{quoted}': the scheme '{source.scheme}' is not allowed "
                f"(allowed: {allowed})"
            )
        if policy is not None:
            try:
                fetch_guard.check_literal(policy, *fetch_guard.endpoint(source.url))
            except fetch_guard.FetchRefused as exc:
                raise exc.naming(what, url if shown is None else shown) from None
        return source
    if local_dirs is not None and not allowed_path(source.path, local_dirs):
        where = ", ".join(str(d) for d in local_dirs) or "nowhere on this worker"
        raise JobError(
            f"{what} '{quoted}' is a local path, and local paths are allowed only under "
            f"{where} (lava-worker --allow-local-path)"
        )
    return source


def allowed_path(path: Path, local_dirs: Sequence[Path]) -> bool:
    """Whether `path`, resolved, is under one of `local_dirs`, resolved."""
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(os.path.realpath(directory)) for directory in local_dirs)
