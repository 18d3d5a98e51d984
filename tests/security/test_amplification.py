"""Class 4: a small request must not make the lab hold or send a large one.

Aliases that expand a job's metadata or context, a context a device template
repeats, and rendering a device dictionary with a caller's context: each is
refused by name, nothing is stored, and the scheduler's and the web's memory
stay where they were (the figures are printed; run with ``-s`` to see them).
"""

from __future__ import annotations

import xmlrpc.client

import pytest
from stored_jobs import job_rows, store_job

from lava.common import yamlio
from tests.support.processes import children, rss

pytestmark = pytest.mark.slow

MiB = 1024 * 1024


def web_rss(lab) -> int:
    """The largest resident memory among the web server's processes."""
    master = lab.running("web")
    return max(rss(pid) for pid in [master, *children(master)])


def laughs(levels: int, width: int = 10, leaf: str = "lol") -> str:
    """A billion laughs: each level an anchored list of ``width`` aliases of the one before."""
    lines = [f"l0: &l0 ['{leaf}']"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def nested(key: str, body: str) -> str:
    """``body`` (top-level YAML lines) as the value of ``key``."""
    return f"{key}:\n" + "".join(f"  {line}\n" for line in body.splitlines())


def test_alias_heavy_jobs_are_refused_and_cost_the_scheduler_nothing(security_lab) -> None:
    lab = security_lab.lab
    scheduler = lab.running("scheduler")
    before_rss, before_rows = rss(scheduler), job_rows(lab)
    base = security_lab.quick_job()
    definition = yamlio.load(base)
    definition.pop("context", None)
    plain = yamlio.dump(definition)
    # (text, words): a 1.4 KB job that was 11 MB of metadata, a 19 KB one that was 40 MB
    attacks = [
        (plain + nested("metadata", laughs(7)), ["expanded_size"]),
        (plain + nested("metadata", laughs(3, leaf="m" * 100)), ["metadata", "metadata_size"]),
        (
            plain + "context:\n  extra_options: &a ['" + "-smp 1', '" * 2000 + "x']\n"
            "  console_device: [" + ", ".join(["*a"] * 50) + "]\n",
            ["context", "context_size"],
        ),
    ]
    rpc, rest = security_lab.rpc(), security_lab.rest()
    for text, words in attacks:
        with pytest.raises(xmlrpc.client.Fault) as refused:
            rpc.scheduler.jobs.submit(text)
        assert all(word in refused.value.faultString for word in words), refused.value
        answer = rest.post(security_lab.url + "api/v0.2/jobs/", json={"definition": text})
        assert answer.status_code == 400 and all(word in answer.text for word in words)
        assert len(answer.content) < 4096
    assert job_rows(lab) == before_rows
    after_submissions = rss(scheduler)
    # a few alias-heavy jobs an older version stored: each expands to ~1.9 MB when read
    heavy = (
        plain + "context:\n  extra_options: &a ['" + "-smp 1', '" * 2000 + "x']\n"
        "  console_device: [" + ", ".join(["*a"] * 100) + "]\n"
    )
    ids = [store_job(lab, heavy + f"# {n}\n") for n in range(5)]
    for job_id in ids:
        record = lab.wait_job(job_id, timeout=60)
        assert record["health"] == "Incomplete" and "context_size" in record["failure_comment"]
    after_heavy = rss(scheduler)
    print(
        f"\nscheduler RSS: {before_rss / MiB:.1f} MiB at first, "
        f"{after_submissions / MiB:.1f} MiB after {len(attacks) * 2} refused submissions, "
        f"{after_heavy / MiB:.1f} MiB after {len(ids)} stored alias-heavy jobs "
        f"({len(heavy) / 1024:.0f} KB each)"
    )
    assert after_heavy - before_rss < 30 * MiB
    assert lab.running("scheduler") == scheduler
    security_lab.assert_runs_jobs()
    print(f"scheduler RSS after the next job ran: {rss(scheduler) / MiB:.1f} MiB")


def test_rendering_with_a_context_needs_a_user_and_obeys_the_limits(security_lab) -> None:
    lab = security_lab.lab
    before = web_rss(lab)
    url = security_lab.url + "api/v0.2/devices/qemu-01/dictionary/"
    rest, anonymous = security_lab.rest(), security_lab.rest(None)
    rpc, anonymous_rpc = security_lab.rpc(), security_lab.rpc(None)

    # anonymous callers render as before, without a context; with one they must sign in
    assert yamlio.load(anonymous.get(url, params={"render": "true"}).text)["hostname"] == "qemu-01"
    answer = anonymous.get(url, params={"render": "true", "context": "arch: arm64"})
    assert answer.status_code in (401, 403) and "authentication" in answer.text
    with pytest.raises(xmlrpc.client.Fault) as refused:
        anonymous_rpc.scheduler.devices.get_dictionary("qemu-01", True, "arch: arm64")
    assert refused.value.faultCode == 401

    # a signed-in caller's context is a mapping of variables, as LAVA reads it
    context = "guestfs_driveid: mallorys\n"  # a variable the lab's dictionary leaves to jobs
    text = rest.get(url, params={"render": "true", "context": context}).text
    assert 'driveid: "mallorys"' in text, text
    text = rpc.scheduler.devices.get_dictionary("qemu-01", True, context).data.decode()
    assert 'driveid: "mallorys"' in text

    # over the limits: a short billion laughs (fits a URL), 30 KB of context, a large one
    bomb = laughs(9)
    answer = rest.get(url, params={"render": "true", "context": bomb})
    assert answer.status_code == 400 and "expanded_size" in answer.text, answer.text[:300]
    assert len(answer.content) < 4096
    for context, words in (
        (laughs(6, leaf="x" * 30) + "pad: '" + "p" * 29_000 + "'\n", "expanded_size"),
        ("extra_options: [" + ", ".join(["'-smp 1'"] * 3000) + "]\n", "context_size"),
        ("arch: [arm64", "not valid YAML"),
    ):
        with pytest.raises(xmlrpc.client.Fault) as refused:
            rpc.scheduler.devices.get_dictionary("qemu-01", True, context)
        assert refused.value.faultCode == 400 and words in refused.value.faultString
        assert len(refused.value.faultString) < 2048
    after = web_rss(lab)
    print(f"\nweb RSS (largest process): {before / MiB:.1f} MiB before, {after / MiB:.1f} after")
    assert after - before < 30 * MiB
    security_lab.services_alive()
