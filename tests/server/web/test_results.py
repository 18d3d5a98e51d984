"""/results/...: the pages, LAVA's exports (the API's bytes), the chart's data, regressions,
who sees what (a hidden job reads as a missing one), and hostile paths."""

from __future__ import annotations

import json
import re
import xmlrpc.client
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from lava.common import log, yamlio
from lava.server.logs.store import log_store
from lava.server.results import history
from lava.server.results.ingest import ingest
from lava.server.results.models import TestCase, TestSuite
from lava.server.scheduler.models import AuthToken, DeviceType, TestJob
from lava.server.scheduler.states import Visibility

RPC = "/RPC2"

WHO = ("anonymous", "owner", "stranger", "admin")


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="localhost")


def results(
    users: dict[str, User],
    lines: list[dict[str, Any]],
    *,
    visibility: int = Visibility.PUBLIC,
    description: str = "smoke",
    device_type: DeviceType | None = None,
) -> TestJob:
    """A finished job of ``owner`` whose log holds a line before each results message."""
    job = TestJob.objects.create(
        submitter=users["owner"],
        definition="job_name: smoke\n",
        description=description,
        visibility=visibility,
        requested_device_type=device_type or DeviceType.objects.get(name="qemu"),
        metadata={"build": "42"},
        end_time=timezone.now(),
    )
    text = "".join(
        log.encode("target", "checking") + "\n" + log.encode("results", msg) + "\n" for msg in lines
    )
    log_store().append(job.id, 0, text)
    ingest(job, 0, text)
    return job


def case(suite: str, name: str, result: str, **more: Any) -> dict[str, Any]:
    return {"definition": suite, "case": name, "result": result, **more}


SMOKE = [
    case("lava", "job", "pass", duration=2.5),
    case("0_smoke", "net", "fail", starttc=0, endtc=1),
    case("0_smoke", "uname", "pass"),
    case("0_smoke", "boot-time", "pass", measurement="12.5", units="seconds"),
    case("0_smoke", "usb", "skip"),
]


@pytest.fixture
def job(users, lab, data_dir) -> TestJob:
    return results(users, SMOKE)


def login(client: Client, users: dict[str, User], who: str) -> Client:
    if who != "anonymous":
        client.force_login(users[who])
    return client


def urls(job: TestJob) -> list[str]:
    cid = TestCase.objects.get(suite__job=job, name="net").pk
    base = f"/results/{job.pk}"
    return [
        base,
        f"{base}/csv",
        f"{base}/yaml",
        f"{base}/yaml_summary",
        f"{base}/metadata",
        f"{base}/0_smoke",
        f"{base}/0_smoke/csv",
        f"{base}/0_smoke/stream/csv",
        f"{base}/0_smoke/yaml",
        f"{base}/0_smoke/+testcase-count",
        f"{base}/0_smoke/net",
        f"/results/testcase/{cid}",
        f"/results/testcase/{cid}/yaml",
    ]


def same_page(body: bytes, url: str, number: str) -> bytes:
    """An error page with its URL and the id it names written as placeholders."""
    body = re.sub(rb'name="csrfmiddlewaretoken" value="\w+"', b"CSRF", body)
    body = body.replace(quote(url, safe="/").encode(), b"URL").replace(url.encode(), b"URL")
    return body.replace(f"&#x27;{number}&#x27;".encode(), b"'N'")


def rpc(client: Client, name: str, *params: Any) -> Any:
    """An XML-RPC call as lavacli makes it, anonymously."""
    body = xmlrpc.client.dumps(params, name, allow_none=True)
    answer = client.post(RPC, body, content_type="text/xml")
    assert answer.status_code == 200, answer.content
    (result,), _ = xmlrpc.client.loads(answer.content, use_builtin_types=True)
    return result


def chart(body: str) -> dict[str, Any]:
    found = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', body)
    assert found, "no chart data in the page"
    return json.loads(found[1])


# -- who sees what


@pytest.mark.parametrize("who", WHO)
def test_public_results_for_everyone(client, users, job, who) -> None:
    login(client, users, who)
    for url in urls(job):
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
    assert client.get("/results/").status_code == 200


@pytest.mark.parametrize("who", WHO)
def test_a_hidden_job_reads_as_a_missing_one(client, users, lab, data_dir, who) -> None:
    hidden = results(users, SMOKE, visibility=Visibility.PERSONAL)
    login(client, users, who)
    sees = who in ("owner", "admin")
    for url in urls(hidden):
        answer = client.get(url)
        if sees:
            assert answer.status_code == 200, (url, who)
            continue
        assert answer.status_code == 404, (url, who, answer.status_code)
        number = url.split("/")[3] if "/testcase/" in url else str(hidden.pk)
        other = str(int(number) + 1000)
        missing = client.get(url.replace(f"/{number}", f"/{other}", 1))
        assert missing.status_code == 404
        assert same_page(answer.content, url, number) == same_page(
            missing.content, url.replace(f"/{number}", f"/{other}", 1), other
        )
    listed = client.get("/results/").content.decode()
    assert (f'href="/results/{hidden.pk}"' in listed) == sees


def test_the_index_lists_jobs_with_results_newest_first_by_keyset(client, users, lab, data_dir):
    jobs = [results(users, SMOKE[:1]) for _ in range(history.PAGE + 3)]
    TestJob.objects.create(submitter=users["owner"], definition="x", description="no results")
    first = client.get("/results/").content.decode()
    shown = [int(n) for n in re.findall(r'<a href="/results/(\d+)">', first)]
    assert shown == [job.pk for job in reversed(jobs)][: history.PAGE]
    older = re.search(r'href="\?older=(\d+)"', first)
    assert older and int(older[1]) == shown[-1]
    second = client.get(f"/results/?older={older[1]}").content.decode()
    rest = [int(n) for n in re.findall(r'<a href="/results/(\d+)">', second)]
    assert rest == [job.pk for job in reversed(jobs)][history.PAGE :]
    assert "?older=" not in second
    for bad in ("x", "-1", "1" * 40, "1\x00"):
        assert client.get("/results/", {"older": bad}).status_code == 400


# -- pages


def test_job_page_counts_suites(client, users, job) -> None:
    body = client.get(f"/results/{job.pk}").content.decode()
    assert f'href="/results/{job.pk}/0_smoke"' in body and f'href="/results/{job.pk}/lava"' in body
    counts = history.suite_counts(job)
    smoke = TestSuite.objects.get(job=job, name="0_smoke")
    assert counts[smoke.pk] == {"pass": 2, "fail": 1, "skip": 1, "unknown": 0}
    assert f'href="/results/{job.pk}/csv"' in body and "build" in body


def test_suite_page_lists_cases_with_log_links(client, users, job) -> None:
    body = client.get(f"/results/{job.pk}/0_smoke").content.decode()
    net = TestCase.objects.get(suite__job=job, name="net")
    assert f'href="/results/{job.pk}/0_smoke/net"' in body
    assert f'href="/scheduler/job/{job.pk}#L{net.log_line + 1}"' in body
    assert "12.5" in body and "seconds" in body
    assert body.index(">net<") < body.index(">uname<")


def test_suite_page_pages_by_case_id(client, users, lab, data_dir, monkeypatch) -> None:
    from lava.server.web.views import results as views

    monkeypatch.setattr(views, "CASES_PAGE", 2)
    job = results(users, SMOKE)
    first = client.get(f"/results/{job.pk}/0_smoke").content.decode()
    after = re.search(r'href="\?after=(\d+)"', first)
    assert after
    second = client.get(f"/results/{job.pk}/0_smoke?after={after[1]}").content.decode()
    assert ">boot-time<" in first or ">boot-time<" in second
    assert ">usb<" in second and ">usb<" not in first
    assert client.get(f"/results/{job.pk}/0_smoke?after=x").status_code == 400


def test_case_page_metadata_and_log(client, users, job) -> None:
    body = client.get(f"/results/{job.pk}/0_smoke/net").content.decode()
    net = TestCase.objects.get(suite__job=job, name="net")
    assert f'href="/scheduler/job/{job.pk}#L{net.log_line + 1}"' in body
    assert (
        f'href="/scheduler/job/{job.pk}#L1"' in body
    )  # starttc (index 0): the viewer counts from 1
    assert "definition" in body and f"/results/testcase/{net.pk}/yaml" in body
    # LAVA also takes the case's id in place of its name
    assert client.get(f"/results/{job.pk}/0_smoke/{net.pk}").status_code == 200
    by_id = client.get(f"/results/testcase/{net.pk}").content.decode()
    assert f"case-{net.pk}" in by_id


# -- exports: the bytes of the REST API and XML-RPC


def test_exports_equal_the_apis(client, users, job) -> None:
    token = {"HTTP_AUTHORIZATION": f"Token {AuthToken.objects.create(user=users['owner']).secret}"}
    smoke = TestSuite.objects.get(job=job, name="0_smoke")
    api = f"/api/v0.2/jobs/{job.pk}"
    pairs = [
        (f"/results/{job.pk}/csv", f"{api}/csv/"),
        (f"/results/{job.pk}/yaml", f"{api}/yaml/"),
        (f"/results/{job.pk}/0_smoke/csv", f"{api}/suites/{smoke.pk}/csv/"),
        (f"/results/{job.pk}/0_smoke/yaml", f"{api}/suites/{smoke.pk}/yaml/"),
    ]
    for page, rest in pairs:
        mine, theirs = client.get(page), client.get(rest, **token)
        assert mine.status_code == theirs.status_code == 200
        assert mine.content == theirs.content, page
        assert mine["Content-Disposition"].startswith('attachment; filename="lava_')
    # and XML-RPC's results.* (lavacli's) give the same text
    calls = [
        (f"/results/{job.pk}/csv", "results.get_testjob_results_csv", (job.pk,)),
        (f"/results/{job.pk}/yaml", "results.get_testjob_results_yaml", (job.pk,)),
        (
            f"/results/{job.pk}/0_smoke/csv",
            "results.get_testsuite_results_csv",
            (job.pk, "0_smoke"),
        ),
        (
            f"/results/{job.pk}/0_smoke/yaml",
            "results.get_testsuite_results_yaml",
            (job.pk, "0_smoke"),
        ),
        (f"/results/{job.pk}/yaml_summary", "results.get_testjob_suites_list_yaml", (job.pk,)),
    ]
    for page, method, params in calls:
        # an XML parser reads the CSV's \r\n line ends as \n: the text is the same
        mine = client.get(page).content.decode().replace("\r\n", "\n")
        assert mine == rpc(client, method, *params), page
    summary = client.get(f"/results/{job.pk}/yaml_summary").content.decode()
    assert [s["name"] for s in yamlio.load(summary)] == ["lava", "0_smoke"]
    net = TestCase.objects.get(suite__job=job, name="net")
    one = yamlio.load(client.get(f"/results/testcase/{net.pk}/yaml").content)
    assert one["name"] == "net" and one["result"] == "fail" and one["url"].endswith(str(net.pk))
    assert yamlio.load(client.get(f"/results/{job.pk}/metadata").content) == {"build": "42"}
    assert client.get(f"/results/{job.pk}/0_smoke/+testcase-count").content == b"4"


# -- the chart of a case across jobs


def test_chart_data_follows_the_case_on_the_device_type(client, users, lab, data_dir) -> None:
    other_type = DeviceType.objects.create(name="bbb")
    runs = [
        results(users, [case("0_smoke", "boot-time", r, measurement=m, units="s")])
        for r, m in (("pass", "10"), ("fail", "11.5"), ("pass", "9"))
    ]
    results(users, [case("0_smoke", "boot-time", "pass", measurement="99")], device_type=other_type)
    results(users, [case("1_other", "boot-time", "pass", measurement="77")])
    hidden = results(
        users,
        [case("0_smoke", "boot-time", "fail", measurement="55")],
        visibility=Visibility.PERSONAL,
    )
    last = runs[-1]
    client.force_login(users["stranger"])
    data = chart(client.get(f"/results/{last.pk}/0_smoke/boot-time").content.decode())
    assert data["suite"] == "0_smoke" and data["case"] == "boot-time"
    assert data["device_type"] == "qemu"
    points = data["points"]
    assert [p["job"] for p in points] == [job.pk for job in runs]
    assert [p["result"] for p in points] == ["pass", "fail", "pass"]
    assert [p["measurement"] for p in points] == [10.0, 11.5, 9.0]
    assert points[0]["url"] == f"/results/{runs[0].pk}/0_smoke/boot-time"
    # the owner sees their private run in the chart as well
    client.force_login(users["owner"])
    data = chart(client.get(f"/results/{last.pk}/0_smoke/boot-time").content.decode())
    assert [p["job"] for p in data["points"]] == [job.pk for job in runs] + [hidden.pk]


def test_chart_is_bounded(client, users, lab, data_dir, monkeypatch) -> None:
    monkeypatch.setattr(history, "HISTORY", 3)
    jobs = [results(users, [case("0_smoke", "x", "pass")]) for _ in range(5)]
    data = chart(client.get(f"/results/{jobs[-1].pk}/0_smoke/x").content.decode())
    assert [p["job"] for p in data["points"]] == [job.pk for job in jobs[-3:]]


# -- regressions since the previous run of the same job name on the device type


def test_regressions_and_fixes_are_marked(client, users, lab, data_dir) -> None:
    before = [
        case("0_smoke", "a", "pass"),
        case("0_smoke", "b", "fail"),
        case("0_smoke", "c", "pass"),
    ]
    now = [case("0_smoke", "a", "fail"), case("0_smoke", "b", "pass"), case("0_smoke", "c", "pass")]
    first = results(users, before)
    results(users, before, description="another job")  # not the same job name
    results(users, before, device_type=DeviceType.objects.create(name="bbb"))  # other type
    second = results(users, now)
    page = client.get(f"/results/{second.pk}").content.decode()
    assert f'href="/results/{first.pk}">job {first.pk}' in page
    assert re.search(
        r'class="table-danger regression".*?<td>0_smoke</td><td[^>]*><a href="[^"]*/a">a<',
        page,
        re.S,
    )
    assert re.search(
        r'class="table-success fixed".*?<td>0_smoke</td><td[^>]*><a href="[^"]*/b">b<', page, re.S
    )
    suite = client.get(f"/results/{second.pk}/0_smoke").content.decode()
    rows = dict(re.findall(r'<tr class="([^"]*)" data-case="\d+">\s*<td[^>]*><a[^>]*>(\w)<', suite))
    assert {v: k for k, v in rows.items()} == {
        "a": "table-danger regression",
        "b": "table-success fixed",
        "c": "",
    }
    assert "regression" in client.get(f"/results/{second.pk}/0_smoke/a").content.decode()
    # the first run has nothing to compare with
    assert "No earlier run" in client.get(f"/results/{first.pk}").content.decode()


def test_a_hidden_previous_run_is_not_compared(client, users, lab, data_dir) -> None:
    results(users, [case("0_smoke", "a", "pass")], visibility=Visibility.PERSONAL)
    now = results(users, [case("0_smoke", "a", "fail")])
    client.force_login(users["stranger"])
    page = client.get(f"/results/{now.pk}").content.decode()
    assert "No earlier run" in page and "regression" not in page
    client.force_login(users["owner"])
    assert "table-danger regression" in client.get(f"/results/{now.pk}").content.decode()


# -- hostile input


ODD = [
    ("a/b", "slash"),
    ("ünïcødé ✓", "名前"),
    ("0_smoke", "x" * 10_000),
    ("csv", "yaml"),
]


def test_odd_names_never_500(client, users, lab, data_dir) -> None:
    job = results(users, [case(suite, name, "pass") for suite, name in ODD])
    body = client.get(f"/results/{job.pk}").content.decode()
    assert "a/b" in body and "ünïcødé ✓" in body
    for suite, name in ODD:
        stored = TestCase.objects.get(suite__job=job, suite__name=suite, name=name)
        assert client.get(f"/results/testcase/{stored.pk}").status_code == 200
        answer = client.get(f"/results/{job.pk}/{quote(suite, safe='')}")
        assert answer.status_code in (200, 404), suite
    uni = client.get(f"/results/{job.pk}/{quote('ünïcødé ✓', safe='')}")
    assert uni.status_code == 200 and "名前" in uni.content.decode()
    named = client.get(f"/results/{job.pk}/{quote('ünïcødé ✓', safe='')}/{quote('名前')}")
    assert named.status_code == 200
    long_page = client.get(f"/results/{job.pk}/0_smoke").content.decode()
    long_case = TestCase.objects.get(suite__job=job, name="x" * 10_000)
    assert f'href="/results/testcase/{long_case.pk}"' in long_page
    assert client.get(f"/results/{job.pk}/0_smoke/{'x' * 10_000}").status_code == 200
    yaml = client.get(f"/results/{job.pk}/{quote('ünïcødé ✓', safe='')}/yaml")
    assert yaml.status_code == 200 and yamlio.load(yaml.content)[0]["name"] == "名前"
    assert "\n" not in yaml["Content-Disposition"]


@pytest.mark.parametrize(
    "path",
    [
        "/results/99999999999999999999",
        "/results/9223372036854775807",
        "/results/-1",
        "/results/1.2.3",
        "/results/%00",
        "/results/1%00/yaml",
        "/results/{job}/%00",
        "/results/{job}/0_smoke/%00",
        "/results/{job}/0_smoke%00/csv",
        "/results/{job}/" + "s" * 5000,
        "/results/{job}/0_smoke/" + "y" * 30_000,
        "/results/{job}/0_smoke/nosuchset/net",
        "/results/{job}/nosuchsuite/net",
        "/results/testcase/99999999999999999999",
        "/results/testcase/x/yaml",
        "/results/testcase/%00",
        "/results/99999999999999999999.1",
    ],
)
def test_hostile_paths_are_404(client, job, path) -> None:
    answer = client.get(path.format(job=job.pk))
    assert answer.status_code == 404, (path, answer.status_code)


def test_a_multinode_sub_job_is_found_by_its_display_id(client, users, job) -> None:
    job.sub_id = f"{job.pk}.1"
    job.save(update_fields=["sub_id"])
    assert client.get(f"/results/{job.pk}.1").status_code == 200
    assert client.get(f"/results/{job.pk}.1/0_smoke/net").status_code == 200
    assert client.get(f"/results/{job.pk}.2").status_code == 404


def test_the_chart_page_loads_chart_js_from_static(client, job) -> None:
    body = client.get(f"/results/{job.pk}/0_smoke/net").content.decode()
    assert "/static/vendor/chart.js/chart.min.js" in body
    assert "/static/web/results.js" in body
    assert "<script>" not in body  # no inline script under the CSP
    assert ' style="' not in body
