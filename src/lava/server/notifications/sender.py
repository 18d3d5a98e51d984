"""The sender: delivers what jobs owe (``Notification`` rows), outside any request, with retries.

It runs as a thread of the scheduler daemon. Each round it takes the rows
whose time has come, leases each with a compare-and-set UPDATE (so two
schedulers never send one at once), delivers it and writes down what
happened: sent, or the error and when to try again. A callback or a mail
that fails is tried again after 5 s, 10 s, 20 s... up to
``NOTIFICATION_RETRY_MAX_DELAY``, for ``NOTIFICATION_RETRY_HOURS``; an answer
that retrying cannot change (a 4xx other than 408 and 429, a refused host)
ends it at once. LAVA tries each callback once.

Delivery is at least once: a sender killed after the receiver answered and
before the row was marked sent leaves the row leased; when the lease runs
out, the next sender delivers it again. Receivers that must not count twice
can key on the job id and ``state`` in the body.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from lava import __version__

from ..scheduler.models import Notification
from ..scheduler.reasons import short, unexpected
from . import body, mail
from .outbox import notify_block

LOG = logging.getLogger("lava.server.notifications")

BATCH = 50  # rows taken per round
THREADS = 4  # deliveries at once: one slow receiver does not hold up the others
FIRST_DELAY = 5.0  # seconds before the first retry; doubles each time
RESPONSE_READ = 64 * 1024  # bytes of a receiver's answer read (and dropped)
POLL = 1.0  # seconds between rounds when nothing is due
RETRYABLE_HTTP = frozenset({408, 425, 429})
PENDING, SENT, FAILED = (
    Notification.Status.PENDING,
    Notification.Status.SENT,
    Notification.Status.FAILED,
)


class Stopper(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


class DeliveryError(Exception):
    """A delivery failed; ``final`` when trying again cannot help."""

    def __init__(self, message: str, *, final: bool = False, response: int | None = None):
        super().__init__(message)
        self.final = final
        self.response = response


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A callback goes where the job said, never where an answer points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise DeliveryError(f"HTTP {code}: redirected to {newurl}; not followed", final=True)


OPENER = urllib.request.build_opener(_NoRedirect)


def retry_delay(attempts: int, most: float) -> float:
    """Seconds to wait after ``attempts`` failed attempts: 5, 10, 20... capped at ``most``."""
    return min(FIRST_DELAY * 2 ** max(attempts - 1, 0), most)


def host_allowed(url: str, patterns: list[str]) -> bool:
    """Whether the URL's host matches CALLBACK_ALLOWED_HOSTS (any host when it is empty)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    return not patterns or any(fnmatch.fnmatch(host, pattern) for pattern in patterns)


def call_back(row: Notification) -> int:
    """Make one callback's request; its HTTP status, or DeliveryError."""
    lava = settings.LAVA
    url = row.target
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise DeliveryError(f"url {url!r} is not http or https", final=True)
    if not host_allowed(url, lava.callback_allowed_hosts):
        raise DeliveryError(f"host of {url!r} is not in CALLBACK_ALLOWED_HOSTS", final=True)
    headers = {"User-Agent": f"lava-server/{__version__}"}
    if row.token:
        headers[row.header or "Authorization"] = row.token
    data = None
    if row.method == "POST":
        payload = body.for_notification(row, lava.callback_log_max_bytes)
        body.keep(row.job_id, payload)
        if row.content_type == "json":
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        else:
            data = body.encoded(payload)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers, method=row.method or "GET")
    try:
        with OPENER.open(request, timeout=lava.callback_timeout) as answer:
            answer.read(RESPONSE_READ)
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        code = exc.code
        final = 400 <= code < 500 and code not in RETRYABLE_HTTP
        raise DeliveryError(f"HTTP {code} {exc.reason}", final=final, response=code) from None
    except DeliveryError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{type(reason).__name__}: {reason}") from None


def send_mail(row: Notification) -> None:
    """Send one recipient's mail through Django's mail backend (the EMAIL_* settings)."""
    notify = notify_block(row.job) or {}
    verbosity = str(notify.get("verbosity") or "verbose")
    message = EmailMessage(
        subject=mail.subject(row.job),
        body=mail.text(row, verbosity),
        from_email=settings.SERVER_EMAIL,
        to=[row.target],
    )
    try:
        message.send()
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None


def deliver(row: Notification) -> int | None:
    """Deliver one row by its kind; the HTTP status of a callback."""
    if row.kind == Notification.CALLBACK:
        return call_back(row)
    if row.kind == Notification.EMAIL:
        send_mail(row)
        return None
    raise DeliveryError("IRC notifications are not sent by this server", final=True)


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0
    retried: int = 0


def _due(now: datetime.datetime) -> Q:
    return Q(status=PENDING, next_attempt__lte=now) & (
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    )


def _lease(row_id: int, now: datetime.datetime) -> bool:
    """Take a row for this sender until its lease ends; False if another took it first."""
    lease = datetime.timedelta(seconds=settings.LAVA.callback_timeout * 2 + 30)
    return bool(Notification.objects.filter(_due(now), id=row_id).update(leased_until=now + lease))


def _attempt(row_id: int) -> str:
    """Lease, deliver and record one row: "sent", "retry", "failed" or "" (taken elsewhere)."""
    now = timezone.now()
    if not _lease(row_id, now):
        return ""
    row = Notification.objects.select_related("job", "job__submitter").get(id=row_id)
    fields = {"attempts": row.attempts + 1, "last_attempt": now, "leased_until": None}
    delay = 0.0
    try:
        fields["response"] = deliver(row)
    except DeliveryError as exc:
        fields["response"] = exc.response
        fields["error"] = short(str(exc))
        lava = settings.LAVA
        window = datetime.timedelta(hours=lava.notification_retry_hours)
        if exc.final or now - row.created >= window:
            fields["status"] = FAILED
            outcome = "failed"
        else:
            delay = retry_delay(row.attempts + 1, lava.notification_retry_max_delay)
            fields["next_attempt"] = now + datetime.timedelta(seconds=delay)
            outcome = "retry"
        LOG.warning(
            "job %d: %s %d to %s: attempt %d failed (%s)%s",
            row.job_id,
            row.kind,
            row.index,
            row.target,
            row.attempts + 1,
            exc,
            ", giving up" if outcome == "failed" else f", next in {delay:g} s",
        )
    except Exception as exc:  # a bug in building it: say so, keep it, try later
        fields["error"] = short(unexpected(exc))
        fields["next_attempt"] = now + datetime.timedelta(
            seconds=settings.LAVA.notification_retry_max_delay
        )
        LOG.error("job %d: %s %d: %s", row.job_id, row.kind, row.index, fields["error"])
        outcome = "retry"
    else:
        fields |= {"status": SENT, "sent": timezone.now(), "error": ""}
        outcome = "sent"
        LOG.info("job %d: %s %d sent to %s", row.job_id, row.kind, row.index, row.target)
    Notification.objects.filter(id=row_id).update(**fields)
    return outcome


def _attempt_in_thread(row_id: int) -> str:
    try:
        return _attempt(row_id)
    finally:
        connection.close()  # this thread's own; the pool's threads outlive the round


def send_due(pool: ThreadPoolExecutor | None = None) -> Outcome:
    """One round: deliver every row whose time has come (BATCH at most)."""
    ids = list(
        Notification.objects.filter(_due(timezone.now()))
        .order_by("next_attempt", "id")
        .values_list("id", flat=True)[:BATCH]
    )
    outcome = Outcome()
    if not ids:
        return outcome
    results = pool.map(_attempt_in_thread, ids) if pool is not None else map(_attempt, ids)
    for result in results:
        if result == "sent":
            outcome.sent += 1
        elif result == "failed":
            outcome.failed += 1
        elif result == "retry":
            outcome.retried += 1
    return outcome


def run(stop: Stopper, poll: float = POLL) -> None:
    """Round after round until ``stop`` is set; a database error waits and tries again."""
    LOG.info("notification sender starting (%d at once)", THREADS)
    with ThreadPoolExecutor(THREADS, thread_name_prefix="notify") as pool:
        while not stop.is_set():
            try:
                close_old_connections()
                outcome = send_due(pool)
            except DatabaseError as exc:
                LOG.error("notification sender: database error: %s", short(str(exc)))
                connection.close()
                stop.wait(poll * 5)
                continue
            if not (outcome.sent or outcome.failed or outcome.retried):
                stop.wait(poll)
    connection.close()
    LOG.info("notification sender stopped")


def start(stop: Stopper) -> threading.Thread:
    """The sender in a daemon thread of this process."""
    thread = threading.Thread(target=run, args=(stop,), name="notification-sender", daemon=True)
    thread.start()
    return thread
