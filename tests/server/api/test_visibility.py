"""One table of every entry point that shows a job, a device or a device type: XML-RPC, REST, admin.

For each entry point the test compares what a user observes of a hidden object
with what they observe of one that does not exist. Those who may not see it
(anonymous, a stranger) must get exactly the answer a missing object gets,
ids aside; those who may (its owner, an admin) must get something else.
"""

from __future__ import annotations

import re
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from rpc_helpers import basic

from lava.common import log
from lava.server.logs.store import log_store
from lava.server.results.models import TestCase, TestSuite
from lava.server.scheduler.models import (
    Alias,
    AuthToken,
    DeviceType,
    GroupDeviceTypePermission,
    TestJob,
)
from lava.server.scheduler.states import JobState, Visibility

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


def listed(text: str, *needles: str) -> str:
    return "present" if all(needle in text for needle in needles) else "absent"


def in_rpc_list(rows: str, key: str, value: Any) -> str:
    return "present" if f"'{key}': {value!r}" in rows else "absent"


def rest_job(tail: str) -> Probe:
    """``jobs/<id>/<tail>``; the tail may name ``{i.suite}`` or ``{i.case}``."""
    return lambda c, w, i: get(c, w, f"{REST}/jobs/{i.job}/" + tail.format(i=i))


JOB_PROBES: dict[str, Probe] = {
    # XML-RPC
    "rpc jobs.list": lambda c, w, i: in_rpc_list(
        call(c, w, "scheduler.jobs.list", None, None, 0, 100, 0, False), "id", i.job
    ),
    "rpc jobs.queue": lambda c, w, i: in_rpc_list(
        call(c, w, "scheduler.jobs.queue", None, 0, 100), "id", i.job
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
    "rpc all_jobs": lambda c, w, i: listed(call(c, w, "scheduler.all_jobs"), f"[{i.job}, "),
    # REST
    "rest jobs list": lambda c, w, i: listed(get(c, w, f"{REST}/jobs/"), f'"id":{i.job},'),
    "rest jobs ?id=": lambda c, w, i: get(c, w, f"{REST}/jobs/?id={i.job}").split('"next"')[0],
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

# Acts on a job: only the refusals are checked (those who may would change the job).
JOB_ACTIONS: dict[str, Probe] = {
    "rpc jobs.cancel": lambda c, w, i: call(c, w, "scheduler.jobs.cancel", i.job),
    "rpc jobs.resubmit": lambda c, w, i: call(c, w, "scheduler.jobs.resubmit", i.job),
    "rest cancel": lambda c, w, i: get(c, w, f"{REST}/jobs/{i.job}/cancel/"),
    "rest resubmit": lambda c, w, i: get(c, w, f"{REST}/jobs/{i.job}/resubmit/", "post"),
    "rest batch-cancel": lambda c, w, i: get(
        c, w, f"{REST}/jobs/batch-cancel/", "post", job_ids=[i.job]
    ),
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
}


@pytest.fixture
def people(users) -> dict[str, Who]:
    """Owner and stranger are staff who may view jobs, results and devices in the admin."""
    codenames = ("view_testjob", "view_testsuite", "view_testcase", "view_device")
    codenames += ("view_devicetype", "view_alias")
    for name in ("owner", "stranger"):
        users[name].is_staff = True
        users[name].save()
        users[name].user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    who = {"anonymous": Who("anonymous", {}, {}, None)}
    for name, user in users.items():
        secret = AuthToken.objects.create(user=user).secret
        who[name] = Who(name, basic(name, secret), {"HTTP_AUTHORIZATION": f"Token {secret}"}, user)
    return who


def _job(users, lab, **fields: Any) -> Ids:
    if "requested_device_type" not in fields:
        fields["requested_device_type"] = lab.device_type
    job = TestJob.objects.create(
        id=JOB_ID,  # ids no other row has, so answers can be compared with ids masked
        submitter=users["owner"],
        definition="job_name: x\ndevice_type: qemu\n",
        state=JobState.SUBMITTED,
        metadata={"build": "1"},
        **fields,
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
    (log_store().job_dir(job.id) / "device.yaml").write_text("device_type: qemu\n")
    return Ids(job.id, suite.id, case.id, MISSING.host, MISSING.type)


def _hidden_type(lab) -> DeviceType:
    secret = DeviceType.objects.create(name="secret")
    GroupDeviceTypePermission.objects.create(
        devicetype=secret, group=Group.objects.get(name="lab"), permission="view"
    )
    lab.device("secret-01", device_type=secret)
    (lab.root / "device-types" / "secret.jinja2").write_text("{% extends 'qemu.jinja2' %}\n")
    Alias.objects.create(name="secret-alias", device_type=secret)
    return secret


MISSING = Ids(MISSING_ID, MISSING_ID + 1, MISSING_ID + 2, "ghost-01", "ghost")


def check(table: dict[str, Probe], client: Client, people: dict[str, Who], ids: Ids) -> None:
    for name, probe in table.items():
        for who in people.values():
            seen = ids.normalise(probe(client, who, ids))
            missing = MISSING.normalise(probe(client, who, MISSING))
            if who.name in ("anonymous", "stranger"):
                assert seen == missing, f"{name}: {who.name} can tell it from a missing one"
            else:
                assert seen != missing, f"{name}: {who.name} cannot see it"


@pytest.mark.parametrize("kind", ["personal", "group", "public on a hidden device type"])
def test_hidden_jobs_answer_as_missing_ones(client, users, lab, people, data_dir, kind) -> None:
    if kind == "personal":
        ids = _job(users, lab, visibility=Visibility.PERSONAL)
    elif kind == "group":
        ids = _job(users, lab, visibility=Visibility.GROUP)
        TestJob.objects.get(id=ids.job).viewing_groups.add(Group.objects.get(name="lab"))
    else:
        secret = _hidden_type(lab)
        ids = _job(users, lab, requested_device_type=secret)
    check(JOB_PROBES, client, people, ids)
    for name, probe in JOB_ACTIONS.items():
        for who in (people["anonymous"], people["stranger"]):
            seen, missing = (
                ids.normalise(probe(client, who, ids)),
                MISSING.normalise(probe(client, who, MISSING)),
            )
            assert seen == missing, f"{name}: {who.name} can tell it from a missing one"
    job = TestJob.objects.get(id=ids.job)
    assert job.state == JobState.SUBMITTED and TestJob.objects.count() == 1  # nothing acted
    assert TestCase.objects.filter(suite__job=job).count() == 1


def test_hidden_devices_and_types_answer_as_missing_ones(client, lab, people) -> None:
    _hidden_type(lab)
    ids = Ids(MISSING.job, MISSING.suite, MISSING.case, "secret-01", "secret")
    check(DEVICE_PROBES, client, people, ids)
