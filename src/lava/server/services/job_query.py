"""The query ``scheduler.jobs.show`` reads a job with, written once instead of per call.

The ORM took ~1 ms of Python to build the visibility filter, the narrowed columns and
the subqueries on each call; PostgreSQL answers in ~0.1 ms. The SQL here reads one
job's row by its primary key (the columns show needs, not the definitions) with its
submitter's name, the ``lava``/``job`` result's metadata (error_msg, error_type),
whether any tag is set, its device's type and the groups it lists: all that
``permissions.sees_job`` decides from, in the same round trip. PostgreSQL prepares
it once per connection (``lava.server.postgresql``): parsing and planning it cost more
than running it. Each row goes through the ORM's own value converters, as in
``token_query``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import connections
from django.db.models import Field

from ..postgresql import prepared_cursor
from ..results.models import TestCase, TestSuite
from ..scheduler.models import Device, TestJob
from .orm_rows import Converters, written_once

SHOWN = (
    "id", "description", "actual_device_id", "requested_device_type_id", "health_check",
    "health", "state", "submitter_id", "submit_time", "start_time", "end_time",
    "visibility", "failure_comment",
)  # fmt: skip
# in the model's order: Model.from_db fills the fields not read with "deferred" in turn
FIELDS: list[Field] = [f for f in TestJob._meta.concrete_fields if f.attname in SHOWN]
ATTNAMES = [f.attname for f in FIELDS]
CONVERTERS = Converters(TestJob, [(f, TestJob._meta.db_table) for f in FIELDS])


@dataclass
class ShownJob:
    """A job as show reads it: the row's fields (the rest deferred) and what comes with it."""

    job: TestJob
    submitter_name: str
    case_metadata: str | None  # the lava/job test case's metadata (YAML), if any
    tagged: bool
    device_type: str | None  # the actual device's type
    groups: frozenset[int]  # the viewing groups listed


def _column(model: Any, name: str, q: Callable[[str], str]) -> str:
    return q(model._meta.get_field(name).column)


@written_once
def _sql(q: Callable[[str], str], vendor: str) -> str:
    def table(model: Any) -> str:
        return q(model._meta.db_table)

    job_id = f"j.{_column(TestJob, 'id', q)}"
    viewing = TestJob.viewing_groups.through
    group_id = f"v.{_column(viewing, 'group', q)}"
    listed = (  # text: SQLite has no arrays, and both databases have a string aggregate
        f"string_agg(CAST({group_id} AS TEXT), ',')"
        if vendor == "postgresql"
        else f"group_concat({group_id}, ',')"
    )
    extras = [
        f"(SELECT u.{_column(User, 'username', q)} FROM {table(User)} u "
        f"WHERE u.{_column(User, 'id', q)} = j.{_column(TestJob, 'submitter', q)})",
        f"(SELECT c.{_column(TestCase, 'metadata', q)} FROM {table(TestCase)} c "
        f"INNER JOIN {table(TestSuite)} s "
        f"ON c.{_column(TestCase, 'suite', q)} = s.{_column(TestSuite, 'id', q)} "
        f"WHERE s.{_column(TestSuite, 'job', q)} = {job_id} "
        f"AND s.{_column(TestSuite, 'name', q)} = %s AND c.{_column(TestCase, 'name', q)} = %s "
        f"ORDER BY c.{_column(TestCase, 'id', q)} LIMIT 1)",
        f"EXISTS(SELECT 1 FROM {table(TestJob.tags.through)} t "
        f"WHERE t.{_column(TestJob.tags.through, 'testjob', q)} = {job_id})",
        f"(SELECT d.{_column(Device, 'device_type', q)} FROM {table(Device)} d "
        f"WHERE d.{_column(Device, 'hostname', q)} = j.{_column(TestJob, 'actual_device', q)})",
        f"(SELECT {listed} FROM {table(viewing)} v "
        f"WHERE v.{_column(viewing, 'testjob', q)} = {job_id})",
    ]
    columns = [f"j.{q(f.column)}" for f in FIELDS] + extras
    return f"SELECT {', '.join(columns)} FROM {table(TestJob)} j WHERE {job_id} = %s"


def find_shown_job(job_id: int, using: str = "default") -> ShownJob | None:
    """The job numbered ``job_id`` as show reads it, whoever asks; None if there is none."""
    connection = connections[using]
    with prepared_cursor(connection) as cursor:
        cursor.execute(_sql(connection), ["lava", "job", job_id])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(FIELDS)
    values, (submitter, metadata, tagged, device_type, listed) = row[:split], row[split:]
    values = CONVERTERS.row(connection, values)
    return ShownJob(
        job=TestJob.from_db(using, ATTNAMES, values),
        submitter_name=str(submitter),
        case_metadata=metadata,
        tagged=bool(tagged),
        device_type=device_type,
        groups=frozenset(int(group) for group in listed.split(",")) if listed else frozenset(),
    )
