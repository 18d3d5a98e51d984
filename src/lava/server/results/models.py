"""Results as LAVA stores them: a suite per test definition (plus ``lava``), sets, cases."""

from __future__ import annotations

from django.db import models
from django.db.models import F
from django.db.models.functions import Substr

from lava.server.scheduler.models import TestJob


class TestSuite(models.Model):
    __test__ = False

    job = models.ForeignKey(TestJob, on_delete=models.CASCADE, related_name="suites")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ("id",)
        constraints = (models.UniqueConstraint(fields=["job", "name"], name="suite_job_name"),)

    def __str__(self) -> str:
        return f"{self.job_id}/{self.name}"


class TestSet(models.Model):
    __test__ = False

    suite = models.ForeignKey(TestSuite, on_delete=models.CASCADE, related_name="test_sets")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ("id",)
        constraints = (models.UniqueConstraint(fields=["suite", "name"], name="set_suite_name"),)

    def __str__(self) -> str:
        return f"{self.suite}/{self.name}"


class TestCase(models.Model):
    __test__ = False

    class Result(models.IntegerChoices):
        PASS = 0, "pass"
        FAIL = 1, "fail"
        SKIP = 2, "skip"
        UNKNOWN = 3, "unknown"

    name = models.TextField()
    units = models.TextField(blank=True, default="")
    result = models.IntegerField(choices=Result.choices)
    measurement = models.DecimalField(max_digits=30, decimal_places=10, null=True, blank=True)
    metadata = models.TextField(blank=True, null=True, default=None)  # YAML, <= 4096 chars
    suite = models.ForeignKey(TestSuite, on_delete=models.CASCADE, related_name="testcases")
    test_set = models.ForeignKey(
        TestSet, null=True, blank=True, on_delete=models.CASCADE, related_name="testcases"
    )
    start_log_line = models.PositiveIntegerField(null=True, blank=True)
    end_log_line = models.PositiveIntegerField(null=True, blank=True)
    logged = models.DateTimeField(auto_now_add=True)
    # The index of the `results` line this row comes from: a line resent by a
    # worker is recognised by it, and the database holds one row per line at most
    # (two copies of a batch ingested at the same moment both find the line new).
    # Ours, not LAVA's.
    log_line = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("id",)
        constraints = (
            models.UniqueConstraint(fields=["suite", "log_line"], name="results_case_suite_line"),
        )
        indexes = (
            # A case by name: in a suite (case page, a chart's probe of each run), and
            # anywhere newest first (a seldom-run case's chart). Names have no length limit
            # and an index entry has one: the index holds a prefix, which
            # results/history.py ``named`` filters on too (NAME_PREFIX).
            models.Index(F("suite"), Substr("name", 1, 100), name="results_case_suite_name"),
            models.Index(Substr("name", 1, 100), F("id"), name="results_case_name_id"),
        )

    def __str__(self) -> str:
        return f"{self.suite}/{self.name}"
