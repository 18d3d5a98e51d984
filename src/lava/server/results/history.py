"""Reading results across jobs, for the pages: recent jobs, counts, regressions, a case's history.

Every function here takes the user whose visibility applies and returns a
bounded amount: the pages that call them must answer in milliseconds with a
million jobs in the database, and a job the user cannot see must leave no
trace (no point in a chart, no "previous run").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import Substr

from lava.server.results.models import TestCase, TestSuite
from lava.server.scheduler.models import TestJob
from lava.server.scheduler.permissions import AnyUser, visible_jobs

PAGE = 25  # jobs on a page of /results/
HISTORY = 200  # runs of a test case in its chart
COMPARED = 5000  # test cases of each job compared for regressions
NAME_PREFIX = 100  # characters of a case name in its index
SPARSE = 5_000  # newest cases of a name looked at for a seldom-run case
PREVIOUS = 50  # earlier runs of a job name looked at for the previous one with results
WINDOW = 100_000  # ... among this many jobs before it
RESULT_NAMES = tuple(label for _, label in TestCase.Result.choices)
# Bootstrap's badge for each result, so long tables need no per-row template include
BADGES = {"pass": "bg-success", "fail": "bg-danger", "skip": "bg-secondary"}
BADGES["unknown"] = "bg-warning text-dark"


def with_results(jobs: QuerySet[TestJob], below: int | None = None) -> QuerySet[TestJob]:
    """Only the jobs that reported at least one suite (numbered below ``below``).

    The bound is repeated inside the EXISTS: PostgreSQL merges the two scans
    and would otherwise read the suites of every newer job first.
    """
    suites = TestSuite.objects.filter(job=OuterRef("pk"))
    if below is not None:
        jobs, suites = jobs.filter(pk__lt=below), suites.filter(job_id__lt=below)
    return jobs.filter(Exists(suites))


def latest_jobs(user: AnyUser, older: int | None = None, size: int = PAGE) -> list[TestJob]:
    """Up to ``size + 1`` visible jobs with results, newest first, numbered below ``older``.

    The extra row tells the page whether an "older" link is needed: no COUNT.
    """
    jobs = with_results(visible_jobs(user), older)
    jobs = jobs.select_related("requested_device_type", "actual_device", "submitter")
    return list(jobs.order_by("-pk")[: size + 1])


def counts_by(field: str, cases: QuerySet[TestCase]) -> dict[Any, dict[str, int]]:
    """Cases counted by ``field`` (``suite_id``, ``suite__job_id``) and result name."""
    counts: dict[Any, dict[str, int]] = {}
    for row in cases.order_by().values(field, "result").annotate(n=Count("pk")):
        label = TestCase.Result(row["result"]).label
        counts.setdefault(row[field], dict.fromkeys(RESULT_NAMES, 0))[label] = row["n"]
    return counts


def job_counts(job_ids: list[int]) -> dict[int, dict[str, int]]:
    """pass/fail/skip/unknown counts of each job of ``job_ids``."""
    return counts_by("suite__job_id", TestCase.objects.filter(suite__job_id__in=job_ids))


def suite_counts(job: TestJob) -> dict[int, dict[str, int]]:
    """pass/fail/skip/unknown counts of each suite of ``job``, by suite id."""
    return counts_by("suite_id", TestCase.objects.filter(suite__job=job))


def suite_page(suite: TestSuite, after: int | None, size: int) -> list[TestCase]:
    """``size`` cases of ``suite`` in log order, after the case numbered ``after``.

    Keyed on ``log_line`` (one case per results line, so unique in a job), the
    order of the index ``results_case_suite_line``: ordering a 10,000-case suite
    by id sorts all of it for every page. Cases without a line (none are
    ingested so) come last, by id.
    """
    cases = TestCase.objects.filter(suite=suite).select_related("test_set")
    lined = cases.filter(log_line__isnull=False).order_by("log_line")
    unlined = cases.filter(log_line__isnull=True).order_by("pk")
    if after is not None:
        known = list(cases.filter(pk=after).values_list("log_line", flat=True)[:1])
        if not known:
            return []
        if known[0] is None:
            return list(unlined.filter(pk__gt=after)[:size])
        lined = lined.filter(log_line__gt=known[0])
    page = list(lined[:size])
    return page if len(page) == size else page + list(unlined[: size - len(page)])


def device_type_id(job: TestJob) -> int | None:
    """The device type a job ran on: the one it asked for (set for every non-device job)."""
    if job.requested_device_type_id is not None:
        return job.requested_device_type_id
    device = job.actual_device
    return device.device_type_id if device is not None else None


def previous_run(user: AnyUser, job: TestJob) -> TestJob | None:
    """The visible job before ``job`` with its name (description) and device type, with results.

    Only the ``PREVIOUS`` runs of that name before it are looked at, and only
    among the ``WINDOW`` jobs numbered just below it: bounded work even for a
    name that never reported results (see perf-notes for the index that makes
    the name's runs an index walk).
    """
    type_id = device_type_id(job)
    if type_id is None:
        return None
    earlier = visible_jobs(user).filter(
        description=job.description,
        requested_device_type_id=type_id,
        pk__lt=job.pk,
        pk__gte=job.pk - WINDOW,
    )
    recent = earlier.order_by("-pk").values("pk")[:PREVIOUS]
    runs = TestJob.objects.filter(pk__in=recent)
    return with_results(runs).order_by("-pk").only("pk", "description").first()


def _results(job: TestJob) -> dict[tuple[str, str], int]:
    """(suite, case) → result of the job's first ``COMPARED`` cases; a repeated name keeps
    its last result."""
    rows = (
        TestCase.objects.filter(suite__job=job)
        .order_by("pk")
        .values_list("suite__name", "name", "result")[:COMPARED]
    )
    return {(suite, name): result for suite, name, result in rows}


@dataclass(frozen=True)
class Changes:
    """What changed since the previous run: (suite, case) keys that regressed or were fixed."""

    previous: TestJob | None
    regressions: frozenset[tuple[str, str]]
    fixed: frozenset[tuple[str, str]]

    def of(self, suite: str, case: str) -> str:
        """``regression``, ``fixed`` or ``""`` for one case."""
        key = (suite, case)
        return "regression" if key in self.regressions else "fixed" if key in self.fixed else ""


NO_CHANGES = Changes(None, frozenset(), frozenset())


def changes(user: AnyUser, job: TestJob) -> Changes:
    """Cases that passed in the previous run and fail now, and those that failed and pass now."""
    previous = previous_run(user, job)
    if previous is None:
        return NO_CHANGES
    before, now = _results(previous), _results(job)
    passed, failed = TestCase.Result.PASS, TestCase.Result.FAIL
    return Changes(
        previous,
        frozenset(k for k, v in now.items() if v == failed and before.get(k) == passed),
        frozenset(k for k, v in now.items() if v == passed and before.get(k) == failed),
    )


@dataclass(frozen=True)
class Point:
    """One run of a test case, for its chart."""

    job: int
    case: int
    result: str
    measurement: Decimal | None
    units: str
    when: datetime | None

    @property
    def badge(self) -> str:
        return BADGES[self.result]

    def as_json(self) -> dict[str, Any]:
        measurement = None if self.measurement is None else float(self.measurement)
        return {
            "job": self.job,
            "case": self.case,
            "result": self.result,
            "measurement": measurement,
            "units": self.units,
            "time": self.when.isoformat() if self.when else None,
        }


def case_history(
    user: AnyUser, job: TestJob, suite: str, case: str, size: int | None = None
) -> list[Point]:
    """The last ``size`` runs (oldest first) of case ``case`` of suite ``suite`` in the visible
    jobs on ``job``'s device type.

    Two bounded looks, each one indexed query: among the device type's newest
    visible jobs (``testjob_type_id``), which finds a case that runs in most of
    them; if that is not enough, among the newest ``SPARSE`` cases of that name
    anywhere (``results_case_name_id``), which finds a case that runs seldom. A
    case that ran once, long ago, among millions of others may be left out.
    """
    want = size or HISTORY
    type_id = device_type_id(job)
    jobs = visible_jobs(user)
    jobs = (
        jobs.filter(pk=job.pk) if type_id is None else jobs.filter(requested_device_type_id=type_id)
    )
    newest_jobs = jobs.order_by("-pk").values("pk")[: want + want // 4]
    points = _runs(TestCase.objects.filter(suite__job_id__in=newest_jobs), suite, case, want)
    if len(points) < want:
        # ordered as the index is, (prefix, id), so that it is walked and not the whole table
        newest_cases = named(TestCase.objects.all(), case).order_by("-name_prefix", "-pk")
        newest_cases = newest_cases.values("pk")[:SPARSE]
        seen = TestCase.objects.filter(pk__in=newest_cases)
        seen = seen.filter(Exists(jobs.filter(pk=OuterRef("suite__job_id"))))
        points = _runs(seen, suite, case, want)
    points.reverse()
    return points


def _runs(cases: QuerySet[TestCase], suite: str, case: str, size: int) -> list[Point]:
    """The newest ``size`` of ``cases`` named ``case`` in suites named ``suite``."""
    rows = (
        named(cases.filter(suite__name=suite), case)
        .order_by("-suite__job_id", "-pk")
        .values_list(
            "suite__job_id", "pk", "result", "measurement", "units", "suite__job__end_time"
        )
    )[:size]
    return [
        Point(job_id, pk, TestCase.Result(result).label, measurement, units, when)
        for job_id, pk, result, measurement, units, when in rows
    ]


def named(cases: QuerySet[TestCase], name: str) -> QuerySet[TestCase]:
    """``cases`` called ``name``, also compared on the indexed prefix of their names.

    A case name has no length limit and a PostgreSQL index entry has one, so the
    proposed index ``(suite, SUBSTRING(name, 1, NAME_PREFIX))`` covers a prefix;
    the filter repeats it for the planner to use that index.
    """
    prefix = Substr("name", 1, NAME_PREFIX)
    return cases.alias(name_prefix=prefix).filter(name_prefix=name[:NAME_PREFIX], name=name)


def tally(points: list[Point]) -> Counter[str]:
    """How many of the runs had each result."""
    return Counter(point.result for point in points)
