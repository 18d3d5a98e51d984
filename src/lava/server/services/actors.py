"""Who asks a service for a change, and through which door; what they may do.

Every service takes an ``Actor`` and decides there, not in the interface,
whether the change is allowed. An admin at the server's console (``lava-server
manage``) may do anything; everyone else needs the Django permission the
change names (superusers hold them all). The actor also signs the reasons
logged with every state change: "(by alice over XML-RPC)".
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User

from ..scheduler.reasons import LENGTH, short
from .errors import Refused

CONSOLE = "manage"
# the end of a reason Actor.signed() wrote: a person "(by alice over REST)" (the
# doors' names have no spaces) or one of the lab's own processes "(by the scheduler)"
SIGNATURE = re.compile(r" \(by (?:([^()]+) over (\S+)|the [^()]+)\)\Z")


def signer(reason: str) -> str | None:
    """Who signed ``reason`` with Actor.signed(); None for the lab's own processes and
    for reasons nobody signed (the scheduler's own changes)."""
    found = SIGNATURE.search(reason)
    return found.group(1) if found else None


def console_login() -> str:
    """Who runs the command, for the reasons logged with state changes."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry for the uid (containers): still log something
        return f"uid {os.getuid()}"


@dataclass(frozen=True)
class Actor:
    """A signed-in user, an anonymous caller, or (``user`` None) the console or the lab."""

    user: User | AnonymousUser | None
    via: str

    @classmethod
    def console(cls) -> Actor:
        """An admin at the server's console: every right, named by their login."""
        return cls(None, CONSOLE)

    @classmethod
    def lab(cls, process: str) -> Actor:
        """One of the lab's own processes (``scheduler``): every right, named by it."""
        return cls(None, process)

    @property
    def at_console(self) -> bool:
        """The console or the lab itself: no user to check (``user`` None)."""
        return self.user is None

    @property
    def signed_in(self) -> bool:
        return self.at_console or bool(self.user is not None and self.user.is_authenticated)

    @property
    def name(self) -> str:
        if self.user is None:
            return console_login() if self.via == CONSOLE else self.via
        if not self.user.is_authenticated:
            return "anonymous"
        return str(self.user.get_username())

    @property
    def is_superuser(self) -> bool:
        return self.at_console or bool(self.signed_in and getattr(self.user, "is_superuser", False))

    def signed(self, reason: str) -> str:
        """``reason`` with who gave it: "health check disabled (by alice over REST)".

        The reason is cut so that the whole fits a stored reason: the signature stays.
        """
        if self.user is None and self.via != CONSOLE:
            signature = f" (by the {self.via})"
        else:
            signature = f" (by {self.name} over {self.via})"
        return short(reason, max(LENGTH - len(signature), 10)) + signature

    def need_user(self) -> User | None:
        """The signed-in user (None at the console); Refused asking to sign in otherwise."""
        if self.user is None:
            return None
        if not self.user.is_authenticated:
            raise Refused("Authentication with user and token required for this API.", login=True)
        return self.user  # type: ignore[return-value]

    def require(self, codename: str) -> None:
        """Refused unless the actor holds ``scheduler.<codename>`` (or ``app.codename``)."""
        user = self.need_user()
        if user is None:
            return
        if not user.has_perm(codename if "." in codename else f"scheduler.{codename}"):
            raise Refused(f"Permission denied: {codename} is needed for this.")

    def require_superuser(self, what: str = "do this") -> None:
        self.need_user()
        if not self.is_superuser:
            raise Refused(f"Permission denied: only superusers may {what}.")
