"""Class 3, the scheduler's side: whatever a job holds, the daemon lives and schedules the others.

Jobs are put in the database directly, as an older version or a bug could
have left them (a queue timeout no date can hold, a context that does not
parse, is not a mapping, has keys of mixed types or is far over its limit),
and sent through submission, which refuses them. Each stored job ends
Incomplete with its reason and no device is left Reserved; the scheduler's
pid does not change and it still schedules and runs the next job.
"""

from __future__ import annotations

import time
import xmlrpc.client

import pytest
from stored_jobs import store_job

from lava.common import yamlio

pytestmark = pytest.mark.slow


def device_state(lab) -> str:
    return lab.query(
        "import json\nfrom lava.server.scheduler.models import Device\n"
        "from lava.server.scheduler.states import DeviceState\n"
        "print(json.dumps(DeviceState(Device.objects.get(hostname='qemu-01').state).label))"
    )


def with_context(security_lab, context_yaml: str) -> str:
    """The quick job with its ``context:`` replaced by raw YAML text."""
    definition = yamlio.load(security_lab.quick_job("stored by an older version"))
    definition.pop("context", None)
    return yamlio.dump(definition) + context_yaml


BOMB = (
    "context:\n  extra_options: &a ['"
    + "-smp 1', '" * 2000
    + "x']\n  guestfs_interface: ["
    + ", ".join(["*a"] * 200)
    + "]\n"
)
# (context YAML, the error type, words of the failure comment)
STORED = [
    ("context: {1: one, arch: amd64}\n", "Job", "context cannot be used"),
    ("context: [amd64, arm64]\n", "Job", "context: must be a mapping"),
    ("context: {arch: [unclosed\n", "Job", "cannot be read"),
    ("context: {arch: '" + "x" * 40_000 + "'}\n", "Job", "context_size"),
    (BOMB, "Job", "expanded_size"),
]


def test_jobs_no_check_has_seen_end_alone_and_the_daemon_lives(security_lab) -> None:
    lab = security_lab.lab
    scheduler = lab.running("scheduler")
    assert scheduler is not None
    ids = {
        # a tag no device has keeps it queued until its queue timeout is looked at
        store_job(lab, security_lab.quick_job(), ("nowhere",), queue_timeout=10**15): (
            "Job",
            "queue timeout of 1000000000000000 s cannot be used",
        ),
    }
    for context, error_type, words in STORED:
        ids[store_job(lab, with_context(security_lab, context))] = (error_type, words)
    for job_id, (error_type, words) in ids.items():
        record = lab.wait_job(job_id, timeout=60)
        assert (record["health"], record["error_type"]) == ("Incomplete", error_type), record
        assert words in record["failure_comment"] and len(record["failure_comment"]) <= 1000
        assert record["device_state"] is None, record  # nothing was reserved for it
    assert device_state(lab) == "Idle"
    assert lab.running("scheduler") == scheduler
    assert "Traceback" not in lab.log_file("scheduler").read_text(errors="replace")
    security_lab.assert_runs_jobs()
    assert lab.running("scheduler") == scheduler


def test_submission_refuses_them_and_long_but_allowed_values_run(security_lab) -> None:
    lab = security_lab.lab
    scheduler = lab.running("scheduler")
    rpc = security_lab.rpc()
    for timeouts, words in (
        ({"job": {"minutes": 5}, "queue": {"days": 10**15}}, "queue_timeout"),
        ({"job": {"minutes": 5}, "queue": {"seconds": 10**30}}, "queue_timeout"),
        ({"job": {"days": 10**6}}, "job_timeout"),
    ):
        definition = yamlio.load(security_lab.quick_job())
        definition["timeouts"].update(timeouts)
        with pytest.raises(xmlrpc.client.Fault) as refused:
            rpc.scheduler.jobs.submit(yamlio.dump(definition))
        assert words in refused.value.faultString
    for text in (with_context(security_lab, context) for context, _, _ in STORED):
        with pytest.raises(xmlrpc.client.Fault) as refused:
            rpc.scheduler.jobs.submit(text)
        assert refused.value.faultCode == 400
    # the longest queue timeout and job timeout the limits allow: scheduled and run
    definition = yamlio.load(security_lab.quick_job("long but allowed"))
    definition["timeouts"].update({"queue": {"days": 30}, "job": {"days": 7}})
    job_id = security_lab.submit(yamlio.dump(definition))
    record = security_lab.wait(job_id)
    assert record["health"] == "Complete", (record, lab.log_tail())
    time.sleep(1)  # a pass or two more
    assert lab.running("scheduler") == scheduler
