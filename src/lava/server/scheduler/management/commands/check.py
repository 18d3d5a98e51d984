"""``lava-server manage check``: Django's checks plus the instance's own (``checks.py``).

It names the configuration in use, then reports problems: data directory,
secret key file, database and migrations, dispatcher-config, device
dictionaries, templates, health checks and workers. Exit status 1 on errors.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import check

from lava.server.scheduler import checks


class Command(check.Command):
    help = (
        "Check the instance: Django's system checks and LAVA's configuration checks "
        f"(tag '{checks.TAG}': settings, data directory, database, device dictionaries, "
        "templates, health checks, workers)"
    )

    def handle(self, *app_labels: Any, **options: Any) -> None:
        if not options["list_tags"]:
            fields = checks.summary()
            width = max(len(k) for k in fields)
            for key, value in fields.items():
                self.stdout.write(f"{key.ljust(width)} : {value}")
        with checks.active():
            super().handle(*app_labels, **options)
