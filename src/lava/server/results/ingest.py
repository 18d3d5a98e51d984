"""Results rows from the ``results`` lines of a job's log, by LAVA's rules.

The log is the source of truth: the worker API appends a batch to the job's
``output.yaml`` and passes the lines the store newly accepted here. Each
``results`` line becomes at most one ``TestCase`` (suite = ``definition``,
optional ``set``); lines without ``definition``, ``case`` and ``result`` or
with an unknown result string are dropped, as LAVA drops them. Lines already
ingested are recognised and skipped, so a caller that re-sends is harmless.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from yaml.nodes import ScalarNode

from lava.common import log, yamlio
from lava.server.events import emit
from lava.server.logs.store import log_store
from lava.server.results.models import TestCase, TestSet, TestSuite
from lava.server.scheduler.models import TestJob

logger = logging.getLogger(__name__)

RESULTS = {label: value for value, label in TestCase.Result.choices}
MAX_METADATA = 4096
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_MEASUREMENT = Decimal(10) ** 20  # DecimalField(max_digits=30, decimal_places=10)
_PLACES = Decimal("1e-10")


def results_records(first_line: int, text: str | bytes) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) of each ``results`` line in a batch of log text."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    found = []
    for offset, line in enumerate(data.split(b"\n")):
        if b"results" in line:  # cheap filter before parsing
            record = log.decode(line)
            if record.get("lvl") == "results":
                found.append((first_line + offset, record))
    return found


def ingest(
    job: TestJob,
    first_line: int,
    text_or_records: str | bytes | Sequence[Mapping[str, Any]],
    *,
    want_rows: bool = True,
) -> list[TestCase]:
    """Create the TestCase rows of a batch whose first line is log line ``first_line``.

    ``text_or_records`` is the batch's log text, or its records (one decoded
    line each, in order). Returns the rows created, in log order; with
    ``want_rows=False``, only when events are published about them (making
    them model instances took a millisecond of the worker API's batch), and
    without their ids (not read back: see `_insert_rows`).
    """
    if isinstance(text_or_records, str | bytes):
        numbered = results_records(first_line, text_or_records)
    else:
        numbered = [
            (first_line + offset, dict(record))
            for offset, record in enumerate(text_or_records)
            if record.get("lvl") == "results"
        ]
    rows = [row for number, record in numbered if (row := _row(job, number, record["msg"]))]
    if not rows:
        return []
    loaded = want_rows or emit.enabled()
    try:
        created = _store(job, rows, loaded, want_rows)
    except IntegrityError:
        # A copy of this batch, ingested at the same moment, stored some of its lines
        # first (one row per line: the (suite, log_line) constraint). It has committed
        # them, so a second look finds them done. (On SQLite, an IMMEDIATE transaction
        # makes the look and the insert one step: this is PostgreSQL's case.)
        created = _store(job, rows, loaded, want_rows)
    emit.testcases(job.id, created)
    return created


def _store(job: TestJob, rows: list[dict[str, Any]], loaded: bool, ids: bool) -> list[TestCase]:
    """The rows not stored yet, stored, all or none; inside a caller's transaction, in a
    savepoint of it, so that a refused insert (`ingest`) leaves that transaction usable."""
    if connection.vendor == "postgresql" and not ids:
        return _copy(job, rows, loaded)
    with transaction.atomic():  # all of a batch's rows or none
        return _create(job, rows, loaded, ids=ids)


def _copy(job: TestJob, rows: list[dict[str, Any]], loaded: bool) -> list[TestCase]:
    """`_create` on PostgreSQL, without ids: the rows go in by one ``COPY``, all or nothing by
    itself, so in no transaction unless a suite or a set is made first, the rows take
    more than one statement, or a caller's transaction is open (a savepoint then).

    Its BEGIN and COMMIT cost two round trips and half a millisecond of the
    web's CPU a batch. Under READ COMMITTED the transaction did not make the
    look for lines already done and the insert one step either (SQLite's
    IMMEDIATE one does): of two copies of a batch sent at once, the unique
    (suite, log_line) constraint refuses the second's rows (see `ingest`).
    """
    names = _names(rows)
    known = _known(job, names, rows)
    simple = len(rows) <= INSERT_CHUNK and not any(row["set"] for row in rows)
    if simple and len(known[0]) == len(names) and not connection.in_atomic_block:
        return _create(job, rows, loaded, ids=False, known=known)
    with transaction.atomic():  # all of a batch's rows or none
        return _create(job, rows, loaded, ids=False, known=known)


def _names(rows: list[dict[str, Any]]) -> list[str]:
    # in order of first appearance, so suite ids (the order LAVA lists them in) follow the log
    return list(dict.fromkeys(row["suite"] for row in rows))


def _create(
    job: TestJob,
    rows: list[dict[str, Any]],
    loaded: bool,
    ids: bool,
    known: tuple[dict[str, int], set[int]] | None = None,
) -> list[TestCase]:
    names = _names(rows)
    found, done = known or _known(job, names, rows)
    suites = _suites(job, names, found)
    sets = _sets(suites, {(row["suite"], row["set"]) for row in rows if row["set"]})
    return _insert([row for row in rows if row["line"] not in done], suites, sets, loaded, ids)


COLUMNS = (
    "name",
    "units",
    "result",
    "measurement",
    "metadata",
    "suite_id",
    "test_set_id",
    "start_log_line",
    "end_log_line",
    "logged",
    "log_line",
)
INSERT_CHUNK = 500  # rows a statement: 5,000 parameters, far under SQLite's 32,766
_FIELDS = ["id", *COLUMNS]  # TestCase.from_db takes the values in the model's order
if [field.attname for field in TestCase._meta.concrete_fields] != _FIELDS:
    raise ImportError("results.ingest.COLUMNS must list TestCase's fields in the model's order")
_SUITE = TestCase._meta.get_field("suite")
_SET = TestCase._meta.get_field("test_set")


def _insert(
    rows: list[dict[str, Any]],
    suites: dict[str, TestSuite],
    sets: dict[tuple[str, str], TestSet],
    loaded: bool,
    ids: bool,
) -> list[TestCase]:
    """Insert the rows, a chunk a statement; the rows as loaded from the database (none
    unless ``loaded``; with their ids only when ``ids``: INSERT ... RETURNING id).

    Five times faster than ``bulk_create``, which prepares every field of
    every row through the ORM: ingestion is most of the cost of the worker's
    log upload. The instances are made as a query makes them (``from_db``),
    their suite and set attached without a query.
    """
    now = timezone.now()
    cases = []
    for first in range(0, len(rows), INSERT_CHUNK):
        chunk = []
        for row in rows[first : first + INSERT_CHUNK]:
            suite = suites[row["suite"]]
            test_set = sets.get((row["suite"], row["set"]))
            chunk.append(
                (
                    [
                        row["name"],
                        row["units"],
                        row["result"],
                        row["measurement"],
                        row["metadata"],
                        suite.id,
                        test_set.id if test_set is not None else None,
                        row["start"],
                        row["end"],
                        now,
                        row["line"],
                    ],
                    suite,
                    test_set,
                )
            )
        pks = _insert_rows([values for values, _, _ in chunk], returning=ids)
        if not loaded:
            continue
        for (values, suite, test_set), pk in zip(chunk, pks or [None] * len(chunk), strict=True):
            case = TestCase.from_db(connection.alias, _FIELDS, [pk, *values])
            _SUITE.set_cached_value(case, suite)
            _SET.set_cached_value(case, test_set)
            cases.append(case)
    return cases


def _insert_rows(rows: list[list[Any]], returning: bool = True) -> list[int]:
    """Insert rows of COLUMNS values; their ids, in order (none unless ``returning``).

    PostgreSQL gets one array a column (``UNNEST``, as Django's ``bulk_create``
    does there): a statement with a placeholder a value is too long for
    psycopg's cache and took 7 ms a batch to split again. Without ids, it gets
    them by ``COPY``, which psycopg writes in C and the server takes without a
    plan: 100 rows took 0.2 ms of the web's CPU and 1.5 ms in all, against 1.6
    and 3.8 ms for the ``UNNEST`` statement, whose arrays psycopg quotes in
    Python. Binary, unless a number is too big for its column: psycopg's binary
    dumper wraps it (a ``starttc`` of 2**32 + 5 was stored as 5), where the
    server refuses it in text (0.4 ms more a batch), as it does in ``UNNEST``.
    """
    ops = connection.ops
    table = ops.quote_name(TestCase._meta.db_table)
    columns = ", ".join(ops.quote_name(name) for name in COLUMNS)
    measurement = COLUMNS.index("measurement")
    logged = COLUMNS.index("logged")
    rows = [list(values) for values in rows]  # the caller's values stay the model's
    stamps: dict[Any, Any] = {}  # every row of a batch has the same
    for values in rows:
        if values[measurement] is not None:
            values[measurement] = ops.adapt_decimalfield_value(values[measurement], 30, 10)
        stamp = values[logged]
        if stamp not in stamps:
            stamps[stamp] = ops.adapt_datetimefield_value(stamp)
        values[logged] = stamps[stamp]
    if connection.vendor == "postgresql":
        # "numeric(30, 10)" is "numeric" to psycopg and in an array's cast
        types = [TestCase._meta.get_field(name).db_type(connection) for name in COLUMNS]
        types = [name.split("(")[0] for name in types]
        if not returning:
            _copy_rows(table, columns, types, rows)
            return []
        arrays = ", ".join(f"(%s)::{name}[]" for name in types)
        source = f"SELECT * FROM UNNEST({arrays})"
        params = [list(column) for column in zip(*rows, strict=True)]
    else:
        marks = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(rows))
        source = f"VALUES {marks}"
        params = [value for values in rows for value in values]
    with connection.cursor() as cursor:
        if not returning:
            cursor.execute(f"INSERT INTO {table} ({columns}) {source}", params)
            return []
        cursor.execute(f"INSERT INTO {table} ({columns}) {source} RETURNING id", params)
        return [pk for (pk,) in cursor.fetchall()]


_INTEGERS = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}  # -n <= value < n


def _copy_rows(table: str, columns: str, types: list[str], rows: list[list[Any]]) -> None:
    """``COPY`` the rows into PostgreSQL: binary when every number fits its column."""
    bounds = [(at, _INTEGERS[name]) for at, name in enumerate(types) if name in _INTEGERS]
    binary = all(
        values[at] is None or -bound <= values[at] < bound
        for values in rows
        for at, bound in bounds
    )
    options = " (FORMAT BINARY)" if binary else ""
    # past Django's cursor: its errors made Django's (DataError, IntegrityError) here
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN{options}") as copy,
    ):
        if binary:
            copy.set_types(types)
        for values in rows:
            copy.write_row(values)


def _row(job: TestJob, number: int, msg: Any) -> dict[str, Any] | None:
    """The fields of one case from one results message, or None when LAVA would drop it."""
    if not isinstance(msg, Mapping):
        logger.warning("job %s line %d: results message is not a mapping", job.id, number)
        return None
    msg = dict(msg)
    starttc = msg.pop("starttc", None)
    endtc = msg.pop("endtc", None)
    if not {"definition", "case", "result"} <= msg.keys():
        logger.warning("job %s line %d: results need definition, case, result", job.id, number)
        return None
    result = RESULTS.get(str(msg["result"]))
    if result is None:
        logger.warning("job %s line %d: unknown result %r", job.id, number, msg["result"])
        return None
    suite = str(msg["definition"])[:200]
    if "extra" in msg:
        msg["extra"] = _store_extra(job, msg)
    test_set = None
    if "set" in msg:
        test_set = str(msg["set"])
        if quote(test_set) != test_set or len(test_set) > 200:
            logger.warning("job %s line %d: invalid test set %r", job.id, number, test_set)
            test_set = None
    measurement: Any = None
    units = ""
    start = end = None
    if suite == "lava":
        if "duration" in msg:
            measurement, units = msg["duration"], "seconds"
    else:
        measurement = msg.get("measurement")
        units = str(msg.get("units", ""))
        start = _line(starttc, number)
        end = _line(endtc, number)
    if measurement is not None:
        try:
            measurement = Decimal(str(measurement)).quantize(_PLACES)
            if not abs(measurement) < _MAX_MEASUREMENT:
                raise InvalidOperation
        except InvalidOperation:
            logger.warning("job %s line %d: bad measurement %r", job.id, number, measurement)
            return None
    return {
        "suite": suite,
        "set": test_set,
        "name": _CTRL.sub("_ctrl-char_", str(msg["case"]).strip()),
        "result": result,
        "measurement": measurement,
        "units": units,
        "metadata": _metadata(msg),
        "start": start,
        "end": end,
        "line": number,
    }


# the largest line number the columns hold (PostgreSQL's integer): a bigger one from a
# test's output made every retry of its batch fail with "integer out of range"
MAX_LINE = 2**31 - 1


def _line(value: Any, default: int) -> int:
    if value is None:  # most cases: no raise and catch
        return default
    try:
        line = int(value)
    except (TypeError, ValueError):
        return default
    return line if 0 <= line <= MAX_LINE else default


_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")  # long keys get "? "
_STR = "tag:yaml.org,2002:str"
_resolve = yamlio.SafeDumper(None).resolve  # type: ignore[arg-type]


def _plain_str(value: str) -> bool:
    # Plain when nothing needs quoting and it would not read back as a bool,
    # a number, null or a date: the dumper's own resolver says.
    return bool(_PLAIN.match(value)) and _reads_as_str(value)


# keys and most values repeat from one line to the next; only strings _PLAIN matched
# (100 characters at most) are kept, so a log of long unique values holds no memory
@functools.lru_cache(maxsize=4096)
def _reads_as_str(value: str) -> bool:
    return _resolve(ScalarNode, value, (True, False)) == _STR


def _plain(value: Any) -> str | None:
    """``value`` as the YAML dumper writes it, for the simple kinds only; else None."""
    if isinstance(value, str):
        return value if _plain_str(value) else None
    if type(value) is int:
        return repr(value)
    if type(value) is float:
        text = repr(value)
        return text if "." in text and "e" not in text else None
    return None


def dump_metadata(msg: Mapping[str, Any]) -> str:
    """``yamlio.dump(msg)``, ten times faster for the flat messages most results lines are."""
    out = []
    for key, value in msg.items():
        k, v = _plain(key), _plain(value)
        if k is None or v is None:
            return yamlio.dump(dict(msg))
        out.append(f"{k}: {v}\n")
    return "".join(out) if out else yamlio.dump(dict(msg))


def _metadata(msg: dict[str, Any]) -> str:
    """YAML of the message, cut down to the essential keys when over 4096 characters."""
    text = dump_metadata(msg)
    if len(text) <= MAX_METADATA:
        return text
    short = {key: msg[key] for key in ("case", "definition", "result")}
    if "error_type" in msg:
        short["error_type"] = msg["error_type"]
    text = yamlio.dump(short)
    if len(text) > MAX_METADATA:
        return ""
    if "error_msg" in msg:
        with_msg = yamlio.dump({**short, "error_msg": str(msg["error_msg"])[:256]})
        if len(with_msg) < MAX_METADATA:
            return with_msg
    return text


def _store_extra(job: TestJob, msg: dict[str, Any]) -> str | None:
    """Merge ``extra`` into ``metadata/<definition>-<case>-<level>.yaml``; return its path."""
    level = msg.get("level")
    if level is None:
        return None
    # LAVA's file name; a "/" in a name must not lead out of the job's directory.
    name = "metadata/" + f"{msg['definition']}-{msg['case']}-{level}.yaml".replace("/", "_")
    store = log_store()
    try:
        stored = store.read_file(job.id, name)
        data: Any = yamlio.load(stored) if stored is not None else None
        extra = msg["extra"]
        if isinstance(data, dict) and isinstance(extra, Mapping):
            data.update(extra)
        else:
            data = extra
        path = store.write_file(job.id, name, yamlio.dump(data))
    except (OSError, ValueError, yamlio.YAMLError) as exc:
        logger.error("job %s: unable to store results metadata %s: %s", job.id, name, exc)
        return None
    return str(path)


def _suites(job: TestJob, names: list[str], found: dict[str, int]) -> dict[str, TestSuite]:
    """The job's suites of these names: those ``found`` (name: id), the others created."""
    suites = {
        name: TestSuite.from_db(connection.alias, ["id", "job_id", "name"], [pk, job.id, name])
        for name, pk in found.items()
    }
    for name in names:
        if name not in suites:
            suites[name] = TestSuite.objects.get_or_create(job=job, name=name)[0]
    return suites


def _sets(
    suites: dict[str, TestSuite], wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], TestSet]:
    sets = {}
    for suite_name, set_name in wanted:
        sets[(suite_name, set_name)] = TestSet.objects.get_or_create(
            suite=suites[suite_name], name=set_name
        )[0]
    return sets


def _known(
    job: TestJob, names: list[str], rows: list[dict[str, Any]]
) -> tuple[dict[str, int], set[int]]:
    """The job's suites of these names (name: id), and the lines of ``rows`` that already
    have their row (index lookups between the first and the last).

    One query, in SQL: the ORM's takes longer to build than to run, and on
    PostgreSQL each query is a round trip. A suite's name is never NULL: the
    rows without one are lines.
    """
    ops = connection.ops
    case_table = ops.quote_name(TestCase._meta.db_table)
    suite_table = ops.quote_name(TestSuite._meta.db_table)
    marks = ", ".join(["%s"] * len(names))
    lines = [row["line"] for row in rows]
    first, last = min(lines), max(lines)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, name FROM {suite_table} WHERE job_id = %s AND name IN ({marks}) "
            f"UNION ALL SELECT c.log_line, NULL FROM {case_table} c JOIN {suite_table} s "
            "ON c.suite_id = s.id WHERE s.job_id = %s AND c.log_line >= %s AND c.log_line <= %s",
            [job.id, *names, job.id, first, last],
        )
        found = cursor.fetchall()
    suites = {name: pk for pk, name in found if name is not None}
    return suites, {line for line, name in found if name is None}
