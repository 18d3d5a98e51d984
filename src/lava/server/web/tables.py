"""What every list page shares: bounded query parameters, sorting and keyset pages.

A list is ordered by one sort key and then by ``id`` (so the order is total),
and a page is the rows after (or before) a cursor: the sort value and id of
the row a link was made from. The database seeks straight to the cursor
through an index on ``(key, id)``, so the millionth row costs what the first
does; there is no OFFSET and no COUNT over the table.

A NULL sort value (a job that has not ended) is read as greater than every
value, which is PostgreSQL's own order for a b-tree, so its indexes serve both
directions. Each page is fetched in up to two simple queries, one over the
rows with a value and one over the NULLs, rather than one query with an OR
that no index could serve.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from lava.server.services import Invalid

DEFAULT_LENGTH = 25
MAX_LENGTH = 100
MAX_PARAM = 200  # characters in any filter value: the longest name the lab stores
MAX_CURSOR = 600
MAX_ID = 2**63 - 1

M = TypeVar("M", bound=Model)


def param(request: HttpRequest, name: str, limit: int = MAX_PARAM) -> str:
    """Query parameter ``name`` stripped ("" when absent); refused when long or holding NUL."""
    value = request.GET.get(name, "")
    if "\x00" in value:
        raise Invalid(f"{name}: NUL characters are not allowed")
    if len(value) > limit:
        raise Invalid(f"{name}: at most {limit} characters, got {len(value)}")
    return value.strip()


def length(request: HttpRequest) -> int:
    """Rows a page shows: ``?length=`` from 1 to MAX_LENGTH, DEFAULT_LENGTH when absent."""
    text = param(request, "length", 8)
    if not text:
        return DEFAULT_LENGTH
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LENGTH:
        raise Invalid(f"length: a whole number from 1 to {MAX_LENGTH}, not {text!r}")
    return int(text)


@dataclass(frozen=True)
class SortKey:
    """A column a list may be ordered by: its model field and the kind of its values."""

    name: str  # as in ?sort=name or ?sort=-name
    field: str
    kind: type = int  # int, str or datetime
    nullable: bool = False
    values: tuple[Any, ...] = ()  # a small enumeration: each value read as a run of its own


@dataclass(frozen=True)
class Ordering:
    """A sort key and a direction; ``id`` breaks ties in the same direction."""

    key: SortKey
    descending: bool

    @property
    def token(self) -> str:
        return ("-" if self.descending else "") + self.key.name

    def reversed(self) -> Ordering:
        return Ordering(self.key, not self.descending)


def ordering(request: HttpRequest, keys: dict[str, SortKey], default: str) -> Ordering:
    """``?sort=[-]name`` among ``keys`` (or ``default``); anything else is refused."""
    text = param(request, "sort", 64) or default
    name = text.removeprefix("-")
    if name not in keys:
        names = ", ".join(sorted(keys))
        raise Invalid(f"sort: {text!r} is not a sortable column; use one of {names}")
    return Ordering(keys[name], text.startswith("-"))


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: the sort value and id of the row next to it."""

    value: Any
    pk: int


def encode_cursor(order: Ordering, row: Model) -> str:
    value = getattr(row, order.key.field)
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([order.token, value, row.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, order: Ordering) -> Cursor:
    """The cursor of a Next/Previous link; Invalid for anything this code did not write."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        token, value, pk = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise Invalid("the page link is damaged; start again from the first page") from error
    if token != order.token:
        raise Invalid("the page link belongs to another sort order; start from the first page")
    if type(pk) is not int or not 0 <= pk <= MAX_ID:
        raise Invalid("the page link names no row; start again from the first page")
    return Cursor(_value(value, order.key), pk)


def _value(value: Any, key: SortKey) -> Any:
    if value is None and key.nullable:
        return None
    if key.kind is int and type(value) is int and abs(value) <= MAX_ID:
        return value
    text = isinstance(value, str) and len(value) <= MAX_PARAM and "\x00" not in value
    if key.kind is str and text:
        return value
    if key.kind is datetime and isinstance(value, str) and len(value) <= 40:
        try:
            when = datetime.fromisoformat(value)
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):  # not a time, or out of the databases' range
            pass
    raise Invalid("the page link holds a value of the wrong kind; start from the first page")


@dataclass(frozen=True)
class Segment:
    """A run of the order that one simple query reads: the rows matching ``where``."""

    mark: Any  # which cursors fall in it: the enumerated value, or whether the value is NULL
    where: Q
    by_value: bool  # ordered by (value, id); else by id alone


def _segments(order: Ordering) -> list[Segment]:
    """The runs of the order, first to last.

    Nullable key: rows with a value, then the NULLs (largest, so last when
    ascending). Enumerated key (a job's state, the lab's device types): one
    run per value (and the NULLs), each read by id, so no index on (key, id)
    is needed. Else a single run.
    """
    key = order.key
    if key.values:
        runs = [Segment(v, Q(**{key.field: v}), False) for v in sorted(key.values)]
        if key.nullable:
            runs.append(Segment(None, Q(**{f"{key.field}__isnull": True}), False))
        return runs[::-1] if order.descending else runs
    if not key.nullable:
        return [Segment(None, Q(), key.field != "id")]
    runs = [Segment(False, Q(**{f"{key.field}__isnull": False}), True)]
    runs.append(Segment(True, Q(**{f"{key.field}__isnull": True}), False))
    return runs[::-1] if order.descending else runs


def _mark(order: Ordering, cursor: Cursor) -> Any:
    """The mark of the segment ``cursor`` falls in."""
    if order.key.values:
        return cursor.value
    return (cursor.value is None) if order.key.nullable else None


def _runs(order: Ordering, cursor: Cursor | None, segment: Segment, first: bool) -> list[Q]:
    """The queries that read ``segment`` after ``cursor`` (``first``: the cursor's segment).

    Past a cursor with a value, two runs: the cursor value's remaining ids,
    then the values beyond it. Each has only index conditions; one query with
    ``value < v OR (value = v AND id < n)`` reads every row of ``v`` first.
    """
    if cursor is None or not first:
        return [segment.where]
    direction = "lt" if order.descending else "gt"
    pk_after = Q(**{f"id__{direction}": cursor.pk})
    if not segment.by_value:
        return [segment.where & pk_after]
    name = order.key.field
    same = Q(**{name: cursor.value}) & pk_after
    return [same, Q(**{f"{name}__{direction}": cursor.value})]


def _fetch(queryset: QuerySet[M], order: Ordering, cursor: Cursor | None, count: int) -> list[M]:
    """Up to ``count`` rows in ``order`` after ``cursor`` (from the start when None)."""
    sign = "-" if order.descending else ""
    segments = _segments(order)
    if cursor is not None:
        marks = [segment.mark for segment in segments]
        if _mark(order, cursor) not in marks:
            raise Invalid(
                "the page link holds a value of the wrong kind; start from the first page"
            )
        segments = segments[marks.index(_mark(order, cursor)) :]
    rows: list[M] = []
    for n, segment in enumerate(segments):
        for i, where in enumerate(_runs(order, cursor, segment, n == 0)):
            by_value = segment.by_value and not (cursor is not None and n == 0 and i == 0)
            keys = [f"{sign}{order.key.field}", f"{sign}id"] if by_value else [f"{sign}id"]
            rows.extend(queryset.filter(where).order_by(*keys)[: count - len(rows)])
            if len(rows) >= count:
                return rows
    return rows


@dataclass
class Page(Generic[M]):
    """One page of rows and the cursors of the pages around it (None: no such page)."""

    rows: list[M]
    order: Ordering
    next: str | None = None
    previous: str | None = None
    first: bool = True  # no page before this one


def page(request: HttpRequest, queryset: QuerySet[M], order: Ordering, size: int) -> Page[M]:
    """The page ``?after=`` or ``?before=`` a cursor asks for (the first page without one)."""
    after, before = param(request, "after", MAX_CURSOR), param(request, "before", MAX_CURSOR)
    if after and before:
        raise Invalid("give either after= or before=, not both")
    if before:
        rows = _fetch(queryset, order.reversed(), decode_cursor(before, order), size + 1)
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        # an empty page before a cursor (its rows were deleted) still links to the first page
        result = Page(rows, order, first=not more_before and bool(rows))
        result.next = encode_cursor(order, rows[-1]) if rows else None
        result.previous = encode_cursor(order, rows[0]) if rows and more_before else None
        return result
    cursor = decode_cursor(after, order) if after else None
    rows = _fetch(queryset, order, cursor, size + 1)
    result = Page(rows[:size], order, first=cursor is None)
    if len(rows) > size:
        result.next = encode_cursor(order, rows[size - 1])
    if cursor is not None and result.rows:
        result.previous = encode_cursor(order, result.rows[0])
    return result


def query(request: HttpRequest, **changes: str | None) -> str:
    """This page's query string with ``changes`` (None removes a parameter); '?...' or ''."""
    params = {k: v for k, v in request.GET.items() if k not in changes}
    params.update({k: v for k, v in changes.items() if v})
    return "?" + urlencode(params) if params else ""


@dataclass(frozen=True)
class Header:
    """A column heading: its label and, when sortable, the link that sorts by it."""

    label: str
    href: str = ""
    sorted: bool = False
    ascending: bool = False


def header(request: HttpRequest, label: str, key: str | None, order: Ordering) -> Header:
    """The heading of a column; clicking a sorted one flips its direction."""
    if key is None:
        return Header(label)
    on = order.key.name == key
    flipped = ("" if order.descending else "-") + key
    wanted = flipped if on else "-" + key
    href = query(request, sort=wanted, after=None, before=None)
    return Header(label, href or "?", on, on and not order.descending)


@dataclass(frozen=True)
class Cell:
    """One table cell; ``html`` escapes every part (a page has thousands of cells, and
    building them here costs a tenth of what a template loop over their parts does)."""

    text: str = ""
    href: str = ""
    css: str = ""
    time: datetime | None = None  # shown in UTC, with the reader's local time as tooltip

    def html(self) -> str:
        if self.time is not None:
            when = timezone.localtime(self.time)
            inner = f'<time datetime="{when.isoformat()}">{when:%Y-%m-%d %H:%M:%S}</time>'
        elif self.href:
            inner = f'<a href="{escape(self.href)}">{escape(self.text)}</a>'
        else:
            inner = escape(self.text)
        css = f' class="{escape(self.css)}"' if self.css else ""
        return f"<td{css}>{inner}</td>"


def row_html(cells: list[Cell]) -> SafeString:
    """A table row's cells as HTML, every value escaped."""
    return mark_safe("".join(cell.html() for cell in cells))
