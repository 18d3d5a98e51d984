"""Results rows from results log lines, by LAVA's rules, and LAVA's export of a case."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from lava.common import log, yamlio
from lava.server.logs.store import log_store
from lava.server.results import ingest as ingest_module
from lava.server.results.exports import export_testcase
from lava.server.results.ingest import dump_metadata, ingest
from lava.server.results.models import TestCase, TestSet, TestSuite
from lava.server.scheduler.models import TestJob

DT = "2026-01-05T10:00:30.500000+00:00"


def line(lvl: str, msg: Any) -> str:
    return log.encode(lvl, msg, DT) + "\n"


@pytest.fixture
def job(users: dict[str, User]) -> TestJob:
    return TestJob.objects.create(submitter=users["owner"], definition="job_name: x\n")


def test_test_shell_case_with_lines_and_measurement(job: TestJob) -> None:
    text = line("target", "uname -a") + line(
        "results",
        {
            "definition": "0_smoke",
            "case": "ping",
            "result": "pass",
            "measurement": 1.5,
            "units": "ms",
            "starttc": 412,
            "endtc": 415,
        },
    )
    [case] = ingest(job, 500, text)
    assert case.suite.name == "0_smoke" and case.suite.job_id == job.id
    assert (case.name, case.result, case.units) == ("ping", TestCase.Result.PASS, "ms")
    assert case.measurement == Decimal("1.5")
    assert (case.start_log_line, case.end_log_line) == (412, 415)
    stored = TestCase.objects.get(pk=case.pk)  # what the database holds is the same
    assert (stored.measurement, stored.logged, stored.suite_id) == (
        Decimal("1.5"),
        case.logged,
        case.suite_id,
    )
    assert (stored.name, stored.units, stored.start_log_line) == ("ping", "ms", 412)
    assert yamlio.load(case.metadata) == {
        "definition": "0_smoke",
        "case": "ping",
        "result": "pass",
        "measurement": 1.5,
        "units": "ms",
    }


def test_case_without_tc_lines_points_at_its_own_line(job: TestJob) -> None:
    text = line("info", "x") + line("results", {"definition": "1_t", "case": "a", "result": "fail"})
    [case] = ingest(job, 10, text)
    assert (case.start_log_line, case.end_log_line) == (11, 11)
    assert case.result == TestCase.Result.FAIL


def test_lava_suite_duration_is_a_measurement_in_seconds(job: TestJob) -> None:
    msg = {
        "definition": "lava",
        "namespace": "common",
        "case": "boot-qemu-image",
        "level": "2.1",
        "duration": "12.34",
        "result": "pass",
    }
    [case] = ingest(job, 0, line("results", msg))
    assert (case.measurement, case.units) == (Decimal("12.34"), "seconds")
    assert case.start_log_line is None  # as LAVA: action cases carry no log lines


def test_lava_yaml_line_with_tagged_float(job: TestJob) -> None:
    text = (
        '- {"dt": "2026-01-05T10:00:30.500000", "lvl": "results", "msg": {"definition": '
        '"0_smoke", "case": "speed", "result": "pass", "measurement": !!float "2.25", '
        '"units": "MB/s"}}\n'
    )
    [case] = ingest(job, 0, text.encode())
    assert case.measurement == Decimal("2.25")


def test_names_sets_and_dropped_lines(job: TestJob) -> None:
    records = [
        {"lvl": "results", "msg": {"definition": "0_t", "case": "  a\tb\x7f ", "result": "skip"}},
        {"lvl": "results", "msg": {"definition": "0_t", "case": "c", "result": "unknown"}},
        {
            "lvl": "results",
            "msg": {"definition": "0_t", "case": "s", "result": "pass", "set": "net"},
        },
        {
            "lvl": "results",
            "msg": {"definition": "0_t", "case": "x", "result": "pass", "set": "a b"},
        },
        {"lvl": "results", "msg": {"definition": "0_t", "case": "bad", "result": "maybe"}},
        {"lvl": "results", "msg": {"definition": "0_t", "result": "pass"}},
        {"lvl": "results", "msg": "not a mapping"},
        {
            "lvl": "results",
            "msg": {"definition": "0_t", "case": "m", "result": "pass", "measurement": "x"},
        },
        {"lvl": "info", "msg": {"definition": "0_t", "case": "info", "result": "pass"}},
    ]
    cases = ingest(job, 0, records)
    assert [(c.name, c.get_result_display()) for c in cases] == [
        ("a_ctrl-char_b_ctrl-char_", "skip"),
        ("c", "unknown"),
        ("s", "pass"),
        ("x", "pass"),
    ]
    assert cases[2].test_set == TestSet.objects.get(suite__job=job, name="net")
    assert cases[3].test_set is None  # not URL-safe: ignored, as LAVA does
    assert TestSuite.objects.filter(job=job).count() == 1


def test_resent_lines_are_not_doubled(job: TestJob) -> None:
    text = "".join(
        line("results", {"definition": "0_t", "case": f"c{i}", "result": "pass"}) for i in range(5)
    )
    assert len(ingest(job, 0, text)) == 5
    assert ingest(job, 0, text) == []
    more = text + line("results", {"definition": "0_t", "case": "c0", "result": "pass"})
    assert [c.start_log_line for c in ingest(job, 0, more)] == [5]  # same name, new line
    assert TestCase.objects.filter(suite__job=job).count() == 6


# Values whose text COPY would escape: tabs, newlines, backslashes, its NULL and end markers.
AWKWARD = [
    {"definition": "0_t", "case": "tab\there", "result": "pass", "units": "a\tb\\c\nd"},
    {"definition": "lava", "case": "job", "result": "pass", "duration": "3.25"},
    {"definition": "0_t", "case": "c\\N", "result": "fail", "units": "\\N", "set": "net"},
    {"definition": "0_t", "case": "\\.", "result": "skip", "measurement": -12.5, "units": "\\."},
    {"definition": "0_t", "case": "ünï 😀", "result": "pass", "note": "line 1\nline 2\r\n\\"},
    {"definition": "0_t", "case": "tc", "result": "pass", "starttc": 3, "endtc": 9},
]


def _stored(job: TestJob) -> list[tuple[Any, ...]]:
    fields = ["suite__name", "test_set__name", "name", "units", "result", "measurement"]
    fields += ["metadata", "start_log_line", "end_log_line", "log_line", "logged"]
    return list(TestCase.objects.filter(suite__job=job).order_by("log_line").values_list(*fields))


@pytest.mark.parametrize("suite_exists", [True, False])
@pytest.mark.parametrize("want_rows", [False, True])
def test_two_copies_of_a_batch_at_the_same_moment_make_each_row_once(
    transactional_db: None, users: dict[str, User], want_rows: bool, suite_exists: bool
) -> None:
    # A worker that re-sends a batch whose answer it lost can have both copies in the web
    # at once. On PostgreSQL both looked for the lines already done before either stored
    # them, and the rows were doubled in most rounds.
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's IMMEDIATE transactions take turns: the race is PostgreSQL's")
    cases = 50
    text = "".join(
        line("results", {"definition": "0_race", "case": f"c{n}", "result": "pass"})
        for n in range(cases)
    )
    for _ in range(8):
        job = TestJob.objects.create(submitter=users["owner"], definition="job_name: x\n")
        if suite_exists:  # the COPY outside a transaction (PostgreSQL, rows not wanted)
            TestSuite.objects.create(job=job, name="0_race")
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def copy(
            job: TestJob = job,
            barrier: threading.Barrier = barrier,
            errors: list[BaseException] = errors,
        ) -> None:
            try:
                barrier.wait()
                ingest(job, 1, text, want_rows=want_rows)
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=copy) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        lines = TestCase.objects.filter(suite__job=job).values_list("log_line", flat=True)
        assert sorted(lines) == list(range(1, cases + 1))


def test_the_database_refuses_a_second_row_for_a_line(job: TestJob) -> None:
    [case] = ingest(job, 7, line("results", {"definition": "0_x", "case": "a", "result": "pass"}))
    with pytest.raises(IntegrityError), transaction.atomic():
        TestCase.objects.create(suite=case.suite, name="a", result=0, log_line=7)
    TestCase.objects.create(suite=case.suite, name="b", result=0)  # no line: no limit
    TestCase.objects.create(suite=case.suite, name="c", result=0)


@pytest.mark.parametrize("copy", ["binary", "text"])
def test_rows_not_wanted_back_are_stored_as_the_others(
    users: dict[str, User], copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the worker API's batches (want_rows=False) take another way in on PostgreSQL: COPY,
    # in a transaction with the suites and sets it makes first (the first batch), else alone;
    # binary, or text when a number does not fit its column (here: any but 0)
    if copy == "text":
        monkeypatch.setattr(ingest_module, "_INTEGERS", {"integer": 1})
    first, second = (
        TestJob.objects.create(submitter=users["owner"], definition="job_name: x\n")
        for _ in range(2)
    )
    lines = [line("target", "boot"), *(line("results", msg) for msg in AWKWARD)]
    assert len(ingest(first, 0, "".join(lines))) == len(AWKWARD)
    assert ingest(second, 0, "".join(lines[:4]), want_rows=False) == []  # no events: no rows
    assert ingest(second, 4, "".join(lines[4:]), want_rows=False) == []
    assert ingest(second, 0, "".join(lines), want_rows=False) == []
    wanted, copied = _stored(first), _stored(second)
    assert len(copied) == len(AWKWARD), "a resent batch is not doubled"
    assert [row[:-1] for row in copied] == [row[:-1] for row in wanted]
    assert copied[2][:4] == ("0_t", "net", "c\\N", "\\N")
    assert copied[3][5] == Decimal("-12.5")


@pytest.mark.parametrize("want_rows", [True, False])
@pytest.mark.parametrize("big", [2**31, 2**32 + 5])
def test_a_line_number_too_big_for_the_column_is_the_result_lines_own(
    job: TestJob, want_rows: bool, big: int
) -> None:
    # PostgreSQL's integer column refused it, a 500 at every retry of the batch; a binary
    # COPY had stored 2**32 + 5 as 5. It is taken as any unusable starttc: the line itself.
    msg = {"definition": "0_t", "case": "c", "result": "pass", "starttc": big, "endtc": big}
    text = line("info", "before") + line("results", msg)
    ingest(job, 40, text, want_rows=want_rows)
    stored = TestCase.objects.filter(suite__job=job).values_list("start_log_line", "end_log_line")
    assert list(stored) == [(41, 41)]


def test_long_metadata_is_cut_to_the_essential_keys(job: TestJob) -> None:
    msg = {
        "definition": "lava",
        "case": "job",
        "result": "fail",
        "error_type": "Infrastructure",
        "error_msg": "e" * 5000,
        "other": "o" * 100,
    }
    [case] = ingest(job, 0, line("results", msg))
    assert yamlio.load(case.metadata) == {
        "case": "job",
        "definition": "lava",
        "result": "fail",
        "error_type": "Infrastructure",
        "error_msg": "e" * 256,
    }


def test_extra_goes_to_a_metadata_file(job: TestJob) -> None:
    msg = {
        "definition": "lava",
        "case": "deploy",
        "level": "1.1",
        "result": "pass",
        "extra": {"url": "http://x/kernel", "size": 3},
    }
    [case] = ingest(job, 0, line("results", msg))
    path = Path(yamlio.load(case.metadata)["extra"])
    assert path.parts[-3:] == (f"job-{job.id}", "metadata", "lava-deploy-1.1.yaml")
    kept = log_store().read_file(job.id, "metadata/lava-deploy-1.1.yaml")
    assert kept == path.read_text() and yamlio.load(kept) == {"url": "http://x/kernel", "size": 3}
    exported = export_testcase(case)
    assert exported["metadata"]["extra"] == [{"url": "http://x/kernel"}, {"size": 3}]
    assert exported["level"] == "1.1"


def test_a_batch_of_1000_lines_ingests_quickly(job: TestJob) -> None:
    text = "".join(
        line("results", {"definition": "0_t", "case": f"c{n}", "result": "pass"})
        if n % 10 == 0
        else line("target", f"output {n}")
        for n in range(1000)
    )
    ingest(job, 0, line("results", {"definition": "0_t", "case": "warm", "result": "pass"}))
    start = time.perf_counter()
    cases = ingest(job, 1, text)
    elapsed = time.perf_counter() - start
    assert len(cases) == 100
    assert elapsed < 0.5, elapsed  # a few ms in practice; generous for loaded CI hosts


SCALARS = (
    st.text(max_size=12)
    | st.sampled_from(["pass", "yes", "No", "ON", "null", "Null", "y", "0_smoke", "a-b_c", "1.2"])
    | st.sampled_from(
        ["1_000", "0x1f", "2026-01-05", "1e5", "1.5e3", "0_t", "v1.2-rc", ".5", "0o7"]
    )
    | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,10}", fullmatch=True)
    | st.integers()
    | st.floats(allow_nan=True)
    | st.booleans()
    | st.none()
)


@given(
    st.dictionaries(
        st.text(max_size=8)
        | st.sampled_from(["case", "true", "x_1", "k" * 99, "k" * 100, "k" * 200]),
        SCALARS,
    )
)
def test_dump_metadata_writes_what_the_yaml_dumper_writes(msg: dict[str, Any]) -> None:
    assert dump_metadata(msg) == yamlio.dump(msg)


def test_long_unique_values_are_not_kept_in_the_plain_scalar_cache() -> None:
    # a log may carry any number of long metadata values: the cache takes only what
    # could be a plain scalar (100 characters at most)
    from lava.server.results import ingest as module

    before = module._reads_as_str.cache_info().currsize
    for n in range(50):
        assert module._plain(f"{n:04d}" + "x" * 200) is None
    assert module._reads_as_str.cache_info().currsize == before
    assert module._plain("a-plain-value") == "a-plain-value"
