"""A live lab for the worker's end-to-end tests: real gunicorn, scheduler, lava-worker and QEMU."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from livelab import LiveLab


def make_lab(root: Path, settings: dict[str, Any] | None = None, **kwargs: Any) -> LiveLab:
    lab = LiveLab(root / "instance", port=0, settings=settings, **kwargs)
    lab.setup(say=False)
    lab.start()
    return lab


@pytest.fixture(scope="module")
def live_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLab]:
    """A lab whose worker keeps finished job directories, to compare with what lava-run wrote."""
    lab = make_lab(tmp_path_factory.mktemp("lab"), worker_options=["--keep-jobs"])
    try:
        yield lab
    finally:
        lab.stop()
