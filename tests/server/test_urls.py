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
