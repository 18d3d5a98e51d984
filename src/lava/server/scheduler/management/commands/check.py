"""``lava-server manage check``: Django's checks plus the instance's own (``checks.py``).

It names the configuration in use, then reports problems: data directory,
secret key file, database and migrations, dispatcher-config, device
dictionaries, templates, health checks and workers, and the files holding
secrets that this start found readable by others (and made private; one it
cannot fix stops every command with a configuration error). Exit status 1 on
errors.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, register
from django.core.checks import Warning as CheckWarning
from django.core.management.commands import check

from lava.server import privacy
from lava.server.scheduler import checks


@register(checks.TAG)
def check_private_files(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Secret files found too open at this start (the start made them private)."""
    return [
        CheckWarning(
            f"was readable by other users: {change}",
            obj="file modes",
            id="lava.W010",
            hint="files that hold secrets are made private at every start; check who read them",
        )
        for change in privacy.FIXED
    ]


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
