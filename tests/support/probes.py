"""Every entry point that shows a job, a device or a device type (XML-RPC, REST, admin), as
a table of probes: each calls one as a user and returns what that user observes.

Shared by the visibility tests (a hidden object answers as a missing one) and
the stored-secrets tests (no secret value in any answer).
"""

from __future__ import annotations

import re
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from lava.common import log
from lava.server.logs.store import log_store
from lava.server.results.models import TestCase, TestSuite
from lava.server.scheduler.models import TestJob
from lava.server.scheduler.states import JobState

REST = "/api/v0.2"
MISSING_ID = 987654
JOB_ID, SUITE_ID, CASE_ID = 4242, 5151, 6161


@dataclass
class Ids:
    """A job and its results (or a device and its type): real ones, or ids nothing has."""

    job: int
    suite: int
    case: int
    host: str
    type: str

    def normalise(self, text: str) -> str:
        for value, token in (
            (self.job, "JOB"),
            (self.suite, "SUITE"),
            (self.case, "CASE"),
            (self.host, "HOST"),
            (self.type, "TYPE"),
        ):
            text = re.sub(rf"(?<![\w-]){re.escape(str(value))}(?!\w)", token, text)
        return text


@dataclass
class Who:
    name: str
    rpc: dict[str, str]
    rest: dict[str, str]
    user: User | None


Probe = Callable[[Client, Who, Ids], str]
MISSING = Ids(MISSING_ID, MISSING_ID + 1, MISSING_ID + 2, "ghost-01", "ghost")


def call(client: Client, who: Who, name: str, *params: Any) -> str:
    """An XML-RPC call as an observation: ``ok`` and what it answered, or the fault."""
    body = xmlrpc.client.dumps(params, name, allow_none=True)
    answer = client.post("/RPC2", body, content_type="text/xml", **who.rpc)
    if answer.status_code != 200:
        return f"http {answer.status_code}"
    try:
        (result,), _ = xmlrpc.client.loads(answer.content, use_builtin_types=True)
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode != -32603, f"{name}: server error {fault.faultString}"
        return f"fault {fault.faultCode} {fault.faultString}"
    return f"ok {result!r}"


def get(client: Client, who: Who, path: str, method: str = "get", **body: Any) -> str:
    """A REST or admin page as an observation: its status, redirect and body."""
    if method == "get":
        answer = client.get(path, **who.rest)
    else:
        answer = client.post(path, body, content_type="application/json", **who.rest)
    assert answer.status_code < 500, f"{path}: {answer.status_code}"
    return f"{answer.status_code} {answer.get('Location', '')} {answer.content.decode()}"


def admin(client: Client, who: Who, path: str) -> str:
    """An admin page, signed in as ``who`` (the admin has no tokens, only sessions)."""
    client.logout()
    if who.user is not None:
        client.force_login(who.user)
    try:
        answer = client.get(path)
    finally:
        client.logout()
    assert answer.status_code < 500, f"{path}: {answer.status_code}"
    return f"{answer.status_code} {answer.get('Location', '')} {answer.content.decode()}"


CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def page(client: Client, who: Who, path: str, method: str = "get") -> str:
    """A web page as ``who`` signed in (or anonymous): status, redirect and body, with the
    per-answer CSRF token blanked."""
    client.logout()
    if who.user is not None:
        client.force_login(who.user)
    try:
        answer = client.post(path) if method == "post" else client.get(path)
    finally:
        client.logout()
    assert answer.status_code < 500, f"{path}: {answer.status_code}"
    body = b"".join(answer.streaming_content) if answer.streaming else answer.content
    text = CSRF.sub(r"\1\2", body.decode(errors="replace"))
    return f"{answer.status_code} {answer.get('Location', '')} {text}"


def web(path: str, method: str = "get") -> Probe:
    """A probe of the web page ``path``, which may name ``{i.job}``, ``{i.host}``, ..."""
    return lambda c, w, i: page(c, w, "/" + path.format(i=i), method)


def listed(text: str, *needles: str) -> str:
    return "present" if all(needle in text for needle in needles) else "absent"


def in_rpc_list(rows: str, key: str, value: Any) -> str:
    return "present" if f"'{key}': {value!r}" in rows else "absent"


@dataclass
class Reduced:
    """A probe whose answer is cut to what tells the object apart; ``raw`` gives it whole."""

    raw: Probe
    reduce: Callable[[str, Ids], str]

    def __call__(self, client: Client, who: Who, ids: Ids) -> str:
        return self.reduce(self.raw(client, who, ids), ids)


def in_list(raw: Probe, needle: Callable[[Ids], str]) -> Reduced:
    """A probe of a list: whether the object is in it."""
    return Reduced(raw, lambda text, ids: listed(text, needle(ids)))


def rest_job(tail: str) -> Probe:
    """``jobs/<id>/<tail>``; the tail may name ``{i.suite}`` or ``{i.case}``."""
    return lambda c, w, i: get(c, w, f"{REST}/jobs/{i.job}/" + tail.format(i=i))


JOB_PROBES: dict[str, Probe] = {
    # XML-RPC
    "rpc jobs.list": in_list(
        lambda c, w, i: call(c, w, "scheduler.jobs.list", None, None, 0, 100, 0, True),
        lambda i: f"'id': {i.job}",
    ),
    "rpc jobs.queue": in_list(
        lambda c, w, i: call(c, w, "scheduler.jobs.queue", None, 0, 100),
        lambda i: f"'id': {i.job}",
    ),
    "rpc jobs.show": lambda c, w, i: call(c, w, "scheduler.jobs.show", i.job),
    "rpc jobs.logs": lambda c, w, i: call(c, w, "scheduler.jobs.logs", i.job),
    "rpc jobs.definition": lambda c, w, i: call(c, w, "scheduler.jobs.definition", i.job),
    "rpc jobs.configuration": lambda c, w, i: call(c, w, "scheduler.jobs.configuration", i.job),
    "rpc results job yaml": lambda c, w, i: call(c, w, "results.get_testjob_results_yaml", i.job),
    "rpc results job csv": lambda c, w, i: call(c, w, "results.get_testjob_results_csv", i.job),
    "rpc results suites yaml": lambda c, w, i: call(
        c, w, "results.get_testjob_suites_list_yaml", i.job
    ),
    "rpc results suites csv": lambda c, w, i: call(
        c, w, "results.get_testjob_suites_list_csv", i.job
    ),
    "rpc results metadata": lambda c, w, i: call(c, w, "results.get_testjob_metadata", i.job),
    "rpc results suite yaml": lambda c, w, i: call(
        c, w, "results.get_testsuite_results_yaml", i.job, "0_smoke"
    ),
    "rpc results suite csv": lambda c, w, i: call(
        c, w, "results.get_testsuite_results_csv", i.job, "0_smoke"
    ),
    "rpc results suite count": lambda c, w, i: call(
        c, w, "results.get_testsuite_results_count", i.job, "0_smoke"
    ),
    "rpc results case yaml": lambda c, w, i: call(
        c, w, "results.get_testcase_results_yaml", i.job, "0_smoke", "secret-case"
    ),
    "rpc results case csv": lambda c, w, i: call(
        c, w, "results.get_testcase_results_csv", i.job, "0_smoke", "secret-case"
    ),
    "rpc user_can_view_jobs": lambda c, w, i: listed(
        call(c, w, "system.user_can_view_jobs", [i.job]), f"'{i.job}': True"
    ),
    # LAVA's older methods
    "rpc job_details": lambda c, w, i: call(c, w, "scheduler.job_details", i.job),
    "rpc job_health": lambda c, w, i: call(c, w, "scheduler.job_health", i.job),
    "rpc job_state": lambda c, w, i: call(c, w, "scheduler.job_state", i.job),
    "rpc job_output": lambda c, w, i: call(c, w, "scheduler.job_output", i.job),
    "rpc all_jobs": in_list(
        lambda c, w, i: call(c, w, "scheduler.all_jobs"), lambda i: f"[{i.job}, "
    ),
    # REST
    "rest jobs list": in_list(
        lambda c, w, i: get(c, w, f"{REST}/jobs/"), lambda i: f'"id":{i.job},'
    ),
    "rest jobs ?id=": Reduced(
        lambda c, w, i: get(c, w, f"{REST}/jobs/?id={i.job}"),
        lambda text, i: text.split('"next"')[0],
    ),
    **{
        f"rest jobs/<id>/{tail}": rest_job(tail)
        for tail in (
            "",
            "logs/",
            "definition/",
            "suites/",
            "suites/{i.suite}/",
            "suites/{i.suite}/tests/",
            "suites/{i.suite}/csv/",
            "suites/{i.suite}/yaml/",
            "tests/",
            "tests/{i.case}/",
            "junit/",
            "tap13/",
            "csv/",
            "yaml/",
            "metadata/",
        )
    },
    # the admin's pages (staff with view permissions)
    "admin job list": lambda c, w, i: listed(
        admin(c, w, "/admin/scheduler/testjob/"), f"/admin/scheduler/testjob/{i.job}/change/"
    ),
    "admin job page": lambda c, w, i: admin(c, w, f"/admin/scheduler/testjob/{i.job}/change/"),
    "admin suite list": lambda c, w, i: listed(
        admin(c, w, "/admin/results/testsuite/"), f"/admin/results/testsuite/{i.suite}/change/"
    ),
    "admin case list": lambda c, w, i: listed(
        admin(c, w, "/admin/results/testcase/"), f"/admin/results/testcase/{i.case}/change/"
    ),
    "admin case page": lambda c, w, i: admin(c, w, f"/admin/results/testcase/{i.case}/change/"),
}

# The web pages that show a job or its results (a job the tables make has a log and results).
WEB_JOB_PAGES = (
    "scheduler/job/{i.job}",
    "scheduler/job/{i.job}/definition",
    "scheduler/job/{i.job}/definition/plain",
    "scheduler/job/{i.job}/log_file/plain",
    "scheduler/job/{i.job}/timing",
    "scheduler/job/{i.job}/job_status",
    "scheduler/job/{i.job}/log_pipeline_incremental?line=0",
    "scheduler/job/{i.job}/log_lines?start=0&count=10",
    "results/{i.job}",
    "results/{i.job}/csv",
    "results/{i.job}/yaml",
    "results/{i.job}/yaml_summary",
    "results/{i.job}/metadata",
    "results/{i.job}/0_smoke",
    "results/{i.job}/0_smoke/csv",
    "results/{i.job}/0_smoke/yaml",
    "results/{i.job}/0_smoke/+testcase-count",
    "results/{i.job}/0_smoke/secret-case",
    "results/testcase/{i.case}",
    "results/testcase/{i.case}/yaml",
)
JOB_PROBES.update({f"web {path}": web(path) for path in WEB_JOB_PAGES})
JOB_PROBES.update(
    {
        f"web /{path} list": in_list(web(path), lambda i: f'href="/scheduler/job/{i.job}"')
        for path in ("scheduler/alljobs", "scheduler/activejobs", "scheduler/queue", "")
    }
)

# Acts on a job: only the refusals are checked (those who may would change the job).
JOB_ACTIONS: dict[str, Probe] = {
    "rpc jobs.cancel": lambda c, w, i: call(c, w, "scheduler.jobs.cancel", i.job),
    "rpc jobs.resubmit": lambda c, w, i: call(c, w, "scheduler.jobs.resubmit", i.job),
    "rest cancel": lambda c, w, i: get(c, w, f"{REST}/jobs/{i.job}/cancel/"),
    "rest resubmit": lambda c, w, i: get(c, w, f"{REST}/jobs/{i.job}/resubmit/", "post"),
    "rest batch-cancel": lambda c, w, i: get(
        c, w, f"{REST}/jobs/batch-cancel/", "post", job_ids=[i.job]
    ),
    **{
        f"web {action}": web(f"scheduler/job/{{i.job}}/{action}", "post")
        for action in ("cancel", "resubmit", "fail", "toggle_favorite", "priority")
    },
}

DEVICE_PROBES: dict[str, Probe] = {
    "rpc devices.list": lambda c, w, i: in_rpc_list(
        call(c, w, "scheduler.devices.list", True), "hostname", i.host
    ),
    "rpc devices.show": lambda c, w, i: call(c, w, "scheduler.devices.show", i.host),
    "rpc devices.get_dictionary": lambda c, w, i: call(
        c, w, "scheduler.devices.get_dictionary", i.host
    ),
    "rpc devices.tags.list": lambda c, w, i: call(c, w, "scheduler.devices.tags.list", i.host),
    "rpc device_types.list": lambda c, w, i: in_rpc_list(
        call(c, w, "scheduler.device_types.list", True), "name", i.type
    ),
    "rpc device_types.show": lambda c, w, i: call(c, w, "scheduler.device_types.show", i.type),
    "rpc device_types.devices": lambda c, w, i: call(
        c, w, "scheduler.device_types.devices", i.type
    ),
    "rpc device_types.get_template": lambda c, w, i: call(
        c, w, "scheduler.device_types.get_template", i.type
    ),
    "rpc device_types.aliases.list": lambda c, w, i: call(
        c, w, "scheduler.device_types.aliases.list", i.type
    ),
    "rpc aliases.list": lambda c, w, i: listed(
        call(c, w, "scheduler.aliases.list"), f"'{i.type}-alias'"
    ),
    "rpc aliases.show": lambda c, w, i: call(c, w, "scheduler.aliases.show", f"{i.type}-alias"),
    "rpc user_can_view_devices": lambda c, w, i: (
        "present"
        if "'visible': True" in call(c, w, "system.user_can_view_devices", [i.host])
        else "absent"
    ),
    "rpc all_devices": lambda c, w, i: listed(call(c, w, "scheduler.all_devices"), f"'{i.host}'"),
    "rpc all_device_types": lambda c, w, i: listed(
        call(c, w, "scheduler.all_device_types"), f"'name': '{i.type}'"
    ),
    "rpc get_device_status": lambda c, w, i: call(c, w, "scheduler.get_device_status", i.host),
    "rpc get_device_config": lambda c, w, i: call(c, w, "scheduler.get_device_config", i.host),
    "rpc get_recent_jobs_for_device": lambda c, w, i: call(
        c, w, "scheduler.get_recent_jobs_for_device", i.host
    ),
    "rpc get_recent_jobs_for_device_type": lambda c, w, i: call(
        c, w, "scheduler.get_recent_jobs_for_device_type", i.type
    ),
    "rpc get_device_type_by_alias": lambda c, w, i: call(
        c, w, "scheduler.get_device_type_by_alias", f"{i.type}-alias"
    ),
    "rpc validate_pipeline_devices": lambda c, w, i: call(
        c, w, "scheduler.validate_pipeline_devices", i.host
    ),
    "rest devices list": lambda c, w, i: listed(
        get(c, w, f"{REST}/devices/"), f'"hostname":"{i.host}"'
    ),
    "rest devices/<host>/": lambda c, w, i: get(c, w, f"{REST}/devices/{i.host}/"),
    "rest dictionary": lambda c, w, i: get(c, w, f"{REST}/devices/{i.host}/dictionary/"),
    "rest devicetypes list": lambda c, w, i: listed(
        get(c, w, f"{REST}/devicetypes/"), f'"name":"{i.type}"'
    ),
    "rest devicetypes/<name>/": lambda c, w, i: get(c, w, f"{REST}/devicetypes/{i.type}/"),
    "rest template": lambda c, w, i: get(c, w, f"{REST}/devicetypes/{i.type}/template/"),
    "rest health_check": lambda c, w, i: get(c, w, f"{REST}/devicetypes/{i.type}/health_check/"),
    "rest aliases": lambda c, w, i: listed(get(c, w, f"{REST}/aliases/"), f"{i.type}-alias"),
    "admin device list": lambda c, w, i: listed(
        admin(c, w, "/admin/scheduler/device/"), f"/admin/scheduler/device/{i.host}/change/"
    ),
    "admin device type list": lambda c, w, i: listed(
        admin(c, w, "/admin/scheduler/devicetype/"), f"/admin/scheduler/devicetype/{i.type}/"
    ),
    "admin alias list": lambda c, w, i: listed(
        admin(c, w, "/admin/scheduler/alias/"), f"{i.type}-alias"
    ),
    **{
        f"web {path}": web(path)
        for path in (
            "scheduler/device/{i.host}",
            "scheduler/device/{i.host}/devicedict",
            "scheduler/device/{i.host}/devicedict/plain",
            "scheduler/labhealth/device/{i.host}",
            "scheduler/device_type/{i.type}",
            "scheduler/devicetypeyaml/{i.type}",
            "scheduler/dthealthhistory/device_type/{i.type}",
        )
    },
    "web device health": web("scheduler/device/{i.host}/health", "post"),
    **{
        f"web /{path} list": Reduced(
            web(path),
            lambda text, i: (
                listed(text, f"/scheduler/device/{i.host}")
                + listed(text, f"/scheduler/device_type/{i.type}")
            ),
        )
        for path in ("scheduler/alldevices", "scheduler/device_types", "scheduler/labhealth/")
    },
}


def make_job(
    users, lab, definition: str = "job_name: x\ndevice_type: qemu\n", **fields: Any
) -> Ids:
    """The owner's job (Submitted) with a log, a suite and a case; ``fields`` of TestJob."""
    if "requested_device_type" not in fields:
        fields["requested_device_type"] = lab.device_type
    job = TestJob.objects.create(
        id=JOB_ID,  # ids no other row has, so answers can be compared with ids masked
        submitter=users["owner"],
        definition=definition,
        original_definition=definition,
        state=JobState.SUBMITTED,
        **{"metadata": {"build": "1"}, **fields},
    )
    text = log.encode("target", "a secret line") + "\n"
    text += log.encode(
        "results", {"definition": "0_smoke", "case": "secret-case", "result": "fail"}
    )
    log_store().append(job.id, 0, text + "\n")
    suite = TestSuite.objects.create(id=SUITE_ID, job=job, name="0_smoke")
    case = TestCase.objects.create(
        id=CASE_ID,
        suite=suite,
        name="secret-case",
        result=TestCase.Result.FAIL,
        start_log_line=0,
        end_log_line=1,
        log_line=1,
        metadata="definition: 0_smoke\ncase: secret-case\nresult: fail\n",
    )
    log_store().write_file(job.id, "device.yaml", "device_type: qemu\n")
    return Ids(job.id, suite.id, case.id, MISSING.host, MISSING.type)
