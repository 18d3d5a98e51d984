from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone

from ..states import PRIORITY_DEFAULT, JobHealth, JobState, Visibility
from .device import Device
from .devicetype import DeviceType
from .tag import Tag
from .worker import Worker


class TestJob(models.Model):
    """A submitted job definition and where it is in its life."""

    __test__ = False  # not a pytest test class, despite the name LAVA gave it

    id = models.BigAutoField(primary_key=True)
    sub_id = models.CharField(max_length=200, blank=True, default="")
    target_group = models.CharField(max_length=64, null=True, blank=True, default=None)
    # PROTECT: deleting a user must never delete their jobs (deactivate them instead)
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    visibility = models.IntegerField(choices=Visibility.choices, default=Visibility.PUBLIC)
    is_public = models.BooleanField(default=True)
    viewing_groups = models.ManyToManyField(Group, blank=True, related_name="viewable_jobs")
    description = models.CharField(max_length=200, blank=True, default="")
    health_check = models.BooleanField(default=False)
    requested_device_type = models.ForeignKey(
        DeviceType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_worker = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="jobs")
    actual_device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="testjobs"
    )
    submit_time = models.DateTimeField(default=timezone.now, db_index=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    state = models.IntegerField(choices=JobState.choices, default=JobState.SUBMITTED)
    health = models.IntegerField(choices=JobHealth.choices, default=JobHealth.UNKNOWN)
    priority = models.IntegerField(default=PRIORITY_DEFAULT)
    definition = models.TextField(editable=False)
    original_definition = models.TextField(editable=False, blank=True, default="")
    multinode_definition = models.TextField(editable=False, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # Full-schema problems found at submission: shown with the job, never refusing it.
    warnings = models.JSONField(default=list, blank=True)
    queue_timeout = models.BigIntegerField(null=True, blank=True)  # seconds
    failure_comment = models.TextField(null=True, blank=True)
    error_type = models.CharField(max_length=32, blank=True, default="")
    token = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ("-id",)
        indexes = (
            # The scheduler's queue scan: queued jobs in the order they are served.
            models.Index(fields=["state", "-priority", "submit_time", "id"], name="testjob_queue"),
            # A device's jobs by state, newest first: the scheduler's busy-device check,
            # and the device pages' current and recent jobs at any number of jobs.
            models.Index(fields=["actual_device", "state", "id"], name="testjob_device_state"),
            # The job lists sorted by end time (keyset pages on (end_time, id)). Partial: a
            # job enters it once, when it ends, not on each state change before.
            models.Index(
                fields=["end_time", "id"],
                condition=models.Q(end_time__isnull=False),
                name="testjob_end_time",
            ),
            # A device type's jobs newest first: the type's page, the job lists filtered or
            # sorted by type, a test case's chart (results/history.py) on a rare type.
            models.Index(fields=["requested_device_type", "id"], name="testjob_type_id"),
            # A device's health checks newest first (lab health): only health-check rows,
            # so other jobs' writes never touch it.
            models.Index(
                fields=["actual_device", "id"],
                condition=models.Q(health_check=True),
                name="testjob_device_hc",
            ),
        )

    def __str__(self) -> str:
        return f"#{self.display_id} {self.description}"

    @property
    def display_id(self) -> str:
        return self.sub_id or str(self.id)
