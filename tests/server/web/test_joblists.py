"""The job lists (/scheduler/alljobs, queue, myjobs, ...): scopes, filters, sorting, paging."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from lava.server.scheduler.models import (
    DeviceType,
    FavoriteJob,
    GroupDeviceTypePermission,
    Tag,
    TestJob,
)
from lava.server.scheduler.states import JobHealth, JobState, Visibility

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PUBLIC_LISTS = ("alljobs", "activejobs", "queue", "running", "joberrors", "healthcheck")
MY_LISTS = ("myjobs", "myactivejobs", "myqueuedjobs", "myerrorjobs", "favorite-jobs")


def ids(response) -> list[int]:
    """Job ids in the table's rows, in order."""
    body = response.content.decode()
    table = body[body.index('id="jobs"') :]
    return [int(i) for i in re.findall(r'<a href="/scheduler/job/(\d+)">', table)]


def make(user: User, n: int, **fields) -> TestJob:
    fields.setdefault("submit_time", T0 + timedelta(minutes=n))
    fields.setdefault("description", f"job {n}")
    return TestJob.objects.create(submitter=user, definition="x", **fields)


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="localhost")


@pytest.fixture
def jobs(lab, users) -> dict[str, TestJob]:
    owner, admin = users["owner"], users["admin"]
    finished = {"state": JobState.FINISHED, "actual_device_id": "qemu-01"}
    found = {
        "queued": make(owner, 1, requested_device_type=lab.device_type),
        "running": make(
            admin,
            2,
            state=JobState.RUNNING,
            actual_device_id="qemu-02",
            requested_device_type=lab.device_type,
            start_time=T0,
        ),
        "complete": make(
            owner,
            3,
            health=JobHealth.COMPLETE,
            end_time=T0 + timedelta(hours=3),
            requested_device_type=lab.device_type,
            **finished,
        ),
        "error": make(
            admin,
            4,
            health=JobHealth.INCOMPLETE,
            error_type="Infrastructure",
            failure_comment="power cycle failed",
            end_time=T0 + timedelta(hours=1),
            **finished,
        ),
        "check": make(
            admin,
            5,
            health_check=True,
            health=JobHealth.COMPLETE,
            end_time=T0 + timedelta(hours=2),
            **finished,
        ),
        "private": make(
            owner, 6, visibility=Visibility.PERSONAL, is_public=False, description="secret kernel"
        ),
    }
    found["queued"].tags.add(Tag.objects.create(name="usb"))
    return found


def test_every_list_renders_for_a_signed_in_user(client, users, jobs) -> None:
    client.force_login(users["owner"])
    for name in PUBLIC_LISTS + MY_LISTS:
        response = client.get(f"/scheduler/{name}")
        assert response.status_code == 200, name
        assert b'id="job-filters"' in response.content


def test_each_list_holds_its_jobs(client, users, jobs) -> None:
    client.force_login(users["owner"])
    FavoriteJob.objects.create(user=users["owner"], job=jobs["error"])
    expect = {
        "alljobs": ["private", "check", "error", "complete", "running", "queued"],
        "activejobs": ["private", "running", "queued"],
        "queue": ["private", "queued"],
        "running": ["running"],
        "joberrors": ["error"],
        "healthcheck": ["check"],
        "myjobs": ["private", "complete", "queued"],
        "myactivejobs": ["private", "queued"],
        "myqueuedjobs": ["private", "queued"],
        "myerrorjobs": [],
        "favorite-jobs": ["error"],
    }
    for name, wanted in expect.items():
        assert ids(client.get(f"/scheduler/{name}")) == [jobs[w].id for w in wanted], name


def test_my_lists_send_anonymous_visitors_to_sign_in(client, jobs) -> None:
    for name in MY_LISTS:
        response = client.get(f"/scheduler/{name}?state=Running")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert name in response["Location"]


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_private_jobs_are_never_listed_for_others(client, users, jobs, who) -> None:
    if who != "anonymous":
        client.force_login(users[who])
    for name in PUBLIC_LISTS:
        for query in ("", "?q=secret", f"?q={jobs['private'].id}", "?sort=submit_time"):
            response = client.get(f"/scheduler/{name}{query}")
            assert jobs["private"].id not in ids(response)
            assert b"secret kernel" not in response.content


def test_a_hidden_device_type_hides_its_jobs_and_reads_as_missing(client, users, jobs) -> None:
    secret = DeviceType.objects.create(name="secret-board")
    GroupDeviceTypePermission.objects.create(
        group=users["owner"].groups.first(), devicetype=secret, permission="view"
    )
    hidden = make(users["admin"], 9, requested_device_type=secret)
    client.force_login(users["stranger"])
    assert hidden.id not in ids(client.get("/scheduler/alljobs"))
    one = client.get("/scheduler/alljobs?device_type=secret-board")
    other = client.get("/scheduler/alljobs?device_type=no-such-board")
    assert one.status_code == other.status_code == 400
    message = re.compile(r'id="list-error"><span><strong>Bad request:</strong> ([^<]*)<')
    one_text = message.search(one.content.decode()).group(1).replace("secret-board", "X")
    assert one_text == message.search(other.content.decode()).group(1).replace("no-such-board", "X")
    client.force_login(users["owner"])
    assert ids(client.get("/scheduler/alljobs?device_type=secret-board")) == [hidden.id]


def test_filters(client, users, jobs) -> None:
    client.force_login(users["admin"])
    cases = {
        "state=Finished": ["check", "error", "complete"],
        "state=running": ["running"],
        "health=Incomplete": ["error"],
        "device_type=qemu": ["complete", "running", "queued"],
        "device_type=qemu&health=Complete": ["complete"],
        "device=qemu-02": ["running"],
        "submitter=owner": ["private", "complete", "queued"],
        "tag=usb": ["queued"],
        "q=secret": ["private"],
        "q=JOB 4": ["error"],
        f"q={jobs['check'].id}": ["check"],
        "q=%25": [],  # a literal percent sign, not a wildcard
        "q=_": [],
    }
    for query, wanted in cases.items():
        response = client.get(f"/scheduler/alljobs?{query}")
        assert response.status_code == 200, query
        assert ids(response) == [jobs[w].id for w in wanted], query


def test_a_filter_survives_sorting_and_paging(client, users, jobs) -> None:
    client.force_login(users["admin"])
    response = client.get("/scheduler/alljobs?state=Finished&length=1")
    body = response.content.decode()
    assert re.search(r'href="\?state=Finished&amp;length=1&amp;sort=-submit_time"', body)
    link = re.search(r'id="page-next" rel="next" href="([^"]+)"', body).group(1)
    assert "state=Finished" in link and "after=" in link


def test_sorting(client, users, jobs) -> None:
    client.force_login(users["admin"])
    order = {
        "id": ["queued", "running", "complete", "error", "check", "private"],
        "-submit_time": ["private", "check", "error", "complete", "running", "queued"],
        # unfinished jobs have no end time: they sort after every finished one
        "end_time": ["error", "check", "complete", "queued", "running", "private"],
        "-end_time": ["private", "running", "queued", "complete", "check", "error"],
        "device": ["complete", "error", "check", "running", "queued", "private"],
        "-state": ["check", "error", "complete", "running", "private", "queued"],
    }
    for sort, wanted in order.items():
        assert ids(client.get(f"/scheduler/alljobs?sort={sort}")) == [jobs[w].id for w in wanted]
    device_type = ids(client.get("/scheduler/alljobs?sort=device_type"))
    assert device_type[:3] == sorted(device_type[:3])


def test_pages_walk_the_whole_list(client, users, lab) -> None:
    made = [make(users["owner"], n, end_time=T0 + timedelta(hours=n % 4)) for n in range(23)]
    client.force_login(users["stranger"])
    for sort in ("-id", "end_time", "-submit_time"):
        seen, url = [], f"/scheduler/alljobs?sort={sort}&length=5"
        while url:
            response = client.get(url)
            assert response.status_code == 200
            seen += ids(response)
            found = re.search(
                r'id="page-next" rel="next" href="\?([^"]+)"', response.content.decode()
            )
            url = found and "/scheduler/alljobs?" + found.group(1).replace("&amp;", "&")
        assert sorted(seen) == sorted(job.id for job in made), sort
        assert len(seen) == len(set(seen))


def test_previous_comes_back(client, users, lab) -> None:
    for n in range(7):
        make(users["owner"], n)
    client.force_login(users["owner"])
    first = client.get("/scheduler/alljobs?length=3")
    nxt = re.search(r'id="page-next" rel="next" href="\?([^"]+)"', first.content.decode()).group(1)
    second = client.get("/scheduler/alljobs?" + nxt.replace("&amp;", "&"))
    prev = re.search(r'id="page-previous" rel="prev" href="\?([^"]+)"', second.content.decode())
    back = client.get("/scheduler/alljobs?" + prev.group(1).replace("&amp;", "&"))
    assert ids(back) == ids(first)
    assert b'class="page-item disabled"><a class="page-link" id="page-first"' in back.content


ABUSE = [
    ("after=not-a-cursor", "page link"),
    ("after=WyItaWQiLDEsMV0&before=WyItaWQiLDEsMV0", "either"),
    ("after=WyJpZCIsMSwxXQ", "another sort order"),  # made for ?sort=id
    ("after=WyItaWQiLDEsLTFd", "names no row"),
    ("after=WyItaWQiLDEsOTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ", "names no row"),
    ("sort=-end_time&after=WyItZW5kX3RpbWUiLCJub3QgYSB0aW1lIiwxXQ", "wrong kind"),
    ("length=1000000", "length"),
    ("length=-5", "length"),
    ("sort=definition", "sort"),
    ("sort=id%3B%20DROP%20TABLE", "sort"),
    ("state=Exploded", "state"),
    ("health=99", "health"),
    ("device=%00", "NUL"),
    ("q=a%00b", "NUL"),
    ("q=" + "x" * 10240, "at most 200"),
    ("device_type=" + "d" * 300, "at most 200"),
    ("submitter=nobody", "no user"),
    ("tag=no-such-tag", "no tag"),
    ("device=no-such-device", "no device"),
]


@pytest.mark.parametrize(("query", "message"), ABUSE)
def test_hostile_queries_get_a_clear_400(client, users, jobs, query, message) -> None:
    client.force_login(users["stranger"])
    response = client.get(f"/scheduler/alljobs?{query}")
    assert response.status_code == 400, query
    body = response.content.decode()
    assert message in body
    assert 'id="list-error"' in body and 'id="job-filters"' in body  # the list's own page


@pytest.mark.parametrize(
    "text", ["' OR 1=1 --", "job'; DROP TABLE scheduler_testjob; --", "%' OR '%'='"]
)
def test_sql_looking_text_is_just_text(client, users, jobs, text) -> None:
    client.force_login(users["stranger"])
    response = client.get("/scheduler/alljobs", {"q": text})
    assert response.status_code == 200
    assert ids(response) == []
    assert TestJob.objects.count() == len(jobs)


def test_user_text_is_escaped(client, users, lab) -> None:
    make(users["owner"], 1, description="<script>alert(1)</script>")
    response = client.get("/scheduler/alljobs?q=%3Cscript%3E")
    assert b"<script>alert" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_columns_link_and_colour(client, users, jobs) -> None:
    body = client.get("/scheduler/alljobs").content.decode()
    assert f'href="/scheduler/job/{jobs["complete"].id}"' in body
    assert 'href="/scheduler/device/qemu-01"' in body
    assert 'href="/scheduler/device_type/qemu"' in body
    assert '<td class="health-complete">Complete</td>' in body
    assert '<td class="health-incomplete">Incomplete</td>' in body
    assert '<td class="state-running">Running</td>' in body
    errors = client.get("/scheduler/joberrors").content.decode()
    assert "Infrastructure" in errors and "power cycle failed" in errors
    queue = client.get("/scheduler/queue").content.decode()
    assert "In queue" in queue and ">for " in queue


def test_a_page_takes_a_few_queries(client, users, lab, django_assert_max_num_queries) -> None:
    for n in range(30):
        make(users["owner"], n, end_time=T0, state=JobState.FINISHED, actual_device_id="qemu-01")
    client.force_login(users["owner"])
    with django_assert_max_num_queries(12):
        assert len(ids(client.get("/scheduler/alljobs?length=100&device_type=qemu"))) == 0
    with django_assert_max_num_queries(12):
        assert len(ids(client.get("/scheduler/alljobs?length=100&sort=-end_time"))) == 30


def test_a_sorted_heading_flips_its_direction(client, users, jobs) -> None:
    body = client.get("/scheduler/alljobs?sort=-end_time&state=Finished").content.decode()
    assert '<th scope="col" aria-sort="descending">' in body
    assert 'href="?state=Finished&amp;sort=end_time"' in body  # the sorted column flips
    assert 'href="?state=Finished&amp;sort=-id"' in body  # another column starts descending
    assert "Sort by description" not in body  # not a sortable column


def test_the_filter_form_keeps_the_values_asked_for(client, users, jobs) -> None:
    body = client.get(
        "/scheduler/alljobs?health=complete&device=qemu-01&length=50"
    ).content.decode()
    assert "<option selected>Complete</option>" in body
    assert 'name="device" id="f-device" value="qemu-01"' in body
    assert "<option selected>50</option>" in body
