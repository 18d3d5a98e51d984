"""Output of the admin commands: aligned tables, or ``--format yaml|json`` / ``--csv``."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

from lava.common import yamlio
from lava.server.results.exports import spreadsheet_safe

FORMATS = ("table", "yaml", "json")
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline


def add_format_argument(parser: Any, csv_flag: bool = True) -> None:
    """``--format table|yaml|json`` (and LAVA's ``--csv``) on a sub-command's parser."""
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    if csv_flag:
        parser.add_argument("--csv", action="store_true", help="print comma-separated values")


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str = "table",
    csv_out: bool = False,
    title: str | None = None,
) -> str:
    """Rows (dicts) as text in the chosen format; tables keep ``columns`` in order."""
    if csv_out:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: spreadsheet_safe(_plain(row.get(c))) for c in columns})
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps(list(rows), indent=2, default=str) + "\n"
    if fmt == "yaml":
        return yamlio.dump([{k: _yaml_value(v) for k, v in row.items()} for row in rows])
    return table(rows, columns, title)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> str:
    """An aligned text table with a header line; ``(none)`` when there are no rows."""
    cells = [[_plain(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [title] if title else []
    if not rows:
        lines.append("(none)")
        return "\n".join(lines) + "\n"
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"


def details(fields: dict[str, Any], fmt: str = "table") -> str:
    """One object: ``key: value`` lines, or YAML/JSON."""
    if fmt == "json":
        return json.dumps(fields, indent=2, default=str) + "\n"
    if fmt == "yaml":
        return yamlio.dump({k: _yaml_value(v) for k, v in fields.items()})
    width = max((len(k) for k in fields), default=0)
    return "".join(f"{k.ljust(width)} : {_plain(v)}\n" for k, v in fields.items())


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | set):
        return ", ".join(_plain(v) for v in value)
    # a submitter's text (a job's description) must not drive the admin's terminal
    return CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", str(value))


def _yaml_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set):
        return [_yaml_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _yaml_value(v) for k, v in value.items()}
    return str(value)
