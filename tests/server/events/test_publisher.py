"""The publisher, run in this process on a unix socket, with real websocket clients: what
listeners receive, who may listen, and what a listener that misbehaves cannot do."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import django.db
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, unix_connect

from lava.server.events import emit, facts, publisher
from lava.server.events.messages import TESTJOB, WORKER, Event, Scope, pack
from lava.server.events.publisher import Credentials, Publisher
from lava.server.events.scope import Viewer
from lava.server.scheduler.models import AuthToken, TestJob
from lava.server.scheduler.states import Visibility

PREFIX = "org.lavasoftware"


def everyone(credentials: Credentials) -> Viewer:
    return Viewer(superuser=True)


class Serving:
    """A publisher serving in a thread of its own, its inbox and its listeners' socket."""

    def __init__(self, server: Publisher, directory: Path) -> None:
        self.server = server
        self.inbox = directory / "inbox.sock"
        self.path = directory / "ws.sock"
        self.loop = asyncio.new_event_loop()
        self.stop: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.clients = contextlib.ExitStack()

    def _run(self) -> None:
        async def main() -> None:
            self.stop = asyncio.Event()
            await self.server.run(f"unix:{self.path}", self.inbox, self.stop)

        try:
            self.loop.run_until_complete(main())
        except BaseException as exc:  # reported by the test
            self.error = exc

    def start(self) -> Serving:
        self.thread.start()
        deadline = time.monotonic() + 10
        # a socket file exists from its bind(), before its listen(): a connection then is
        # refused (seen under load), so wait for the kernel to list it as listening
        while not (self.inbox.exists() and self._listening()):
            if self.error or time.monotonic() > deadline:
                raise AssertionError(f"the publisher did not start: {self.error!r}")
            time.sleep(0.01)
        return self

    def _listening(self) -> bool:
        """Whether /proc/net/unix has the listeners' socket with __SO_ACCEPTCON (listen())."""
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[7] == str(self.path):
                return int(fields[3], 16) & 0x10000 != 0
        return False

    def close(self) -> None:
        self.clients.close()
        if self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(15)
        assert not self.thread.is_alive(), "the publisher did not stop"

    def listen(self, **headers: str) -> ClientConnection:
        extra = {k.replace("_", "-"): v for k, v in headers.items()}
        client = unix_connect(str(self.path), "ws://lab/ws/", additional_headers=extra)
        return self.clients.enter_context(client)

    def send(self, events: list[Event]) -> None:
        """Events into the inbox, as the server's processes send them."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            for datagram, _ in pack(events):
                sock.sendto(datagram, str(self.inbox))
        finally:
            sock.close()

    def wait(self, what: Callable[[], bool], why: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout} s for {why}")
            time.sleep(0.01)


@pytest.fixture
def serve(short_dir: Path) -> Iterator[Callable[..., Serving]]:
    started: list[Serving] = []

    def start(**options: Any) -> Serving:
        options.setdefault("identify", everyone)
        serving = Serving(Publisher(PREFIX, options.pop("max_clients", 50), **options), short_dir)
        started.append(serving.start())
        return serving

    yield start
    for serving in started:
        serving.close()


def worker_event(n: int) -> Event:
    return Event(WORKER, "lavaserver", {"hostname": f"w{n}", "health": "Active", "state": "Online"})


def frames(listener: ClientConnection, count: int, timeout: float = 10) -> list[list[str]]:
    return [json.loads(listener.recv(timeout=timeout)) for _ in range(count)]


def test_listeners_get_lavas_frames_in_order(serve) -> None:
    lab = serve()
    first, second = lab.listen(), lab.listen()
    lab.wait(lambda: len(lab.server.listeners) == 2, "two listeners")
    events = [worker_event(n) for n in range(50)]
    lab.send(events)
    expected = [e.parts(PREFIX) for e in events]
    for listener in (first, second):
        got = frames(listener, 50)
        assert [part[:1] + part[2:] for part in got] == [e[:1] + e[2:] for e in expected]
        assert len({part[1] for part in got}) == 50  # a uuid each (LAVA's second part)
        listener.close()


def raw_request(path: Path, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(request)
        answer = b""
        with contextlib.suppress(TimeoutError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


def test_lavas_health_check_and_nothing_but_ws(serve) -> None:
    lab = serve()
    health = raw_request(lab.path, b"GET /ws/v1/healthz HTTP/1.1\r\nHost: lab\r\n\r\n")
    assert health.startswith(b"HTTP/1.1 200 ") and b"application/json" in health
    assert health.endswith(b'{"health": "good"}')
    other = raw_request(lab.path, b"GET /RPC2 HTTP/1.1\r\nHost: lab\r\n\r\n")
    assert other.startswith(b"HTTP/1.1 404 ") and b"/ws/" in other


HANDSHAKE = (
    b"GET /ws/ HTTP/1.1\r\nHost: lab\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def test_a_listener_that_never_reads_is_cut_off_and_holds_up_nobody(serve) -> None:
    lab = serve(buffer_limit=64 * 1024)
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(str(lab.path))
    stuck.sendall(HANDSHAKE)
    assert stuck.recv(4096).startswith(b"HTTP/1.1 101 ")  # then it never reads again
    reader = lab.listen()
    lab.wait(lambda: len(lab.server.listeners) == 2, "both listeners")
    got: list[str] = []

    def read() -> None:
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            while True:
                got.append(reader.recv(timeout=10))

    thread = threading.Thread(target=read)
    thread.start()
    sent = 0
    for _ in range(40):  # 4,000 events, ~400 KB to each listener
        lab.send([worker_event(n) for n in range(sent, sent + 100)])
        sent += 100
        lab.wait(lambda s=sent: lab.server.counts["events"] >= s, "the inbox")
    lab.wait(lambda: len(got) == sent, "the reader's events")
    assert lab.server.counts["cut_off"] == 1
    assert len(lab.server.listeners) == 1
    assert json.loads(got[-1])[4] == json.dumps(worker_event(sent - 1).data)
    reader.close()
    thread.join(10)
    stuck.close()


def test_the_number_of_listeners_is_bounded(serve) -> None:
    lab = serve(max_clients=3)
    listeners = [lab.listen() for _ in range(3)]
    with pytest.raises(InvalidStatus) as refused:
        lab.listen()
    assert refused.value.response.status_code == 503
    assert b"EVENT_MAX_CLIENTS" in refused.value.response.body
    listeners.pop().close()
    lab.wait(lambda: len(lab.server.listeners) == 2, "a listener gone")
    listeners.append(lab.listen())
    for listener in listeners:
        listener.close()


def test_a_handshake_that_never_ends_is_closed(serve, monkeypatch) -> None:
    monkeypatch.setattr(publisher, "OPEN_TIMEOUT", 0.5)
    lab = serve()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(lab.path))
        sock.sendall(b"GET /ws/ HTTP/1.1\r\n")  # and nothing more
        start = time.monotonic()
        assert sock.recv(4096) == b""
        assert time.monotonic() - start < 3


def test_a_second_publisher_does_not_take_the_inbox(serve, short_dir: Path) -> None:
    lab = serve()
    with pytest.raises(publisher.PublisherError, match="another lava-publisher"):
        publisher.open_inbox(lab.inbox)
    lab.close()
    assert not lab.inbox.exists()


def test_a_stale_inbox_is_replaced(short_dir: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(short_dir / "inbox.sock"))
    stale.close()
    sock = publisher.open_inbox(short_dir / "inbox.sock")
    sock.close()
    (short_dir / "file").write_text("x")
    with pytest.raises(publisher.PublisherError, match="not a socket"):
        publisher.open_inbox(short_dir / "file")


@pytest.mark.parametrize(
    ("bind", "parsed"),
    [
        ("127.0.0.1:8001", ("127.0.0.1", 8001, None)),
        ("*:8001", (None, 8001, None)),
        (":9000", (None, 9000, None)),
        ("[::1]:8001", ("::1", 8001, None)),
        ("unix:/run/lava/ws.sock", (None, None, "/run/lava/ws.sock")),
    ],
)
def test_bind_addresses(bind: str, parsed: tuple[Any, ...]) -> None:
    assert publisher.parse_bind(bind) == parsed


@pytest.mark.parametrize("bind", ["8001", "host:", "host:0", "host:70000", "unix:"])
def test_bad_bind_addresses(bind: str) -> None:
    with pytest.raises(publisher.PublisherError, match="EVENT_PUBLISHER_BIND"):
        publisher.parse_bind(bind)


# Who may listen, signed in as lavacli signs in (the real database behind it)


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@pytest.fixture
def secret_job(lab, users) -> TestJob:
    return TestJob.objects.create(
        submitter=users["owner"],
        definition="job_name: t\n",
        requested_device_type=lab.device_type,
        visibility=Visibility.PERSONAL,
    )


@pytest.mark.django_db(transaction=True)
def test_listeners_hear_what_their_token_lets_them_see(serve, lab, users, secret_job) -> None:
    lab_ = serve(identify=publisher.identify, refresh=0.3)
    token = AuthToken.objects.create(user=users["owner"], secret="s" * 40)
    owner = lab_.listen(Authorization=basic("owner", token.secret))
    anonymous = lab_.listen()
    worker = lab_.listen(LAVA_Token=lab.worker.token, LAVA_Host=lab.worker.hostname)
    lab_.wait(lambda: len(lab_.server.listeners) == 3, "three listeners")
    [private] = facts.job_events([secret_job.id])
    public = Event(TESTJOB, "admin", {"job": 0, "worker": lab.worker.hostname}, Scope(job=True))
    lab_.send([private, public])
    assert [f[4] for f in frames(owner, 2)] == [json.dumps(e.data) for e in (private, public)]
    assert [f[4] for f in frames(anonymous, 1)] == [json.dumps(public.data)]
    assert [f[4] for f in frames(worker, 1)] == [json.dumps(public.data)]
    # a revoked token ends its connections at the next refresh
    token.delete()
    message = json.loads(owner.recv(timeout=5))
    assert "Unknown user" in message["error"]
    with pytest.raises(ConnectionClosed):
        owner.recv(timeout=5)
    anonymous.close()
    worker.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"Authorization": basic("owner", "wrong")}, "Unknown user"),
        ({"Authorization": "Token abc"}, "Invalid basic authentication"),
        ({"LAVA_Token": "nope", "LAVA_Host": "worker-01"}, "Invalid worker token"),
        ({"LAVA_Token": "nope", "LAVA_Host": "nobody"}, "Unknown worker"),
    ],
)
def test_refused_credentials_get_lavas_error_message(serve, lab, users, headers, error) -> None:
    lab_ = serve(identify=publisher.identify)
    listener = lab_.listen(**headers)
    assert error in json.loads(listener.recv(timeout=5))["error"]
    with pytest.raises(ConnectionClosed):
        listener.recv(timeout=5)
    assert not lab_.server.listeners


@pytest.mark.django_db(transaction=True)
def test_a_stopped_publisher_closes_its_database_connection(serve, lab) -> None:
    used: list[Any] = []

    def identify(credentials: Credentials) -> Viewer:
        used.append(django.db.connections[django.db.DEFAULT_DB_ALIAS])  # its thread's own
        return publisher.identify(credentials)

    lab_ = serve(identify=identify)
    lab_.listen()
    lab_.wait(lambda: len(lab_.server.listeners) == 1, "the listener")
    [database] = used
    assert database.connection is not None
    lab_.close()
    if database.vendor == "sqlite" and database.is_in_memory_db():
        return  # Django never closes an in-memory SQLite database: it would lose it
    lab_.wait(lambda: database.connection is None, "the database connection closed")


def test_emit_reaches_a_running_publisher(serve, settings, monkeypatch) -> None:
    lab = serve()
    monkeypatch.setattr(settings.LAVA, "internal_event_socket", lab.inbox)
    listener = lab.listen()
    lab.wait(lambda: len(lab.server.listeners) == 1, "the listener")
    assert emit.send([worker_event(1)]) == 1
    assert frames(listener, 1)[0][0] == "org.lavasoftware.worker"
    listener.close()


def test_the_publisher_as_a_thread_of_the_scheduler(short_dir: Path, db) -> None:
    # lava-scheduler --publisher: the same publisher, stopped with the daemon
    from types import SimpleNamespace

    inbox, path = short_dir / "events.sock", short_dir / "ws.sock"
    lava = SimpleNamespace(
        event_topic=PREFIX, event_max_clients=5, internal_event_socket_path=inbox
    )
    stopping = threading.Event()
    thread = publisher.serve_in_thread(f"unix:{path}", lava, stopping.is_set)
    deadline = time.monotonic() + 10
    while not (path.exists() and inbox.exists()):
        assert thread.is_alive() and time.monotonic() < deadline, "it did not start"
        time.sleep(0.01)
    health = raw_request(path, b"GET /ws/v1/healthz HTTP/1.1\r\nHost: lab\r\n\r\n")
    assert health.startswith(b"HTTP/1.1 200 ")
    stopping.set()
    thread.join(5)
    assert not thread.is_alive() and not inbox.exists() and not path.exists()
