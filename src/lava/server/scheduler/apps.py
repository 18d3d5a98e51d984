from __future__ import annotations

from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "lava.server.scheduler"
    label = "scheduler"
    verbose_name = "Scheduler"
    default_auto_field = "django.db.models.BigAutoField"
