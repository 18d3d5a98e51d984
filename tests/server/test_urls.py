"""The URL map: the REST API's and the pages' code is imported by their first request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.urls import resolve, reverse

PROBE = """
import sys
import django
django.setup()
from django.urls import resolve, reverse
resolve("/RPC2")
resolve("/healthz")
print(sorted(m for m in ("lava.server.api.rest.urls", "lava.server.web.urls",
                         "lava.server.scheduler.internal.urls") if m in sys.modules))
resolve("/scheduler/internal/v1/workers/w1/")
print("lava.server.scheduler.internal.urls" in sys.modules)
print(reverse("web:job", args=[1]), "lava.server.web.urls" in sys.modules)
"""


def test_an_api_call_after_a_start_imports_no_page(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAVA_", "DJANGO_"))}
    env |= {
        "LAVA_SETTINGS": os.devnull,
        "LAVA_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "lava.server.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["[]", "True", "/scheduler/job/1 True"]


def test_the_lazy_parts_resolve_and_reverse_as_included_ones() -> None:
    assert resolve("/api/v0.2/jobs/").url_name == "jobs-list"
    assert resolve("/scheduler/internal/v1/jobs/1/").func.__name__ == "job"
    assert resolve("/scheduler/job/1").namespace == "web"
    assert reverse("web:job", args=[1]) == "/scheduler/job/1"
    assert reverse("rest-schema") == "/api/v0.2/schema/"


WEB_PROBE = """
import io, sys, xmlrpc.client
import whitenoise.base
indexed = []  # the directories whose static files WhiteNoise has read
read = whitenoise.base.WhiteNoise.add_files
def add_files(self, root, **kw):
    indexed.append(root)
    read(self, root, **kw)
whitenoise.base.WhiteNoise.add_files = add_files
from lava.server.wsgi import application

def get(path, method="GET", body=b""):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "HTTP_HOST": "localhost", "CONTENT_TYPE": "text/xml",
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr}
    status = []
    b"".join(application(environ, lambda line, headers, exc=None: status.append(line)))
    return status[0].split()[0]

version = xmlrpc.client.dumps((), "system.version").encode()
print(get("/RPC2", "POST", version), "lava.server.scheduler.admin" in sys.modules,
      "django.contrib.auth.admin" in sys.modules, len(indexed))
print(get("/admin/login/"), "lava.server.scheduler.admin" in sys.modules)
print(get("/static/admin/css/base.css"), len(indexed) > 0)
"""


def test_a_restarted_web_answers_the_api_before_loading_the_admin(tmp_path: Path) -> None:
    # the admin's modules and the static files' index wait for their first request:
    # 40 ms of a restarted web's first answer (bench/fleet.py, cold start)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAVA_", "DJANGO_"))}
    env |= {"LAVA_SETTINGS": os.devnull, "LAVA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", WEB_PROBE], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["200 False False 0", "200 True", "200 True"]
