"""The publisher: events in from the server's processes, out to websocket listeners on ``/ws/``.

One asyncio process (``lava-server manage lava-publisher``) reads the
datagrams of its inbox and sends each event to every listener allowed to see
it, as LAVA's lava-publisher does. A listener signs in as lavacli does
(``Authorization: Basic USER:TOKEN``), as a lava-worker does (``LAVA-Token``
and ``LAVA-Host``) or not at all (public events only); refused credentials
get LAVA's ``{"error": ...}`` message, then the connection closes.

Nothing a listener does can hold up the others or the inbox: events are
written without waiting, and a listener with more than ``BUFFER_LIMIT``
bytes not yet taken is cut off (lavacli reconnects by itself). The number
of listeners is bounded (``EVENT_MAX_CLIENTS``), a handshake must finish in
``OPEN_TIMEOUT`` seconds, a listener that does not answer pings is closed,
and what listeners send is read and dropped. Rights and tokens are read
again every ``REFRESH`` seconds: a revoked token ends its connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import stat
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django.db
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare
from websockets.asyncio.server import ServerConnection, broadcast, serve, unix_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..api.xmlrpc.auth import BadAuthorization, basic_credentials
from ..scheduler.models import Worker
from ..services.tokens import token_of
from .messages import Event, unpack
from .scope import Viewer, sees, viewer_of

LOG = logging.getLogger("lava.server.events")

PATH = "/ws/"
HEALTH_PATH = "/ws/v1/healthz"  # LAVA's
BUFFER_LIMIT = 1024 * 1024  # bytes a listener may leave unread before it is cut off
REFRESH = 30.0
OPEN_TIMEOUT = 10.0
PING_INTERVAL = PING_TIMEOUT = 20.0
INCOMING_LIMIT = 4096  # bytes of one message from a listener (they have nothing to say)
INBOX_BUFFER = 4 * 1024 * 1024


class PublisherError(RuntimeError):
    """The publisher cannot start: its inbox or its address is unusable."""


class Refused(Exception):
    """Credentials that name nobody; the message is sent to the listener."""


@dataclass(frozen=True)
class Credentials:
    """Who a listener says it is: a user (lavacli), a worker (lava-worker) or anonymous."""

    kind: str = "anonymous"
    name: str = ""
    secret: str = field(default="", repr=False)


def credentials_of(headers: Mapping[str, str]) -> Credentials:
    """The credentials in a handshake's headers; Refused when they cannot be read."""
    if headers.get("Authorization"):
        try:
            name, secret = basic_credentials(headers["Authorization"])
        except BadAuthorization as exc:
            raise Refused(f"Invalid basic authentication: {exc}") from None
        return Credentials("user", name, secret)
    if headers.get("LAVA-Token"):
        return Credentials("worker", headers.get("LAVA-Host", ""), headers["LAVA-Token"])
    return Credentials()


def identify(credentials: Credentials) -> Viewer:
    """The listener's rights, from the database; Refused for an unknown user, token or worker."""
    if credentials.kind == "user":
        token = token_of(credentials.secret, credentials.name)
        if token is None:
            raise Refused("Unknown user: no active user has this USER:TOKEN")
        return viewer_of(token.user)
    if credentials.kind == "worker":
        worker = Worker.objects.filter(hostname=credentials.name).first()
        if worker is None:
            raise Refused(f"Unknown worker {credentials.name[:200]!r} (LAVA-Host)")
        if not constant_time_compare(credentials.secret, worker.token):
            raise Refused("Invalid worker token (LAVA-Token)")
        return Viewer(worker=worker.hostname)
    return viewer_of(AnonymousUser())


def _in_database(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` on this thread's database connection, opened again when it broke."""
    django.db.close_old_connections()
    try:
        return func(*args)
    except django.db.DatabaseError as exc:
        django.db.connection.close()
        LOG.error("the database did not answer: %s", exc)  # its details stay in the log
        raise Refused("the lab's database did not answer; try again later") from None


@dataclass
class Listener:
    viewer: Viewer
    credentials: Credentials
    peer: str


def _peer(connection: ServerConnection) -> str:
    """The listener's address, for the log: the connection's, and whom a proxy says it is for."""
    address = connection.remote_address
    peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else "unix"
    forwarded = connection.request.headers.get("X-Forwarded-For", "") if connection.request else ""
    return f"{peer} for {forwarded.split(',')[-1].strip()[:100]}" if forwarded else peer


class Publisher:
    """The listeners, and the events sent to them."""

    def __init__(
        self,
        prefix: str,
        max_clients: int,
        *,
        identify: Callable[[Credentials], Viewer] = identify,
        buffer_limit: int = BUFFER_LIMIT,
        refresh: float = REFRESH,
    ) -> None:
        self.prefix = prefix
        self.max_clients = max_clients
        self.identify = identify
        self.buffer_limit = buffer_limit
        self.refresh = refresh
        self.listeners: dict[ServerConnection, Listener] = {}
        self.opening = 0
        self.counts = {"events": 0, "sent": 0, "cut_off": 0, "refused": 0, "bad_datagrams": 0}
        self._database = ThreadPoolExecutor(1, thread_name_prefix="lava-publisher-db")

    # -- events in
    def received(self, datagram: bytes) -> None:
        """One datagram from the inbox."""
        try:
            events = unpack(datagram)
        except ValueError as exc:
            self.counts["bad_datagrams"] += 1
            LOG.warning("inbox: a datagram that is not events (%s): dropped", exc)
            return
        for event in events:
            self.publish(event)

    def publish(self, event: Event) -> None:
        """Send ``event`` to every listener that may see it, without waiting for any."""
        self.counts["events"] += 1
        targets = []
        for connection, listener in list(self.listeners.items()):
            if not sees(listener.viewer, event):
                continue
            if connection.transport.get_write_buffer_size() > self.buffer_limit:
                self.cut_off(connection, f"it left more than {self.buffer_limit} bytes unread")
                continue
            targets.append(connection)
        if targets:
            broadcast(targets, event.frame(self.prefix))
            self.counts["sent"] += len(targets)

    def cut_off(self, connection: ServerConnection, why: str) -> None:
        """Drop a listener that does not keep up: its memory is freed at once."""
        listener = self.listeners.pop(connection, None)
        self.counts["cut_off"] += 1
        LOG.warning("listener %s cut off: %s", listener.peer if listener else "?", why)
        connection.transport.abort()

    # -- listeners
    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Before the handshake: LAVA's health check, the path, the number of listeners."""
        path = request.path.partition("?")[0]
        if path == HEALTH_PATH:
            response = connection.respond(200, json.dumps({"health": "good"}))
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json"
            return response
        if path not in (PATH, PATH.rstrip("/")):
            return connection.respond(404, f"Not found: events are at {PATH}\n")
        if len(self.listeners) + self.opening >= self.max_clients:
            self.counts["refused"] += 1
            return connection.respond(
                503, f"Too many listeners (EVENT_MAX_CLIENTS {self.max_clients}); try again later\n"
            )
        return None

    async def _in_database(self, func: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._database, _in_database, func, *args)

    async def handler(self, connection: ServerConnection) -> None:
        """One listener's connection: sign it in, then keep it until it goes."""
        self.opening += 1
        try:
            headers = connection.request.headers if connection.request else {}
            credentials = credentials_of(headers)
            viewer = await self._in_database(self.identify, credentials)
        except Refused as exc:
            LOG.info("listener %s refused: %s", _peer(connection), exc)
            await connection.send(json.dumps({"error": str(exc)}))
            return
        finally:
            self.opening -= 1
        listener = Listener(viewer, credentials, _peer(connection))
        self.listeners[connection] = listener
        who = f"{credentials.kind} {credentials.name}".strip()
        LOG.info("listener %s signed in: %s", listener.peer, who)
        try:
            async for _ in connection:
                pass  # listeners have nothing to say
        except ConnectionClosed:
            pass
        finally:
            self.listeners.pop(connection, None)
            LOG.info("listener %s left: %s", listener.peer, who)

    async def refresh_rights(self) -> None:
        """Read every listener's rights again; close those whose credentials no longer work."""
        by_credentials: dict[Credentials, list[ServerConnection]] = {}
        for connection, listener in list(self.listeners.items()):
            by_credentials.setdefault(listener.credentials, []).append(connection)
        for credentials, connections in by_credentials.items():
            try:
                viewer = await self._in_database(self.identify, credentials)
            except Refused as exc:
                closing = [c for c in connections if self.listeners.pop(c, None) is not None]
                await asyncio.gather(*(self._refuse(c, str(exc)) for c in closing))
                continue
            for connection in connections:
                if connection in self.listeners:
                    self.listeners[connection].viewer = viewer

    async def _refuse(self, connection: ServerConnection, message: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await connection.send(json.dumps({"error": message}))
            await connection.close(1008, "credentials no longer valid")

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh)
            try:
                await self.refresh_rights()
            except Exception:  # a bug here must not stop the events
                LOG.exception("refreshing the listeners' rights failed")

    # -- the process
    async def run(self, bind: str, inbox: Path, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set: the inbox at ``inbox``, listeners at ``bind``."""
        loop = asyncio.get_running_loop()
        sock = open_inbox(inbox)
        inode = inbox.stat().st_ino
        transport, _ = await loop.create_datagram_endpoint(lambda: _Inbox(self), sock=sock)
        refresher = asyncio.ensure_future(self._refresh_forever())
        _, _, unix_path = parse_bind(bind)
        try:
            async with self.listen(bind):
                LOG.info(
                    "lava-publisher: inbox %s; listeners at %s (%s), at most %d; topic %s",
                    inbox,
                    bind,
                    PATH,
                    self.max_clients,
                    self.prefix,
                )
                await stop.wait()
        finally:
            refresher.cancel()
            transport.close()
            remove_socket(inbox, inode)
            if unix_path is not None:
                with contextlib.suppress(OSError):
                    Path(unix_path).unlink()
            # the database thread's connection, closed by that thread before it ends: left
            # to the garbage collector, the server kept the session open after the stop
            self._database.submit(django.db.connections.close_all)
            self._database.shutdown(wait=False)

    def listen(self, bind: str) -> Any:
        """The websocket server at ``bind`` (HOST:PORT or unix:PATH)."""
        options: dict[str, Any] = {
            "process_request": self.process_request,
            "compression": None,  # memory per listener stays small
            "open_timeout": OPEN_TIMEOUT,
            "ping_interval": PING_INTERVAL,
            "ping_timeout": PING_TIMEOUT,
            "close_timeout": 5,
            "max_size": INCOMING_LIMIT,
            "max_queue": 4,
            "server_header": None,
        }
        host, port, path = parse_bind(bind)
        if path is not None:
            return unix_serve(self.handler, path, **options)
        return serve(self.handler, host, port, **options)


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.publisher.received(data)

    def error_received(self, exc: Exception) -> None:
        LOG.warning("inbox: %s", exc)


def parse_bind(bind: str) -> tuple[str | None, int | None, str | None]:
    """(host, port, None) for ``HOST:PORT`` (``*:PORT``: every address), (None, None, path)
    for ``unix:PATH``; PublisherError if it is neither."""
    if bind.startswith("unix:"):
        if not bind[5:]:
            raise PublisherError("EVENT_PUBLISHER_BIND unix:PATH needs a path")
        return None, None, bind[5:]
    host, colon, port = bind.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise PublisherError(f"EVENT_PUBLISHER_BIND must be HOST:PORT or unix:PATH, not {bind!r}")
    host = host.strip("[]")
    return (None if host in ("", "*") else host), int(port), None


def open_inbox(path: Path) -> socket.socket:
    """Bind the inbox's datagram socket, replacing a stale one; refuse to take a live one."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None:
        if not stat.S_ISSOCK(mode):
            raise PublisherError(f"{path} (INTERNAL_EVENT_SOCKET) exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            probe.connect(str(path))
        except ConnectionRefusedError:
            path.unlink(missing_ok=True)  # left by a publisher that died
        except FileNotFoundError:
            pass
        else:
            raise PublisherError(f"another lava-publisher reads {path} (INTERNAL_EVENT_SOCKET)")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise PublisherError(f"cannot bind the inbox {path}: {exc.strerror}") from None
    # the server's own user (and group) write events; the directory around it is private
    os.chmod(path, 0o660)
    with contextlib.suppress(OSError):  # the kernel caps it at net.core.rmem_max
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, INBOX_BUFFER)
    sock.setblocking(False)
    return sock


def remove_socket(path: Path, inode: int) -> None:
    """Remove the inbox's file if it is still the one this publisher made (not a newer one's)."""
    with contextlib.suppress(OSError):
        if path.stat().st_ino == inode:
            path.unlink()


def install_stop(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop``: listeners get a clean close (1001, going away)."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)


def serve_in_thread(bind: str, lava: Any, stopping: Callable[[], bool]) -> threading.Thread:
    """The publisher as a thread of another daemon (``lava-scheduler --publisher``): one
    Django process less (~50 MiB). It stops within 0.2 s of ``stopping()`` turning true."""

    async def main() -> None:
        stop = asyncio.Event()

        async def watch() -> None:
            while not stopping():
                await asyncio.sleep(0.2)
            stop.set()

        watcher = asyncio.ensure_future(watch())
        try:
            server = Publisher(lava.event_topic, lava.event_max_clients)
            await server.run(bind, lava.internal_event_socket_path, stop)
        finally:
            watcher.cancel()

    def run() -> None:
        try:
            asyncio.run(main())
        except (PublisherError, OSError) as exc:
            LOG.error("the publisher cannot serve listeners at %s: %s", bind, exc)
        except Exception:
            LOG.exception("the publisher stopped")
        LOG.info("lava-publisher stopping")

    thread = threading.Thread(target=run, name="publisher", daemon=True)
    thread.start()
    return thread
