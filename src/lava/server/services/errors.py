"""The five ways a service says no; every interface translates them in one place.

A service checks everything before it writes, so any of these means nothing
was stored. The message names what is wrong, in words an admin or a test
writer can act on; interfaces pass it on unchanged.

=========  ====================================  =======  ==========  ======
kind       meaning                               XML-RPC  REST        manage
=========  ====================================  =======  ==========  ======
missing    what was named does not exist         404      404         exit 1
refused    the caller may not do this            401/403  401/403     exit 1
invalid    the request itself is wrong           400      400         exit 1
conflict   the lab's state forbids it just now   400      409         exit 1
limit      a size, count or length is too large  400      413         exit 1
=========  ====================================  =======  ==========  ======

XML-RPC answers 400 for conflict and limit because LAVA's lavacli and scripts
know only 400, 401, 403 and 404.
"""

from __future__ import annotations


class ServiceError(ValueError):
    """A service refused; nothing was written."""

    kind = "invalid"


class Missing(ServiceError):
    """What the request names does not exist (or the caller may not know that it does)."""

    kind = "missing"


class Refused(ServiceError):
    """The caller has no right to do this; ``login`` when signing in might give it."""

    kind = "refused"

    def __init__(self, message: str, *, login: bool = False) -> None:
        super().__init__(message)
        self.login = login


class Invalid(ServiceError):
    """The request is wrong in itself: a bad name, value or document."""

    kind = "invalid"


class Conflict(ServiceError):
    """The request is fine but the lab's state forbids it now (exists already, busy, in use)."""

    kind = "conflict"


class Limit(ServiceError):
    """A size, count, depth or length is over the lab's limit."""

    kind = "limit"
