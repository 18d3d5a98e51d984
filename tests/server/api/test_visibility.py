"""One table of every entry point that shows a job, a device or a device type: XML-RPC, REST, admin.

For each entry point the test compares what a user observes of a hidden object
with what they observe of one that does not exist. Those who may not see it
(anonymous, a stranger) must get exactly the answer a missing object gets,
ids aside; those who may (its owner, an admin) must get something else.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from lava.server.results.models import TestCase
from lava.server.scheduler.models import Alias, DeviceType, GroupDeviceTypePermission, TestJob
from lava.server.scheduler.states import JobState, Visibility
from tests.support.probes import (
    DEVICE_PROBES,
    JOB_ACTIONS,
    JOB_PROBES,
    MISSING,
    Ids,
    Probe,
    Who,
    make_job,
)


def _hidden_type(lab) -> DeviceType:
    secret = DeviceType.objects.create(name="secret")
    GroupDeviceTypePermission.objects.create(
        devicetype=secret, group=Group.objects.get(name="lab"), permission="view"
    )
    lab.device("secret-01", device_type=secret)
    (lab.root / "device-types" / "secret.jinja2").write_text("{% extends 'qemu.jinja2' %}\n")
    Alias.objects.create(name="secret-alias", device_type=secret)
    return secret


def check(table: dict[str, Probe], client: Client, people: dict[str, Who], ids: Ids) -> None:
    for name, probe in table.items():
        for who in people.values():
            seen = ids.normalise(probe(client, who, ids))
            missing = MISSING.normalise(probe(client, who, MISSING))
            if who.name in ("anonymous", "stranger"):
                assert seen == missing, f"{name}: {who.name} can tell it from a missing one"
            else:
                assert seen != missing, f"{name}: {who.name} cannot see it"


@pytest.mark.parametrize("kind", ["personal", "group", "public on a hidden device type"])
def test_hidden_jobs_answer_as_missing_ones(client, users, lab, people, data_dir, kind) -> None:
    if kind == "personal":
        ids = make_job(users, lab, visibility=Visibility.PERSONAL)
    elif kind == "group":
        ids = make_job(users, lab, visibility=Visibility.GROUP)
        TestJob.objects.get(id=ids.job).viewing_groups.add(Group.objects.get(name="lab"))
    else:
        secret = _hidden_type(lab)
        ids = make_job(users, lab, requested_device_type=secret)
    check(JOB_PROBES, client, people, ids)
    for name, probe in JOB_ACTIONS.items():
        for who in (people["anonymous"], people["stranger"]):
            seen, missing = (
                ids.normalise(probe(client, who, ids)),
                MISSING.normalise(probe(client, who, MISSING)),
            )
            assert seen == missing, f"{name}: {who.name} can tell it from a missing one"
    job = TestJob.objects.get(id=ids.job)
    assert job.state == JobState.SUBMITTED and TestJob.objects.count() == 1  # nothing acted
    assert TestCase.objects.filter(suite__job=job).count() == 1


def test_hidden_devices_and_types_answer_as_missing_ones(client, lab, people) -> None:
    _hidden_type(lab)
    ids = Ids(MISSING.job, MISSING.suite, MISSING.case, "secret-01", "secret")
    check(DEVICE_PROBES, client, people, ids)
