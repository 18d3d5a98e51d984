"""download-retry, http-download and file-download against a real local HTTP server."""

from __future__ import annotations

import bz2
import fcntl
import gzip
import hashlib
import io
import lzma
import multiprocessing
import os
import random
import re
import socket
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import zstandard

from lava.common import log
from lava.common.exceptions import InfrastructureError, JobError
from lava.common.fetch_policy import FetchPolicy, parse_rule
from lava.dispatcher.actions.deploy import http_download
from lava.dispatcher.actions.deploy.cache import DownloadCache
from lava.dispatcher.actions.deploy.download import DownloaderAction
from lava.dispatcher.actions.deploy.file_download import FileDownloadAction
from lava.dispatcher.actions.deploy.http_download import HttpDownloadAction
from lava.dispatcher.actions.deploy.image_writer import Progress, write_image
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.pipeline import Job

DEVICE: dict[str, Any] = {
    "hostname": "qemu-01",
    "devicetype": "qemu",
    "actions": {"deploy": {"methods": {"image": {}}}, "boot": {"methods": {}}},
    "timeouts": {"actions": {}, "connections": {}},
}


def make_payload(size: int, seed: int = 0) -> bytes:
    """Half text, half noise: compressible, yet not trivially."""
    rng = random.Random(seed)
    block = b"lava-test-case " * 64
    parts = []
    while sum(map(len, parts)) < size:
        parts.append(block + rng.randbytes(1024))
    return b"".join(parts)[:size]


PAYLOAD = make_payload(1_200_000)
COMPRESSORS = {
    "gz": gzip.compress,
    "xz": lzma.compress,
    "bz2": bz2.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}
SUFFIX = {"gz": "gz", "xz": "xz", "bz2": "bz2", "zstd": "zst"}


# -- the HTTP server ---------------------------------------------------------
@dataclass
class Served:
    body: bytes
    etag: str
    last_modified: str
    headers: dict[str, str] = field(default_factory=dict)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, Served] = {}
        self.requests: list[tuple[str, str, int, dict[str, str]]] = []
        self.release = threading.Event()
        self.guard = threading.Lock()
        self.version = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"

    def put(self, path: str, body: bytes, **headers: str) -> str:
        self.version += 1
        self.files[path] = Served(
            body,
            etag=f'"v{self.version}-{hashlib.sha1(body).hexdigest()[:8]}"',
            last_modified=formatdate(time.time() - 3600 + self.version, usegmt=True),
            headers=headers,
        )
        return self.url(path)

    def count(self, method: str, path: str, status: int | None = None) -> int:
        with self.guard:
            return sum(
                1
                for m, p, s, _h in self.requests
                if m == method and p == path and (status is None or s == status)
            )

    def bodies(self, path: str) -> int:
        """How many times the file itself was sent."""
        return self.count("GET", path, 200)


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def record(self, status: int) -> None:
        path = urlsplit(self.path).path
        with self.server.guard:
            self.server.requests.append((self.command, path, status, dict(self.headers)))

    def reply(self, status: int, body: bytes = b"", send_body: bool = True, **headers: str) -> None:
        self.record(status)
        self.send_response(status)
        self.send_header("Content-Length", headers.pop("length", str(len(body))))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def answer(self, send_body: bool) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[-1])
            self.reply(code, b"nope\n", send_body)
            return
        if path == "/stall":
            self.record(200)
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            if send_body:
                self.wfile.write(b"x" * 1000)
                self.wfile.flush()
                self.server.release.wait(30)
            return
        if path.startswith("/short/"):
            self.reply(200, b"0123456789", send_body, length="1000")
            return
        served = self.server.files.get(path)
        if served is None:
            self.reply(404, b"not found\n", send_body)
            return
        if path.startswith("/nohead/") and self.command == "HEAD":
            self.reply(405, b"", send_body)
            return
        validators = {"ETag": served.etag, "Last-Modified": served.last_modified}
        if self.headers.get("If-None-Match") == served.etag:
            self.record(304)
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self.record(200)
        self.send_response(200)
        self.send_header("Content-Length", str(len(served.body)))
        for name, value in {**validators, **served.headers}.items():
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        if path.startswith("/slow/"):
            step = len(served.body) // 20 + 1
            for offset in range(0, len(served.body), step):
                self.wfile.write(served.body[offset : offset + step])
                self.wfile.flush()
                time.sleep(0.05)
        else:
            self.wfile.write(served.body)


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = Server()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_download, "HTTP_BACKOFF", 0.0)


# -- a job with a real pipeline ------------------------------------------------
class Run:
    """One small job: a logger writing to a file and a pipeline of one download."""

    def __init__(self, tmp_path: Path, name: str, cache: Path, timeouts: Any = None) -> None:
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.log_path = self.dir / "output.yaml"
        definition = {"timeouts": {"job": {"minutes": 2}, **(timeouts or {})}, "actions": []}
        self.job = Job(
            name,
            definition,
            Device.from_dict(DEVICE),
            JobLogger(path=self.log_path),
            self.dir / "work",
        )
        self.job.cache_dir = cache
        # As lava-worker runs jobs, with the test server's address allowed explicitly.
        self.job.fetch_policy = FetchPolicy(allow=(parse_rule("127.0.0.1"),))

    def add(self, label: str, image: dict[str, Any], **params: Any) -> DownloaderAction:
        block = {"namespace": "common", "to": "tmpfs", "images": {label: image}, **params}
        action = self.job.pipeline.add_action(DownloaderAction(label, image), block)
        assert isinstance(action, DownloaderAction)
        return action

    def run(self, validate: bool = True) -> None:
        if validate:
            self.job.validate()
        with self.job.deadlines.frame("test", 60, JobError) as deadline:
            self.job.pipeline.run_actions(None, deadline)

    def data(self, label: str, key: str) -> Any:
        image = self.job.state("common").images[label]
        if key in ("image_arg", "compression", "decompressed"):
            return getattr(image, key)
        return image.digests.get(key)

    def file(self, label: str) -> Path:
        return self.job.state("common").images[label].path

    def lines(self) -> list[dict[str, Any]]:
        return [log.decode(line) for line in self.log_path.read_text().splitlines()]

    def messages(self, lvl: str | None = None) -> list[Any]:
        return [line["msg"] for line in self.lines() if lvl is None or line["lvl"] == lvl]

    def text(self) -> str:
        return "\n".join(str(m) for m in self.messages())

    def result(self, case: str) -> dict[str, Any]:
        found = [m for m in self.messages("results") if m.get("case") == case]
        assert found, f"no {case} result in {self.messages('results')}"
        return found[-1]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def new_run(tmp_path: Path, cache: Path) -> Any:
    counter = iter(range(1, 1000))

    def make(**kwargs: Any) -> Run:
        return Run(tmp_path, f"job{next(counter)}", cache, **kwargs)

    return make


# -- http: content, namespace data, results, log ---------------------------------
def test_http_download_plain(server: Server, new_run: Any) -> None:
    url = server.put("/images/disk.img", PAYLOAD)
    run = new_run()
    action = run.add("disk", {"url": url, "image_arg": "-drive format=raw,file={disk}"})
    assert [type(a) for a in action.pipeline.actions] == [HttpDownloadAction]
    run.run()

    path = run.file("disk")
    assert path == run.job.work_dir / "downloads" / "common" / "disk" / "disk.img"
    assert path.read_bytes() == PAYLOAD
    sha256 = hashlib.sha256(PAYLOAD).hexdigest()
    assert run.data("disk", "image_arg") == "-drive format=raw,file={disk}"
    assert run.data("disk", "compression") is None
    assert run.data("disk", "sha256") == sha256
    assert run.file("disk") == path

    result = run.result("http-download")
    assert result["definition"] == "lava"
    assert result["result"] == "pass"
    assert result["level"] == "1.1"
    assert result["extra"]["label"] == "disk"
    assert result["extra"]["size"] == len(PAYLOAD)
    assert result["extra"]["sha256sum"] == sha256
    assert result["extra"]["cache"] == "miss"
    assert float(result["duration"]) >= 0

    text = run.text()
    assert f"downloading {url}" in text
    assert "MB (1200000 bytes) downloaded in" in text
    assert "MB/s)" in text
    assert server.count("HEAD", "/images/disk.img") == 1


@pytest.mark.parametrize("compression", ["gz", "xz", "bz2", "zstd"])
def test_http_download_decompresses(server: Server, new_run: Any, compression: str) -> None:
    packed = COMPRESSORS[compression](PAYLOAD)
    url = server.put(f"/images/rootfs.ext4.{SUFFIX[compression]}", packed)
    run = new_run()
    # The checksums are those of the file as published (compressed), as in LAVA.
    image = {
        "url": url,
        "compression": compression,
        "sha256sum": hashlib.sha256(packed).hexdigest(),
        "md5sum": hashlib.md5(packed).hexdigest(),
    }
    run.add("rootfs", image)
    run.run()
    path = run.file("rootfs")
    assert path.name == "rootfs.ext4"
    assert path.read_bytes() == PAYLOAD
    assert run.data("rootfs", "compression") == compression
    assert run.data("rootfs", "decompressed") is True
    assert run.data("rootfs", "md5") == hashlib.md5(packed).hexdigest()
    extra = run.result("http-download")["extra"]
    assert extra["size"] == len(packed)
    assert extra["md5sum"] == image["md5sum"]
    assert f"decompressing {compression} while downloading" in run.text()


@pytest.mark.parametrize(
    ("algorithm", "key"), [("md5", "md5sum"), ("sha256", "sha256sum"), ("sha512", "sha512sum")]
)
def test_checksum_mismatch_is_a_job_error(
    server: Server, new_run: Any, algorithm: str, key: str
) -> None:
    url = server.put("/images/kernel", PAYLOAD)
    run = new_run()
    wrong = hashlib.new(algorithm, b"something else").hexdigest()
    run.add("kernel", {"url": url, key: wrong})
    with pytest.raises(JobError) as info:
        run.run()
    actual = hashlib.new(algorithm, PAYLOAD).hexdigest()
    message = str(info.value)
    assert "'kernel'" in message
    assert wrong in message
    assert actual in message
    assert run.result("http-download")["result"] == "fail"


def test_wrong_compression_is_a_job_error(server: Server, new_run: Any) -> None:
    url = server.put("/images/plain.img.gz", PAYLOAD)
    run = new_run()
    run.add("disk", {"url": url, "compression": "gz"})
    with pytest.raises(JobError, match=r"Unable to decompress 'disk'.*as 'gz'"):
        run.run()


def test_concatenated_streams_are_all_decompressed(tmp_path: Path) -> None:
    cases = {
        "gz": gzip.compress(b"first ") + gzip.compress(b"second"),
        "xz": lzma.compress(b"first ") + lzma.compress(b"second"),
        "bz2": bz2.compress(b"first ") + bz2.compress(b"second"),
        "zstd": zstandard.ZstdCompressor().compress(b"first ")
        + zstandard.ZstdCompressor().compress(b"second"),
    }
    for compression, packed in cases.items():
        dest = tmp_path / compression
        seen: list[bytes] = []
        chunks = [packed[i : i + 7] for i in range(0, len(packed), 7)]
        write_image(chunks, dest, compression, seen.append, "test")
        assert dest.read_bytes() == b"first second", compression
        assert b"".join(seen) == packed


# -- http errors -----------------------------------------------------------------
@pytest.mark.parametrize("status", [404, 403])
def test_missing_image_fails_validation(server: Server, new_run: Any, status: int) -> None:
    run = new_run()
    url = server.url(f"/status/{status}")
    run.add("disk", {"url": url})
    with pytest.raises(
        JobError, match=rf"Invalid job data: 1\.1 http-download: .*{re.escape(url)}.*{status}"
    ):
        run.job.validate()
    validate = [m for m in run.messages("results") if m.get("case") == "validate"]
    assert validate == [{"definition": "lava", "case": "validate", "result": "fail"}]


def test_head_refused_falls_back_to_get(server: Server, new_run: Any) -> None:
    url = server.put("/nohead/disk.img", b"data")
    run = new_run()
    run.add("disk", {"url": url})
    run.run()
    assert run.file("disk").read_bytes() == b"data"
    assert server.count("HEAD", "/nohead/disk.img") == 1
    # one GET at validate (HEAD refused), one to download
    assert server.count("GET", "/nohead/disk.img") == 2


def test_not_found_at_run_time_is_an_infrastructure_error(server: Server, new_run: Any) -> None:
    # LAVA: validate() saw the file, so a failure when downloading is the lab's.
    run = new_run()
    url = server.url("/status/404")
    run.add("disk", {"url": url})
    with pytest.raises(
        InfrastructureError, match=f"Unable to download '{re.escape(url)}': HTTP 404"
    ):
        run.run(validate=False)


def test_server_error_is_retried_then_infrastructure_error(server: Server, new_run: Any) -> None:
    run = new_run()
    url = server.url("/status/500")
    run.add("disk", {"url": url})
    with pytest.raises(InfrastructureError, match=r"Server error at.*500"):
        run.job.validate()
    with pytest.raises(InfrastructureError, match=f"'{re.escape(url)}': HTTP 500"):
        run.run(validate=False)
    attempts = 1 + http_download.HTTP_RETRIES
    assert server.count("GET", "/status/500") == attempts * 2  # validate (after HEAD), run


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused(new_run: Any) -> None:
    url = f"http://127.0.0.1:{unused_port()}/disk.img"
    run = new_run()
    run.add("disk", {"url": url})
    # Unreachable is the lab's problem, found before anything boots.
    with pytest.raises(InfrastructureError, match=f"Unable to reach '{re.escape(url)}'"):
        run.job.validate()
    with pytest.raises(InfrastructureError, match=f"Unable to download '{re.escape(url)}'"):
        run.run(validate=False)


def test_stalled_server_times_out(server: Server, new_run: Any) -> None:
    run = new_run(timeouts={"actions": {"http-download": {"seconds": 2}}})
    url = server.url("/stall")
    run.add("disk", {"url": url})
    assert run.job.pipeline.actions[0].pipeline.actions[0].timeout.seconds == 2
    start = time.monotonic()
    with pytest.raises(InfrastructureError, match="http-download timed out after 2 seconds"):
        run.run(validate=False)
    assert time.monotonic() - start < 10


def test_short_body_is_an_infrastructure_error(server: Server, new_run: Any) -> None:
    url = server.url("/short/disk.img")
    run = new_run()
    run.add("disk", {"url": url})
    with pytest.raises(InfrastructureError, match="Unable to download"):
        run.run(validate=False)


def test_unknown_scheme_fails_validation(new_run: Any) -> None:
    run = new_run()
    action = run.add("disk", {"url": "ftp://example.com/disk.img"})
    assert action.pipeline.actions == []
    with pytest.raises(JobError, match="Unsupported url protocol scheme 'ftp' for 'disk'"):
        run.job.validate()


def test_bad_parameters_fail_validation(new_run: Any, tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    image.write_bytes(b"x")
    run = new_run()
    run.add("a/b", {"url": str(image)})
    run.add("disk", {"url": str(image), "compression": "lz4"})
    run.add("missing", {"image_arg": "-hda {missing}"})
    with pytest.raises(JobError) as info:
        run.job.validate()
    message = str(info.value)
    assert "image label 'a/b' is not a safe name" in message
    assert "Unknown 'compression' format 'lz4'" in message
    assert "'url' is missing for 'missing'" in message


# -- progress ----------------------------------------------------------------------
def test_progress_lines(server: Server, new_run: Any) -> None:
    url = server.put("/slow/disk.img", PAYLOAD)
    run = new_run()
    run.add("disk", {"url": url})
    run.run()
    progress = [m for m in run.messages("debug") if str(m).startswith("progress")]
    assert len(progress) >= 3, progress
    assert len(progress) <= 20
    assert all(m.endswith(" MB)") and " % (" in m for m in progress)
    percents = [int(m.split()[1]) for m in progress]
    assert percents == sorted(percents)
    assert f"total size: {len(PAYLOAD)} (1 MB)" in run.messages("debug")


def test_progress_without_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logger = JobLogger(path=tmp_path / "log.yaml")
    clock = iter([0.0, 0.5, 1.2, 1.4, 2.5, 3.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    progress = Progress(logger, None)
    for _ in range(4):
        progress.update(2 * 1024 * 1024)
    progress.finish()
    logger.close()
    messages = [
        log.decode(line)["msg"] for line in (tmp_path / "log.yaml").read_text().splitlines()
    ]
    assert messages[0] == "total size: unknown"
    assert [m for m in messages if m.startswith("progress")] == ["progress 4 MB", "progress 8 MB"]
    assert messages[-1] == "8.00 MB (8388608 bytes) downloaded in 3.00 s (2.67 MB/s)"


# -- the download cache ------------------------------------------------------------
def test_second_download_comes_from_the_cache(server: Server, new_run: Any, cache: Path) -> None:
    packed = gzip.compress(PAYLOAD)
    url = server.put("/images/rootfs.gz", packed)
    first = new_run()
    first.add("rootfs", {"url": url, "compression": "gz"})
    first.run()
    assert server.bodies("/images/rootfs.gz") == 1
    assert first.result("http-download")["extra"]["cache"] == "miss"

    entry = cache / "downloads" / DownloadCache.key(url)
    assert (entry / "data").read_bytes() == packed  # stored as downloaded
    meta = (entry / "meta.json").read_text()
    assert url in meta
    assert hashlib.sha256(packed).hexdigest() in meta

    second = new_run()
    second.add("rootfs", {"url": url, "compression": "gz"})
    second.run()
    assert server.bodies("/images/rootfs.gz") == 1
    assert server.count("GET", "/images/rootfs.gz", 304) == 1
    assert f"using cached copy of {url}" in second.messages("info")
    assert second.file("rootfs").read_bytes() == PAYLOAD
    extra = second.result("http-download")["extra"]
    assert extra["cache"] == "hit"
    assert extra["sha256sum"] == hashlib.sha256(packed).hexdigest()


def test_pinned_checksum_skips_the_server(server: Server, new_run: Any) -> None:
    url = server.put("/images/disk.img", PAYLOAD)
    image = {"url": url, "sha256sum": hashlib.sha256(PAYLOAD).hexdigest()}
    first = new_run()
    first.add("disk", image)
    first.run()
    before = len(server.requests)
    second = new_run()
    second.add("disk", image)
    second.run(validate=False)
    assert len(server.requests) == before
    assert second.file("disk").read_bytes() == PAYLOAD
    assert second.result("http-download")["extra"]["cache"] == "hit"


def test_changed_file_is_downloaded_again(server: Server, new_run: Any) -> None:
    url = server.put("/images/disk.img", b"version one")
    first = new_run()
    first.add("disk", {"url": url})
    first.run()
    server.put("/images/disk.img", b"version two")
    second = new_run()
    second.add("disk", {"url": url})
    second.run()
    assert second.file("disk").read_bytes() == b"version two"
    assert server.bodies("/images/disk.img") == 2
    third = new_run()
    third.add("disk", {"url": url})
    third.run()
    assert third.file("disk").read_bytes() == b"version two"
    assert server.bodies("/images/disk.img") == 2


def test_use_cache_false_bypasses_the_cache(server: Server, new_run: Any, cache: Path) -> None:
    url = server.put("/images/disk.img", PAYLOAD)
    for _ in range(2):
        run = new_run()
        run.add("disk", {"url": url, "use_cache": False})
        run.run()
        assert run.file("disk").read_bytes() == PAYLOAD
        assert run.result("http-download")["extra"]["cache"] == "disabled"
    assert server.bodies("/images/disk.img") == 2
    assert not cache.exists()


def test_corrupt_cache_entry_is_replaced(server: Server, new_run: Any, cache: Path) -> None:
    url = server.put("/images/disk.img", PAYLOAD)
    first = new_run()
    first.add("disk", {"url": url})
    first.run()
    data = cache / "downloads" / DownloadCache.key(url) / "data"
    data.write_bytes(b"X" * len(PAYLOAD))  # same size, wrong bytes
    second = new_run()
    second.add("disk", {"url": url})
    second.run()
    assert second.file("disk").read_bytes() == PAYLOAD
    assert "is corrupt: downloading again" in second.text()
    assert data.read_bytes() == PAYLOAD
    assert server.bodies("/images/disk.img") == 2


def test_headers_are_sent_and_part_of_the_cache_key(server: Server, new_run: Any) -> None:
    url = server.put("/images/disk.img", PAYLOAD)
    run = new_run()
    run.add("disk", {"url": url, "headers": {"X-Token": "s3cr3t"}})
    run.run()
    sent = [h for m, p, _s, h in server.requests if m == "GET" and p == "/images/disk.img"]
    assert sent[-1]["X-Token"] == "s3cr3t"
    assert sent[-1]["Accept-Encoding"] == "identity"
    assert DownloadCache.key(url, {"X-Token": "s3cr3t"}) != DownloadCache.key(url)
    meta_file = next(run.job.cache_dir.glob("downloads/*/meta.json"))
    assert "s3cr3t" not in meta_file.read_text()
    # What a token fetched is for this worker's user only.
    for path in (meta_file.parent, meta_file, meta_file.parent / "data", meta_file.parent / "lock"):
        assert path.stat().st_mode & 0o077 == 0, path
    other = new_run()
    other.add("disk", {"url": url})
    other.run()
    assert server.bodies("/images/disk.img") == 2


def test_content_encoding_is_not_decoded_twice(server: Server, new_run: Any) -> None:
    # A server that labels a .gz file "Content-Encoding: gzip" must not make us
    # gunzip it before our own decompression.
    packed = gzip.compress(PAYLOAD)
    url = server.put("/images/disk.img.gz", packed, Content_Encoding="gzip")
    run = new_run()
    run.add("disk", {"url": url, "compression": "gz"})
    run.run()
    assert run.file("disk").read_bytes() == PAYLOAD


def test_cache_lock_wait_has_a_timeout(tmp_path: Path) -> None:
    entry = DownloadCache(tmp_path).entry("http://example.com/disk.img")
    holder = os.open(entry.path / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    waits: list[bool] = []
    try:
        with (
            pytest.raises(InfrastructureError, match="another job is still downloading"),
            entry.locked(time.monotonic() + 0.5, lambda: waits.append(True)),
        ):
            pass
    finally:
        os.close(holder)
    assert waits == [True]
    with entry.locked(time.monotonic() + 0.5, lambda: waits.append(True)):
        pass


def _download_in_child(tmp_path: Path, name: str, cache: Path, url: str) -> None:
    run = Run(tmp_path, name, cache)
    run.add("disk", {"url": url})
    run.run(validate=False)
    assert run.file("disk").read_bytes() == PAYLOAD


def test_concurrent_jobs_share_one_download(server: Server, tmp_path: Path, cache: Path) -> None:
    url = server.put("/slow/disk.img", PAYLOAD)
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_download_in_child, args=(tmp_path, f"child{i}", cache, url))
        for i in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0, 0]
    assert server.bodies("/slow/disk.img") == 1
    logs = "".join((tmp_path / f"child{i}" / "output.yaml").read_text() for i in range(2))
    assert "waiting for another job to download" in logs
    assert "using cached copy of" in logs
    entry = cache / "downloads" / DownloadCache.key(url)
    assert sorted(p.name for p in entry.iterdir()) == ["data", "lock", "meta.json"]


# -- file:// and plain paths ---------------------------------------------------------
@pytest.mark.parametrize("form", ["file-url", "path"])
def test_file_download(tmp_path: Path, new_run: Any, form: str) -> None:
    source = tmp_path / "src dir" / "rootfs.ext4.xz"
    source.parent.mkdir()
    packed = lzma.compress(PAYLOAD)
    source.write_bytes(packed)
    url = source.as_uri() if form == "file-url" else str(source)
    run = new_run()
    action = run.add("rootfs", {"url": url, "compression": "xz"})
    assert [type(a) for a in action.pipeline.actions] == [FileDownloadAction]
    run.run()
    path = run.file("rootfs")
    assert path.name == "rootfs.ext4"
    assert path.read_bytes() == PAYLOAD
    assert run.data("rootfs", "sha256") == hashlib.sha256(packed).hexdigest()
    assert run.result("file-download")["extra"]["size"] == len(packed)
    assert not run.job.cache_dir.exists()


def test_file_download_copies(tmp_path: Path, new_run: Any) -> None:
    source = tmp_path / "disk.img"
    source.write_bytes(b"original")
    run = new_run()
    run.add("disk", {"url": source.as_uri()})
    run.run()
    copy = run.file("disk")
    assert copy.stat().st_ino != source.stat().st_ino
    copy.write_bytes(b"changed by the guest")
    assert source.read_bytes() == b"original"


def test_missing_file_fails_validation(tmp_path: Path, new_run: Any) -> None:
    run = new_run()
    run.add("disk", {"url": (tmp_path / "nowhere.img").as_uri()})
    with pytest.raises(JobError, match=r"nowhere\.img' does not exist or is not readable"):
        run.job.validate()


# -- kept compressed, archives ---------------------------------------------------------
def test_ramdisk_and_zip_stay_compressed(tmp_path: Path, new_run: Any) -> None:
    ramdisk = tmp_path / "initrd.cpio.gz"
    ramdisk.write_bytes(gzip.compress(b"cpio"))
    archive = tmp_path / "firmware.zip"
    archive.write_bytes(b"PK fake zip")
    run = new_run()
    run.add("ramdisk", {"url": str(ramdisk), "compression": "gz"})
    run.add("firmware", {"url": str(archive), "compression": "zip"})
    run.run()
    assert run.file("ramdisk").name == "initrd.cpio.gz"
    assert run.file("ramdisk").read_bytes() == ramdisk.read_bytes()
    assert run.data("ramdisk", "decompressed") is False
    assert run.data("ramdisk", "compression") == "gz"
    assert run.file("firmware").read_bytes() == b"PK fake zip"


def test_tar_archive_is_extracted(server: Server, new_run: Any) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("modules/hello.ko")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    url = server.put("/images/modules.tar.xz", lzma.compress(buffer.getvalue()))
    run = new_run()
    run.add("modules", {"url": url, "compression": "xz", "archive": "tar"})
    run.run()
    extracted = run.file("modules")
    assert extracted.is_dir()
    assert (extracted / "modules" / "hello.ko").read_bytes() == b"hello"


def tar_bytes(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, b""


def member(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


@pytest.mark.parametrize(
    ("members", "error"),
    [
        ([member("../../escaped")], "'../../escaped' is not a path inside the archive"),
        ([member("/tmp/escaped")], "'/tmp/escaped' is not a path inside the archive"),
        ([link("etc", "/etc"), member("etc/escaped")], "points to '/etc', outside the archive"),
        ([link("up", "a/../.."), member("up/escaped")], "points to 'a/../..'"),
        ([link("shadow", "../../shadow", tarfile.LNKTYPE)], "points to '../../shadow'"),
    ],
)
def test_tar_archive_cannot_write_outside(
    tmp_path: Path, new_run: Any, members: list[Any], error: str
) -> None:
    archive = tmp_path / "evil.tar"
    archive.write_bytes(tar_bytes(*members))
    run = new_run()
    run.add("modules", {"url": str(archive), "archive": "tar"})
    with pytest.raises(JobError, match="Refusing to unpack the archive") as info:
        run.run()
    assert error in str(info.value)
    assert not list(tmp_path.rglob("escaped"))


@pytest.mark.parametrize("namespace", ["../../victim", "/tmp", "..", "a b"])
def test_unsafe_namespace_is_refused_and_nothing_removed(
    tmp_path: Path, new_run: Any, namespace: str
) -> None:
    victim = tmp_path / "victim" / "disk"
    victim.mkdir(parents=True)
    (victim / "precious").write_text("keep")
    image = tmp_path / "disk.img"
    image.write_bytes(b"data")
    run = new_run()
    run.job.pipeline.add_action(
        DownloaderAction("disk", {"url": str(image)}),
        {"namespace": namespace, "to": "tmpfs", "images": {"disk": {"url": str(image)}}},
    )
    with pytest.raises(JobError, match=r"namespace .* is not a safe name"):
        run.job.validate()
    run.job.cleanup()
    assert (victim / "precious").read_text() == "keep"


def test_file_names_lose_characters_that_mean_something_to_qemu(
    server: Server, new_run: Any
) -> None:
    url = server.put("/images/disk,file=%2Fetc%2Fshadow:x.img", b"data")
    run = new_run()
    run.add("disk", {"url": url, "image_arg": "-drive format=raw,file={disk}"})
    run.run()
    assert run.file("disk").name == "disk_file__2Fetc_2Fshadow_x.img"
    assert run.file("disk").read_bytes() == b"data"
    url = server.put("/images/" + "x" * 300 + ".img.gz", gzip.compress(b"data"))
    run = new_run()
    run.add("disk", {"url": url, "compression": "gz"})
    run.run()
    assert run.file("disk").name == "x" * 193 + ".img"  # the last 200 characters, decompressed


# -- description and cleanup -------------------------------------------------------------
def test_describe_and_cleanup(server: Server, new_run: Any) -> None:
    url = server.put("/images/disk.img", b"data")
    run = new_run()
    run.add("disk", {"url": url})
    described = run.job.describe()["pipeline"][0]
    assert described["name"] == "download-retry"
    assert described["description"] == "download with retry"
    assert "url" not in described
    child = described["pipeline"][0]
    assert (child["class"], child["name"], child["url"]) == (
        "HttpDownloadAction",
        "http-download",
        url,
    )
    run.run()
    path = run.file("disk")
    assert path.exists()
    run.job.cleanup()
    assert not path.parent.exists()
