"""`http-download`: fetch an image over http(s), through the worker's download cache.

At validate time a HEAD request (GET if HEAD is refused) must answer 200, so
the job fails before anything runs. A 4xx answer is the job's error (the URL
points at nothing: JobError); a server that cannot be reached, times out or
answers 5xx is the lab's problem (InfrastructureError), which differs from
LAVA (it reports both as job errors) so that a lab outage does not look like
a user's mistake and a retry later can succeed. At run time any
failure is an InfrastructureError, since validate saw the file: a non-200
answer, a refused or reset connection, a DNS failure, a timeout, a short body.
A wrong checksum or a file that is not in its announced compression stays the
job's error (JobError). Every connection, redirects included, goes only where
the worker's fetch policy allows (`guarded_http`); a refusal is the job's error.

Cache policy: a cached copy whose checksum equals one the job pins
(`sha256sum`, `md5sum`, `sha512sum`) is used without asking the server. Any
other cached copy is revalidated with a conditional GET (If-None-Match /
If-Modified-Since): a 304 serves the cached copy, a 200 replaces it while the
job downloads. Copies without ETag or Last-Modified are therefore fetched
again. `use_cache: false` bypasses the cache both ways.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
import urllib3
from urllib3.util import Retry

from lava.common.exceptions import InfrastructureError, JobError
from lava.common.fetch_policy import FetchPolicy
from lava.dispatcher import guarded_http, sources
from lava.dispatcher.actions.deploy.cache import CacheEntry, DownloadCache
from lava.dispatcher.actions.deploy.file_download import read_chunks
from lava.dispatcher.actions.deploy.handler import DownloadHandler, Fetched
from lava.dispatcher.deadline import remaining
from lava.dispatcher.fetch_guard import FetchRefused

HTTP_TIMEOUT = 60.0
"""Longest wait for a connection or one read while downloading (LAVA uses 60 s)."""
VALIDATE_TIMEOUT = 30.0
"""Same, for the existence check: validate() runs without an action deadline."""
HTTP_CHUNK_SIZE = 64 * 1024
"""Bytes per read: small enough that a slow link still shows progress."""
HTTP_RETRIES = 3
HTTP_BACKOFF = 0.2
# Answers that mean "try again shortly"; the others are final.
RETRY_STATUSES = (408, 425, 429, 500, 502, 503, 504)
HTTP_OK = 200
HTTP_NOT_MODIFIED = 304

NETWORK_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


def session(policy: FetchPolicy | None) -> requests.Session:
    """A session for the job's `policy`, retrying connection errors and transient answers
    a few times.

    Retry-After is ignored so that every wait stays bounded by our own backoff.
    """
    retry = Retry(
        total=HTTP_RETRIES,
        connect=HTTP_RETRIES,
        read=HTTP_RETRIES,
        status=HTTP_RETRIES,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"HEAD", "GET"}),
        backoff_factor=HTTP_BACKOFF,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    return guarded_http.session(policy, retry)


def describe_status(response: requests.Response) -> str:
    return f"HTTP {response.status_code} {response.reason or ''}".rstrip()


class HttpDownloadAction(DownloadHandler):
    """Downloads an image with requests, streaming, using and filling the download cache."""

    name = "http-download"
    description = "use http to download the file"
    summary = "http download"

    def source_name(self) -> str:
        # Kept percent-encoded, as LAVA does: decoding could produce a '/'.
        return urlparse(self.url).path.rsplit("/", 1)[-1]

    @property
    def headers(self) -> dict[str, str]:
        """The job's extra request headers (tokens, cookies)."""
        return {str(k): str(v) for k, v in (self.image.get("headers") or {}).items()}

    def request_headers(self) -> dict[str, str]:
        # Ask for the bytes as stored so that Content-Length is the file's size.
        return {"Accept-Encoding": "identity", **self.headers}

    @property
    def what(self) -> str:
        return f"'url' of image '{self.label}'"

    # -- validate ---------------------------------------------------------
    def validate(self) -> None:
        # A refused address first: it says more than any other problem of the URL.
        policy = self.job.fetch_policy
        sources.check(self.url, self.what, sources.HTTP_SCHEMES, None, policy=policy)
        super().validate()

    def check_source(self) -> None:
        self.logger.debug(f"Validating that {self.url} exists")
        try:
            with session(self.job.fetch_policy) as http:
                response = http.head(
                    self.url,
                    allow_redirects=True,
                    headers=self.request_headers(),
                    timeout=VALIDATE_TIMEOUT,
                )
                if response.status_code != HTTP_OK:
                    # Some servers (signed object-store URLs) refuse HEAD only.
                    response.close()
                    self.logger.debug("Using GET because HEAD is not supported properly")
                    response = http.get(
                        self.url,
                        allow_redirects=True,
                        stream=True,
                        headers=self.request_headers(),
                        timeout=VALIDATE_TIMEOUT,
                    )
                response.close()
        except FetchRefused as exc:
            raise exc.naming(self.what, self.url) from None
        except requests.Timeout as exc:
            raise InfrastructureError(f"'{self.url}' ({self.label}) timed out: {exc}") from exc
        except requests.RequestException as exc:
            raise InfrastructureError(
                f"Unable to reach '{self.url}' ({self.label}): {exc}"
            ) from exc
        if response.status_code >= 500:
            raise InfrastructureError(
                f"Server error at '{self.url}' ({self.label}): {describe_status(response)}"
            )
        if response.status_code != HTTP_OK:
            raise JobError(
                f"Resource unavailable at '{self.url}' ({self.label}): {describe_status(response)}"
            )
        self.size = int(response.headers.get("Content-Length", -1))

    # -- run --------------------------------------------------------------
    def fetch(self, dest: Path, max_end_time: float) -> Fetched:
        if self.image.get("use_cache", True) is False:
            self.cache_state = "disabled"
            self.logger.debug(f"not using the download cache for {self.url} (use_cache: false)")
            with self.get(max_end_time) as response:
                return self.receive(response, dest, None)
        try:
            entry = DownloadCache(self.job.cache_dir).entry(self.url, self.headers)
        except OSError as exc:
            self.logger.warning(f"download cache unavailable ({exc}); downloading without it")
            self.cache_state = "unavailable"
            with self.get(max_end_time) as response:
                return self.receive(response, dest, None)
        for _attempt in range(2):
            fetched = self.fetch_cached(entry, dest, max_end_time)
            if fetched is not None:
                return fetched
        raise InfrastructureError(f"The download cache keeps a corrupt copy of {self.url}")

    def fetch_cached(self, entry: CacheEntry, dest: Path, max_end_time: float) -> Fetched | None:
        """Serve from the cache or download into it; None if the cached copy was corrupt."""

        def waiting() -> None:
            self.logger.info(f"waiting for another job to download {self.url} into the cache")

        with entry.locked(max_end_time, waiting):
            meta = entry.meta()
            if meta is not None and self.pinned(meta):
                self.logger.debug("the cached copy has the checksum the job asks for")
                data = entry.open_data()
            else:
                with self.get(max_end_time, meta) as response:
                    if meta is None or response.status_code != HTTP_NOT_MODIFIED:
                        return self.receive(response, dest, entry)
                self.logger.debug("the server says the cached copy is current")
                data = entry.open_data()
        assert meta is not None
        # Copy out of the cache without the lock: a job replacing the entry
        # meanwhile renames a new file over it, our open file stays intact.
        self.logger.info(f"using cached copy of {self.url}")
        with data:
            fetched = self.transfer(read_chunks(data, entry.path), dest, int(meta["size"]))
        if fetched.digests["sha256"] != meta["sha256"]:
            self.logger.warning(f"the cached copy of {self.url} is corrupt: downloading again")
            with entry.locked(max_end_time, waiting):
                if entry.meta() == meta:
                    entry.evict()
            return None
        self.cache_state = "hit"
        return fetched

    def pinned(self, meta: Mapping[str, Any]) -> bool:
        """Whether the job's checksums identify the cached copy (all known ones match)."""
        known = [
            meta[algorithm] == expected
            for algorithm, expected in self.expected_checksums().items()
            if algorithm in meta
        ]
        return bool(known) and all(known)

    @contextlib.contextmanager
    def get(
        self, max_end_time: float, meta: Mapping[str, Any] | None = None
    ) -> Iterator[requests.Response]:
        """GET the image (conditional when `meta` has validators), streaming."""
        headers = self.request_headers()
        if meta is not None:
            if meta.get("etag"):
                headers["If-None-Match"] = str(meta["etag"])
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = str(meta["last_modified"])
        # Each connect and each read waits at most this long; the action's
        # deadline (SIGALRM) bounds the whole transfer.
        wait = max(remaining(max_end_time, HTTP_TIMEOUT), 0.01)
        with session(self.job.fetch_policy) as http:
            try:
                response = http.get(
                    self.url,
                    allow_redirects=True,
                    stream=True,
                    headers=headers,
                    timeout=(wait, wait),
                )
            except FetchRefused as exc:
                raise exc.naming(self.what, self.url) from None
            except requests.RequestException as exc:
                raise InfrastructureError(f"Unable to download '{self.url}': {exc}") from exc
            with response:
                yield response

    def chunks(self, response: requests.Response) -> Iterator[bytes]:
        """The body exactly as sent (no Content-Encoding decoding); errors are the network's."""
        try:
            yield from response.raw.stream(HTTP_CHUNK_SIZE, decode_content=False)
        except NETWORK_ERRORS as exc:
            raise InfrastructureError(f"Unable to download '{self.url}': {exc}") from exc

    def receive(self, response: requests.Response, dest: Path, entry: CacheEntry | None) -> Fetched:
        """Write a 200 answer to `dest`, and to the cache if `entry` is given."""
        if response.status_code != HTTP_OK:
            # validate() saw the file: losing it since is the infrastructure's fault.
            raise InfrastructureError(
                f"Unable to download '{self.url}': {describe_status(response)}"
            )
        total = int(response.headers.get("Content-Length", self.size))
        writer = None
        if entry is not None:
            try:
                writer = entry.writer()
            except OSError as exc:
                self.logger.warning(f"Unable to write to the download cache: {exc}")
        try:
            fetched = self.transfer(
                self.chunks(response), dest, total, writer.write if writer else None
            )
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        self.cache_state = "disabled" if entry is None else "miss"
        if writer is not None:
            meta = {
                "url": self.url,
                "size": fetched.size,
                "etag": response.headers.get("ETag"),
                "last_modified": response.headers.get("Last-Modified"),
                **fetched.digests,
            }
            try:
                writer.commit(meta)
                self.logger.debug(f"stored {self.url} in the download cache ({entry.path})")
            except OSError as exc:
                self.logger.warning(f"Unable to store {self.url} in the download cache: {exc}")
        return fetched
