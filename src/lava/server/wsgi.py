"""WSGI entry point: ``gunicorn lava.server.wsgi:application``."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from lava.server.privacy import private_umask

private_umask()  # job logs, kept job files, results metadata: the server's user's only
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lava.server.settings")
application = get_wsgi_application()
