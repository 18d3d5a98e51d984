"""``/api/v0.2/jobs/``: token auth, paging, filters, submit, logs, results, and private jobs."""

from __future__ import annotations

import pytest
from django.test import Client

import lava
from lava.common import log
from lava.server.logs.store import log_store
from lava.server.results.ingest import ingest
from lava.server.scheduler.models import AuthToken, TestJob

BASE = "/api/v0.2"
PUBLIC = "job_name: public job\ndevice_type: qemu\nvisibility: public\n" + (
    "timeouts:\n  job: {minutes: 5}\nactions: []\n"
)
PRIVATE = PUBLIC.replace("public job", "private job").replace(
    "visibility: public", "visibility: personal"
)


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="localhost")


@pytest.fixture
def auth(users, lab, data_dir) -> dict[str, dict[str, str]]:
    return {
        name: {"HTTP_AUTHORIZATION": f"Token {AuthToken.objects.create(user=user).secret}"}
        for name, user in users.items()
    }


def submit(client: Client, auth: dict[str, str], text: str = PUBLIC) -> int:
    answer = client.post(f"{BASE}/jobs/", {"definition": text}, **auth)
    assert answer.status_code == 201, answer.content
    return answer.json()["job_ids"][0]


def test_system(client, auth) -> None:
    assert client.get(f"{BASE}/system/version/").json() == {"version": lava.__version__}
    assert client.get(f"{BASE}/system/whoami/", **auth["owner"]).json() == {"user": "owner"}
    assert client.get(f"{BASE}/system/whoami/").json() == {"user": ""}


def test_submit_list_show(client, auth) -> None:
    job_id = submit(client, auth["owner"])
    listed = client.get(f"{BASE}/jobs/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == job_id
    shown = client.get(f"{BASE}/jobs/{job_id}/").json()
    assert (shown["state"], shown["health"], shown["submitter"]) == (
        "Submitted",
        "Unknown",
        "owner",
    )
    assert shown["requested_device_type"] == "qemu" and shown["definition"] == PUBLIC
    assert client.get(f"{BASE}/jobs/{job_id}/definition/").content.decode() == PUBLIC


def test_submit_needs_a_token_and_a_good_job(client, auth) -> None:
    assert client.post(f"{BASE}/jobs/", {"definition": PUBLIC}).status_code in (401, 403)
    bad = client.post(f"{BASE}/jobs/", {"definition": "job_name: x\n"}, **auth["owner"])
    assert bad.status_code == 400 and "job submission failed" in bad.json()["message"]
    wrong = client.get(f"{BASE}/jobs/", HTTP_AUTHORIZATION="Token nope")
    assert wrong.status_code == 401
    assert TestJob.objects.count() == 0


def test_paging_filters_and_ordering(client, auth) -> None:
    ids = [submit(client, auth["owner"]) for _ in range(5)]
    TestJob.objects.filter(id=ids[0]).update(state=5, health=1)  # Finished, Complete
    page = client.get(f"{BASE}/jobs/?limit=2&offset=1").json()
    assert page["count"] == 5 and [j["id"] for j in page["results"]] == ids[::-1][1:3]
    assert page["next"] and page["previous"]
    finished = client.get(f"{BASE}/jobs/?state=Finished&health=complete").json()["results"]
    assert [j["id"] for j in finished] == [ids[0]]
    oldest = client.get(f"{BASE}/jobs/?ordering=id&limit=1").json()["results"]
    assert oldest[0]["id"] == ids[0]
    assert client.get(f"{BASE}/jobs/?state=Sleeping").status_code == 400
    by_user = client.get(f"{BASE}/jobs/?submitter=owner&requested_device_type=qemu").json()
    assert by_user["count"] == 5


def test_logs_and_results(client, auth) -> None:
    job_id = submit(client, auth["owner"])
    text = "".join(log.encode("info", f"line {n}") + "\n" for n in range(4))
    log_store().append(job_id, 0, text)
    assert client.get(f"{BASE}/jobs/{job_id}/logs/").content.decode() == text
    part = client.get(f"{BASE}/jobs/{job_id}/logs/?start=1&end=3").content.decode()
    assert part == "".join(text.splitlines(keepends=True)[1:3])
    assert client.get(f"{BASE}/jobs/{job_id}/logs/?start=x").status_code == 400
    ingest(
        TestJob.objects.get(id=job_id),
        4,
        log.encode("results", {"definition": "0_t", "case": "a", "result": "fail"}),
    )
    tests = client.get(f"{BASE}/jobs/{job_id}/tests/?result=fail").json()
    assert tests["count"] == 1 and tests["results"][0]["name"] == "a"
    assert "0_t" in client.get(f"{BASE}/jobs/{job_id}/yaml/").content.decode()


def test_cancel_resubmit_validate(client, auth) -> None:
    job_id = submit(client, auth["owner"])
    assert client.get(f"{BASE}/jobs/{job_id}/cancel/").status_code == 401  # anonymous
    assert client.get(f"{BASE}/jobs/{job_id}/cancel/", **auth["stranger"]).status_code == 403
    assert TestJob.objects.get(id=job_id).state == 0  # still Submitted
    assert client.get(f"{BASE}/jobs/{job_id}/cancel/", **auth["owner"]).status_code == 200
    again = client.post(f"{BASE}/jobs/{job_id}/resubmit/", **auth["owner"])
    assert again.status_code == 201
    ok = client.post(f"{BASE}/jobs/validate/", {"definition": PUBLIC})
    assert ok.json() == {"message": "Job valid."}
    bad = client.post(
        f"{BASE}/jobs/validate/", {"definition": PUBLIC + "bogus: 1\n", "strict": "1"}
    )
    assert bad.json()["message"].startswith("Job invalid:")


def test_a_private_job_is_absent_for_others(client, auth) -> None:
    job_id = submit(client, auth["owner"], PRIVATE)
    log_store().append(job_id, 0, log.encode("info", "secret") + "\n")
    assert client.get(f"{BASE}/jobs/{job_id}/", **auth["owner"]).status_code == 200
    assert client.get(f"{BASE}/jobs/{job_id}/", **auth["admin"]).status_code == 200
    for who in ({}, auth["stranger"]):
        assert client.get(f"{BASE}/jobs/", **who).json()["count"] == 0
        for tail in ("", "logs/", "definition/", "tests/", "yaml/"):
            answer = client.get(f"{BASE}/jobs/{job_id}/{tail}", **who)
            assert answer.status_code == 404, (tail, answer.status_code)
        for tail in ("cancel/", "resubmit/"):
            answer = client.post(f"{BASE}/jobs/{job_id}/{tail}", **who)
            assert answer.status_code == (401 if who == {} else 404), (tail, answer.status_code)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/jobs/", "[null, null]"),
        ("post", "/jobs/validate/", '"just a string"'),
        ("post", "/devices/qemu-01/dictionary/", "[1]"),
    ],
)
def test_a_body_that_is_not_a_mapping_is_400(client, auth, method, path, body) -> None:
    answer = getattr(client, method)(
        f"{BASE}{path}", body, content_type="application/json", **auth["admin"]
    )
    assert answer.status_code == 400, answer.content


@pytest.mark.parametrize(
    "query",
    [
        "tags=2251799813685248000000",
        "id__in=99999999999999999999999",
        "hostname=a%00b",
        "priority__gt=-9999999999999999999999",
    ],
)
def test_values_the_database_cannot_take_are_400(client, auth, query) -> None:
    for resource in ("jobs", "devices"):
        answer = client.get(f"{BASE}/{resource}/?{query}", **auth["owner"])
        assert answer.status_code in (200, 400), (resource, query, answer.status_code)


def test_nul_in_a_body_is_400(client, auth) -> None:
    answer = client.post(
        f"{BASE}/jobs/",
        '{"definition": "a\\u0000b"}',
        content_type="application/json",
        **auth["owner"],
    )
    assert answer.status_code == 400 and "NUL" in answer.json()["detail"]


@pytest.mark.parametrize("job_id", ["¹", "٣", "1" * 30, "-1"])
def test_odd_job_ids_are_404(client, auth, job_id) -> None:
    for tail in ("", "logs/", "definition/"):
        assert client.get(f"{BASE}/jobs/{job_id}/{tail}").status_code == 404


def test_token_from_username_and_password(client, auth, users) -> None:
    answer = client.post(f"{BASE}/token/", {"username": "owner", "password": "owner"})
    assert answer.status_code == 200
    token = answer.json()["token"]
    assert (
        AuthToken.objects.filter(user=users["owner"]).order_by("created_on", "id")[0].secret
        == token
    )
    again = client.post(f"{BASE}/token/", {"username": "owner", "password": "owner"})
    assert again.json()["token"] == token  # the same one, not a new one each time
    wrong = client.post(f"{BASE}/token/", {"username": "owner", "password": "nope"})
    assert wrong.status_code in (401, 403)
    assert client.post(f"{BASE}/token/", {"username": "owner"}).status_code == 400


def test_suites_and_csv(client, auth) -> None:
    job_id = submit(client, auth["owner"])
    ingest(
        TestJob.objects.get(id=job_id),
        0,
        log.encode("results", {"definition": "0_t", "case": "a", "result": "pass"}),
    )
    suites = client.get(f"{BASE}/jobs/{job_id}/suites/").json()
    assert [s["name"] for s in suites["results"]] == ["0_t"]
    text = client.get(f"{BASE}/jobs/{job_id}/csv/").content.decode()
    header, row = text.splitlines()
    assert header.startswith('"job","suite","result"') and f'"{job_id}","0_t","pass"' in row


def test_a_queued_job_says_why_it_waits(client, auth) -> None:
    job_id = submit(client, auth["owner"])
    shown = client.get(f"{BASE}/jobs/{job_id}/").json()
    assert shown["queue_reason"].startswith("2 of the 2 devices that fit it are free")
    assert "queue_reason" not in client.get(f"{BASE}/jobs/").json()["results"][0]
    TestJob.objects.filter(id=job_id).update(state=5, health=1)  # Finished, Complete
    assert client.get(f"{BASE}/jobs/{job_id}/").json()["queue_reason"] is None


def test_groups_and_tags_in_the_list_and_one_job(
    client, auth, users, django_assert_max_num_queries
) -> None:
    from django.contrib.auth.models import Group

    from lava.server.scheduler.models import Tag
    from lava.server.scheduler.states import Visibility

    groups = [Group.objects.get(name="lab"), Group.objects.create(name="other")]
    tags = [Tag.objects.create(name="usb"), Tag.objects.create(name="audio")]
    jobs = [
        TestJob.objects.create(submitter=users["owner"], definition="x", description=f"j{n}")
        for n in range(3)
    ]
    jobs[0].tags.set(tags)
    jobs[1].viewing_groups.set(groups)
    jobs[1].visibility = Visibility.GROUP
    jobs[1].save()
    wanted = {
        jobs[0].id: ([], sorted(t.id for t in tags)),
        jobs[1].id: (sorted(g.id for g in groups), []),
        jobs[2].id: ([], []),
    }
    # token, rules, count, page, groups, tags: not one query per job
    with django_assert_max_num_queries(7):
        rows = client.get(f"{BASE}/jobs/", **auth["owner"]).json()["results"]
    assert {r["id"]: (sorted(r["viewing_groups"]), sorted(r["tags"])) for r in rows} == wanted
    for job_id, (job_groups, job_tags) in wanted.items():
        one = client.get(f"{BASE}/jobs/{job_id}/", **auth["owner"]).json()
        assert (sorted(one["viewing_groups"]), sorted(one["tags"])) == (job_groups, job_tags)
