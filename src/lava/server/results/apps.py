from __future__ import annotations

from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "lava.server.results"
    label = "results"
    verbose_name = "Results"
    default_auto_field = "django.db.models.BigAutoField"
