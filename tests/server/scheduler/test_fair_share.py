"""Fair share: the order of queued jobs of one priority, in memory and over real passes.

The simulation runs scheduler passes on real rows (no QEMU): jobs end through
``transitions`` as a worker would end them, and every assignment is counted.
"""

from __future__ import annotations

import datetime
import os
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from lava.server import config
from lava.server.config import ConfigurationError
from lava.server.scheduler import transitions
from lava.server.scheduler.fair_share import Shares, fair_order, service_order, share_names
from lava.server.scheduler.matching import QueuedJob, queued_jobs
from lava.server.scheduler.models import Device, TestJob, Worker
from lava.server.scheduler.scheduling import schedule_pass
from lava.server.scheduler.states import DeviceHealth, JobHealth, JobState

DEFINITION = "job_name: queued\ndevice_type: qemu\n"
A, B, C = 1, 2, 3
SHARES = Shares(of={A: "user:a", B: "user:b", C: "user:c"})


def q(job_id: int, submitter: int, priority: int = 50, **fields: Any) -> QueuedJob:
    """A queued job as ``matching.queued_jobs`` gives it."""
    return QueuedJob(
        job_id,
        fields.get("device_type", "qemu"),
        None,
        None,
        submitter,
        frozenset(),
        priority,
        fields.get("health_check", False),
    )


def ids(jobs: list[QueuedJob]) -> list[int]:
    return [job.id for job in jobs]


# In memory: the order alone


def test_equal_shares_take_turns_oldest_first() -> None:
    jobs = [q(1, A), q(2, A), q(3, A), q(4, B), q(5, B)]
    assert ids(fair_order(jobs, SHARES)) == [1, 4, 2, 5, 3]


def test_busy_jobs_count_against_their_share() -> None:
    jobs = [q(1, A), q(2, A), q(3, B), q(4, B)]
    shares = Shares(of=SHARES.of, busy={("qemu", "user:a"): 2})
    assert ids(fair_order(jobs, shares)) == [3, 4, 1, 2]


def test_higher_priority_always_first_and_counts_towards_the_lower() -> None:
    jobs = [q(3, B, 100), q(1, A), q(2, A)]  # LAVA's order: priority first
    shares = Shares(of=SHARES.of, busy={("qemu", "user:b"): 5})
    assert ids(fair_order(jobs, shares)) == [3, 1, 2]  # B holds more, yet goes first
    jobs = [q(1, B, 100), q(2, A), q(3, A), q(4, A), q(5, B)]
    # B's urgent job counts for B in the lower band: without it, 5 would come second
    assert ids(fair_order(jobs, SHARES)) == [1, 2, 3, 5, 4]


def test_health_checks_first_in_queue_order() -> None:
    jobs = [q(1, A, 0, health_check=True), q(2, A, 0, health_check=True), q(3, B), q(4, A)]
    shares = Shares(of=SHARES.of, busy={("qemu", "user:b"): 3})
    assert ids(fair_order(jobs, shares)) == [1, 2, 4, 3]


def test_weights_give_a_share_more_turns() -> None:
    jobs = [q(n, A) for n in range(1, 7)] + [q(n, B) for n in range(7, 13)]
    shares = Shares(of=SHARES.of, weights={"user:a": 2.0})
    first = fair_order(jobs, shares)[:9]
    assert [job.submitter for job in first].count(A) == 6
    shares = Shares(of=SHARES.of, weights={"user:b": 0.5})
    assert ids(fair_order(jobs, shares)[:3]) == [1, 7, 2]


def test_device_types_are_shared_apart() -> None:
    jobs = [q(1, B), q(2, A), q(3, A, device_type="arm"), q(4, B, device_type="arm")]
    shares = Shares(of=SHARES.of, busy={("arm", "user:b"): 9})
    # B's busy arm boards do not hold back its qemu job; types take turns
    assert ids(fair_order(jobs, shares)) == [1, 3, 2, 4]


def test_the_order_is_deterministic() -> None:
    jobs = [q(n, (A, B, C)[n % 3], (50, 100)[n % 2]) for n in range(60)]
    jobs.sort(key=lambda j: -j.priority)  # LAVA's order: priority, then submission (id)
    busy = {("qemu", "user:a"): 3, ("qemu", "user:c"): 1, ("qemu", "user:b"): 0}
    first = ids(fair_order(jobs, Shares(of=SHARES.of, busy=busy)))
    reordered = Shares(of=dict(reversed(SHARES.of.items())), busy=dict(reversed(busy.items())))
    assert ids(fair_order(jobs, reordered)) == first
    assert ids(fair_order(list(jobs), Shares(of=SHARES.of, busy=busy))) == first
    assert sorted(first) == sorted(ids(jobs))


def test_lava_order_is_the_queue_order(settings, monkeypatch) -> None:
    monkeypatch.setattr(settings.LAVA, "scheduler_order", "lava")
    jobs = [q(1, A), q(2, A), q(3, B)]
    assert service_order(jobs) == jobs


# Over real passes


def _queue(user: User, n: int, start: datetime.datetime, **fields: Any) -> list[int]:
    """``n`` Submitted jobs of ``user``, one microsecond apart from ``start``."""
    jobs = TestJob.objects.bulk_create(
        TestJob(
            submitter=user,
            requested_device_type_id="qemu",
            definition=DEFINITION,
            submit_time=start + datetime.timedelta(microseconds=i),
            **fields,
        )
        for i in range(n)
    )
    return [job.id for job in jobs]


def _simulate(lab: Any, a_jobs: int, finish: int, stop: Any) -> tuple[list[int], list[int]]:
    """A queues ``a_jobs``, a pass fills the 10 devices, then B queues 10; then each
    round ``finish`` running jobs end (longest running first) and a pass runs.

    Returns B's jobs and the jobs assigned after B queued, in order, until ``stop``.
    """
    for n in range(3, 11):
        lab.device(f"qemu-{n:02d}")
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    start = timezone.now() - datetime.timedelta(hours=1)
    _queue(alice, a_jobs, start)
    running = deque(job_id for job_id, _ in schedule_pass().assigned)
    assert len(running) == 10
    b_jobs = _queue(bob, 10, start + datetime.timedelta(minutes=30))
    assigned: list[int] = []
    while not stop(assigned):
        # the worker pings as a real one would: a slow machine took the rounds past
        # WORKER_OFFLINE_TIMEOUT and the pass sent the worker offline
        Worker.objects.filter(pk=lab.worker.pk).update(last_ping=timezone.now())
        for job in TestJob.objects.filter(id__in=[running.popleft() for _ in range(finish)]):
            transitions.job_running(job)
            transitions.job_finished(job, JobHealth.COMPLETE, reason="the test ended it")
        report = schedule_pass()
        assert report.assigned, "nothing assigned with devices free and jobs queued"
        assigned.extend(job_id for job_id, _ in report.assigned)
        running.extend(job_id for job_id, _ in report.assigned)
    return b_jobs, assigned


@pytest.mark.parametrize("finish", [1, 3, 10])
def test_a_small_submitter_starts_within_20_assignments(lab, finish) -> None:
    b_jobs, assigned = _simulate(lab, 2000, finish, lambda done: len(done) >= 40)
    starts = [assigned.index(job_id) + 1 for job_id in b_jobs]
    assert max(starts) <= 20, f"B's jobs started at assignments {starts}"
    assert TestJob.objects.filter(state=JobState.SUBMITTED).count() == 2010 - 10 - len(assigned)


def test_with_lava_order_the_small_submitter_waits_for_all(lab, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings.LAVA, "scheduler_order", "lava")
    a_jobs = 2000
    b_jobs, assigned = _simulate(lab, a_jobs, 10, lambda done: len(done) > a_jobs - 10)
    first_b = min(assigned.index(job_id) for job_id in b_jobs if job_id in assigned)
    # every one of A's jobs was assigned (10 of them before B queued) before B's first
    assert first_b == a_jobs - 10


def test_weights_in_a_pass(lab, settings, monkeypatch) -> None:
    lab.device("qemu-03")
    lab.device("qemu-04")
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    start = timezone.now() - datetime.timedelta(hours=1)
    monkeypatch.setattr(settings.LAVA, "fair_share_weights", {"user:alice": 3.0})
    a_jobs = _queue(alice, 10, start)
    b_jobs = _queue(bob, 10, start + datetime.timedelta(minutes=1))
    assigned = {job_id for job_id, _ in schedule_pass().assigned}
    assert (len(assigned & set(a_jobs)), len(assigned & set(b_jobs))) == (3, 1)


def test_priority_wins_over_fair_share_in_a_pass(lab) -> None:
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    start = timezone.now() - datetime.timedelta(hours=1)
    (running,) = _queue(alice, 1, start)
    assert [job_id for job_id, _ in schedule_pass().assigned] == [running]
    waiting = _queue(bob, 1, start + datetime.timedelta(minutes=1))
    urgent = _queue(alice, 1, start + datetime.timedelta(minutes=2), priority=100)
    # alice holds a device and bob none, but alice's job is of higher priority
    assert [job_id for job_id, _ in schedule_pass().assigned] == urgent
    assert TestJob.objects.get(id=waiting[0]).state == JobState.SUBMITTED


def test_a_listed_group_is_one_share(users) -> None:
    ci = Group.objects.create(name="ci")
    night = Group.objects.create(name="night")
    a, b, c = (User.objects.create_user(name) for name in ("a", "b", "c"))
    for user in (a, b):
        user.groups.add(ci, night)
    c.groups.add(night)
    weights = {"group:night": 1.0, "group:ci": 2.0, "user:b": 1.0}
    of = share_names([a.pk, b.pk, c.pk, users["owner"].pk], weights)
    assert of == {
        a.pk: "group:night",  # the first group listed that a is in
        b.pk: "user:b",  # listed by name: a share of its own
        c.pk: "group:night",
        users["owner"].pk: "user:owner",  # group "lab" is not listed
    }


def test_busy_jobs_of_a_group_count_for_every_member(lab, settings, monkeypatch) -> None:
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.MAINTENANCE)
    ci = Group.objects.create(name="ci")
    a, b, c = (User.objects.create_user(name) for name in ("a", "b", "c"))
    a.groups.add(ci)
    b.groups.add(ci)
    monkeypatch.setattr(settings.LAVA, "fair_share_weights", {"group:ci": 1.0})
    start = timezone.now() - datetime.timedelta(hours=1)
    (running,) = _queue(a, 1, start)
    schedule_pass()
    transitions.job_running(TestJob.objects.get(id=running))
    later = _queue(b, 1, start + datetime.timedelta(minutes=1))
    latest = _queue(c, 1, start + datetime.timedelta(minutes=2))
    order = service_order(queued_jobs(["qemu"]))
    assert ids(order) == latest + later  # a's running job counts for b: c goes first


# Settings: SCHEDULER_ORDER and FAIR_SHARE_WEIGHTS


def _load(tmp_path: Path, yaml: str = "", **env: str) -> config.Settings:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml)
    return config.load({"LAVA_SETTINGS": str(path), **env})


def test_settings_defaults_and_both_forms(tmp_path) -> None:
    settings = config.load({"LAVA_SETTINGS": os.devnull})
    assert (settings.scheduler_order, settings.fair_share_weights) == ("fair", {})
    settings = _load(tmp_path, "SCHEDULER_ORDER: lava\nFAIR_SHARE_WEIGHTS:\n  user:alice: 2\n")
    assert (settings.scheduler_order, settings.fair_share_weights) == ("lava", {"user:alice": 2})
    settings = _load(tmp_path, LAVA_FAIR_SHARE_WEIGHTS="user:alice=2, group:ci=0.5")
    assert settings.fair_share_weights == {"user:alice": 2.0, "group:ci": 0.5}


@pytest.mark.parametrize(
    ("yaml", "env", "message"),
    [
        ("SCHEDULER_ORDER: fifo\n", "", "SCHEDULER_ORDER must be one of fair, lava, not 'fifo'"),
        ("FAIR_SHARE_WEIGHTS: [alice]\n", "", "FAIR_SHARE_WEIGHTS must be a mapping"),
        ("FAIR_SHARE_WEIGHTS: 3\n", "", "FAIR_SHARE_WEIGHTS must be a mapping"),
        ("FAIR_SHARE_WEIGHTS: {alice: 2}\n", "", "'alice' must be user:NAME or group:NAME"),
        ("FAIR_SHARE_WEIGHTS: {'group:': 2}\n", "", "'group:' must be user:NAME or group:NAME"),
        ("FAIR_SHARE_WEIGHTS: {user:a: 0}\n", "", "weight of 'user:a' must be a number > 0"),
        ("FAIR_SHARE_WEIGHTS: {user:a: -1}\n", "", "weight of 'user:a' must be a number > 0"),
        ("FAIR_SHARE_WEIGHTS: {user:a: .inf}\n", "", "weight of 'user:a' must be a number > 0"),
        ("FAIR_SHARE_WEIGHTS: {user:a: .nan}\n", "", "weight of 'user:a' must be a number > 0"),
        ("FAIR_SHARE_WEIGHTS: {user:a: lots}\n", "", "weight of 'user:a' must be a number"),
        ("FAIR_SHARE_WEIGHTS: {user:a: true}\n", "", "weight of 'user:a' must be a number"),
        ("FAIR_SHARE_WEIGHTS: {user:a: [1]}\n", "", "weight of 'user:a' must be a number"),
        ("", "user:alice", "KEY=NUMBER pairs separated by commas"),
        ("", "user:alice=2,bob=1", "'bob' must be user:NAME or group:NAME"),
        ("", "user:alice=two", "weight of 'user:alice' must be a number"),
    ],
)
def test_malformed_settings_say_what_and_where(tmp_path, yaml, env, message) -> None:
    extra = {"LAVA_FAIR_SHARE_WEIGHTS": env} if env else {}
    with pytest.raises(ConfigurationError) as error:
        _load(tmp_path, yaml, **extra)
    assert message in str(error.value)
    where = ("environment LAVA_FAIR_SHARE_WEIGHTS", str(tmp_path / "settings.yaml"))
    assert any(place in str(error.value) for place in where), str(error.value)
