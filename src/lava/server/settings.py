"""Django settings, built from the typed configuration in ``lava.server.config``.

Tests and tools may set ``LAVA_DATABASE_URL`` / ``LAVA_DATA_DIR`` before Django
starts; nothing here is meant to be edited by a lab admin.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from lava.server import config, privacy
from lava.server.database import parse_database_url
from lava.server.web import vendor

LAVA = config.load()

DATA_DIR = LAVA.data_dir
# Set by ``lava-server`` for a user who may run ``check`` but not read the instance's
# data (its owner's name): no secret key is read or made, no file is touched.
UNPRIVILEGED = os.environ.get("LAVA_UNPRIVILEGED", "")
SECRET_KEY = "" if UNPRIVILEGED else config.ensure_secret_key(LAVA)
DEBUG = LAVA.debug
ALLOWED_HOSTS = LAVA.allowed_hosts

# Mail for a job's notify recipients, sent by the scheduler daemon's notification sender
SERVER_EMAIL = DEFAULT_FROM_EMAIL = LAVA.server_email
EMAIL_HOST, EMAIL_PORT = LAVA.email_host, LAVA.email_port
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = LAVA.email_host_user, LAVA.email_host_password
EMAIL_USE_TLS, EMAIL_USE_SSL = LAVA.email_use_tls, LAVA.email_use_ssl
EMAIL_TIMEOUT = 30

INSTALLED_APPS = [
    # Django's admin, its admin modules loaded by the web's first admin request
    "lava.server.adminapp.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_ratelimit",
    "lava.server.scheduler",
    "lava.server.results",
    "lava.server.web",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": (
        "lava.server.api.rest.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ),
    "DEFAULT_PERMISSION_CLASSES": ("rest_framework.permissions.IsAuthenticatedOrReadOnly",),
    "DEFAULT_PAGINATION_CLASS": "lava.server.api.rest.paging.Paging",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": (
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lava.server.api.rest.errors.handle",
    # JSON bodies are checked against the nesting and size limits as they are parsed
    "DEFAULT_PARSER_CLASSES": (
        "lava.server.api.rest.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "LAVA REST API",
    "VERSION": "v0.2",
    "DESCRIPTION": "LAVA's REST API v0.2: jobs, devices, device types, workers, tags, aliases.",
    "SERVE_INCLUDE_SCHEMA": False,
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # gunicorn serves the admin's CSS and scripts itself (WhiteNoise, its index of the
    # files made by the first request for one); no extra web server needed
    "lava.server.static.StaticFiles",
    "lava.server.api.nul.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # the web pages: a service's refusal as an error page, and their security headers
    "lava.server.web.errors.PageErrors",
]

# The web pages' sign-in (LAVA's URLs); the admin keeps its own.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

ROOT_URLCONF = "lava.server.urls"
WSGI_APPLICATION = "lava.server.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": parse_database_url(LAVA.effective_database_url(), base=DATA_DIR)}
# every start: files that hold secrets are private (too open: fixed, or refused if not ours)
if not UNPRIVILEGED:
    privacy.secure(
        LAVA, DATABASES["default"]["NAME"] if "sqlite" in DATABASES["default"]["ENGINE"] else None
    )
if "sqlite" in DATABASES["default"]["ENGINE"]:
    # DRF imports django.contrib.postgres whenever psycopg is installed, and with it
    # psycopg: ~10 MB in each web process of a SQLite lab, which never uses either.
    # Marked absent, DRF goes without, as on a host without psycopg.
    sys.modules.setdefault("django.contrib.postgres.fields", None)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = LAVA.time_zone
USE_I18N = False
USE_TZ = True

# Sign-in attempts are counted (lava.server.ratelimits) in a cache every gunicorn process
# of the host shares: diskcache keeps it in SQLite files under DATA_DIR, increments it
# atomically and needs no service (memcached, Redis) on the box.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {
        "BACKEND": "diskcache.DjangoCache",
        "LOCATION": str(DATA_DIR / "cache" / "ratelimit"),
        "SHARDS": 1,
        "DATABASE_TIMEOUT": 1.0,
        "OPTIONS": {"size_limit": 64 * 1024 * 1024},
    },
}
RATELIMIT_USE_CACHE = "ratelimit"
# django-ratelimit knows memcached and Redis; diskcache's increments are atomic too
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if UNPRIVILEGED:  # `check` as another user: the files are not readable, nothing is counted
    CACHES["ratelimit"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

STATIC_URL = "static/"
STATIC_ROOT = str(DATA_DIR / "static")  # filled by `lava-server manage collectstatic`
# Serve assets straight from the apps too, so a fresh instance has a styled admin
# before (or without) collectstatic.
WHITENOISE_USE_FINDERS = True
# The pages' CSS framework and charting library, from Debian's libjs packages
# (lava.server.web.vendor): served by the lab itself, never from the internet.
STATICFILES_DIRS = vendor.static_dirs()
with contextlib.suppress(OSError):  # a read-only data dir only costs the warm-up
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # one bounded record per error (type, message, last frames): a request nested a
        # thousand levels deep must not write a 200 KB traceback
        "plain": {
            "()": "lava.server.logformat.BoundedFormatter",
            "format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "lava": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # a 500 belongs in the web server's log, DEBUG or not
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
