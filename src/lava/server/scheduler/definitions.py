"""A job's definitions and metadata as a user is shown them: secrets in clear to few.

Submission refuses ``secrets`` in a public job, but an older version stored
some, and a health check (an admin's file, queued as a public job) may hold
them. So only a job's submitter and superusers read its secrets
(``permissions.can_read_secrets``); everyone else is shown its definitions with
every secret value replaced by ``[MASKED]``, the logs' marker, wherever it
appears in the document (an alias repeats it; comments, which could too, go),
and its metadata likewise. Every interface that shows a definition calls
`shown`; resubmitting a job uses its secrets, so only those may do it.

Cheap for lists: a definition is parsed only if its text spells ``secrets``
or holds a backslash (a double-quoted key can spell it in escapes), and then
only for a viewer who may not read its secrets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lava.common import yamlio
from lava.common.log import MASK

from .models import TestJob
from .permissions import AnyUser, can_read_secrets

TEXTS = ("definition", "original_definition", "multinode_definition")
FIELDS = (*TEXTS, "metadata")
# shown instead of a definition that may hold secrets but does not parse (an older
# version's, over today's limits): it cannot be masked, so none of it is shown
UNREADABLE = f"# {MASK}: this definition may hold secrets and cannot be read to mask them\n"


def shown(job: TestJob, user: AnyUser | None) -> dict[str, Any]:
    """``job``'s definitions and metadata (the keys of FIELDS) as ``user`` may see them."""
    fields = {name: getattr(job, name) for name in FIELDS}
    if can_read_secrets(user, job):
        return fields
    texts = {fields[name] for name in TEXTS if fields[name]}  # most jobs: one text, twice
    try:
        documents = _documents(texts)
        values = _secret_values(documents)
        if not values:
            return fields
        parsed = {text: documents[text] if text in documents else _load(text) for text in texts}
        masked = {text: yamlio.dump(_masked(data, values)) for text, data in parsed.items()}
    except yamlio.YAMLError:
        return {name: UNREADABLE if fields[name] else "" for name in TEXTS} | {"metadata": {}}
    shown_texts = {name: masked.get(fields[name], fields[name]) for name in TEXTS}
    return shown_texts | {"metadata": _masked(fields["metadata"], values)}


def shown_definition(job: TestJob, user: AnyUser | None) -> str:
    """The definition as submitted (LAVA's ``definition`` answer), as ``user`` may see it."""
    fields = shown(job, user)
    return str(fields["original_definition"] or fields["definition"])


def hides_secrets(job: TestJob, user: AnyUser | None) -> bool:
    """Whether ``job`` holds secrets (or may: unreadable) that ``user`` may not read."""
    if can_read_secrets(user, job):
        return False
    try:
        return bool(_secret_values(_documents({getattr(job, name) for name in TEXTS})))
    except yamlio.YAMLError:
        return True


def _load(text: str) -> Any:
    return yamlio.load(text, "the job definition")


def _documents(texts: Iterable[str]) -> dict[str, Any]:
    """The texts that may hold secrets, parsed; YAMLError when one does not parse."""
    return {text: _load(text) for text in texts if "secrets" in text or "\\" in text}


def _secret_values(documents: dict[str, Any]) -> list[str]:
    """The values of the documents' ``secrets``, longest first (one containing another is
    masked whole)."""
    values: set[str] = set()
    for data in documents.values():
        if isinstance(data, dict) and "secrets" in data:
            values.update(_leaves(data["secrets"]))
    return sorted((value for value in values if value), key=len, reverse=True)


def _leaves(obj: Any) -> Iterable[str]:
    if isinstance(obj, dict):
        for value in obj.values():
            yield from _leaves(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _leaves(value)
    elif obj is not None:
        yield str(obj)


def _masked(obj: Any, values: list[str]) -> Any:
    """``obj`` with every secret value masked in its strings, keys included."""
    if isinstance(obj, str):
        for value in values:
            obj = obj.replace(value, MASK)
        return obj
    if isinstance(obj, dict):
        return {_masked(key, values): _masked(value, values) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_masked(value, values) for value in obj]
    if obj is not None and str(obj) in values:  # a number or date given as a secret
        return MASK
    return obj
