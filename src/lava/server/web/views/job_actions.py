"""A job's actions: cancel, resubmit, fail, toggle_favorite, priority (POST only, CSRF).

Each finds the job through the services (hidden reads as missing), calls the
service that decides and writes, and redirects back with a note. A conflict
(the job moved on meanwhile) is a note on the job page; a refusal or bad input
is the service's error page.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from lava.server.scheduler.models import TestJob
from lava.server.scheduler.states import JobState
from lava.server.services import Conflict
from lava.server.services import jobs as job_services

from ..access import actor

MAX_REASON = 1000


def job_url(job: TestJob) -> str:
    return reverse("web:job", args=[job.display_id])


def act(
    request: HttpRequest, pk: str, change: Callable[[TestJob], tuple[str, TestJob | None]]
) -> HttpResponse:
    """Find the job, apply ``change`` (a note and where to go next), redirect with the note."""
    job = job_services.visible_job_by_display_id(actor(request), pk)
    try:
        note, target = change(job)
    except Conflict as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(job_url(job))
    messages.success(request, note)
    return HttpResponseRedirect(job_url(target or job))


def reason(request: HttpRequest) -> str:
    return str(request.POST.get("reason", ""))[:MAX_REASON]


@require_POST
def cancel(request: HttpRequest, pk: str) -> HttpResponse:
    def change(job: TestJob) -> tuple[str, TestJob | None]:
        done = job_services.cancel_job(actor(request), job, reason(request))
        if done.state == JobState.FINISHED:  # it had not started: canceled at once
            return f"Job {done.display_id} canceled.", done
        return f"Job {done.display_id} is being canceled.", done

    return act(request, pk, change)


@require_POST
def resubmit(request: HttpRequest, pk: str) -> HttpResponse:
    def change(job: TestJob) -> tuple[str, TestJob | None]:
        new = job_services.resubmit_job(actor(request), job)
        return f"Job {job.display_id} resubmitted as job {new.display_id}.", new

    return act(request, pk, change)


@require_POST
def fail(request: HttpRequest, pk: str) -> HttpResponse:
    def change(job: TestJob) -> tuple[str, TestJob | None]:
        done = job_services.fail_job(actor(request), job, reason(request))
        return f"Job {done.display_id} failed as Incomplete.", done

    return act(request, pk, change)


@require_POST
def toggle_favorite(request: HttpRequest, pk: str) -> HttpResponse:
    def change(job: TestJob) -> tuple[str, TestJob | None]:
        now = job_services.toggle_favorite(actor(request), job)
        word = "is now one of your favourites" if now else "is no longer a favourite"
        return f"Job {job.display_id} {word}.", None

    return act(request, pk, change)


@require_POST
def priority(request: HttpRequest, pk: str) -> HttpResponse:
    def change(job: TestJob) -> tuple[str, TestJob | None]:
        value = str(request.POST.get("priority", "")).strip()[:40]
        done = job_services.set_priority(actor(request), job, value)
        return f"Job {done.display_id} now has priority {done.priority}.", done

    return act(request, pk, change)


JOB = "scheduler/job/<str:pk>/"
urlpatterns: list[URLPattern] = [
    path(f"{JOB}cancel", cancel, name="job_cancel"),
    path(f"{JOB}resubmit", resubmit, name="job_resubmit"),
    path(f"{JOB}fail", fail, name="job_fail"),
    path(f"{JOB}toggle_favorite", toggle_favorite, name="job_toggle_favorite"),
    path(f"{JOB}priority", priority, name="job_priority"),
]
