"""The submit page: validation as it is typed (JSON with the line at fault), submission."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from lava.server.scheduler.models import TestJob
from lava.server.web.yamlpath import line_of, problem_line, steps

URL = "/scheduler/jobsubmit"
AJAX = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
JOB = """job_name: from the browser
device_type: qemu
visibility: public
timeouts:
  job: {minutes: 5}
actions:
- deploy:
    to: tmpfs
    images:
      rootfs:
        url: http://example.com/rootfs.img
- boot:
    method: qemu
    media: tmpfs
    timeout: {minutes: 2}
"""


@pytest.fixture
def owner(client, users, lab, data_dir) -> Client:
    client.force_login(users["owner"])
    return client


def check(client: Client, text: str) -> dict:
    answer = client.post(URL, {"definition-input": text}, **AJAX)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    return answer.json()


def test_anonymous_is_sent_to_sign_in(client, lab) -> None:
    for answer in (client.get(URL), client.post(URL, {"definition-input": JOB})):
        assert answer.status_code == 302
        assert answer["Location"] == "/accounts/login/?next=/scheduler/jobsubmit"
    assert not TestJob.objects.exists()


def test_the_form(owner) -> None:
    page = owner.get(URL)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="definition-input"' in body and 'type="file"' in body
    assert 'enctype="multipart/form-data"' in body and "csrfmiddlewaretoken" in body
    assert "web/submit.js" in body and "<script>" not in body


def test_a_valid_definition_validates(owner) -> None:
    answer = check(owner, JOB)
    assert answer["result"] == "success" and answer["warnings"] == []
    assert not TestJob.objects.exists()  # validating submits nothing


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("timeout: {minutes: 2}", "timeout: {minutez: 2}"), 15, "extra keys"),
        (("media: tmpfs", "media: [tmpfs"), 15, "not valid YAML"),
        (("job_name: from the browser\n", ""), 1, "job_name"),
        (("visibility: public\n", "visibility: public\nbogus: 1\n"), 4, "bogus"),
    ],
)
def test_a_problem_names_its_line(owner, change, line, words) -> None:
    answer = check(owner, JOB.replace(*change))
    assert answer["result"] == "failure"
    assert answer["line"] == line, answer
    assert words in answer["message"]


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("method: qemu", "method: nope"), 13, "unknown boot method"),
        (("  job: {minutes: 5}", "  job: {minutes: -5}"), 5, "timeout"),
    ],
)
def test_what_submission_accepts_is_a_warning_at_its_line(owner, change, line, words) -> None:
    """As LAVA's page: only what submitting refuses is an error; the full schema warns."""
    answer = check(owner, JOB.replace(*change))
    assert answer["result"] == "success"
    [warning] = answer["warnings"]
    assert warning["line"] == line and words in warning["message"], warning


def test_the_full_schema_warns(owner) -> None:
    answer = check(owner, JOB.replace("    media: tmpfs\n", "    media: tmpfs\n    colour: blue\n"))
    assert answer["result"] == "success"
    [warning] = answer["warnings"]
    assert warning["line"] == 15 and warning["path"].endswith("colour")


def test_empty_text_asks_for_a_definition(owner) -> None:
    assert check(owner, "  \n")["result"] == "empty"


def test_submit_goes_to_the_job(owner, users) -> None:
    answer = owner.post(URL, {"definition-input": JOB.replace("\n", "\r\n")})
    job = TestJob.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/scheduler/job/{job.pk}"
    assert job.submitter == users["owner"] and job.description == "from the browser"
    assert "\r" not in job.definition


def test_submit_an_uploaded_file(owner) -> None:
    upload = SimpleUploadedFile("job.yaml", JOB.encode(), content_type="text/yaml")
    answer = owner.post(URL, {"definition-input": "", "definition-file": upload})
    assert answer.status_code == 302 and TestJob.objects.count() == 1


def test_an_invalid_submission_keeps_the_text(owner) -> None:
    text = JOB.replace("visibility: public\n", "visibility: public\nbogus: 1\n") + "# <b>mine</b>\n"
    answer = owner.post(URL, {"definition-input": text})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "# &lt;b&gt;mine&lt;/b&gt;" in body  # kept, and escaped
    assert 'data-line="4"' in body and "unknown top-level key" in body
    assert not TestJob.objects.exists()


def test_a_submission_the_database_refuses_keeps_the_text(owner) -> None:
    answer = owner.post(URL, {"definition-input": JOB.replace("qemu\nvis", "nosuch\nvis")})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "nosuch" in body and 'id="submit-error"' in body
    assert not TestJob.objects.exists()


def test_an_oversized_body_is_refused_clearly(owner, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings.LAVA, "max_job_size", 1000)
    big = JOB + "# " + "x" * 300_000 + "\n"
    for extra in ({}, AJAX):
        answer = owner.post(URL, {"definition-input": big}, **extra)
        assert answer.status_code == 413
        assert "too large" in answer.content.decode() and "1,000 bytes" in answer.content.decode()
    assert not TestJob.objects.exists()


def test_a_definition_over_the_limit_is_refused_clearly(owner, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings.LAVA, "max_job_size", 1000)
    text = JOB + "# " + "x" * 1500 + "\n"
    assert "MAX_JOB_SIZE" in check(owner, text)["message"]
    upload = SimpleUploadedFile("job.yaml", text.encode())
    answer = owner.post(URL, {"definition-file": upload})
    assert answer.status_code == 413 and "too large" in answer.content.decode()


def test_a_file_that_is_not_text_is_refused(owner) -> None:
    upload = SimpleUploadedFile("job.yaml", b"\xff\xfe\x00binary")
    answer = owner.post(URL, {"definition-file": upload})
    assert answer.status_code == 400 and "not UTF-8" in answer.content.decode()


def test_the_csrf_token_is_needed(users, lab) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["owner"])
    assert strict.post(URL, {"definition-input": JOB}).status_code == 403
    assert not TestJob.objects.exists()


@pytest.mark.parametrize(
    "text",
    ["", "[", "a: *b", "- 1\n- 2", "x" * 10_000, "a: &x [*x]", "\ufeffjob_name: x", "{" * 500],
)
def test_hostile_text_gets_an_answer(owner, text) -> None:
    assert check(owner, text)["result"] in ("failure", "empty")


def test_paths_lead_to_lines() -> None:
    assert steps("actions[1].boot.method") == ["actions", 1, "boot", "method"]
    assert line_of(JOB, "actions[0].deploy.tmpfs.images.rootfs.url") == 11
    assert line_of(JOB, "actions[7].boot") == 6  # as deep as the text goes
    assert line_of(JOB, "nosuch.key") is None
    assert line_of("[", "a") is None
    assert problem_line("a: 1\nb: 2\n", "", "not valid YAML: line 99, column 1") == 3
    refusal = "the job definition is refused: metadata: at least 60,001 characters"
    assert problem_line(JOB + "metadata:\n  a: 1\n", "", refusal) == 16
    assert problem_line(JOB, "", "Permission denied: no") is None


def test_a_nul_in_the_text_is_refused_clearly(owner) -> None:
    assert check(owner, JOB + "\x00")["result"] == "failure"
    answer = owner.post(URL, {"definition-input": JOB + "\x00"})
    assert answer.status_code == 400 and 'id="submit-error"' in answer.content.decode()
    assert not TestJob.objects.exists()


def test_only_get_and_post(owner) -> None:
    assert owner.put(URL, JOB).status_code == 405
    assert owner.delete(URL).status_code == 405
