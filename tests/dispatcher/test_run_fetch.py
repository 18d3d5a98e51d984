"""`lava-run` as a process, as lava-worker runs it: the job fetches only from allowed addresses.

Real HTTP servers: one on 127.0.0.1 stands for the worker's own services (the
lab's server, a PDU's API), one on 127.0.0.2 for a server the admin allows
(`--allow-fetch-from 127.0.0.2`).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio
from tests.support.fetch_servers import Site, site
from tools import example

DEVICE: dict[str, Any] = {
    "hostname": "host-01",
    "devicetype": "qemu",
    "actions": {"deploy": {"methods": {"image": {}}}, "boot": {"methods": {}}},
    "timeouts": {"actions": {}, "connections": {}},
}
KERNEL = b"a kernel" * 100
ALLOW_CACHE = "--allow-fetch-from=127.0.0.2"
RULE = "a loopback address, which the worker does not fetch from for jobs"
HINT = "(lava-worker --allow-fetch-from to allow)"


def deploy_job(url: str) -> dict[str, Any]:
    return {
        "job_name": "fetch policy",
        "device_type": "qemu",
        "visibility": "public",
        "timeouts": {"job": {"minutes": 2}, "action": {"seconds": 30}},
        "actions": [{"deploy": {"to": "tmpfs", "images": {"kernel": {"url": url}}}}],
    }


def lava_run(tmp_path: Path, job: dict[str, Any] | str, *args: str) -> dict[str, Any]:
    """Run the job to its end (or only validate it with --validate); its result record."""
    out = tmp_path / "out"
    text = job if isinstance(job, str) else yamlio.dump(job)
    device = example.device_text(text) if isinstance(job, str) else yamlio.dump(DEVICE)
    proc = example.lava_run(
        text,
        device,
        out,
        job_id="42",
        extra=["--work-dir", str(tmp_path / "work"), "--quiet", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proc.wait(timeout=120)
    return yamlio.load((out / "result.yaml").read_text())


@pytest.fixture
def inside() -> Iterator[Site]:
    """A service of the worker itself."""
    with site("127.0.0.1") as server:
        server.put("/vmlinuz", KERNEL)
        yield server


@pytest.fixture
def cache() -> Iterator[Site]:
    """The lab's artifact server, which the admin allows."""
    with site("127.0.0.2") as server:
        server.put("/vmlinuz", KERNEL)
        yield server


def downloaded(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "work").rglob("*") if p.is_file() and p.read_bytes() == KERNEL]


@pytest.mark.parametrize("path", ["/vmlinuz", "/api/v0.2/system/version/"])
def test_the_worker_itself_is_refused_at_validate(tmp_path: Path, inside: Site, path: str) -> None:
    """Before any other problem of the URL (here a directory's, which has no file name)."""
    url = inside.url(path)
    result = lava_run(tmp_path, deploy_job(url), "--restrict-fetches", ALLOW_CACHE)
    assert result["error_type"] == "Job"
    assert result["error_msg"] == (
        f"Invalid job data: 1.2.1 http-download: 'url' of image 'kernel' '{url}': "
        f"127.0.0.1 is {RULE} {HINT}"
    )
    assert inside.seen() == []


def test_a_name_of_the_worker_is_refused(tmp_path: Path, inside: Site) -> None:
    url = inside.url("/vmlinuz", host="localhost")
    result = lava_run(tmp_path, deploy_job(url), "--restrict-fetches")
    assert result["error_type"] == "Job"
    assert f"'{url}': localhost resolves to 127.0.0.1, {RULE}" in result["error_msg"]
    assert inside.seen() == []


def test_a_redirect_to_the_worker_is_refused(tmp_path: Path, cache: Site, inside: Site) -> None:
    url = cache.redirect("/latest/vmlinuz", inside.url("/vmlinuz"))
    result = lava_run(tmp_path, deploy_job(url), ALLOW_CACHE)
    assert result["error_type"] == "Job"
    assert (
        f"'{url}': it redirects to '{inside.url('/vmlinuz')}', and 127.0.0.1 is {RULE}"
        in result["error_msg"]
    )
    assert cache.seen() == ["/latest/vmlinuz"]
    assert inside.seen() == []
    assert downloaded(tmp_path) == []


def test_an_allowed_server_serves_the_job(tmp_path: Path, cache: Site, inside: Site) -> None:
    result = lava_run(tmp_path, deploy_job(cache.url("/vmlinuz")), ALLOW_CACHE)
    assert result["result"] == "pass", result
    assert cache.seen() == ["/vmlinuz", "/vmlinuz"]  # HEAD at validate, then GET
    port_only = f"--allow-fetch-from=127.0.0.1:{inside.server_port}"
    result = lava_run(tmp_path, deploy_job(inside.url("/vmlinuz")), port_only)
    assert result["result"] == "pass", result


def test_the_admins_refusal_wins(tmp_path: Path, cache: Site) -> None:
    result = lava_run(
        tmp_path,
        deploy_job(cache.url("/vmlinuz")),
        "--allow-fetch-from=127.0.0.0/8",
        "--refuse-fetch-from=127.0.0.2",
    )
    assert result["error_type"] == "Job"
    assert (
        "127.0.0.2 is in 127.0.0.2, which this worker refuses to fetch from for jobs "
        "(lava-worker --refuse-fetch-from)" in result["error_msg"]
    )
    assert cache.seen() == []


def test_by_hand_lava_run_fetches_anywhere(tmp_path: Path, inside: Site) -> None:
    result = lava_run(tmp_path, deploy_job(inside.url("/vmlinuz")))
    assert result["result"] == "pass", result


@pytest.mark.parametrize(
    ("source", "url", "said"),
    [
        ("url", "http://2130706433:{port}/tests.tar", "2130706433 means 127.0.0.1"),
        ("git", "http://[::1]:{port}/tests.git", "::1 is a loopback address"),
        ("git", "git://169.254.169.254/tests.git", "169.254.169.254 is a link-local address"),
    ],
)
def test_test_definitions_from_the_worker_are_refused_at_validate(
    tmp_path: Path, guest: Path, inside: Site, source: str, url: str, said: str
) -> None:
    definition = yamlio.load(example.job_text(guest=guest))
    entry = definition["actions"][2]["test"]["definitions"][1]
    entry.update({"from": source, "repository": url.format(port=inside.server_port)})
    result = lava_run(tmp_path, yamlio.dump(definition), "--restrict-fetches", "--validate")
    assert result["error_type"] == "Job"
    assert "Invalid job data" in result["error_msg"]
    assert (
        f"definition 'smoke-git': repository '{entry['repository']}': {said}"
        in (result["error_msg"])
    )
    assert inside.seen() == []


def test_a_bad_rule_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "lava-run"),
            "--device=device.yaml",
            "--output-dir",
            str(tmp_path),
            "--allow-fetch-from=lab.example.org",
            "job.yaml",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "--allow-fetch-from: 'lab.example.org' is not a network" in proc.stderr
