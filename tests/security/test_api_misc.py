"""The smaller holes of class 10 of issue 11, against the live lab.

No credential in any log; the worker API says nothing to a caller without its
token and keeps stored log lines as they were; sign-in attempts are
rate-limited across gunicorn's processes; an admin's names fit their fields;
deleting a job in the Django admin removes its log directory.
"""

from __future__ import annotations

import base64
import re
import secrets
import time

import pytest
import requests

pytestmark = pytest.mark.slow

INTERNAL = "scheduler/internal/v1"


def logs_text(security_lab) -> str:
    return "".join(
        security_lab.lab.log_file(name).read_text(errors="replace")
        for name in ("web", "scheduler", "worker")
    )


def test_malformed_authorization_headers_leave_no_token_in_any_log(security_lab) -> None:
    token = security_lab.tokens["mallory"]
    b64 = base64.b64encode
    headers = [
        "Basic " + b64(token.encode()).decode(),  # the token without "mallory:"
        "Basic " + b64(f"{token}:mallory".encode()).decode(),  # swapped
        "Basic " + b64(f"{token}:".encode()).decode(),
        f"Basic {token}",  # not base64 at all
        f"Token {token} extra",
        f"Bearer {token}",
        f"Token {token}\x7f",
    ]
    url = security_lab.url
    for header in headers:
        for method, path in [
            ("post", "RPC2"),
            ("get", "api/v0.2/jobs/"),
            ("post", "api/v0.2/jobs/validate/"),
            ("get", f"{INTERNAL}/workers/{security_lab.lab.worker_name}/"),
        ]:
            try:
                answer = requests.request(
                    method, url + path, headers={"Authorization": header}, timeout=30
                )
            except requests.exceptions.InvalidHeader:
                continue  # requests itself refuses to send it
            assert answer.status_code < 500, (header, path, answer.status_code)
            assert token not in answer.text, (header, path)
    time.sleep(1)  # let the access log lines land
    assert token not in logs_text(security_lab)
    security_lab.assert_runs_jobs()


def ping(security_lab, worker: str, token: str | None) -> requests.Response:
    headers = {"LAVA-Token": token} if token is not None else {}
    return requests.get(
        f"{security_lab.url}{INTERNAL}/workers/{worker}/",
        params={"version": "0"},
        headers=headers,
        timeout=30,
    )


def test_the_worker_api_does_not_tell_which_workers_exist(security_lab) -> None:
    real = security_lab.lab.worker_name
    for token in ("x" * 32, secrets.token_hex(16), None):
        known, unknown = (
            ping(security_lab, real, token),
            ping(security_lab, "no-such-worker", token),
        )
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
        assert "worker" not in known.text.lower()
    security_lab.assert_runs_jobs()


def test_a_log_batch_cannot_rewrite_stored_lines(security_lab) -> None:
    lab = security_lab.lab
    job_id = security_lab.submit(security_lab.quick_job("log rewrite"))
    lab.wait_job(job_id, states={"Running", "Finished"}, timeout=120)
    deadline = time.monotonic() + 60
    while len(lab.log_lines(job_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    token = lab.query(
        "from lava.server.scheduler.models import TestJob\n"
        f"import json; print(json.dumps(TestJob.objects.get(id={job_id}).token))"
    )
    stored = lab.log_lines(job_id)[:2]
    changed = re.sub(r'"dt": "(\d)', lambda m: f'"dt": "{(int(m[1]) + 1) % 10}', stored[1], count=1)
    assert changed != stored[1]
    forged = stored[0] + "\n" + changed + "\n"
    url = f"{security_lab.url}{INTERNAL}/jobs/{job_id}/logs/"
    refused = requests.post(
        url, data={"lines": forged, "index": 0}, headers={"LAVA-Token": token}, timeout=30
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"].startswith("log line 1 of the batch differs from the stored")
    honest = requests.post(
        url,
        data={"lines": "".join(line + "\n" for line in stored), "index": 0},
        headers={"LAVA-Token": token},
        timeout=30,
    )
    assert honest.status_code in (200, 409), honest.text  # 409 once the job has ended
    record = security_lab.wait(job_id)
    assert record["health"] == "Complete", record  # the worker's own batches went on
    assert lab.log_lines(job_id)[:2] == stored
    security_lab.assert_runs_jobs()


def _sign_in_burst(security_lab) -> tuple[list[int], list[int]]:
    """12 token requests, then 2 admin sign-ins, all with one new user name: the statuses."""
    name = "victim-" + secrets.token_hex(4)
    url = f"{security_lab.url}api/v0.2/token/"
    statuses = []
    for _ in range(12):
        # a new connection each time, so both gunicorn processes get some of them
        answer = requests.post(url, data={"username": name, "password": "guess"}, timeout=30)
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert 1 <= int(answer.headers["Retry-After"]) <= 65
    login = requests.Session()
    page = login.get(f"{security_lab.url}admin/login/", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answers = [
        login.post(
            f"{security_lab.url}admin/login/",
            data={"username": name, "password": "guess", "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"{security_lab.url}admin/login/"},
            timeout=30,
        ).status_code
        for _ in range(2)
    ]
    return statuses, answers


def test_sign_in_attempts_are_limited_across_web_processes(security_lab) -> None:
    """10 attempts a minute per user name by default; gunicorn runs 2 processes.

    The counters are django-ratelimit's fixed one-minute windows: a burst that
    straddles a window's end starts counting again, so a burst that did not end in 429s
    is tried again, with a new name (twice at most), before it counts as a failure.
    """
    for _ in range(3):
        statuses, answers = _sign_in_burst(security_lab)
        if statuses[-1] == 429 and answers[-1] == 429:
            break
    assert statuses[:10] == [403] * 10 and statuses[10:] == [429, 429], statuses
    assert answers == [429, 429]  # the same user name, through the admin's login
    security_lab.assert_runs_jobs()


def admin_rpc(security_lab):
    import xmlrpc.client

    lab = security_lab.lab
    token = lab.manage("tokens", "add", "--user", "admin", quiet=True).stdout.split()[-1]
    host = security_lab.url.removeprefix("http://")
    return xmlrpc.client.ServerProxy(f"http://admin:{token}@{host}RPC2", allow_none=True)


def test_names_fit_their_fields_and_the_lists_keep_working(security_lab) -> None:
    import xmlrpc.client

    admin = admin_rpc(security_lab)
    for call in (
        lambda: admin.scheduler.device_types.add("d" * 300),
        lambda: admin.scheduler.tags.add("t" * 300),
        lambda: admin.scheduler.workers.add("../" + "w" * 10),
        lambda: admin.auth.groups.add("g" * 200),
    ):
        with pytest.raises(xmlrpc.client.Fault) as refused:
            call()
        assert refused.value.faultCode == 400, refused.value
    mallory = security_lab.rpc("mallory")
    assert "qemu" in [t["name"] for t in mallory.scheduler.device_types.list()]
    assert mallory.scheduler.tags.list() is not None
    security_lab.assert_runs_jobs()


def test_deleting_a_job_in_the_admin_removes_its_logs(security_lab) -> None:
    lab = security_lab.lab
    job_id = security_lab.submit(security_lab.quick_job("to delete"))
    assert security_lab.wait(job_id)["state"] == "Finished"
    job_dir = lab.instance / "jobs" / f"job-{job_id}"
    assert (job_dir / "output.yaml").is_file()
    admin = requests.Session()
    url = f"{security_lab.url}admin/login/"
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', admin.get(url).text).group(1)
    password = (lab.instance / "admin-password").read_text().strip()
    signed_in = admin.post(
        url,
        data={
            "username": "admin",
            "password": password,
            "csrfmiddlewaretoken": csrf,
            "next": "/admin/",  # the form's hidden field
        },
        headers={"Referer": url},
        timeout=30,
    )
    assert signed_in.status_code == 200 and "Log out" in signed_in.text, signed_in.text[:500]
    delete = f"{security_lab.url}admin/scheduler/testjob/{job_id}/delete/"
    csrf = admin.cookies["csrftoken"]
    answer = admin.post(
        delete,
        data={"post": "yes", "csrfmiddlewaretoken": csrf},
        headers={"Referer": delete},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:500]
    assert not job_dir.exists()
    security_lab.assert_runs_jobs()
