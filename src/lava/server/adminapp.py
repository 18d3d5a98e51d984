"""The admin's app: Django's, its ``admin`` modules found when the web needs them.

Django's own ``AdminConfig`` imports every app's ``admin`` module at startup
(``autodiscover``): the admin's forms, the device services behind its actions, the
device dictionary's templates. That was 65 ms of a restarted web's first answer,
which is almost always a worker's or an API client's, never the admin's. The web
(`lava.server.wsgi`) calls `find_with_first_request` before Django starts: its
admin modules load with the admin's URLs (`lava.server.adminurls`), by the first
request under ``/admin/`` or the first ``reverse`` of an admin URL. Everywhere
else (``lava-server manage``, its ``check`` included, and the tests) they load at
startup, as Django's do.
"""

from __future__ import annotations

from django.contrib.admin.apps import SimpleAdminConfig

_later = False


def find_with_first_request() -> None:
    """Leave the admin modules to the admin's URLs (the web); before ``django.setup``."""
    global _later
    _later = True


class AdminConfig(SimpleAdminConfig):
    """``django.contrib.admin``, its modules found at startup unless the web leaves them
    to its first admin request."""

    def ready(self) -> None:
        super().ready()
        if not _later:
            self.module.autodiscover()
