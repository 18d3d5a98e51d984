"""A hostile submitter's definitions, generated (issue 11, acceptance 2).

Hypothesis builds job definitions from real jobs (tests/security/
fuzz_strategies.py) and mallory sends each through one of the four ways in:
XML-RPC ``scheduler.jobs.submit`` and ``scheduler.jobs.validate``, REST
``POST jobs/`` and ``jobs/validate/``. Whatever is sent, the answer is never
an HTTP 5xx nor fault -32603, no daemon of the lab exits (the front, gunicorn
and its workers, the scheduler, the worker), and the web and scheduler
processes grow by less than 50 MB over the run.

Accepted jobs are processed by the real scheduler, worker and lava-run, and
cheaply: they all go to the device type ``fuzz``, whose template is the qemu
one (so each job's context is rendered into it, as for a real QEMU device)
except that its ``timeouts`` is not a mapping. The scheduler matches every
accepted job in each pass and gives them, one at a time, to ``fuzz-01`` on
the lab's worker; the worker fetches the job's files and starts lava-run,
which parses the definition and refuses the device at once, before it builds
a job (so nothing runs on the host: the fuzzer's paths stay data even where
the dispatcher would not check them). A QEMU boot for each of 2,000 jobs
would take hours; this takes about half a second a job, on the real path.
What the device has not reached when the fuzzing ends is canceled through
the API, and every accepted job must then finish.

CI runs at least 2,000 examples (``CI=true``); elsewhere ``FUZZ_EXAMPLES``
(default 200).
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import os
import time
import xmlrpc.client
from html import escape
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

import pytest
import requests
from fuzz_strategies import FUZZ_TYPE, INTERFACES, Case, cases, corpus
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from lava.common import yamlio
from tests.support.conformance import CONFORMANCE
from tests.support.processes import children, rss
from tools import example

pytestmark = pytest.mark.slow

settings.register_profile(
    "fuzz-ci",
    max_examples=2000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "fuzz-dev",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")),
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
PROFILE = "fuzz-ci" if os.environ.get("CI") == "true" else "fuzz-dev"
RSS_GROWTH_LIMIT = 50 * 1024 * 1024
ANSWER_TIMEOUT = 60
WARM_UP = 100  # examples before the memory baseline: imports and code paths settle
DEVICE = "fuzz-01"
# The qemu template, but with timeouts lava-run refuses before it builds a job.
FUZZ_TEMPLATE = """\
{# fuzz: the qemu device type, refused by lava-run (tests/security/test_fuzz.py) #}
{% extends 'qemu.jinja2' %}
{% block timeouts %}
timeouts: not a mapping, so lava-run stops before it builds a job
{% endblock timeouts %}
"""


def real_jobs(guest: Path) -> list[dict[str, Any]]:
    """The demo job and, where they are, LAVA's conformance jobs (required in CI)."""
    jobs = [yamlio.load(example.job_text(guest=guest))]
    directory = CONFORMANCE / "jobs"
    if not directory.is_dir() and os.environ.get("CI") == "true":
        pytest.fail(f"CI needs LAVA's conformance jobs in {directory}")
    for path in sorted(directory.glob("*.yaml")):
        job = yamlio.load(path.read_text(encoding="utf-8"))
        if isinstance(job, dict):
            jobs.append(job)
    return jobs


# -- XML-RPC as an attacker writes it ------------------------------------------


def xml_value(value: Any) -> str:
    """``value`` as an XML-RPC <value>, including what xmlrpc.client refuses to send
    (ints past 32 bits, non-string keys); control characters go in raw."""
    if value is None:
        return "<value><nil/></value>"
    if isinstance(value, bool):
        return f"<value><boolean>{int(value)}</boolean></value>"
    if isinstance(value, int):
        return f"<value><int>{value}</int></value>"
    if isinstance(value, float):
        return f"<value><double>{value!r}</double></value>"
    if isinstance(value, bytes):
        return f"<value><base64>{base64.b64encode(value).decode()}</base64></value>"
    if isinstance(value, dict):
        members = "".join(
            f"<member><name>{escape(str(key), quote=False)}</name>{xml_value(item)}</member>"
            for key, item in value.items()
        )
        return f"<value><struct>{members}</struct></value>"
    if isinstance(value, list):
        return f"<value><array><data>{''.join(map(xml_value, value))}</data></array></value>"
    return f"<value><string>{escape(str(value), quote=False)}</string></value>"


def xml_call(method: str, *params: Any) -> bytes:
    body = "".join(f"<param>{xml_value(p)}</param>" for p in params)
    text = f"<?xml version='1.0'?><methodCall><methodName>{method}</methodName>"
    return f"{text}<params>{body}</params></methodCall>".encode("utf-8", "surrogatepass")


class Submitter:
    """mallory's calls; checks every answer, keeps the ids of accepted jobs."""

    def __init__(self, security_lab: Any) -> None:
        self.lab = security_lab
        self.session = requests.Session()
        self.token = security_lab.tokens["mallory"]
        self.accepted: list[int] = []
        self.answers: dict[str, int] = {}

    def send(self, case: Case, binary: bool) -> None:
        if case.interface.startswith("xmlrpc"):
            self._xmlrpc(case, binary)
        else:
            self._rest(case, binary)

    def _post(self, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.post(self.lab.url + path, timeout=ANSWER_TIMEOUT, **kwargs)
        except requests.Timeout:
            raise AssertionError(f"POST {path}: no answer in {ANSWER_TIMEOUT} s") from None

    def _no_server_error(self, answer: requests.Response) -> None:
        """An HTTP 5xx fails the test, with what the front and gunicorn logged meanwhile."""
        assert answer.status_code < 500, (
            f"HTTP {answer.status_code}: {answer.text[:500]}\n{self.lab.lab.log_tail(60)}"
        )

    def _count(self, what: str) -> None:
        self.answers[what] = self.answers.get(what, 0) + 1

    def _xmlrpc(self, case: Case, binary: bool) -> None:
        definition = case.definition
        if binary and isinstance(definition, str):  # lavacli may send bytes as base64
            definition = definition.encode("utf-8", "surrogatepass")
        method = (
            "scheduler.jobs.submit"
            if case.interface == "xmlrpc-submit"
            else ("scheduler.jobs.validate")
        )
        answer = self._post(
            "RPC2",
            data=xml_call(method, definition),
            headers={"Content-Type": "text/xml"},
            auth=("mallory", self.token),
        )
        self._no_server_error(answer)
        if answer.status_code != 200:
            self._count(f"{case.interface} HTTP {answer.status_code}")
            return
        try:
            result = xmlrpc.client.loads(answer.content, use_builtin_types=True)[0][0]
        except ExpatError as exc:
            raise AssertionError(f"not XML ({exc}): {answer.content[:600]!r}") from None
        except xmlrpc.client.Fault as fault:
            assert fault.faultCode != -32603, fault.faultString[:1000]
            self._count(f"{case.interface} fault {fault.faultCode}")
            return
        self._count(f"{case.interface} answered")
        if case.interface == "xmlrpc-submit":
            self.accepted.extend(result if isinstance(result, list) else [result])

    def _rest(self, case: Case, as_json: bool) -> None:
        path = "api/v0.2/jobs/" if case.interface == "rest-submit" else "api/v0.2/jobs/validate/"
        headers = {"Authorization": f"Token {self.token}"}
        if as_json or not isinstance(case.definition, str):
            body = {"definition": case.definition}
            answer = self._post(path, data=json_text(body), headers=headers | JSON)
        else:
            answer = self._post(path, data={"definition": case.definition}, headers=headers)
        self._no_server_error(answer)
        self._count(f"{case.interface} HTTP {answer.status_code}")
        if case.interface == "rest-submit" and answer.status_code == 201:
            self.accepted.extend(answer.json()["job_ids"])


JSON = {"Content-Type": "application/json"}


def json_text(value: Any) -> bytes:
    """JSON as an attacker writes it: NaN and Infinity too, and any key as a string."""
    import json

    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            return {str(key): plain(item) for key, item in node.items()}
        if isinstance(node, list):
            return [plain(item) for item in node]
        if isinstance(node, bytes):
            return node.decode("latin-1")
        return node

    return json.dumps(plain(value)).encode("utf-8", "surrogatepass")


# -- the lab's processes ---------------------------------------------------------


def daemons(lab: Any) -> dict[str, list[int]]:
    """Every long-lived process of the lab: each service and the front's and gunicorn's
    workers (a worker that dies is replaced by its master: that is an exit too)."""
    found = {}
    for name in lab.services:
        pid = lab.running(name)
        assert pid, f"the {name} is not running:\n{lab.log_tail()}"
        found[name] = [pid, *children(pid)] if name in ("web", "front") else [pid]
    return found


def memory(lab: Any) -> dict[str, int]:
    """RSS of the web (gunicorn's master and workers) and of the scheduler."""
    processes = daemons(lab)
    return {
        "web": sum(rss(pid) for pid in processes["web"]),
        "scheduler": sum(rss(pid) for pid in processes["scheduler"]),
    }


# -- accepted jobs -------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_device(security_lab) -> str:
    """The device type ``fuzz`` and its device on the lab's worker."""
    lab = security_lab.lab
    template = lab.instance / "dispatcher-config" / "device-types" / f"{FUZZ_TYPE}.jinja2"
    template.parent.mkdir(parents=True, exist_ok=True)
    template.write_text(FUZZ_TEMPLATE)
    if lab.manage("device-types", "details", FUZZ_TYPE, check=False, quiet=True).returncode:
        lab.manage("device-types", "add", FUZZ_TYPE, quiet=True)
    dictionary = lab.instance / f"{DEVICE}.jinja2"
    dictionary.write_text(f"{{% extends '{FUZZ_TYPE}.jinja2' %}}\n")
    if lab.manage("devices", "details", DEVICE, check=False, quiet=True).returncode:
        lab.manage(
            "devices", "add", DEVICE, "--device-type", FUZZ_TYPE,
            "--worker", lab.worker_name, "--device-dict", str(dictionary), quiet=True,
        )  # fmt: skip
    return DEVICE


def unfinished(security_lab: Any, session: requests.Session) -> int:
    """How many of the fuzz device type's jobs have not finished."""
    states = "Submitted,Scheduling,Scheduled,Running,Canceling"
    url = (
        f"{security_lab.url}api/v0.2/jobs/?requested_device_type={FUZZ_TYPE}"
        f"&state__in={states}&limit=1"
    )
    answer = session.get(url, timeout=60)
    answer.raise_for_status()
    return int(answer.json()["count"])


def cancel(security_lab: Any, accepted: list[int]) -> None:
    """Cancel the accepted jobs through the API (those already finished stay as they are)."""
    session = security_lab.rest("mallory")
    for start in range(0, len(accepted), 500):
        answer = session.post(
            f"{security_lab.url}api/v0.2/jobs/batch-cancel/",
            json={"job_ids": accepted[start : start + 500]},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text[:500]


def finish_accepted(security_lab: Any, accepted: list[int], grace: float = 20) -> dict[str, int]:
    """Let the device take queued jobs a little longer, cancel the rest and wait until every
    accepted job has finished; how they ended (health, device, error type) and how many."""
    time.sleep(grace)
    cancel(security_lab, accepted)
    session = security_lab.rest("mallory")
    deadline = time.monotonic() + 180
    while left := unfinished(security_lab, session):
        assert time.monotonic() < deadline, f"{left} accepted jobs never finished"
        time.sleep(2)
    outcomes: dict[str, int] = {}
    for job_id in accepted:
        job = job_details(security_lab, job_id)
        ran = f"ran on {job['device']}" if job["device"] else "queued"
        key = f"{job['health']} ({ran}, {job.get('error_type') or 'no error'})"
        outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes


def job_details(security_lab: Any, job_id: int) -> dict[str, Any]:
    """``scheduler.jobs.show`` as mallory; an answer that is not XML is a finding of its own."""
    answer = requests.post(
        security_lab.url + "RPC2",
        data=xml_call("scheduler.jobs.show", job_id),
        auth=("mallory", security_lab.tokens["mallory"]),
        timeout=60,
    )
    try:
        return xmlrpc.client.loads(answer.content, use_builtin_types=True)[0][0]
    except ExpatError:
        return {"health": "not XML", "device": None, "error_type": answer.content[-300:]}


def warm_up(security_lab: Any, job: str) -> None:
    """Big requests on every interface and reads of the job list from 16 threads at once,
    so that every gunicorn worker and thread has its database connection and has had its
    largest allocations before memory is measured. ``job`` is refused once it is parsed
    (its device type does not exist)."""
    calls = [
        (Case(interface, job + f"# {'x' * size}\n", "warm-up"), variant)
        for interface in INTERFACES
        for size in (100_000, 500_000, 1_000_000, 2_000_000)
        for variant in (False, True)
    ]
    session = security_lab.rest("mallory")

    def send(call: tuple[Case, bool]) -> None:
        with contextlib.suppress(AssertionError):  # the fuzzing that follows checks answers
            Submitter(security_lab).send(*call)
        session.get(f"{security_lab.url}api/v0.2/jobs/?limit=1000", timeout=60)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(send, calls * 2))


def test_fuzzed_definitions(security_lab, fuzz_device: str, guest: Path) -> None:
    lab = security_lab.lab
    strategy = st.tuples(cases(corpus(real_jobs(guest))), st.booleans())
    submitter = Submitter(security_lab)
    before = daemons(lab)
    warm_up(security_lab, security_lab.demo_job(device_type="no-such-device-type"))
    baseline: dict[str, int] = {}
    started = time.monotonic()

    @settings(settings.get_profile(PROFILE))
    @given(strategy)
    def one(drawn: tuple[Case, bool]) -> None:
        case, variant = drawn
        note(f"{case!r}, {'as base64 or JSON' if variant else 'as a string or a form'}")
        submitter.send(case, variant)
        if not baseline and sum(submitter.answers.values()) >= WARM_UP:
            baseline.update(memory(lab))

    try:
        one()
    except BaseException:
        cancel(security_lab, submitter.accepted)  # leave no queue to the tests that follow
        raise
    fuzzed = time.monotonic() - started
    outcomes = finish_accepted(security_lab, submitter.accepted)
    after = memory(lab)
    growth = {name: after[name] - (baseline or after)[name] for name in after}
    print(
        f"\nfuzz: {sum(submitter.answers.values())} calls in {fuzzed:.0f} s; answers "
        f"{dict(sorted(submitter.answers.items()))}\naccepted {len(submitter.accepted)}: "
        f"{outcomes}\nRSS before {baseline}, after {after}, growth "
        + ", ".join(f"{name} {value / 2**20:+.1f} MB" for name, value in growth.items())
    )
    assert daemons(lab) == before, "a daemon of the lab exited during the fuzzing"
    for name, value in growth.items():
        assert value < RSS_GROWTH_LIMIT, f"the {name} grew by {value / 2**20:.0f} MB"
    ran = sum(count for key, count in outcomes.items() if f"ran on {fuzz_device}" in key)
    assert ran or not submitter.accepted, f"no accepted job reached {fuzz_device}: {outcomes}"
    # lava-run refuses the definition (Job) or the device (Configuration), or it was canceled
    assert not any(kind in key for key in outcomes for kind in ("Bug", "Infra")), outcomes
    security_lab.assert_runs_jobs()
