"""One scheduler pass: which queued job goes to which device, and what is left alone."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from lava.server.scheduler import dispatcher_config, permissions, scheduling, transitions
from lava.server.scheduler.matching import SubmitRights
from lava.server.scheduler.models import (
    Device,
    DeviceType,
    GroupDevicePermission,
    GroupDeviceTypePermission,
    Tag,
    TestJob,
    Worker,
)
from lava.server.scheduler.scheduling import schedule_pass
from lava.server.scheduler.snapshot import load
from lava.server.scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobHealth,
    JobState,
    WorkerHealth,
    WorkerState,
)

DEFINITION = "job_name: queued\ndevice_type: qemu\n"


def queue(user: User, device_type: DeviceType, **fields: Any) -> TestJob:
    """A Submitted job as submit_job() leaves it (tags by name)."""
    tags = fields.pop("tags", ())
    fields.setdefault("definition", DEFINITION)
    job = TestJob.objects.create(submitter=user, requested_device_type=device_type, **fields)
    for name in tags:
        job.tags.add(Tag.objects.get_or_create(name=name)[0])
    return job


def where(*jobs: TestJob) -> list[str | None]:
    """The device each job was scheduled on (None: still queued or ended)."""
    placed = []
    for job in jobs:
        job.refresh_from_db()
        placed.append(job.actual_device_id if job.state == JobState.SCHEDULED else None)
    return placed


def set_health(hostname: str, health: int) -> None:
    Device.objects.filter(hostname=hostname).update(health=health)


def test_assigns_and_reserves(lab, users) -> None:
    job = queue(users["owner"], lab.device_type)
    report = schedule_pass()
    job.refresh_from_db()
    device = Device.objects.get(hostname=job.actual_device_id)
    assert job.state == JobState.SCHEDULED and device.state == DeviceState.RESERVED
    assert report.assigned == [(job.id, device.hostname)]
    assert "1 jobs scheduled" in report.summary()
    assert schedule_pass().assigned == []  # nothing left to do


def test_priority_then_submit_time_then_id(lab, users) -> None:
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    now = timezone.now()
    early = now - datetime.timedelta(minutes=5)
    owner = users["owner"]
    low = queue(owner, lab.device_type, priority=0, submit_time=early)
    late_high = queue(owner, lab.device_type, priority=100, submit_time=now)
    early_high = queue(owner, lab.device_type, priority=100, submit_time=early)
    early_high_2 = queue(owner, lab.device_type, priority=100, submit_time=early)
    order = []
    for _ in range(4):
        report = schedule_pass()
        order.extend(job_id for job_id, _ in report.assigned)
        # free the device again: the job ran and finished
        for job in TestJob.objects.filter(state=JobState.SCHEDULED):
            transitions.job_finished(job, JobHealth.COMPLETE, reason="test")
    assert order == [early_high.id, early_high_2.id, late_high.id, low.id]


def test_job_tags_must_all_be_on_the_device(lab, users) -> None:
    for hostname, names in (("qemu-01", ["a"]), ("qemu-02", ["a", "b"])):
        Device.objects.get(hostname=hostname).tags.set(
            [Tag.objects.get_or_create(name=n)[0] for n in names]
        )
    owner = users["owner"]
    missing = queue(owner, lab.device_type, tags=["c"], priority=100)
    both = queue(owner, lab.device_type, tags=["a", "b"], priority=90)
    one = queue(owner, lab.device_type, tags=["a"], priority=80)
    schedule_pass()
    assert where(missing, both, one) == [None, "qemu-02", "qemu-01"]


def test_untagged_job_leaves_the_tagged_device_to_a_tagged_job(lab, users) -> None:
    Device.objects.get(hostname="qemu-01").tags.add(Tag.objects.create(name="usb"))
    plain = queue(users["owner"], lab.device_type, priority=100)
    tagged = queue(users["owner"], lab.device_type, tags=["usb"], priority=0)
    schedule_pass()
    assert where(plain, tagged) == ["qemu-02", "qemu-01"]


@pytest.mark.parametrize(
    "health",
    [DeviceHealth.BAD, DeviceHealth.MAINTENANCE, DeviceHealth.RETIRED, DeviceHealth.LOOPING],
)
def test_unusable_device_health_gets_no_job(lab, users, health) -> None:
    set_health("qemu-01", health)
    set_health("qemu-02", health)
    job = queue(users["owner"], lab.device_type)
    report = schedule_pass()
    assert where(job) == [None] and report.assigned == []


def test_unknown_device_without_health_check_takes_jobs(lab, users) -> None:
    set_health("qemu-01", DeviceHealth.UNKNOWN)
    set_health("qemu-02", DeviceHealth.BAD)
    job = queue(users["owner"], lab.device_type)
    schedule_pass()
    assert where(job) == ["qemu-01"]


def test_reserved_device_gets_no_second_job(lab, users) -> None:
    Device.objects.filter(hostname="qemu-02").update(state=DeviceState.RESERVED)
    jobs = [queue(users["owner"], lab.device_type) for _ in range(3)]
    schedule_pass()
    assert where(*jobs) == ["qemu-01", None, None]


@pytest.mark.parametrize(
    ("state", "health"),
    [
        (WorkerState.OFFLINE, WorkerHealth.ACTIVE),
        (WorkerState.ONLINE, WorkerHealth.MAINTENANCE),
        (WorkerState.ONLINE, WorkerHealth.RETIRED),
    ],
)
def test_devices_of_an_unusable_worker_are_skipped(lab, users, state, health) -> None:
    Worker.objects.filter(hostname="worker-01").update(state=state, health=health)
    job = queue(users["owner"], lab.device_type)
    assert schedule_pass().assigned == [] and where(job) == [None]


def test_silent_worker_goes_offline_and_gets_nothing(lab, users, settings) -> None:
    timeout = settings.LAVA.worker_offline_timeout
    Worker.objects.filter(hostname="worker-01").update(
        last_ping=timezone.now() - datetime.timedelta(seconds=timeout + 5)
    )
    fresh = Worker.objects.create(
        hostname="worker-02", state=WorkerState.ONLINE, last_ping=timezone.now()
    )
    lab.device("qemu-03", worker=fresh)
    jobs = [queue(users["owner"], lab.device_type) for _ in range(2)]
    report = schedule_pass()
    assert report.workers_offline == ["worker-01"]
    assert Worker.objects.get(hostname="worker-01").state == WorkerState.OFFLINE
    assert where(*jobs) == ["qemu-03", None]
    assert "1 workers offline" in report.summary()


def test_worker_job_limit_counts_its_busy_jobs(lab, users) -> None:
    lab.device("qemu-03")
    Worker.objects.filter(hostname="worker-01").update(job_limit=2)
    running = queue(users["owner"], lab.device_type, requested_device_id="qemu-03")
    transitions.job_scheduled(running, Device.objects.get(hostname="qemu-03"))
    transitions.job_running(running)
    jobs = [queue(users["owner"], lab.device_type) for _ in range(2)]
    report = schedule_pass()
    assert len(report.assigned) == 1
    assert sum(device is not None for device in where(*jobs)) == 1
    Worker.objects.filter(hostname="worker-01").update(job_limit=0)  # 0: unlimited
    assert len(schedule_pass().assigned) == 1


def test_pinned_device(lab, users) -> None:
    pinned = queue(users["owner"], lab.device_type, requested_device_id="qemu-02", priority=0)
    other = queue(users["owner"], lab.device_type, priority=100)
    schedule_pass()
    assert where(pinned, other) == ["qemu-02", "qemu-01"]


def test_job_pinned_to_a_busy_device_waits(lab, users) -> None:
    Device.objects.filter(hostname="qemu-02").update(state=DeviceState.RESERVED)
    pinned = queue(users["owner"], lab.device_type, requested_device_id="qemu-02")
    assert schedule_pass().assigned == [] and where(pinned) == [None]


def test_requested_worker(lab, users) -> None:
    other = Worker.objects.create(
        hostname="worker-02", state=WorkerState.ONLINE, last_ping=timezone.now()
    )
    lab.device("qemu-03", worker=other)
    job = queue(users["owner"], lab.device_type, requested_worker=other)
    schedule_pass()
    assert where(job) == ["qemu-03"]


def test_device_type_must_match(lab, users) -> None:
    kvm = DeviceType.objects.create(name="kvm")
    lab.device("kvm-01", device_type=kvm)
    jobs = [queue(users["owner"], kvm) for _ in range(2)]
    schedule_pass()
    assert where(*jobs) == ["kvm-01", None]


def test_hidden_device_type_is_not_scheduled(lab, users) -> None:
    DeviceType.objects.filter(name="qemu").update(display=False)
    job = queue(users["owner"], lab.device_type)
    assert schedule_pass().assigned == [] and where(job) == [None]


def test_queue_timeout_cancels_waiting_jobs(lab, users) -> None:
    set_health("qemu-01", DeviceHealth.MAINTENANCE)
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    old = timezone.now() - datetime.timedelta(minutes=10)
    expired = queue(users["owner"], lab.device_type, queue_timeout=60, submit_time=old)
    waiting = queue(users["owner"], lab.device_type, queue_timeout=3600, submit_time=old)
    forever = queue(users["owner"], lab.device_type, submit_time=old)
    report = schedule_pass()
    assert report.canceled == [expired.id]
    expired.refresh_from_db()
    assert (expired.state, expired.health) == (JobState.FINISHED, JobHealth.CANCELED)
    # as LAVA: never started, so it started when it ended; the reason shows on the job
    assert expired.start_time == expired.end_time and expired.actual_device is None
    assert expired.failure_comment == "queue timeout: not scheduled within 60 s of submission"
    assert TestJob.objects.get(id=waiting.id).state == JobState.SUBMITTED
    assert TestJob.objects.get(id=forever.id).state == JobState.SUBMITTED


def test_a_job_past_its_queue_timeout_still_takes_a_free_device(lab, users) -> None:
    old = timezone.now() - datetime.timedelta(minutes=10)
    job = queue(users["owner"], lab.device_type, queue_timeout=60, submit_time=old)
    report = schedule_pass()
    assert where(job) != [None] and report.canceled == []


def test_device_that_does_not_render_goes_bad(lab, users) -> None:
    (lab.root / "devices" / "qemu-01.jinja2").write_text("{% extends 'no-such.jinja2' %}\n")
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    job = queue(users["owner"], lab.device_type)
    report = schedule_pass()
    device = Device.objects.get(hostname="qemu-01")
    assert (device.health, device.state) == (DeviceHealth.BAD, DeviceState.IDLE)
    assert report.devices_bad == ["qemu-01"] and where(job) == [None]
    assert TestJob.objects.get(id=job.id).state == JobState.SUBMITTED


def test_job_goes_to_another_device_when_one_does_not_render(lab, users) -> None:
    (lab.root / "devices" / "qemu-01.jinja2").unlink()  # no dictionary at all
    Device.objects.get(hostname="qemu-02").tags.add(Tag.objects.create(name="x"))
    job = queue(users["owner"], lab.device_type)  # prefers untagged qemu-01
    report = schedule_pass()
    assert report.devices_bad == ["qemu-01"] and where(job) == ["qemu-02"]
    assert report.rounds == 2


BOOBY_TRAP = """{% extends 'qemu.jinja2' %}
{% if boom %}{% set x = boom.no.such.attribute %}{% endif %}
"""


def test_context_the_device_cannot_render_fails_the_job_not_the_device(lab, users) -> None:
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    (lab.root / "devices" / "qemu-01.jinja2").write_text(BOOBY_TRAP)
    job = queue(users["owner"], lab.device_type, definition=DEFINITION + "context: {boom: 1}\n")
    fine = queue(
        users["owner"], lab.device_type, definition=DEFINITION + "context: {arch: arm64}\n"
    )
    report = schedule_pass()
    job.refresh_from_db()
    assert (job.state, job.health, job.error_type) == (
        JobState.FINISHED,
        JobHealth.INCOMPLETE,
        "Configuration",
    )
    assert "boom" in job.failure_comment or "no" in job.failure_comment
    assert report.jobs_failed == [job.id] and where(fine) == ["qemu-01"]
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD


def test_each_device_renders_once_per_context_and_again_after_an_edit(
    lab, users, monkeypatch
) -> None:
    calls: list[tuple[str, Any]] = []
    real = dispatcher_config.render

    def counting(hostname: str, device_type: str | None = None, context: Any = None) -> str:
        calls.append((hostname, context))
        return real(hostname, device_type, context)

    monkeypatch.setattr(dispatcher_config, "render", counting)
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    for _ in range(2):
        queue(users["owner"], lab.device_type)
        schedule_pass()
        TestJob.objects.filter(state=JobState.SCHEDULED).update(state=JobState.FINISHED)
        Device.objects.update(state=DeviceState.IDLE)
    assert calls == [("qemu-01", {})]
    path = lab.root / "devices" / "qemu-01.jinja2"
    path.write_text(path.read_text() + "{% set memory = 1024 %}\n")
    queue(users["owner"], lab.device_type)
    schedule_pass()
    assert len(calls) == 2


def test_submit_rights_restrict_devices(lab, users) -> None:
    lab_group = Group.objects.get(name="lab")
    GroupDevicePermission.objects.create(
        group=lab_group, device_id="qemu-01", permission=permissions.SUBMIT
    )
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    strangers = queue(users["stranger"], lab.device_type, priority=100)
    owners = queue(users["owner"], lab.device_type, priority=0)
    schedule_pass()
    assert where(strangers, owners) == [None, "qemu-01"]


def test_submit_rights_agree_with_the_permissions_module(lab, users) -> None:
    lab_group = Group.objects.get(name="lab")
    other = Group.objects.create(name="other")
    restricted_type = DeviceType.objects.create(name="kvm")
    lab.device("kvm-01", device_type=restricted_type)
    GroupDeviceTypePermission.objects.create(
        group=other, devicetype=restricted_type, permission=permissions.SUBMIT
    )
    GroupDevicePermission.objects.create(
        group=lab_group, device_id="qemu-01", permission=permissions.VIEW
    )
    GroupDevicePermission.objects.create(
        group=lab_group, device_id="qemu-02", permission=permissions.CHANGE
    )
    inactive = User.objects.create_user("gone", is_active=False)
    everyone = [*users.values(), inactive]
    snapshot = load()
    rights = SubmitRights([u.pk for u in everyone], snapshot.devices)
    for user in everyone:
        for device in snapshot.devices:
            expected = permissions.can_submit_to_device(
                user, Device.objects.get(hostname=device.hostname)
            )
            assert rights.allows(user.pk, device) == expected, (user, device.hostname)


def test_claim_skips_a_job_canceled_after_planning(lab, users) -> None:
    job = queue(users["owner"], lab.device_type)
    transitions.job_canceling(job, "canceled by its submitter")
    claim = scheduling._claim([], [(job.id, "qemu-01")])
    assert (claim.assigned, claim.lost) == ([], 1)
    assert Device.objects.get(hostname="qemu-01").state == DeviceState.IDLE


def test_claim_skips_a_device_taken_after_planning(lab, users) -> None:
    job = queue(users["owner"], lab.device_type)
    Device.objects.filter(hostname="qemu-01").update(state=DeviceState.RESERVED)
    claim = scheduling._claim([], [(job.id, "qemu-01")])
    assert (claim.assigned, claim.lost) == ([], 1)
    assert TestJob.objects.get(id=job.id).state == JobState.SUBMITTED


def test_bulk_move_is_compare_and_set(lab, users) -> None:
    first = queue(users["owner"], lab.device_type)
    second = queue(users["owner"], lab.device_type)
    Device.objects.filter(hostname="qemu-02").update(state=DeviceState.RESERVED)
    pairs = [(first.id, "qemu-01"), (second.id, "qemu-02")]
    with pytest.raises(transitions.ConcurrentChange, match="no longer Idle"), transaction.atomic():
        transitions.jobs_scheduled(pairs)
    assert where(first, second) == [None, None]  # rolled back, both
    assert Device.objects.get(hostname="qemu-01").state == DeviceState.IDLE


def test_bulk_move_refuses_a_device_twice(lab, users) -> None:
    jobs = [queue(users["owner"], lab.device_type) for _ in range(2)]
    with pytest.raises(ValueError, match="twice"), transaction.atomic():
        transitions.jobs_scheduled([(jobs[0].id, "qemu-01"), (jobs[1].id, "qemu-01")])


def test_bulk_move_without_update_from(lab, users, monkeypatch) -> None:
    """SQLite before 3.33 has no UPDATE ... FROM: the same move with a CASE."""
    monkeypatch.setattr(transitions.sqlite3, "sqlite_version_info", (3, 31, 1))
    jobs = [queue(users["owner"], lab.device_type) for _ in range(2)]
    with transaction.atomic():
        transitions.jobs_scheduled([(jobs[0].id, "qemu-02"), (jobs[1].id, "qemu-01")])
    assert where(*jobs) == ["qemu-02", "qemu-01"]


def test_a_claim_rolled_back_by_a_concurrent_change_is_planned_again(
    lab, users, monkeypatch
) -> None:
    real = transitions.jobs_scheduled
    failures = [transitions.ConcurrentChange("1 of 1 devices were no longer Idle")]

    def flaky(assignments: Any, reason: str = "assigned by the scheduler") -> None:
        if assignments and failures:
            raise failures.pop()
        real(assignments, reason)

    monkeypatch.setattr(transitions, "jobs_scheduled", flaky)
    job = queue(users["owner"], lab.device_type)
    report = schedule_pass()
    assert report.rounds == 2 and [j for j, _ in report.assigned] == [job.id]


# Jobs no submission would accept today, stored as an older version (or a bug) left them:
# each ends Incomplete with the reason, and the pass schedules every other job.

ALIAS_BOMB = (
    DEFINITION
    + "context:\n  extra_options: &a ['"
    + "-m 1', '" * 400
    + "x']\n  console_device: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
)


def ended(job: TestJob) -> tuple[int, int, str, str]:
    job.refresh_from_db()
    return job.state, job.health, job.error_type, job.failure_comment or ""


@pytest.mark.parametrize(
    ("definition", "error_type", "words"),
    [
        (DEFINITION + "context: {arch: [unclosed\n", "Job", "cannot be read"),
        (DEFINITION + "context: [amd64]\n", "Job", "context: must be a mapping"),
        (DEFINITION + "context: {1: one, arch: amd64}\n", "Job", "context cannot be used"),
        (DEFINITION + "context: {memory: 2024-13-45}\n", "Job", "cannot be read"),
        (ALIAS_BOMB, "Job", "context_size"),
        (DEFINITION + "context: {arch: '" + "x" * 20000 + "'}\n", "Job", "context_size"),
    ],
    ids=["not-yaml", "not-a-mapping", "mixed-keys", "bad-date", "alias-bomb", "too-large"],
)
def test_a_job_whose_context_cannot_be_used_ends_alone(
    lab, users, definition, error_type, words
) -> None:
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    bad = queue(users["owner"], lab.device_type, definition=definition, priority=100)
    fine = queue(users["owner"], lab.device_type, priority=0)
    report = schedule_pass()
    state, health, kind, comment = ended(bad)
    assert (state, health, kind) == (JobState.FINISHED, JobHealth.INCOMPLETE, error_type)
    assert words in comment and len(comment) <= 1000
    assert report.jobs_failed == [bad.id] and where(fine) == ["qemu-01"]
    assert bad.actual_device_id is None
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD


def test_a_queue_timeout_no_date_can_hold_ends_its_job_not_the_pass(lab, users) -> None:
    set_health("qemu-01", DeviceHealth.MAINTENANCE)
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    forever = queue(users["owner"], lab.device_type, queue_timeout=10**15)
    waited = queue(
        users["owner"],
        lab.device_type,
        queue_timeout=60,
        submit_time=timezone.now() - datetime.timedelta(hours=1),
    )
    report = schedule_pass()
    state, health, kind, comment = ended(forever)
    assert (state, health, kind) == (JobState.FINISHED, JobHealth.INCOMPLETE, "Job")
    assert "queue timeout of 1000000000000000 s cannot be used" in comment
    assert "queue_timeout" in comment
    assert report.canceled == [waited.id] and report.jobs_failed == [forever.id]
    assert schedule_pass().jobs_failed == []  # and the next pass is a quiet one


def test_a_job_whose_matching_raises_ends_alone(lab, users, monkeypatch) -> None:
    real = SubmitRights.allows

    def allows(self: SubmitRights, submitter: int, device: Any) -> bool:
        if submitter == users["stranger"].pk:
            raise KeyError("a row no check has seen")
        return real(self, submitter, device)

    monkeypatch.setattr(SubmitRights, "allows", allows)
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    odd = queue(users["stranger"], lab.device_type, priority=100)
    fine = queue(users["owner"], lab.device_type, priority=0)
    report = schedule_pass()
    state, health, kind, comment = ended(odd)
    assert (state, health, kind) == (JobState.FINISHED, JobHealth.INCOMPLETE, "Bug")
    assert "cannot match the job: KeyError" in comment
    assert report.jobs_failed == [odd.id] and where(fine) == ["qemu-01"]


def test_an_unexpected_rendering_error_ends_that_job_only(lab, users, monkeypatch) -> None:
    real = dispatcher_config.render

    def render(hostname: str, device_type: str | None = None, context: Any = None) -> str:
        if context and context.get("arch") == "boom":
            raise MemoryError("rendering ran out of memory")
        return real(hostname, device_type, context)

    monkeypatch.setattr(dispatcher_config, "render", render)
    set_health("qemu-02", DeviceHealth.MAINTENANCE)
    odd = queue(users["owner"], lab.device_type, definition=DEFINITION + "context: {arch: boom}\n")
    fine = queue(users["owner"], lab.device_type)
    report = schedule_pass()
    state, health, kind, comment = ended(odd)
    assert (state, health, kind) == (JobState.FINISHED, JobHealth.INCOMPLETE, "Bug")
    assert "MemoryError at " in comment and "rendering ran out of memory" in comment
    assert report.jobs_failed == [odd.id] and where(fine) == ["qemu-01"]


def test_a_device_whose_files_cannot_be_read_goes_bad_and_the_pass_goes_on(
    lab, users, caplog
) -> None:
    (lab.root / "health-checks" / "qemu.yaml").write_bytes(b"job_name: \xff\xfe\n")
    job = queue(users["owner"], lab.device_type)
    caplog.set_level("WARNING", logger="lava.server.scheduler")
    report = schedule_pass()
    assert sorted(report.devices_bad) == ["qemu-01", "qemu-02"]
    assert {d.health for d in Device.objects.all()} == {DeviceHealth.BAD}
    assert "UnicodeDecodeError at " in caplog.text
    assert where(job) == [None] and report.jobs_failed == []


def test_queue_signature_changes_with_what_a_pass_depends_on(lab, users) -> None:
    """The daemon passes early when the fingerprint moves: each change must move it."""
    seen = [scheduling.queue_signature()]

    def changed() -> bool:
        seen.append(scheduling.queue_signature())
        return seen[-1] != seen[-2]

    job = queue(users["owner"], lab.device_type)
    assert changed()  # a new queued job
    schedule_pass()
    assert changed()  # it left the queue for a device, which is no longer Idle
    TestJob.objects.filter(id=job.id).update(state=JobState.FINISHED)
    assert changed()  # it ended
    Device.objects.update(state=DeviceState.IDLE)
    assert changed()  # and its device is free again
    Device.objects.filter(hostname="qemu-01").update(health=DeviceHealth.MAINTENANCE)
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.MAINTENANCE)
    assert changed()  # devices went out of use
    Device.objects.filter(hostname="qemu-01").update(health=DeviceHealth.GOOD)
    assert changed()  # and one came back
    Worker.objects.filter(hostname="worker-01").update(state=WorkerState.OFFLINE)
    assert changed()  # the worker went away
    assert not changed()  # nothing happened
    assert seen[0] == (0, None, 0, 2, 1)
