"""The results app's migrations: none missing, and 0005 keeps the first row of each line."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("results", "0004_web_indexes")]
AFTER = [("results", "0005_one_case_per_line")]


def test_no_model_change_lacks_its_migration(db: None) -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


def test_one_case_per_line_deletes_the_doubles_and_keeps_the_first(transactional_db: None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        apps = executor.loader.project_state(BEFORE).apps
        user = apps.get_model("auth", "User").objects.create(username="owner")
        job = apps.get_model("scheduler", "TestJob").objects.create(
            submitter=user, definition="job_name: x\n"
        )
        suite = apps.get_model("results", "TestSuite").objects.create(job=job, name="0_x")
        other = apps.get_model("results", "TestSuite").objects.create(job=job, name="1_y")
        case = apps.get_model("results", "TestCase")

        def make(name: str, line: int | None, on: object = suite) -> int:
            return case.objects.create(suite=on, name=name, result=0, log_line=line).pk

        kept = [make("first", 5), make("six", 6), make("other", 5, other)]
        kept += [make("no line", None), make("no line", None)]
        doubles = [make("second", 5), make("third", 5), make("six again", 6)]
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        apps = executor.loader.project_state(AFTER).apps
        left = set(apps.get_model("results", "TestCase").objects.values_list("pk", flat=True))
        assert left == set(kept)
        assert not left & set(doubles)
    finally:
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )
