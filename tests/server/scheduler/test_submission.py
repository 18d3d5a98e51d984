"""submit_job: what it accepts, what it stores, and what it refuses without writing anything."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from lava.common import yamlio
from lava.server.scheduler.models import (
    Alias,
    Device,
    DeviceType,
    GroupDevicePermission,
    GroupDeviceTypePermission,
    Tag,
    TestJob,
)
from lava.server.scheduler.states import DeviceHealth, JobState, Visibility
from lava.server.scheduler.submission import (
    SubmissionError,
    _named_device_type,
    definition_problem,
    submit_job,
)
from tests.support.conformance import CONFORMANCE

JOB: dict[str, Any] = yaml.safe_load(
    """
job_name: qemu smoke
device_type: qemu
visibility: public
priority: medium
context: {arch: amd64, memory: 1024}
timeouts: {job: {minutes: 20}, action: {minutes: 5}, connection: {minutes: 2}}
actions:
- deploy:
    to: tmpfs
    images:
      rootfs:
        url: https://example.org/images/debian.img.gz
        compression: gz
        image_arg: -drive format=raw,file={rootfs}
- boot:
    method: qemu
    media: tmpfs
    prompts: ['root@debian:~#']
    auto_login: {login_prompt: 'login:', username: root}
"""
)


def job_text(**changes: Any) -> str:
    """The minimal QEMU job with top-level keys changed (None removes a key)."""
    data = copy.deepcopy(JOB)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return yamlio.dump(data)


def db_rows() -> dict[str, int]:
    """Rows in every table, many-to-many ones included."""
    return {
        model._meta.db_table: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
    }


def files(*roots: Path) -> set[str]:
    return {str(p) for root in roots if root.exists() for p in root.rglob("*")}


# accepted


def test_a_valid_job_is_queued_with_what_it_asks_for(lab, users) -> None:
    text = job_text()
    job = submit_job(text, users["owner"])
    job.refresh_from_db()
    assert job.state == JobState.SUBMITTED
    assert job.submitter == users["owner"]
    assert job.description == "qemu smoke"
    assert job.requested_device_type_id == "qemu"
    assert job.requested_device is None and job.requested_worker is None
    assert (job.visibility, job.is_public) == (Visibility.PUBLIC, True)
    assert job.priority == 50
    assert job.definition == text and job.original_definition == text
    assert job.warnings == [] and job.metadata == {}
    assert job.queue_timeout is None


@pytest.mark.parametrize(
    ("submitter", "changes", "rows_read"),
    [("owner", {}, True), ("admin", {}, False), ("owner", {"tags": ["usb"]}, True)],
    ids=["a user", "a superuser", "with tags"],
)
def test_what_a_submission_asks_the_database(lab, users, submitter, changes, rows_read) -> None:
    # each statement is a round trip to PostgreSQL, a submission's largest cost after its
    # CPU: no transaction for a job that is one INSERT, no permission rows for a superuser
    lab.device("qemu-03", tags=("usb",))
    with CaptureQueriesContext(connection) as queries:
        submit_job(job_text(**changes), users[submitter])
    sqls = [query["sql"] for query in queries.captured_queries]
    assert any("scheduler_groupdevicetypepermission" in sql for sql in sqls) == rows_read
    # in a test, every transaction of the code under test is a savepoint of the test's
    assert any("SAVEPOINT" in sql for sql in sqls) == ("tags" in changes)
    assert sum(sql.startswith("INSERT") for sql in sqls) == (1 if not changes else 2)


def qemu_corpus() -> list[Path]:
    """Single-node jobs for device type qemu from LAVA's own tests."""
    folder = CONFORMANCE / "jobs"
    found = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        protocols = data.get("protocols") or {}
        if data.get("device_type") == "qemu" and "lava-multinode" not in protocols:
            found.append(path)
    return found


CORPUS = qemu_corpus() if (CONFORMANCE / "jobs").is_dir() else []
VERDICTS = CONFORMANCE / "job-verdicts.json"


@pytest.mark.skipif(not CORPUS, reason="LAVA's conformance data is not beside the checkout")
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_lava_corpus_jobs_are_accepted(lab, users, path: Path) -> None:
    verdicts = json.loads(VERDICTS.read_text(encoding="utf-8"))
    if not verdicts["non_strict"][path.name]["valid"]:
        pytest.skip("LAVA itself refuses this job")
    text = path.read_text(encoding="utf-8")
    if "secrets" in yaml.safe_load(text):  # LAVA's test jobs show secrets to everyone
        with pytest.raises(SubmissionError, match="'visibility' shouldn't be 'public'"):
            submit_job(text, users["owner"])
        text = text.replace("visibility: public", "visibility: personal")
    job = submit_job(text, users["owner"])
    strict_valid = verdicts["strict"][path.name]["valid"]
    assert (job.warnings == []) is strict_valid, job.warnings


@pytest.mark.parametrize(
    ("priority", "stored"),
    [("low", 0), ("medium", 50), ("high", 100), (0, 0), (37, 37), (100, 100)],
)
def test_priority_names_and_numbers(lab, users, priority, stored) -> None:
    assert submit_job(job_text(priority=priority), users["owner"]).priority == stored


def test_the_default_priority_is_medium(lab, users) -> None:
    assert submit_job(job_text(priority=None), users["owner"]).priority == 50


def test_an_alias_names_its_device_type(lab, users) -> None:
    Alias.objects.create(name="kvm", device_type=lab.device_type)
    job = submit_job(job_text(device_type="kvm"), users["owner"])
    assert job.requested_device_type_id == "qemu"


def test_an_alias_wins_over_the_device_type_of_its_name(lab, users) -> None:
    other = DeviceType.objects.create(name="kvm", bits=64, disable_health_check=True)
    lab.device("kvm-01", device_type=other)
    assert submit_job(job_text(device_type="kvm"), users["owner"]).requested_device_type_id == (
        "kvm"
    )
    Alias.objects.create(name="kvm", device_type=lab.device_type)
    assert submit_job(job_text(device_type="kvm"), users["owner"]).requested_device_type_id == (
        "qemu"
    )
    assert _named_device_type("nothing") is None


@pytest.mark.parametrize("field", ["device_type", "worker", "device", "job_name", "tags"])
def test_a_nul_character_is_refused_before_the_database_sees_it(lab, users, field) -> None:
    # on PostgreSQL, a NUL (YAML's "\\0") in a name looked up or stored was a DataError
    value: Any = ["usb\x00"] if field == "tags" else "qemu\x00"
    before = db_rows()
    with pytest.raises(SubmissionError, match="NUL character"):
        submit_job(job_text(**{field: value}), users["owner"])
    assert db_rows() == before
    assert definition_problem(job_text(**{field: value})) is not None


def test_the_named_device_type_is_the_one_the_orm_reads(lab) -> None:
    made = DeviceType.objects.create(name="kvm", bits=64, core_count=8, disable_health_check=True)
    found = _named_device_type("kvm")
    assert found is not None and not found._state.adding and found._state.db == "default"
    assert model_to_dict(found) == model_to_dict(DeviceType.objects.get(pk=made.pk))


def test_personal_visibility(lab, users) -> None:
    job = submit_job(job_text(visibility="personal"), users["owner"])
    assert (job.visibility, job.is_public) == (Visibility.PERSONAL, False)
    assert not job.viewing_groups.exists()
    assert not Group.objects.filter(name="owner").exists()  # no group made for it


def test_group_visibility(lab, users) -> None:
    Group.objects.create(name="qa")
    job = submit_job(job_text(visibility={"group": ["lab", "qa"]}), users["owner"])
    assert (job.visibility, job.is_public) == (Visibility.GROUP, False)
    assert set(job.viewing_groups.values_list("name", flat=True)) == {"lab", "qa"}


def test_a_pinned_device_and_its_worker(lab, users) -> None:
    job = submit_job(job_text(device="qemu-02"), users["owner"])
    assert job.requested_device_id == "qemu-02"
    assert job.requested_worker_id == "worker-01"


def test_a_requested_worker(lab, users) -> None:
    job = submit_job(job_text(worker="worker-01"), users["owner"])
    assert (job.requested_worker_id, job.requested_device) == ("worker-01", None)


def test_tags_a_device_carries(lab, users) -> None:
    lab.device("qemu-03", tags=("usb", "hdmi"))
    job = submit_job(job_text(tags=["usb", "hdmi"]), users["owner"])
    assert set(job.tags.values_list("name", flat=True)) == {"usb", "hdmi"}


def test_queue_timeout_metadata_and_a_long_name(lab, users) -> None:
    job = submit_job(
        job_text(
            job_name="x" * 200,
            timeouts={**JOB["timeouts"], "queue": {"hours": 2}},
            metadata={"build": 1234, "nested": {"ok": True}, "list": [1, "a"]},
        ),
        users["owner"],
    )
    job.refresh_from_db()
    assert job.queue_timeout == 7200
    assert job.description == "x" * 200
    assert job.metadata == {"build": "1234", "nested": {"ok": "true"}, "list": ["1", "a"]}


def test_queue_timeout_hours_applies_when_the_job_gives_none(lab, users, monkeypatch) -> None:
    monkeypatch.setattr(django_settings.LAVA, "queue_timeout_hours", 1.5)
    assert submit_job(job_text(), users["owner"]).queue_timeout == 5400
    own = {**JOB["timeouts"], "queue": {"minutes": 10}}
    assert submit_job(job_text(timeouts=own), users["owner"]).queue_timeout == 600


def test_full_schema_problems_are_kept_as_warnings(lab, users) -> None:
    actions = copy.deepcopy(JOB["actions"])
    actions[1]["boot"]["bogus"] = 1
    job = submit_job(job_text(actions=actions), users["owner"])
    job.refresh_from_db()
    assert job.warnings == ["extra keys not allowed @ actions[1].boot.qemu.bogus"]


def test_notify_users_and_the_device_owner(lab, users) -> None:
    recipients = [
        {"to": {"method": "email", "user": "stranger"}},
        {"to": {"method": "email", "user": "{LAVA_DEVICE_OWNER}"}},
    ]
    notify = {"criteria": {"status": "finished"}, "recipients": recipients}
    assert submit_job(job_text(notify=notify), users["owner"]).pk


def test_superusers_submit_to_hidden_types(lab, users) -> None:
    GroupDeviceTypePermission.objects.create(
        devicetype=lab.device_type, group=Group.objects.create(name="other"), permission="view"
    )
    assert submit_job(job_text(), users["admin"]).requested_device_type_id == "qemu"


# refused: a message naming the problem, and nothing written anywhere


def hide_qemu(lab) -> None:
    GroupDeviceTypePermission.objects.create(
        devicetype=lab.device_type, group=Group.objects.create(name="other"), permission="view"
    )


def submit_only_lab(lab) -> None:
    GroupDeviceTypePermission.objects.create(
        devicetype=lab.device_type, group=Group.objects.get(name="lab"), permission="submit"
    )


def retire(*hostnames: str) -> Callable[[Any], None]:
    def setup(lab) -> None:
        Device.objects.filter(hostname__in=hostnames).update(health=DeviceHealth.RETIRED)

    return setup


def devices_only_for_lab(lab) -> None:
    for hostname in ("qemu-01", "qemu-02"):
        GroupDevicePermission.objects.create(
            device_id=hostname, group=Group.objects.get(name="lab"), permission="submit"
        )


def empty_type(lab) -> None:
    DeviceType.objects.create(name="empty")


def other_type_device(lab) -> None:
    lab.device("bbb-01", device_type=DeviceType.objects.create(name="bbb"))


def tags_apart(lab) -> None:
    lab.device("qemu-03", tags=("usb",))
    lab.device("qemu-04", tags=("hdmi",))


def second_worker(lab) -> None:
    from lava.server.scheduler.models import Worker

    Worker.objects.create(hostname="worker-02")


NOT_YAML = "job_name: x\nactions: [deploy\n"
BIG = job_text() + "#" * (1024 * 1024) + "\n"
MULTINODE = job_text(
    protocols={"lava-multinode": {"roles": {"a": {"device_type": "qemu", "count": 1}}}}
)


REFUSALS = [
    # (id, text, user, setup, words of the message)
    ("not-yaml", NOT_YAML, "owner", None, ["not valid YAML", "line 3, column 1"]),
    ("not-a-mapping", "- a\n- b\n", "owner", None, ["must be a mapping"]),
    ("empty", "", "owner", None, ["empty"]),
    ("too-big", BIG, "owner", None,
     [f"{len(BIG):,} bytes", "the limit is 1,048,576 bytes", "MAX_JOB_SIZE"]),
    ("schema", job_text(actions=None), "owner", None, ["invalid", "actions"]),
    ("unknown-top-key", job_text(bogus=1), "owner", None, ["invalid", "bogus"]),
    ("priority-101", job_text(priority=101), "owner", None, ["priority"]),
    ("multinode", MULTINODE, "owner", None, ["MultiNode jobs are not supported yet"]),
    ("unknown-type", job_text(device_type="nosuch"), "owner", None,
     ["device_type: device type 'nosuch' does not exist"]),
    ("hidden-type", job_text(), "stranger", hide_qemu,
     ["device_type: device type 'qemu' does not exist"]),
    ("may-not-submit", job_text(), "stranger", submit_only_lab,
     ["may not submit jobs to device type 'qemu'"]),
    ("no-device-allowed", job_text(), "stranger", devices_only_for_lab,
     ["user 'stranger' may not submit jobs to any device of type 'qemu'"]),
    ("pinned-not-allowed", job_text(device="qemu-01"), "stranger", devices_only_for_lab,
     ["device: user 'stranger' may not submit jobs to device 'qemu-01'"]),
    ("no-devices", job_text(device_type="empty"), "owner", empty_type,
     ["no devices of type 'empty' are available"]),
    ("all-retired", job_text(), "owner", retire("qemu-01", "qemu-02"),
     ["no devices of type 'qemu' are available"]),
    ("unknown-tag", job_text(tags=["nosuch"]), "owner", None,
     ["tags: device tag 'nosuch' does not exist"]),
    ("tags-apart", job_text(tags=["usb", "hdmi"]), "owner", tags_apart,
     ["no devices of type 'qemu' are available which have all of the tags 'usb, hdmi'"]),
    ("unknown-device", job_text(device="nosuch"), "owner", None,
     ["device: device 'nosuch' does not exist"]),
    ("device-of-other-type", job_text(device="bbb-01"), "owner", other_type_device,
     ["device 'bbb-01' is of type 'bbb', not 'qemu'"]),
    ("retired-device", job_text(device="qemu-02"), "owner", retire("qemu-02"),
     ["device 'qemu-02' is retired"]),
    ("device-lacks-tags", job_text(device="qemu-03", tags=["hdmi"]), "owner", tags_apart,
     ["device 'qemu-03' does not have all of the tags 'hdmi'"]),
    ("unknown-worker", job_text(worker="nosuch"), "owner", None,
     ["worker: worker 'nosuch' does not exist"]),
    ("device-elsewhere", job_text(device="qemu-01", worker="worker-02"), "owner", second_worker,
     ["device 'qemu-01' is not attached to worker 'worker-02'"]),
    ("no-device-on-worker", job_text(worker="worker-02"), "owner", second_worker,
     ["no devices of type 'qemu' are available on worker 'worker-02'"]),
    ("unknown-group", job_text(visibility={"group": ["lab", "nosuch"]}), "owner", None,
     ["visibility.group: group 'nosuch' does not exist"]),
    ("notify-unknown-user",
     job_text(notify={"criteria": {"status": "finished"},
                      "recipients": [{"to": {"method": "email", "user": "nosuch"}}]}),
     "owner", None, ["notify.recipients[0].to.user: user 'nosuch' does not exist"]),
]  # fmt: skip


def with_block(index: int, kind: str, **changes: Any) -> list[dict[str, Any]]:
    """The job's actions, with keys of one action block changed."""
    actions = copy.deepcopy(JOB["actions"])
    actions[index][kind].update(changes)
    return actions


TIMEOUTS = JOB["timeouts"]
SMOKE = {
    "from": "inline",
    "name": "smoke",
    "path": "inline/smoke.yaml",
    "repository": {
        "metadata": {"format": "Lava-Test Test Definition 1.0", "name": "smoke"},
        "run": {"steps": ["true"]},
    },
}
TEST = {"test": {"timeout": {"minutes": 5}, "definitions": [SMOKE]}}
ALIASED_METADATA = (
    job_text()
    + "metadata:\n  one: &x '"
    + "x" * 1000
    + "'\n  all: ["
    + ", ".join(["*x"] * 20)
    + "]\n"
)

# each limit of lava.common.limits: the message names the key path and the limit
REFUSALS += [
    ("queue-timeout-overflows", job_text(timeouts={**TIMEOUTS, "queue": {"days": 10**12}}),
     "owner", None, ["timeouts.queue", "queue_timeout", "2,592,000 seconds"]),
    ("queue-timeout-31-days", job_text(timeouts={**TIMEOUTS, "queue": {"days": 31}}),
     "owner", None, ["timeouts.queue: 2,678,400 seconds", "queue_timeout"]),
    ("job-timeout", job_text(timeouts={**TIMEOUTS, "job": {"days": 8}}), "owner", None,
     ["timeouts.job: 691,200 seconds", "the limit is 604,800 seconds (job_timeout"]),
    ("action-timeout", job_text(timeouts={**TIMEOUTS, "action": {"hours": 10**6}}), "owner",
     None, ["timeouts.action", "action_timeout"]),
    ("named-timeout", job_text(timeouts={**TIMEOUTS, "actions": {"qemu": {"days": 9}}}),
     "owner", None, ["timeouts.actions.qemu", "action_timeout"]),
    ("connection-timeout",
     job_text(timeouts={**TIMEOUTS, "connections": {"lava-test-shell": {"days": 9}}}),
     "owner", None, ["timeouts.connections.lava-test-shell", "action_timeout"]),
    ("block-timeout", job_text(actions=with_block(1, "boot", timeout={"days": 10**9})),
     "owner", None, ["actions[1].boot.timeout", "action_timeout"]),
    ("block-timeouts", job_text(actions=with_block(1, "boot", timeouts={"qemu": {"days": 8}})),
     "owner", None, ["actions[1].boot.timeouts.qemu", "action_timeout"]),
    ("failure-retry", job_text(actions=with_block(1, "boot", failure_retry=10**6)), "owner",
     None, ["actions[1].boot.failure_retry", "retries"]),
    ("job-name", job_text(job_name="x" * 201), "owner", None,
     ["job_name: 201 characters", "job_name_length"]),
    ("metadata", job_text(metadata={"log": "x" * 20000}), "owner", None,
     ["metadata: at least", "metadata_size"]),
    ("aliased-metadata", ALIASED_METADATA, "owner", None, ["metadata: at least", "metadata_size"]),
    ("context", job_text(context={"extra_options": ["-m 1"] * 5000}), "owner", None,
     ["context: at least", "context_size"]),
    ("actions", job_text(actions=JOB["actions"] * 101), "owner", None,
     ["actions: 202 actions", "the limit is 200 actions"]),
    ("definitions", job_text(actions=[*JOB["actions"], {"test": {**TEST["test"],
     "definitions": [SMOKE] * 1001}}]), "owner", None,
     ["actions[2].test.definitions: 1,001 definitions", "test_definitions"]),
    ("tags", job_text(tags=[f"t{n}" for n in range(101)]), "owner", None,
     ["tags: 101 tags", "the limit is 100 tags"]),
    ("tag-length", job_text(tags=["t" * 101]), "owner", None, ["tags[0]", "tag_length"]),
    ("namespace", job_text(actions=with_block(0, "deploy", namespace="../../tmp")), "owner",
     None, ["actions[0].deploy.namespace", "not a safe name"]),
    ("image-label", job_text(actions=with_block(0, "deploy", images={"/etc/x": {"url": "u"}})),
     "owner", None, ["actions[0].deploy.images./etc/x", "not a safe name"]),
    ("definition-name", job_text(actions=[*JOB["actions"], {"test": {**TEST["test"],
     "definitions": [{**SMOKE, "name": ".."}]}}]), "owner", None,
     ["actions[2].test.definitions[0].name", "not a safe name"]),
    ("secrets-count", job_text(visibility="personal", secrets={f"S{n}": "x" for n in range(101)}),
     "owner", None, ["secrets: 101 keys", "the limit is 100 keys"]),
    ("secret-size", job_text(visibility="personal", secrets={"TOKEN": "x" * 5000}), "owner",
     None, ["secrets.TOKEN: 5,000 characters", "secret_size"]),
    ("secret-name", job_text(visibility="personal", secrets={"LD_PRELOAD=x; y": "1"}), "owner",
     None, ["secrets.LD_PRELOAD=x; y", "shell identifier"]),
    ("deep-nesting", job_text() + "metadata: {deep: " + "[" * 100 + "]" * 100 + "}\n", "owner",
     None, ["not valid YAML: line", "nesting_depth", "the limit is 50 levels"]),
    ("deeper-than-libyaml", job_text() + "metadata: " + "[" * 1000 + "]" * 1000 + "\n", "owner",
     None, ["not valid YAML: line", "nested too deeply", "nesting_depth"]),
    ("public-secrets", job_text(secrets={"TOKEN": "hush"}), "owner", None,
     ["When 'secrets' is used, 'visibility' shouldn't be 'public'"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "username", "setup", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSALS],
)
def test_refused_with_a_message_and_nothing_written(lab, users, text, username, setup, words):
    if setup is not None:
        setup(lab)
    before, disk = db_rows(), files(django_settings.LAVA.data_dir, lab.root)
    with pytest.raises(SubmissionError) as refused:
        submit_job(text, users[username])
    for word in words:
        assert word in str(refused.value)
    assert db_rows() == before
    assert files(django_settings.LAVA.data_dir, lab.root) == disk


def test_a_hidden_type_reads_like_a_missing_one(lab, users) -> None:
    hide_qemu(lab)
    messages = []
    for name in ("qemu", "nosuch"):
        with pytest.raises(SubmissionError) as refused:
            submit_job(job_text(device_type=name), users["stranger"])
        messages.append(str(refused.value).replace(name, "NAME"))
    assert messages[0] == messages[1]


def test_the_size_limit_is_a_setting(lab, users, settings) -> None:
    settings.LAVA.max_job_size = 100
    try:
        with pytest.raises(SubmissionError, match=r"the limit is 100 bytes \(the server setting"):
            submit_job(job_text(), users["owner"])
    finally:
        settings.LAVA.max_job_size = 1024 * 1024


def test_inactive_users_may_not_submit(lab, users) -> None:
    owner = users["owner"]
    owner.is_active = False
    owner.save()
    with pytest.raises(SubmissionError, match="not active"):
        submit_job(job_text(), owner)
    assert not TestJob.objects.exists()


def test_every_table_is_counted(db) -> None:
    tables = db_rows()
    assert {"scheduler_testjob", "scheduler_testjob_tags", "scheduler_tag"} <= set(tables)
    assert "scheduler_testjob_viewing_groups" in tables and "auth_group" in tables


def test_tags_and_groups_are_never_created(lab, users) -> None:
    assert not Tag.objects.exists()
    with pytest.raises(SubmissionError):
        submit_job(job_text(tags=["new"]), users["owner"])
    assert not Tag.objects.exists()


# definition_problem


def test_definition_problem() -> None:
    actions = copy.deepcopy(JOB["actions"])
    actions[1]["boot"]["bogus"] = 1
    assert definition_problem(job_text()) is None
    assert definition_problem(job_text(actions=actions)) is None
    problem = definition_problem(job_text(actions=actions), strict=True)
    assert (problem.path, problem.msg) == ("actions[1].boot.qemu.bogus", "extra keys not allowed")
    assert str(problem) == "extra keys not allowed @ actions[1].boot.qemu.bogus"
    assert "line 3, column 1" in str(definition_problem(NOT_YAML))


def test_validation_refuses_what_submission_refuses_and_no_more(lab, users) -> None:
    """The validating interfaces and submission once disagreed (extra context variables,
    secrets in a public job): now both read the same checks."""
    secret = job_text(secrets={"TOKEN": "x"})
    assert "secrets" in str(definition_problem(secret))
    with pytest.raises(SubmissionError, match="secrets"):
        submit_job(secret, users["owner"])
    context = job_text(context={"custom_kernel_args": "quiet"})
    accepted = definition_problem(context) is None
    try:
        submit_job(context, users["owner"])
    except SubmissionError:
        assert not accepted
    else:
        assert accepted
