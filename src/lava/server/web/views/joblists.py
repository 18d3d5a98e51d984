"""The job lists (/scheduler/alljobs, queue, running, myjobs, ...): filters, sorting, pages.

Each list is a scope over the jobs the user may see, a set of LAVA's columns
and a default order; the filters, sort links and Next/Previous cursors are
the same everywhere (``tables`` and ``jobtable``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe

from lava.server.scheduler import permissions
from lava.server.scheduler.models import DeviceType, TestJob
from lava.server.scheduler.states import JobHealth, JobState
from lava.server.services import Invalid, Refused

from .. import jobtable, tables

Scope = Callable[[QuerySet[TestJob], HttpRequest], QuerySet[TestJob]]

ALL = ("id", "state", "device", "device_type", "description", "submitter")
ALL += ("submit_time", "end_time", "duration")
ACTIVE = ("id", "state", "priority", "device", "device_type", "health", "description")
ACTIVE += ("submitter", "submit_time", "start_time", "duration")
QUEUED = ("id", "device_type", "priority", "description", "submitter", "submit_time", "in_queue")
ERRORS = ("id", "end_time", "device", "device_type", "error_type", "error_msg")
# a list of states, not "not Finished", so the (state, id) index finds the few unfinished jobs
NOT_FINISHED = Q(state__in=[s for s in JobState if s != JobState.FINISHED])
RUNNING = (JobState.RUNNING, JobState.CANCELING)


@dataclass(frozen=True)
class JobList:
    """One of LAVA's job lists."""

    name: str  # the URL's last part and the URL name
    title: str
    columns: tuple[str, ...]
    scope: Scope
    mine: bool = False  # needs a signed-in user
    default_sort: str = "-id"


def _where(q: Q) -> Scope:
    return lambda jobs, request: jobs.filter(q)


EVERY = Q()


def _mine(q: Q = EVERY) -> Scope:
    return lambda jobs, request: jobs.filter(q, submitter=request.user)


def _favourites(jobs: QuerySet[TestJob], request: HttpRequest) -> QuerySet[TestJob]:
    return jobs.filter(favorites__user=request.user)


INCOMPLETE = Q(health=JobHealth.INCOMPLETE)
LISTS = (
    JobList("alljobs", "All jobs", ALL, _where(Q())),
    JobList("activejobs", "Active jobs", ACTIVE, _where(NOT_FINISHED)),
    JobList("queue", "Queued jobs", QUEUED, _where(Q(state=JobState.SUBMITTED))),
    JobList("running", "Running jobs", ACTIVE, _where(Q(state__in=RUNNING))),
    JobList("joberrors", "Job errors", ERRORS, _where(INCOMPLETE & ~Q(error_type=""))),
    JobList("healthcheck", "Health checks", ALL, _where(Q(health_check=True))),
    JobList("myjobs", "My jobs", ALL, _mine(), mine=True),
    JobList("myactivejobs", "My active jobs", ACTIVE, _mine(NOT_FINISHED), mine=True),
    JobList(
        "myqueuedjobs",
        "My queued jobs",
        QUEUED,
        _mine(Q(state=JobState.SUBMITTED)),
        mine=True,
    ),
    JobList("myerrorjobs", "My failed jobs", ALL, _mine(INCOMPLETE), mine=True),
    JobList("favorite-jobs", "Favourite jobs", ALL, _favourites, mine=True),
)


def sort_keys(columns: tuple[str, ...]) -> dict[str, tables.SortKey]:
    """The orders a list offers: its sortable columns, plus id and submit time."""
    names = {jobtable.COLUMNS[c].sort for c in columns} | {"id", "submit_time"}
    return {name: jobtable.SORT_KEYS[name] for name in names if name}


def job_table(
    request: HttpRequest, jobs: QuerySet[TestJob], columns: tuple[str, ...], default_sort: str
) -> dict[str, object]:
    """Filter, sort and page ``jobs`` (already visible to the user) as ``request`` asks.

    The context for ``web/tables/jobs.html``; other pages (a device's jobs)
    may use it with their own scope.
    """
    size = tables.length(request)
    order = tables.ordering(request, sort_keys(columns), default_sort)
    if order.key.name == "device_type":  # a run per type: see tables._segments
        names = tuple(DeviceType.objects.values_list("name", flat=True))
        order = tables.Ordering(replace(order.key, values=names), order.descending)
    wanted = jobtable.filters(request)
    jobs = jobtable.apply(jobs, wanted, request.user)
    jobs = jobs.select_related("submitter").only(*jobtable.ROW_FIELDS)
    result = tables.page(request, jobs, order, size)
    headers = [
        tables.header(request, jobtable.COLUMNS[c].label, jobtable.COLUMNS[c].sort, order)
        for c in columns
    ]
    links = {
        "first": tables.query(request, after=None, before=None) or "?",
        "next": result.next and tables.query(request, after=result.next, before=None),
        "previous": result.previous and tables.query(request, before=result.previous, after=None),
    }
    return {
        "headers": headers,
        "rows": jobtable.rows(result.rows, columns),
        "page": result,
        "links": links,
        "filters": wanted,
        "length": size,
        "lengths": sorted({10, 25, 50, 100, size}),
        "sort": order.token,
        "choices": jobtable.choices(),
        "device_types": permissions.visible_device_types(request.user)
        .filter(display=True)
        .values_list("name", flat=True),
    }


def refused_context(request: HttpRequest, columns: tuple[str, ...], error: str) -> dict:
    """A list page that refused its query string: the reason, headings and an empty form."""
    return {
        "error": error,
        "headers": [tables.Header(jobtable.COLUMNS[c].label) for c in columns],
        "rows": [],
        "filters": jobtable.JobFilters(),
        "length": tables.DEFAULT_LENGTH,
        "lengths": [10, 25, 50, 100],
        "sort": "",
        "choices": jobtable.choices(),
        "device_types": [],
    }


def view(job_list: JobList) -> Callable[[HttpRequest], HttpResponse]:
    def show(request: HttpRequest) -> HttpResponse:
        if job_list.mine and not request.user.is_authenticated:
            raise Refused(f"sign in to see {job_list.title.lower()}", login=True)
        jobs = job_list.scope(permissions.visible_jobs(request.user), request)
        context: dict[str, object] = {"title": job_list.title, "list": job_list}
        try:
            context.update(job_table(request, jobs, job_list.columns, job_list.default_sort))
        except Invalid as error:  # the list's own page, with the message and a fresh form
            context.update(refused_context(request, job_list.columns, str(error)))
            return render(request, "web/jobs/list.html", context, status=400)
        return render(request, "web/jobs/list.html", context)

    show.__name__ = show.__qualname__ = job_list.name.replace("-", "_")
    show.__module__ = __name__
    return show


urlpatterns: list[URLPattern] = [
    path(f"scheduler/{job_list.name}", require_safe(view(job_list)), name=job_list.name)
    for job_list in LISTS
]
