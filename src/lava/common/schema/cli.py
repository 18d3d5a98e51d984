"""``python -m lava.common.schema``: check job definition files and print a verdict each."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from . import check_job_text

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lava.common.schema",
        description="Validate LAVA job definitions against the full job schema.",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="reject unknown keys (LAVA's web UI check); default allows them where LAVA does",
    )
    p.add_argument("--json", action="store_true", help="print {basename: {valid, error}} as JSON")
    p.add_argument("files", nargs="+", metavar="FILE", help="job definition (YAML)")
    return p


def check_file(path: str, strict: bool) -> tuple[bool, str, bool]:
    """(valid, error, readable) for one file."""
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except OSError as exc:
        return False, f"cannot read the file: {exc.strerror or exc}", False
    error = check_job_text(text, strict=strict)  # type: ignore[arg-type] - bytes work too
    return error is None, error or "", True


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit status."""
    out = out or sys.stdout
    args = parser().parse_args(argv)
    verdicts: dict[str, dict[str, object]] = {}
    status = EXIT_VALID
    for path in args.files:
        valid, error, readable = check_file(path, args.strict)
        verdicts[os.path.basename(path)] = {"valid": valid, "error": error}
        if not readable:
            status = EXIT_USAGE
            print(f"{path}: {error}", file=sys.stderr)
            continue
        if not valid and status == EXIT_VALID:
            status = EXIT_INVALID
        if not args.json:
            print(f"{path}: valid" if valid else f"{path}: invalid: {error}", file=out)
    if args.json:
        json.dump(verdicts, out, indent=2, sort_keys=True)
        out.write("\n")
    return status
