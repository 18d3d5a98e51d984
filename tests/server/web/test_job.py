"""The job page, its sub-resources and its actions, for every kind of reader.

A hidden job (personal, or in a group the reader is not in) answers exactly
as a missing one for anonymous readers and strangers, on the page, each
sub-resource and each action; definitions and kept files are masked for those
who may not read the job's secrets; actions are POST-only, CSRF-protected and
decided by the services.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from lava.common import log
from lava.server.logs.store import log_store
from lava.server.results.models import TestCase, TestSuite
from lava.server.scheduler.models import Device, FavoriteJob, TestJob
from lava.server.scheduler.states import DeviceHealth, JobHealth, JobState, Visibility
from lava.server.web import jobtiming

pytestmark = pytest.mark.django_db

SECRET = "hush-0123456789"
DEFINITION = f"""\
job_name: a job with a secret
device_type: qemu
visibility: personal
priority: medium
secrets:
  API_TOKEN: {SECRET}
timeouts: {{job: {{minutes: 5}}}}
actions:
- boot: {{method: qemu, timeout: {{minutes: 2}}}}
"""
PLAIN = "job_name: plain\ndevice_type: qemu\nvisibility: public\n"
T0 = timezone.now() - timedelta(minutes=10)


def when(seconds: float) -> str:
    return log.format_dt(T0 + timedelta(seconds=seconds))


LOG = [
    log.encode("info", "lava-dispatcher, installed at version: 2026.01", when(0)),
    log.encode("info", "start: 1 deploy-qemu (timeout 00:02:00) [common]", when(1)),
    log.encode("debug", "start: 1.1 download-retry (timeout 00:01:00) [common]", when(1)),
    log.encode("debug", "end: 1.1 download-retry (duration 00:00:55) [common]", when(56)),
    log.encode("info", "end: 1 deploy-qemu (duration 00:00:58) [common]", when(58)),
    log.encode("info", "start: 2 boot-qemu (timeout 00:05:00) [common]", when(59)),
    log.encode("target", "Linux version 6.1.0 <script>alert(1)</script>", when(60)),
    log.encode("results", {"definition": "0_smoke", "case": "uname", "result": "pass"}, when(61)),
    log.encode("results", {"definition": "0_smoke", "case": "a b/c?", "result": "fail"}, when(62)),
    log.encode("info", "end: 2 boot-qemu (duration 00:00:10) [common]", when(69)),
]


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="localhost")


def make_job(users, lab, definition: str = PLAIN, **fields) -> TestJob:
    """The owner's job with a log, two results, a device.yaml and a description."""
    values = {
        "submitter": users["owner"],
        "definition": definition,
        "original_definition": definition,
        "description": "smoke <b>test</b>",
        "requested_device_type": lab.device_type,
        "state": JobState.FINISHED,
        "health": JobHealth.COMPLETE,
        "submit_time": T0,
        "start_time": T0,
        "end_time": T0 + timedelta(seconds=70),
        **fields,
    }
    job = TestJob.objects.create(**values)
    store = log_store()
    store.append(job.id, 0, "\n".join(LOG) + "\n")
    suite = TestSuite.objects.create(job=job, name="0_smoke")
    TestCase.objects.create(suite=suite, name="uname", result=0, log_line=7)
    TestCase.objects.create(suite=suite, name="a b/c?", result=1, log_line=8, start_log_line=6)
    store.write_file(job.id, "device.yaml", "device_type: qemu\nhostname: qemu-01\n")
    store.write_file(job.id, "dispatcher.yaml", "dispatcher_ip: 10.0.0.1\n")
    store.write_file(job.id, "description.yaml", f"pipeline: []\nurl: http://x/{SECRET}\n")
    return job


@pytest.fixture
def public(users, lab, data_dir) -> TestJob:
    return make_job(users, lab)


@pytest.fixture
def private(users, lab, data_dir) -> TestJob:
    return make_job(users, lab, DEFINITION, visibility=Visibility.PERSONAL, is_public=False)


@pytest.fixture
def group_job(users, lab, data_dir) -> TestJob:
    job = make_job(users, lab, visibility=Visibility.GROUP, is_public=False)
    job.viewing_groups.add(Group.objects.get(name="lab"))
    return job


def as_user(client: Client, users, who: str) -> Client:
    if who != "anonymous":
        client.force_login(users[who])
    return client


SUBS = (
    "",
    "/definition",
    "/definition/plain",
    "/description",
    "/configuration",
    "/log_file/plain",
    "/timing",
    "/job_status",
)


def same(content: bytes, job_id: int) -> bytes:
    """``content`` with the job's id (in the message, paths and the sign-in link) as N."""
    content = re.sub(rb'csrfmiddlewaretoken" value="[^"]*"', b"csrf", content)
    return re.sub(rb"(job(?:/|%2F)|'|&#x27;)" + str(job_id).encode() + rb"\b", rb"\1N", content)


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


# ---- the page -----------------------------------------------------------------------


def test_page_shows_the_header_results_and_sections(client, users, public) -> None:
    page = as_user(client, users, "owner").get(f"/scheduler/job/{public.id}")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Job {public.id}" in html
    assert "smoke &lt;b&gt;test&lt;/b&gt;" in html and "<b>test</b>" not in html
    assert "Complete" in html and "qemu" in html and "owner" in html
    assert "0:01:10" in html  # duration
    assert f'href="/results/{public.id}/0_smoke/uname"' in html
    assert f'href="/results/{public.id}/0_smoke/a%20b%2Fc%3F"' in html
    assert 'href="#L8"' in html and 'href="#L9"' in html  # the viewer counts from L1
    assert "hostname: qemu-01" in html  # the rendered device configuration
    assert 'id="log-viewer"' in html or "log" in html
    assert "Content-Security-Policy" in page.headers
    assert "<script>alert" not in html  # the log is not in the page


def test_result_rows_are_escaped(client, users, public) -> None:
    suite = TestSuite.objects.create(job=public, name="1_<x>")
    TestCase.objects.create(suite=suite, name='<img src=x onerror="1">', result=3, log_line=2)
    html = client.get(f"/scheduler/job/{public.id}").content.decode()
    assert "<img" not in html and "&lt;img src=x onerror=&quot;1&quot;&gt;" in html
    assert f'href="/results/{public.id}/1_%3Cx%3E/%3Cimg%20src%3Dx%20onerror%3D%221%22%3E"' in html
    assert 'href="#L3"' in html


def test_page_never_reads_the_whole_log(client, users, public, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the job page read the log")

    store_class = type(log_store())
    monkeypatch.setattr(store_class, "read", refuse)
    monkeypatch.setattr(store_class, "read_lines", refuse)
    monkeypatch.setattr(store_class, "read_from", refuse)
    assert as_user(client, users, "stranger").get(f"/scheduler/job/{public.id}").status_code == 200


def test_page_is_fast_and_bounded(client, users, public) -> None:
    suite = TestSuite.objects.get(job=public)
    TestCase.objects.bulk_create(
        TestCase(suite=suite, name=f"case-{n}", result=0, log_line=1000 + n) for n in range(500)
    )
    reader = as_user(client, users, "stranger")
    reader.get(f"/scheduler/job/{public.id}")
    started = time.perf_counter()
    page = reader.get(f"/scheduler/job/{public.id}")
    elapsed = time.perf_counter() - started
    assert page.status_code == 200
    assert page.content.decode().count("<tr>") <= 50 + 1
    assert "all results" in page.content.decode()
    assert elapsed < 0.5  # generous for CI; the bench measures the real budget


def test_page_queries_are_few(client, users, public, django_assert_max_num_queries) -> None:
    TestSuite.objects.create(job=public, name="lava")
    reader = as_user(client, users, "stranger")
    with django_assert_max_num_queries(16):
        assert reader.get(f"/scheduler/job/{public.id}").status_code == 200


@pytest.mark.parametrize(
    ("who", "buttons", "absent"),
    [
        ("anonymous", [], ["action-cancel", "action-resubmit", "action-favorite", "action-fail"]),
        ("stranger", ["action-favorite", "action-resubmit"], ["action-cancel", "action-fail"]),
        ("owner", ["action-cancel", "action-priority", "action-favorite"], ["action-fail"]),
        ("admin", ["action-cancel", "action-priority", "action-resubmit"], ["action-fail"]),
    ],
)
def test_buttons_follow_the_reader(client, users, lab, data_dir, who, buttons, absent) -> None:
    job = make_job(users, lab, state=JobState.SUBMITTED, health=JobHealth.UNKNOWN, start_time=None)
    html = as_user(client, users, who).get(f"/scheduler/job/{job.id}").content.decode()
    for button in buttons:
        assert f'id="{button}"' in html, button
    for button in absent:
        assert f'id="{button}"' not in html, button
    assert ('name="csrfmiddlewaretoken"' in html) == bool(buttons)


def test_fail_button_only_for_superusers_on_canceling_jobs(client, users, lab, data_dir) -> None:
    job = make_job(users, lab, state=JobState.CANCELING, health=JobHealth.UNKNOWN)
    assert (
        'id="action-fail"'
        in as_user(client, users, "admin").get(f"/scheduler/job/{job.id}").content.decode()
    )
    owner = Client(HTTP_HOST="localhost")
    assert (
        'id="action-fail"'
        not in as_user(owner, users, "owner").get(f"/scheduler/job/{job.id}").content.decode()
    )


def test_failure_comment_and_error_type(client, users, lab, data_dir) -> None:
    job = make_job(
        users,
        lab,
        health=JobHealth.INCOMPLETE,
        failure_comment="boot <failed>",
        error_type="Infrastructure",
    )
    html = client.get(f"/scheduler/job/{job.id}").content.decode()
    assert "Infrastructure" in html and "boot &lt;failed&gt;" in html


def test_multinode_sub_jobs(client, users, lab, data_dir) -> None:
    first = make_job(users, lab)
    first.sub_id = f"{first.id}.0"
    first.multinode_definition = "protocols: {lava-multinode: {}}\n"
    first.save()
    second = make_job(users, lab, sub_id=f"{first.id}.1", multinode_definition="x: 1\n")
    page = client.get(f"/scheduler/job/{first.id}.1")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Job {first.id}.1" in html and f'href="/scheduler/job/{first.id}.0"' in html
    assert second.display_id == f"{first.id}.1"
    plain = client.get(f"/scheduler/job/{first.id}.0/multinode_definition/plain")
    assert plain.status_code == 200 and b"lava-multinode" in plain.content
    assert f"multinode_job_{first.id}.yaml" in plain["Content-Disposition"]
    assert client.get(f"/scheduler/job/{first.id}.7").status_code == 404
    status = json.loads(client.get(f"/scheduler/job/{first.id}.0/job_status").content)
    assert [f"{first.id}.0", "Finished"] in status["subjobs"]


# ---- visibility -----------------------------------------------------------------------


@pytest.mark.parametrize("sub", SUBS)
@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_hidden_reads_as_missing(client, users, private, group_job, sub, who) -> None:
    reader = as_user(client, users, who)
    missing = reader.get(f"/scheduler/job/{private.id + 1000}{sub}")
    for job in (private, group_job):
        hidden = reader.get(f"/scheduler/job/{job.id}{sub}")
        assert hidden.status_code == missing.status_code == 404
        assert (
            same(hidden.content, job.id).decode().splitlines()
            == same(missing.content, private.id + 1000).decode().splitlines()
        )


@pytest.mark.parametrize("who", ["owner", "admin"])
@pytest.mark.parametrize("sub", SUBS)
def test_owner_and_admin_read_the_private_job(client, users, private, who, sub) -> None:
    response = as_user(client, users, who).get(f"/scheduler/job/{private.id}{sub}")
    assert response.status_code == 200, sub


def test_group_member_reads_the_group_job(client, users, group_job) -> None:
    users["stranger"].groups.add(Group.objects.get(name="lab"))
    assert (
        as_user(client, users, "stranger").get(f"/scheduler/job/{group_job.id}").status_code == 200
    )


# ---- sub-resources ----------------------------------------------------------------------


def test_definition_is_masked_for_those_who_may_not_read_secrets(
    client, users, lab, data_dir
) -> None:
    job = make_job(users, lab, DEFINITION.replace("personal", "public"))
    stranger = as_user(client, users, "stranger")
    for sub in ("", "/definition", "/definition/plain", "/description"):
        body = body_of(stranger.get(f"/scheduler/job/{job.id}{sub}"))
        assert SECRET.encode() not in body, sub
        assert b"[MASKED]" in body, sub
    data = stranger.get(f"/scheduler/job/{job.id}/configuration").content
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert SECRET.encode() not in archive.extractfile("job.yaml").read()
    owner = as_user(Client(HTTP_HOST="localhost"), users, "owner")
    assert SECRET.encode() in owner.get(f"/scheduler/job/{job.id}/definition/plain").content
    assert SECRET.encode() in owner.get(f"/scheduler/job/{job.id}/description").content


def test_definition_plain_and_page(client, public) -> None:
    plain = client.get(f"/scheduler/job/{public.id}/definition/plain")
    assert plain.status_code == 200
    assert plain["Content-Type"].startswith("text/plain")
    assert f'filename="job_{public.id}.yaml"' in plain["Content-Disposition"]
    assert plain.content.decode() == PLAIN
    page = client.get(f"/scheduler/job/{public.id}/definition")
    assert page.status_code == 200 and b"job_name: plain" in page.content
    assert client.get(f"/scheduler/job/{public.id}/multinode_definition").status_code == 404


def test_description_attachment(client, public) -> None:
    response = client.get(f"/scheduler/job/{public.id}/description")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    assert f'filename="job_description_{public.id}.yaml"' in response["Content-Disposition"]
    assert response.content.startswith(b"pipeline: []")


def test_configuration_archive(client, public) -> None:
    response = client.get(f"/scheduler/job/{public.id}/configuration")
    assert response.status_code == 200
    assert 'filename="configuration.tar.bz2"' in response["Content-Disposition"]
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:bz2") as archive:
        assert sorted(archive.getnames()) == ["device.yaml", "dispatcher.yaml", "job.yaml"]
        assert archive.extractfile("job.yaml").read().decode() == PLAIN


def test_no_configuration_before_the_job_starts(client, users, lab, data_dir) -> None:
    job = TestJob.objects.create(submitter=users["owner"], definition=PLAIN)
    assert client.get(f"/scheduler/job/{job.id}/configuration").status_code == 404
    assert client.get(f"/scheduler/job/{job.id}/description").status_code == 404
    assert client.get(f"/scheduler/job/{job.id}/log_file/plain").status_code == 404
    page = client.get(f"/scheduler/job/{job.id}")
    assert page.status_code == 200 and b"No results yet" in page.content


def test_log_file_is_streamed(client, public) -> None:
    response = client.get(f"/scheduler/job/{public.id}/log_file/plain")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/yaml"
    assert f'filename="job_{public.id}.log"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).decode() == "\n".join(LOG) + "\n"


def test_timing(client, public) -> None:
    response = client.get(f"/scheduler/job/{public.id}/timing")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["graph"] == [  # in pipeline order
        ["1", "deploy-qemu", 58.0, 120.0, False],
        ["1.1", "download-retry", 55.0, 60.0, True],
        ["2", "boot-qemu", 10.0, 300.0, False],
    ]
    assert "deploy-qemu" in body["timing"] and "table-warning" in body["timing"]


def test_timing_of_a_running_job_and_bounds(users, lab, data_dir, monkeypatch) -> None:
    job = TestJob.objects.create(submitter=users["owner"], definition=PLAIN)
    store = log_store()
    store.append(job.id, 0, "\n".join(LOG[:3]) + "\n")
    timing = jobtiming.job_timing(job.id)
    assert [(a.name, a.duration) for a in timing.actions] == [
        ("deploy-qemu", None),
        ("download-retry", None),
    ]
    assert timing.graph() == []
    store.append(job.id, 3, "\n".join(LOG[3:]) + "\n")  # a new count: not the cached answer
    assert len(jobtiming.job_timing(job.id).graph()) == 3
    monkeypatch.setattr(jobtiming, "MAX_ACTIONS", 1)
    cut = jobtiming.scan([("\n".join(LOG) + "\n").encode()])
    assert not cut.complete and len(cut.actions) == 1
    assert jobtiming.seconds("01:02:03") == 3723 and jobtiming.seconds("x") is None


def test_job_status(client, users, lab, data_dir, public) -> None:
    body = json.loads(client.get(f"/scheduler/job/{public.id}/job_status").content)
    assert body["X-JobState"] == "1" and body["job_health"] == JobHealth.COMPLETE
    assert "Complete" in body["job_state"] and body["duration"] == "0:01:10"
    running = make_job(users, lab, state=JobState.RUNNING, health=JobHealth.UNKNOWN, end_time=None)
    body = json.loads(client.get(f"/scheduler/job/{running.id}/job_status").content)
    assert "X-JobState" not in body and body["job_state"] == "Running"
    assert body["started"].endswith("ago")


# ---- actions -----------------------------------------------------------------------


def queued(users, lab) -> TestJob:
    return make_job(users, lab, state=JobState.SUBMITTED, health=JobHealth.UNKNOWN, start_time=None)


def test_owner_cancels_own_job(client, users, lab, data_dir) -> None:
    job = queued(users, lab)
    response = as_user(client, users, "owner").post(f"/scheduler/job/{job.id}/cancel", follow=True)
    assert response.redirect_chain[0] == (f"/scheduler/job/{job.id}", 302)
    assert f"Job {job.id} canceled.".encode() in response.content
    job.refresh_from_db()
    assert job.state == JobState.FINISHED and job.health == JobHealth.CANCELED


def test_cancel_of_a_running_job_asks_it_to_stop(client, users, lab, data_dir) -> None:
    job = make_job(users, lab, state=JobState.RUNNING, health=JobHealth.UNKNOWN, end_time=None)
    owner = as_user(client, users, "owner")
    response = owner.post(f"/scheduler/job/{job.id}/cancel", follow=True)
    assert b"is being canceled" in response.content
    assert TestJob.objects.get(pk=job.pk).state == JobState.CANCELING


def test_stranger_may_not_cancel(client, users, lab, data_dir) -> None:
    job = queued(users, lab)
    response = as_user(client, users, "stranger").post(f"/scheduler/job/{job.id}/cancel")
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.state == JobState.SUBMITTED


def test_anonymous_is_sent_to_sign_in(client, users, lab, data_dir) -> None:
    job = queued(users, lab)
    response = client.post(f"/scheduler/job/{job.id}/cancel")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert TestJob.objects.get(pk=job.pk).state == JobState.SUBMITTED


def test_cancel_of_a_finished_job_is_a_note(client, users, public) -> None:
    response = as_user(client, users, "owner").post(
        f"/scheduler/job/{public.id}/cancel", follow=True
    )
    assert response.status_code == 200 and b"already finished" in response.content


def test_admin_fails_a_canceling_job(client, users, lab, data_dir) -> None:
    job = make_job(users, lab, state=JobState.CANCELING, health=JobHealth.UNKNOWN, end_time=None)
    owner = as_user(Client(HTTP_HOST="localhost"), users, "owner")
    assert owner.post(f"/scheduler/job/{job.id}/fail").status_code == 403
    response = as_user(client, users, "admin").post(
        f"/scheduler/job/{job.id}/fail", {"reason": "stuck"}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.FINISHED and job.health == JobHealth.CANCELED


def test_resubmit_redirects_to_the_new_job(client, users, lab, data_dir) -> None:
    job = make_job(
        users,
        lab,
        definition=(
            "job_name: again\ndevice_type: qemu\nvisibility: public\n"
            "timeouts: {job: {minutes: 5}}\n"
            "actions:\n- boot: {method: qemu, media: tmpfs, timeout: {minutes: 2}}\n"
        ),
    )
    response = as_user(client, users, "stranger").post(f"/scheduler/job/{job.id}/resubmit")
    assert response.status_code == 302, response.content[:500]
    new = TestJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == f"/scheduler/job/{new.id}"
    assert new.submitter == users["stranger"]


def test_stranger_may_not_resubmit_a_job_with_secrets(client, users, lab, data_dir) -> None:
    job = make_job(users, lab, DEFINITION.replace("personal", "public"))
    response = as_user(client, users, "stranger").post(f"/scheduler/job/{job.id}/resubmit")
    assert response.status_code == 403
    assert TestJob.objects.count() == 1


def test_toggle_favorite(client, users, public) -> None:
    reader = as_user(client, users, "stranger")
    url = f"/scheduler/job/{public.id}/toggle_favorite"
    assert reader.post(url).status_code == 302
    assert FavoriteJob.objects.filter(user=users["stranger"], job=public).exists()
    assert "favourite" in reader.get(f"/scheduler/job/{public.id}").content.decode()
    assert reader.post(url).status_code == 302
    assert not FavoriteJob.objects.exists()


def test_priority(client, users, lab, data_dir) -> None:
    job = queued(users, lab)
    owner = as_user(client, users, "owner")
    response = owner.post(f"/scheduler/job/{job.id}/priority", {"priority": "73"})
    assert response.status_code == 302
    assert TestJob.objects.get(pk=job.pk).priority == 73
    stranger = as_user(Client(HTTP_HOST="localhost"), users, "stranger")
    assert stranger.post(f"/scheduler/job/{job.id}/priority", {"priority": "1"}).status_code == 403
    assert TestJob.objects.get(pk=job.pk).priority == 73


@pytest.mark.parametrize("value", ["-1", "101", str(10**20), "1.5", "", "x" * 5000, "5\x00"])
def test_bad_priorities_are_refused(client, users, lab, data_dir, value) -> None:
    job = queued(users, lab)
    owner = as_user(client, users, "owner")
    response = owner.post(f"/scheduler/job/{job.id}/priority", {"priority": value})
    assert response.status_code == 400
    assert TestJob.objects.get(pk=job.pk).priority == 50


def test_priority_of_a_started_job_is_a_note(client, users, public) -> None:
    owner = as_user(client, users, "owner")
    response = owner.post(f"/scheduler/job/{public.id}/priority", {"priority": "5"}, follow=True)
    assert response.status_code == 200 and b"only a queued job" in response.content


ACTIONS = ("cancel", "resubmit", "fail", "toggle_favorite", "priority")


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_are_post_only(client, users, public, action) -> None:
    reader = as_user(client, users, "admin")
    assert reader.get(f"/scheduler/job/{public.id}/{action}").status_code == 405
    assert reader.put(f"/scheduler/job/{public.id}/{action}").status_code == 405
    assert reader.post(f"/scheduler/job/{public.id}/definition").status_code == 405


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_need_csrf(users, public, action) -> None:
    strict = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    strict.force_login(users["admin"])
    assert strict.post(f"/scheduler/job/{public.id}/{action}").status_code == 403
    assert not FavoriteJob.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_actions_on_hidden_jobs_read_as_missing(client, users, lab, private, who, action) -> None:
    reader = as_user(client, users, who)
    hidden = reader.post(f"/scheduler/job/{private.id}/{action}", {"priority": "1"})
    missing = reader.post(f"/scheduler/job/{private.id + 1000}/{action}", {"priority": "1"})
    assert hidden.status_code == missing.status_code == 404
    assert TestJob.objects.get(pk=private.pk).state == JobState.FINISHED
    assert not FavoriteJob.objects.exists()


# ---- hostile ids -----------------------------------------------------------------------


BAD_IDS = (
    "1.x",
    "99999999999999999999",
    "%00",
    "-1",
    "1.",
    ".1",
    "1.2.3",
    "0",
    "\uff11",  # a full-width digit one
    "1e3",
    "1" * 300,
    "99999999999999999999.1",
    "1.9999999",
)


@pytest.mark.parametrize("sub", SUBS)
def test_bad_ids_are_not_found(client, users, public, sub) -> None:
    admin = as_user(client, users, "admin")
    for bad in BAD_IDS:
        response = admin.get(f"/scheduler/job/{bad}{sub}")
        assert response.status_code == 404, (bad, sub, response.status_code)
    for action in ACTIONS:
        assert admin.post(f"/scheduler/job/{BAD_IDS[0]}/{action}").status_code == 404


def test_a_queued_job_says_why_it_waits(client, users, lab, data_dir) -> None:
    job = make_job(users, lab, state=JobState.SUBMITTED, health=JobHealth.UNKNOWN)
    Device.objects.update(health=DeviceHealth.MAINTENANCE)
    page = client.get(f"/scheduler/job/{job.id}").content.decode()
    assert (
        '<dd class="col-sm-8 text-break" id="queue-reason">No device of type qemu that fits it '
        "can run jobs now: 2 Maintenance.</dd>"
    ) in page
