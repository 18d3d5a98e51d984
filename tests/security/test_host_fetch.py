"""Server-side request forgery: a job's URLs never make the worker fetch from itself.

mallory aims images, test tarballs and git repositories at the lab's own web
server on 127.0.0.1 (in several spellings) and at the cloud's metadata
address, directly or through a redirect from the lab's artifact server
(127.0.0.2, which the security lab's worker allows): the job ends Incomplete
naming the URL and the rule, the lab's server never sees the request (its
access log), the guest never boots with it, and the lab runs the next job.
"""

from __future__ import annotations

import io
import tarfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lava.common import yamlio
from tests.support.fetch_servers import Site, site

pytestmark = pytest.mark.slow

ARTIFACTS = "127.0.0.2"  # allowed by the security lab's worker (conftest)
LOOPBACK = "a loopback address, which the worker does not fetch from for jobs"
HINT = "(lava-worker --allow-fetch-from to allow)"


@pytest.fixture(scope="module")
def artifacts() -> Iterator[Site]:
    """The lab's artifact server: a local server the worker's admin allows."""
    with site(ARTIFACTS) as server:
        yield server


def probe(security_lab: Any, host: str) -> tuple[str, str]:
    """A URL of the lab's own API on `host`, and the marker that shows it was asked for."""
    marker = uuid.uuid4().hex
    return f"http://{host}:{security_lab.lab.port}/api/v0.2/system/version/?{marker}", marker


def web_log(security_lab: Any) -> str:
    return security_lab.lab.log_file("web").read_text(errors="replace")


def with_source(security_lab: Any, kind: str, url: str) -> str:
    """The demo job with its kernel, or its git-hosted definition, fetched from `url`."""
    definition = yamlio.load(security_lab.demo_job())
    if kind == "image":
        definition["actions"][0]["deploy"]["images"]["kernel"]["url"] = url
    else:
        entry = definition["actions"][2]["test"]["definitions"][1]
        entry.update({"from": kind, "repository": url, "path": "smoke.yaml"})
        entry.pop("history", None)
    return yamlio.dump(definition)


def never_booted(security_lab: Any, job_id: int) -> None:
    """The job ended before its guest started: nothing fetched could reach it."""
    lines = "\n".join(security_lab.lab.log_lines(job_id))
    assert "start: 2" not in lines and "qemu-system" not in lines


def last_job(security_lab: Any) -> int:
    return max(int(path.name) for path in security_lab.lab.worker_jobs_dir().iterdir())


def test_the_access_log_shows_a_probe(security_lab: Any) -> None:
    """What the tests below look for in the access log is there when the server is asked."""
    url, marker = probe(security_lab, "127.0.0.1")
    assert security_lab.rest(None).get(url, timeout=10).status_code == 200
    deadline = time.monotonic() + 10  # gunicorn logs a request once it has answered it
    while marker not in web_log(security_lab):
        assert time.monotonic() < deadline, "the probe is not in the web server's access log"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("kind", "host", "said"),
    [
        ("image", "127.0.0.1", "127.0.0.1 is"),
        ("url", "localhost", "localhost resolves to 127.0.0.1,"),
        ("git", "2130706433", "2130706433 means 127.0.0.1,"),
    ],
)
def test_the_lab_itself_is_not_a_source(
    security_lab: Any, refused: Any, kind: str, host: str, said: str
) -> None:
    url, marker = probe(security_lab, host)
    shown = url.split("?")[0] + "?***"
    text = refused(with_source(security_lab, kind, url), f"'{shown}': {said} {LOOPBACK} {HINT}")
    assert marker not in text
    assert marker not in web_log(security_lab)
    never_booted(security_lab, last_job(security_lab))
    security_lab.assert_runs_jobs()


@pytest.mark.parametrize(
    ("kind", "target", "said"),
    [
        ("url", "lab", f"127.0.0.1 is {LOOPBACK}"),
        (
            "image",
            "http://169.254.169.254/latest/meta-data/iam/",
            "169.254.169.254 is a link-local",
        ),
    ],
)
def test_a_redirect_from_an_allowed_server_is_checked(
    security_lab: Any, refused: Any, artifacts: Site, kind: str, target: str, said: str
) -> None:
    marker = ""
    if target == "lab":
        target, marker = probe(security_lab, "127.0.0.1")
    path = f"/{uuid.uuid4().hex}/artifact"
    start = artifacts.redirect(path, target)
    shown = target.split("?")[0] + ("?***" if marker else "")
    refused(with_source(security_lab, kind, start), f"it redirects to '{shown}', and {said}")
    assert path in artifacts.seen()  # the allowed hop was fetched, the next one refused
    if marker:
        assert marker not in web_log(security_lab)
    never_booted(security_lab, last_job(security_lab))
    security_lab.assert_runs_jobs()


def test_the_labs_artifact_server_serves_jobs(security_lab: Any, artifacts: Site) -> None:
    """The allowed server is reachable: the refusals above are the policy's, not the network's."""
    testdef = {
        "metadata": {"format": "Lava-Test Test Definition 1.0", "name": "fetched"},
        "run": {"steps": ["lava-test-case fetched-from-the-artifact-server --result pass"]},
    }
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        body = yamlio.dump(testdef).encode()
        member = tarfile.TarInfo("smoke.yaml")
        member.size = len(body)
        tar.addfile(member, io.BytesIO(body))
    url = artifacts.put(f"/{uuid.uuid4().hex}/tests.tar", data.getvalue())
    job_id = security_lab.submit(with_source(security_lab, "url", url))
    record = security_lab.wait(job_id)
    assert record["health"] == "Complete", (record, security_lab.lab.log_tail())
    cases = {case["name"]: case["result"] for case in security_lab.lab.testcases(job_id)}
    assert cases.get("fetched-from-the-artifact-server") == "pass", cases
