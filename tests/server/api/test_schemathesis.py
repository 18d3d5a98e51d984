"""Property-based tests of the REST API from its own OpenAPI schema: no request may get a 500.

schemathesis generates requests for every operation of ``/api/v0.2/schema/``
(bad types, huge numbers, odd strings, wrong bodies) against a live gunicorn,
signed in with a superuser's token so that writes are tried too. The seed is
printed, so a failure can be replayed with ``schemathesis run --seed``.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import database_for_tests
from tools.livelab import LiveLab

pytestmark = pytest.mark.slow

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_no_server_errors(tmp_path: Path) -> None:
    if not SCHEMATHESIS.exists():
        pytest.fail(f"schemathesis is not installed beside {sys.executable} (make venv)")
    lab = LiveLab(tmp_path / "instance", port=0, settings=database_for_tests("lava_schemathesis"))
    lab.setup(say=False)
    try:
        lab.start(["web"])
        token = lab.manage("tokens", "add", "--user", "admin", quiet=True).stdout.split()[-1]
        seed = int(os.environ.get("LAVA_SCHEMATHESIS_SEED") or random.randrange(2**32))
        proc = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"{lab.url}api/v0.2/schema/",
                *("--checks", "not_a_server_error", "--max-examples", "25"),
                *("--seed", str(seed), "-H", f"Authorization: Token {token}"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # its .schemathesis/ cache stays out of the checkout
        )
    finally:
        lab.stop()
    failures = proc.stdout.split("FAILURES", 1)[-1].split("SUMMARY", 1)[0]
    web = lab.log_file("web").read_text(errors="replace").splitlines()
    errors = "\n".join(line for line in web if '" 500 ' in line or not line.startswith("127."))
    assert proc.returncode == 0, f"seed {seed}:\n{failures[-6000:]}\n--- web log\n{errors[-6000:]}"
    assert "passed" in proc.stdout, proc.stdout[-2000:]
