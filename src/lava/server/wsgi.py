"""WSGI entry point: ``gunicorn lava.server.wsgi:application``."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from lava.server.adminapp import find_with_first_request
from lava.server.bodies import DrainUnreadBody, body_limit
from lava.server.privacy import private_umask

private_umask()  # job logs, kept job files, results metadata: the server's user's only
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lava.server.settings")
find_with_first_request()  # the admin's modules: by the first admin request
django_application = get_wsgi_application()
# what a view leaves of a request body is read, so the front's connection stays open
application = DrainUnreadBody(
    django_application,
    body_limit(int(settings.LAVA.max_job_size), settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
)
