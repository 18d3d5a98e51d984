"""The one query ``scheduler.jobs.show`` reads a job with, against what the ORM reads."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from lava.server.results.models import TestCase, TestSuite
from lava.server.scheduler.models import Tag, TestJob
from lava.server.scheduler.states import JobHealth, JobState, Visibility
from lava.server.services.job_query import ATTNAMES, find_shown_job


def test_a_finished_group_job_with_everything_show_needs(lab, users, django_assert_num_queries):
    started = timezone.now() - datetime.timedelta(minutes=5)
    job = TestJob.objects.create(
        submitter=users["owner"],
        definition="job_name: t\n",
        description="a job",
        requested_device_type=lab.device_type,
        actual_device_id="qemu-02",
        visibility=Visibility.GROUP,
        state=JobState.FINISHED,
        health=JobHealth.INCOMPLETE,
        start_time=started,
        end_time=timezone.now(),
        failure_comment="bad luck",
    )
    groups = [Group.objects.get(name="lab"), Group.objects.create(name="other")]
    job.viewing_groups.set(groups)
    job.tags.add(Tag.objects.create(name="usb"))
    suite = TestSuite.objects.create(job=job, name="lava")
    TestCase.objects.create(suite=suite, name="job", result=1, metadata="error_type: Bug\n")
    with django_assert_num_queries(1):
        found = find_shown_job(job.id)
    assert found is not None
    read = TestJob.objects.get(pk=job.pk)
    assert {name: getattr(found.job, name) for name in ATTNAMES} == {
        name: getattr(read, name) for name in ATTNAMES
    }
    assert found.job.start_time == started and found.job.start_time.tzinfo is not None
    assert found.submitter_name == "owner" and found.case_metadata == "error_type: Bug\n"
    assert found.tagged is True and found.device_type == "qemu"
    assert found.groups == {group.id for group in groups}
    assert found.job.get_deferred_fields() >= {"definition", "metadata"}


def test_a_plain_job_and_a_missing_one(lab, users) -> None:
    job = TestJob.objects.create(submitter=users["stranger"], definition="x")
    found = find_shown_job(job.id)
    assert found is not None and found.job.visibility == Visibility.PUBLIC
    assert (found.case_metadata, found.tagged, found.device_type) == (None, False, None)
    assert found.groups == frozenset() and found.job.health_check is False
    assert find_shown_job(job.id + 1) is None


def test_the_sql_is_written_once_per_database(lab, users) -> None:
    from lava.server.services import job_query

    job = TestJob.objects.create(submitter=users["stranger"], definition="x")
    find_shown_job(job.id)
    written = job_query._sql(connection)
    find_shown_job(job.id)
    assert job_query._sql(connection) is written
