"""git on the worker for a job: no shell, no terminal, only the transports a job may use.

Every call gets `GIT_ALLOW_PROTOCOL`: http, https and git for repositories
from the network, `file` only for one the worker allows on its own disk
(never for the submodules of either, which the repository itself names).
So `ext::` and `fd::` (which run commands) and ssh (the worker's keys) are
refused by git itself too. Values from the job come after `--` or as
`--option=value`, and one starting with `-` is refused before git sees it.
The job gives git no configuration and no hooks (`--template=`). Over the
network, `pinned` keeps git on the addresses the worker's fetch policy allows.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lava.common.exceptions import InfrastructureError, JobError
from lava.common.fetch_policy import FetchPolicy, literal_address
from lava.dispatcher import fetch_guard, sources

NETWORK = "http:https:git"
LOCAL = "file"
_REDIRECTED = re.compile(r"returned error: 30[1278]\b")
# [user[:password]@]host[:port] with a host any URL parser reads alike
_AUTHORITY = re.compile(
    r"(?:[^@/\\?#\s]*@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)(?::[0-9]*)?"
)


def check_repository(
    url: str,
    what: str,
    local_dirs: Sequence[Path] | None,
    shown: str | None = None,
    policy: FetchPolicy | None = None,
) -> sources.Source:
    """The repository `url` as git would fetch it, or JobError naming `what`."""
    return sources.check(
        url, what, sources.GIT_SCHEMES, local_dirs, git=True, shown=shown, policy=policy
    )


def pinned(
    source: sources.Source, policy: FetchPolicy | None, what: str, shown: str | None = None
) -> list[str]:
    """`-c` options that keep git on the addresses `policy` allows for `source`, checked now.

    git resolves names itself: over http(s), libcurl is handed the addresses
    checked here (`http.curloptResolve`), so it does not ask DNS again; no
    redirect is followed (nor http-alternates, which git treats as redirects).
    A git:// URL is checked here but git resolves its name again.
    """
    if policy is None or source.path is not None:
        return []
    quoted = source.url if shown is None else shown
    parts = urlsplit(source.url)
    if not _AUTHORITY.fullmatch(parts.netloc):
        # git and libcurl must read the same host as this check
        raise JobError(f"{what} '{fetch_guard.shown(quoted)}': the host part is not plain")
    host, port = fetch_guard.endpoint(source.url)
    try:
        addresses = fetch_guard.resolve(policy, host, port)
    except fetch_guard.FetchRefused as exc:
        raise exc.naming(what, quoted) from None
    except OSError as exc:
        if source.scheme == "git" or not fetch_guard.proxied(source.url):
            raise InfrastructureError(f"Unable to resolve {host} for {what}: {exc}") from exc
        addresses = []  # the proxy from the environment resolves it
    options = ["-c", "http.followRedirects=false"]
    if addresses and source.scheme != "git" and literal_address(host) is None:
        listed = ",".join(f"[{a}]" if ":" in a else a for a in addresses)
        options += ["-c", f"http.curloptResolve={host}:{port}:{listed}"]
    return options


def protocols(source: sources.Source) -> str:
    """The transports git may use to fetch `source` (its own, nothing for its submodules)."""
    return LOCAL if source.path is not None else NETWORK


def check_ref(value: Any, what: str) -> str:
    """A revision or branch name from the job; JobError if git could take it for an option."""
    text = str(value)
    if text.startswith("-") or any(ord(char) < 32 for char in text):
        raise JobError(f"{what} '{text[:200]}' is not a git revision or branch name")
    return text


def environment(allowed: str) -> dict[str, str]:
    """The worker's environment (the job adds nothing to it) with git's guards."""
    return dict(
        os.environ,
        GIT_ALLOW_PROTOCOL=allowed,
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )


def run(
    args: list[str],
    timeout: float,
    log: Callable[[str], Any],
    error: type[Exception] = InfrastructureError,
    hint: str = "",
    allowed: str = NETWORK,
) -> str:
    """Run `git args` without a terminal; return its stdout or raise `error`."""
    log("Running 'git " + " ".join(args) + "'")
    try:
        proc = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=max(timeout, 0.001),
            env=environment(allowed),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise error(f"git {command(args)} did not finish in {timeout:.0f}s") from exc
    except OSError as exc:
        raise InfrastructureError(f"Unable to run git: {exc}") from exc
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        message = hint or f"git {command(args)} failed"
        last = detail[-1] if detail else f"exit code {proc.returncode}"
        if _REDIRECTED.search(last):  # only `pinned` makes git refuse them
            raise JobError(
                f"{message}: {last} (git follows no redirect for jobs on this worker: "
                "give the repository's own URL)"
            )
        raise error(f"{message}: {last}")
    return proc.stdout.strip()


def command(args: Sequence[str]) -> str:
    """The git command of `args` (`clone`), past `-C DIR` and `-c NAME=VALUE`."""
    position = 0
    while position < len(args) and args[position] in ("-C", "-c"):
        position += 2
    return args[position] if position < len(args) else "git"


def credentials_config(raw: str, url: str, path: Path) -> list[str]:
    """`-c include.path=...` options that make git fetch `url` when asked for `raw`.

    So the secrets filled into a repository URL reach git in a private file,
    not on its command line (which every local user can read) nor in the
    clone's `.git/config`, which keeps `raw`.
    """
    if raw == url:
        return []
    if any(char in url + raw for char in '\n\0"\\'):
        raise JobError("a repository URL with secrets may not contain newlines, quotes or '\\'")
    path.write_text(f'[url "{url}"]\n\tinsteadOf = "{raw}"\n', encoding="utf-8")
    path.chmod(0o600)
    return ["-c", f"include.path={path}"]
