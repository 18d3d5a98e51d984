from __future__ import annotations

from django.db import models
from django.utils import timezone

from .job import TestJob


class Notification(models.Model):
    """One message a job owes someone: a callback to call or a mail to send (the outbox).

    Rows are written in the transaction that moves the job, so a state change
    and what it owes commit together; the sender (``lava.server.notifications``)
    delivers them afterwards, retrying callbacks with a growing delay, and
    keeps here what happened: the delivery log of the job.
    """

    CALLBACK = "callback"
    EMAIL = "email"
    IRC = "irc"
    KINDS = ((CALLBACK, "callback"), (EMAIL, "email"), (IRC, "irc"))

    class Status(models.IntegerChoices):
        PENDING = 0, "Pending"
        SENT = 1, "Sent"
        FAILED = 2, "Failed"  # given up: no more attempts

    job = models.ForeignKey(TestJob, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=8, choices=KINDS)
    index = models.IntegerField(default=0)  # the callback's or recipient's place in notify
    event = models.CharField(max_length=16)  # the job state that caused it: Running, Finished
    # the job as it was at that moment (state, health, times): what the body reports
    snapshot = models.JSONField(default=dict)
    target = models.TextField()  # the URL (placeholders filled in) or the address
    method = models.CharField(max_length=4, blank=True, default="")  # GET or POST
    dataset = models.CharField(max_length=8, blank=True, default="")
    content_type = models.CharField(max_length=12, blank=True, default="")
    header = models.CharField(max_length=64, blank=True, default="")
    # the resolved secret sent in ``header``: never shown by any interface
    token = models.TextField(blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    status = models.IntegerField(choices=Status.choices, default=Status.PENDING)
    attempts = models.IntegerField(default=0)
    next_attempt = models.DateTimeField(default=timezone.now)
    # a sender working on it until then; after, another sender may take it (at least once)
    leased_until = models.DateTimeField(null=True, blank=True)
    last_attempt = models.DateTimeField(null=True, blank=True)
    sent = models.DateTimeField(null=True, blank=True)
    response = models.IntegerField(null=True, blank=True)  # the last HTTP status
    error = models.TextField(blank=True, default="")  # why the last attempt failed

    class Meta:
        ordering = ("id",)
        indexes = (
            # the sender's scan: pending rows whose time has come
            models.Index(
                fields=["next_attempt"],
                condition=models.Q(status=0),
                name="notification_due",
            ),
        )

    def __str__(self) -> str:
        return f"job {self.job_id} {self.kind} {self.index} at {self.event}"
