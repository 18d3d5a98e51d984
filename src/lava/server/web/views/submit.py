"""Submitting a job from the browser (/scheduler/jobsubmit), validated as it is typed.

The page POSTs the text to itself as it is typed (``X-Requested-With:
XMLHttpRequest``, LAVA's AJAX check) and gets JSON: the problem submission
would refuse, the line of the text it is about, and the full schema's
warnings. A plain POST (the form, or a file) submits and goes to the new
job's page; a refused one comes back with the text kept and the problem shown.
Bodies are bounded before they are read: a definition's limit (MAX_JOB_SIZE)
plus room for the form around it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from lava.server.services import Conflict, Invalid, Limit, Missing, jobs

from ..access import actor
from ..errors import status_of
from ..yamlpath import problem_line

FIELD = "definition-input"  # LAVA's field name
FILE = "definition-file"
FORM_ROOM = 64 * 1024  # the form's other fields and multipart boundaries
# what the page answers for; a refused submission is shown on the form, not an error page
SHOWN = (Invalid, Limit, Missing, Conflict)


def max_size() -> int:
    return int(settings.LAVA.max_job_size)


def body_limit() -> int:
    """The largest body read: a definition typed and the same uploaded, and the form."""
    return 2 * max_size() + FORM_ROOM


def _declared_size(request: HttpRequest) -> int:
    try:
        return max(int(request.headers.get("Content-Length") or 0), 0)
    except ValueError:
        return 0  # Django's own limit still bounds what it reads


def too_large(size: int | None = None) -> str:
    sent = f"{size:,} bytes were sent; " if size else ""
    return (
        f"The job definition is too large: {sent}a definition may be at most "
        f"{max_size():,} bytes (the server setting MAX_JOB_SIZE)."
    )


def _uploaded(request: HttpRequest) -> str | None:
    """The uploaded file's text, if a file came; Limit or Invalid when it cannot be one."""
    upload = request.FILES.get(FILE)
    if upload is None:
        return None
    if upload.size is not None and upload.size > max_size():
        raise Limit(too_large(upload.size))
    data = upload.read(max_size() + 1)
    if len(data) > max_size():
        raise Limit(too_large())
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the file {upload.name!r} is not UTF-8 text (byte {exc.start})") from None


def _definition(request: HttpRequest) -> str:
    uploaded = _uploaded(request)
    if uploaded is not None:
        return uploaded
    text = request.POST.get(FIELD, "")
    return text.replace("\r\n", "\n")  # browsers send a textarea's lines with CRLF


def located(text: str, path: str, message: str) -> dict[str, Any]:
    """A problem for the page: its message, the key at fault and the line of the text."""
    line = problem_line(text, path, message)
    if line is None and path:
        line = 1  # a key the text lacks (a required one): the top of the document
    return {"message": message, "path": path, "line": line}


def _problem(text: str, strict: bool = False, schema: bool = True) -> dict[str, Any] | None:
    problem = jobs.validate(text, strict=strict, schema=schema)
    return None if problem is None else located(text, problem.path, str(problem))


def validation(text: str) -> dict[str, Any]:
    """The answer to a validation request, as LAVA's page gives it: what submitting would
    refuse (an error), else what the full schema says (a warning: the job would still run)."""
    if not text.strip():
        return {"result": "empty", "message": "Paste or type a job definition (YAML)."}
    problem = _problem(text, schema=False)
    if problem is not None:
        return {"result": "failure", **problem, "warnings": []}
    warning = _problem(text, strict=True)
    return {"result": "success", "message": "Valid.", "warnings": [warning] if warning else []}


def _form(
    request: HttpRequest, text: str = "", error: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "definition": text,
        "error": error,
        "field": FIELD,
        "file_field": FILE,
        "max_size": max_size(),
    }
    return render(request, "web/submit.html", context, status=status)


def _refused(request: HttpRequest, ajax: bool, message: str, status: int) -> HttpResponse:
    if ajax:
        return JsonResponse({"result": "failure", "message": message, "line": None}, status=status)
    return _form(request, "", {"message": message, "line": None}, status)


@require_http_methods(["GET", "POST"])
@login_required
def jobsubmit(request: HttpRequest) -> HttpResponse:
    """The form (GET), a validation (AJAX POST) or a submission (POST)."""
    if request.method == "GET":
        return _form(request)
    ajax = request.headers.get("X-Requested-With") == "XMLHttpRequest"
    size = _declared_size(request)
    if size > body_limit():
        return _refused(request, ajax, too_large(size), 413)
    try:
        text = _definition(request)
    except RequestDataTooBig:
        return _refused(request, ajax, too_large(size), 413)
    except SHOWN as exc:
        return _refused(request, ajax, str(exc), status_of(exc))
    if ajax:
        return JsonResponse(validation(text))
    try:
        job = jobs.submit(actor(request), text)
    except SHOWN as exc:
        problem = located(text, getattr(exc, "path", ""), str(exc))
        return _form(request, text, problem, status_of(exc))
    return HttpResponseRedirect(f"/scheduler/job/{job.pk}")  # LAVA's job URL


urlpatterns: list[URLPattern] = [
    path("scheduler/jobsubmit", jobsubmit, name="jobsubmit"),
]
