"""Live labs for the worker's end-to-end tests: real gunicorn, scheduler, lava-worker and QEMU."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.databases import fresh_postgresql
from tools.livelab import LiveLab

PG_SERVER = os.environ.get("PG_TEST_SERVER", "postgresql://postgres@127.0.0.1:5432")
PG_NAME = "lava_e2e"


def fresh_postgresql_database() -> str:
    """An empty database for one lab; skips (fails in CI) when PostgreSQL is unreachable."""
    try:
        return fresh_postgresql(PG_SERVER, PG_NAME)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL unreachable at {PG_SERVER}: {exc}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveLab]:
    """A lab on each database, whose worker keeps finished job directories to compare with."""
    settings = {}
    if request.param == "postgresql":
        settings["DATABASE_URL"] = fresh_postgresql_database()
    lab = LiveLab(
        tmp_path_factory.mktemp(f"lab-{request.param}") / "instance",
        port=0,
        settings=settings,
        worker_options=["--keep-jobs"],
    )
    with lab.running_lab():
        yield lab
