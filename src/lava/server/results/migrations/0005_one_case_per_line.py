"""One case per results line: the (suite, log_line) index becomes a unique constraint.

Two copies of a log batch ingested at the same moment on PostgreSQL could each find
its lines new and both insert them; the rows so doubled (all but the first of each
line) are deleted before the constraint is made.
"""

from django.db import migrations, models

DELETE_DOUBLES = """
DELETE FROM results_testcase
WHERE log_line IS NOT NULL AND EXISTS (
    SELECT 1 FROM results_testcase older
    WHERE older.suite_id = results_testcase.suite_id
      AND older.log_line = results_testcase.log_line
      AND older.id < results_testcase.id
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0004_web_indexes"),
    ]

    operations = [
        migrations.RunSQL(DELETE_DOUBLES, migrations.RunSQL.noop),
        migrations.RemoveIndex(model_name="testcase", name="results_case_suite_line"),
        migrations.AddConstraint(
            model_name="testcase",
            constraint=models.UniqueConstraint(
                fields=("suite", "log_line"), name="results_case_suite_line"
            ),
        ),
    ]
