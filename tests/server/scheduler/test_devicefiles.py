"""The scheduler's caches of rendered devices: keyed by digests, bounded, and what they refuse."""

from __future__ import annotations

from typing import Any

import pytest

from lava.server.scheduler import devicefiles
from lava.server.scheduler.devicefiles import DeviceFiles, JobContextError, job_context

DEFINITION = "job_name: cached\ndevice_type: qemu\n"


def held(cache: devicefiles.DigestCache) -> int:
    """The characters a cache holds in its keys and values."""
    return sum(len(repr(key)) + len(repr(value)) for key, value in cache._items.items())


def test_caches_hold_digests_not_documents(lab, monkeypatch) -> None:
    parsed: list[str] = []

    def counting(definition: str) -> dict[str, Any]:
        parsed.append(definition)
        return job_context(definition)

    monkeypatch.setattr(devicefiles, "job_context", counting)
    devicefiles._CONTEXTS.clear()
    devicefiles._RENDERS.clear()
    big = "x" * 15_000  # within the context_size limit
    definitions = [DEFINITION + f"context: {{boot_console: '{n}{big}'}}\n" for n in range(20)]
    files = DeviceFiles()
    for definition in definitions:
        assert files.job_render_error("qemu-01", "qemu", definition) is None
    assert len(parsed) == 20  # once each: the digest said which context, the render was new
    assert held(devicefiles._CONTEXTS) < 20 * 200 and held(devicefiles._RENDERS) < 20 * 400
    parsed.clear()
    for definition in definitions:
        assert DeviceFiles().job_render_error("qemu-01", "qemu", definition) is None
    assert parsed == []  # the next passes render nothing again, and parse nothing


def test_a_cache_forgets_its_oldest_entries() -> None:
    cache = devicefiles.DigestCache(3)
    for n in range(5):
        cache.put(n, str(n))
    assert cache.get(0) is None and cache.get(1) is None
    assert cache.get(2) == "2"  # and 2 is now the freshest
    cache.put(5, "5")
    assert [cache.get(n) for n in (2, 3, 4, 5)] == ["2", None, "4", "5"]


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        (DEFINITION + "context: {a: [unclosed\n", "cannot be read"),
        (DEFINITION + "context: plain\n", "must be a mapping"),
        (DEFINITION + "context: {a: '" + "x" * 17_000 + "'}\n", "context_size"),
    ],
)
def test_job_context_refuses_what_cannot_be_rendered(definition: str, words: str) -> None:
    with pytest.raises(JobContextError, match=words):
        job_context(definition)


def test_job_context() -> None:
    assert job_context(DEFINITION) == {}
    assert job_context(DEFINITION + "context: {arch: arm64}\n") == {"arch": "arm64"}
    assert job_context(DEFINITION + "context:\n") == {}
