from __future__ import annotations

from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "lava.server.scheduler"
    label = "scheduler"
    verbose_name = "Scheduler"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # `lava-server manage check` runs the instance's sanity checks (see checks.py)
        from . import checks

        checks.register_all()
