"""requests sessions for a job's downloads that connect only where the worker's policy allows.

Every connection, the first and each redirect's, resolves its host once with
`fetch_guard.resolve` (which refuses a name with any refused address) and
connects to those very addresses: the check and the connection cannot see
different answers. Through a proxy from the environment (http_proxy,
https_proxy, no_proxy), the proxy connects, so the URL's host is checked as
the worker resolves it; a name the worker cannot resolve is left to the
proxy, whose own rules then apply.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import Retry
from urllib3.util.connection import create_connection

from lava.common.fetch_policy import FetchPolicy
from lava.dispatcher import fetch_guard
from lava.dispatcher.fetch_guard import FetchRefused


def session(policy: FetchPolicy | None, retry: Retry | int = 0) -> requests.Session:
    """A session for a job's fetches: `policy` checks every connection (None: no check)."""
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=retry) if policy is None else GuardedAdapter(policy, retry)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def connect(conn: HTTPConnection, policy: FetchPolicy) -> socket.socket:
    """A socket to `conn`'s host on an address `policy` allows, with urllib3's errors."""
    try:
        addresses = fetch_guard.resolve(policy, conn.host, conn.port or 80)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    error: OSError | None = None
    for address in addresses:
        try:
            sock = create_connection(
                (address, conn.port or 80),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except OSError as exc:
            error = exc
            continue
        sys.audit("http.client.connect", conn, conn.host, conn.port)
        return sock
    if isinstance(error, TimeoutError):
        raise ConnectTimeoutError(
            conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
        ) from error
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}") from error


class GuardedAdapter(HTTPAdapter):
    """An adapter whose direct connections go through `connect`, and whose proxied requests
    have their URL's host checked first."""

    def __init__(self, policy: FetchPolicy, retry: Retry | int = 0) -> None:
        self.policy = policy
        super().__init__(max_retries=retry)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        policy = self.policy

        class Connection(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                return connect(self, policy)

        class SecureConnection(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return connect(self, policy)

        class Pool(HTTPConnectionPool):
            ConnectionCls = Connection

        class SecurePool(HTTPSConnectionPool):
            ConnectionCls = SecureConnection

        self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        url = request.url or ""
        try:
            if select_proxy(url, kwargs.get("proxies")):
                self.check_proxied(url)
            return super().send(request, *args, **kwargs)
        except FetchRefused as exc:
            raise FetchRefused(exc.detail, url) from None

    def check_proxied(self, url: str) -> None:
        """The URL's host, as the worker resolves it, when a proxy will connect to it."""
        host, port = fetch_guard.endpoint(url)
        with contextlib.suppress(socket.gaierror):  # only the proxy knows this name
            fetch_guard.resolve(self.policy, host, port)
