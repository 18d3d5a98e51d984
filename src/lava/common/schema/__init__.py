"""Job definition validation, compatible with LAVA's full job schema.

``load_job`` turns YAML text into a mapping, ``validate_job`` checks it against
the schema (``strict`` rejects unknown keys, as LAVA does by default) and
``check_job_text`` does both and reports instead of raising.
``validate_submission`` and ``check_submission_text`` are the server's looser
check that decides whether a submitted job is accepted at all.
"""

from __future__ import annotations

from typing import Any

from lava.common.exceptions import LAVAError
from lava.common.joblimits import check_job
from lava.common.limits import LimitExceeded, RefusedValue

from .common import CONTEXT_VARIABLES
from .errors import JobSchemaError, JobSyntaxError
from .loader import load
from .submission import check_submission_text, validate_submission
from .validate import validate

__all__ = [
    "CONTEXT_VARIABLES",
    "JobSchemaError",
    "JobSyntaxError",
    "check_job_text",
    "check_submission_text",
    "load_job",
    "validate_job",
    "validate_submission",
]


def load_job(text: str) -> dict[Any, Any]:
    """Parse YAML text into a job mapping; raise ``JobSyntaxError`` with line and column."""
    return load(text)


def validate_job(
    data: dict[Any, Any],
    strict: bool = True,
    extra_context_variables: tuple[str, ...] = (),
    size: int | None = None,
) -> None:
    """Check a job mapping against the full schema and the limits; raise ``JobSchemaError``
    on the first fault.

    ``extra_context_variables`` extends the allowed ``context`` keys, like the
    server setting of the same purpose; ``size`` is the definition's length in
    bytes, when it is known.
    """
    try:
        validate(data, strict=strict, extra_context_variables=tuple(extra_context_variables))
        check_job(data, size=size)
    except JobSchemaError:
        raise
    except (LimitExceeded, RefusedValue) as exc:
        raise JobSchemaError(exc.problem, exc.where) from None
    except RecursionError:
        raise JobSchemaError("the job is nested too deeply (or refers to itself)") from None
    except LAVAError:
        # raised into the check by a signal handler (lava-run canceled as it starts, a
        # deadline): what the job's outcome must say, not a fault of the definition
        raise
    except Exception as exc:  # LAVA fails on such input too; say why
        raise JobSchemaError(f"the job cannot be checked: {type(exc).__name__}: {exc}") from None


def check_job_text(text: str, strict: bool = True) -> str | None:
    """Validate YAML text; None when the job is valid, else the error message. Never raises."""
    try:
        validate_job(load_job(text), strict=strict)
    except (JobSyntaxError, JobSchemaError) as exc:
        return str(exc)
    except Exception as exc:  # promise: report, never raise
        return f"the job cannot be checked: {type(exc).__name__}: {exc}"
    return None
