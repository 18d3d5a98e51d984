"""Submission rules across keys: pinned revisions, multinode roles, notification targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lava.common import yamlio
from lava.common.schema import JobSchemaError, validate_submission
from lava.common.schema.submission_checks import DEVICE_OWNER

JOB = """\
job_name: checks
device_type: qemu
visibility: public
timeouts: {job: {minutes: 10}}
actions:
- deploy: {to: tmpfs, images: {rootfs: {url: 'https://x/r.img'}}}
- boot: {method: qemu, media: tmpfs}
- test:
    definitions:
    - {from: git, repository: 'https://x/t.git', path: t.yaml, name: t, revision: abc123}
"""

MONITOR = {"name": "m", "start": "a", "end": "b", "pattern": "p"}


def job(edit: Callable[[dict[str, Any]], object] | None = None) -> dict[str, Any]:
    data = yamlio.load(JOB)
    if edit is not None:
        edit(data)
    return data


def multinode(**roles: dict[str, Any]) -> Callable[[dict[str, Any]], object]:
    def edit(data: dict[str, Any]) -> None:
        del data["device_type"]
        data["protocols"] = {"lava-multinode": {"roles": roles, "timeout": {"minutes": 5}}}

    return edit


def notify(**block: Any) -> Callable[[dict[str, Any]], object]:
    return lambda data: data.update(notify={"criteria": {"status": "finished"}, **block})


def email(**to: Any) -> Callable[[dict[str, Any]], object]:
    return notify(recipients=[{"to": {"method": "email", **to}}])


def irc(**to: Any) -> Callable[[dict[str, Any]], object]:
    return notify(recipients=[{"to": {"method": "irc", **to}}])


def custom_query(**query: Any) -> Callable[[dict[str, Any]], object]:
    return notify(compare={"query": {"entity": "testjob", **query}})


def definitions(value: Any) -> Callable[[dict[str, Any]], object]:
    # next to a monitors form, which alone already satisfies the schema
    return lambda data: data["actions"][2].update(
        test={"monitors": [MONITOR], "definitions": value}
    )


HOST = {"device_type": "qemu", "count": 1}
GUEST = {"connection": "ssh", "count": 1, "host_role": "host", "expect_role": "host"}

REFUSED: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("revision with a shallow clone",
     lambda d: d["actions"][2]["test"]["definitions"][0].update(shallow=True),
     "actions[2].test.definitions[0].shallow"),
    ("definitions a number", definitions(5), "actions[2].test.definitions"),
    ("definitions holding numbers", definitions([5]), "actions[2].test.definitions[0]"),
    ("definitions holding both words", definitions(["revision shallow"]),
     "actions[2].test.definitions[0]"),
    ("multinode without roles",
     lambda d: d.update(protocols={"lava-multinode": {"timeout": {"minutes": 1}}}),
     "protocols.lava-multinode.roles"),
    ("role not a mapping", multinode(host="qemu"), "protocols.lava-multinode.roles.host"),
    ("unknown host_role", multinode(host=HOST, guest={**GUEST, "host_role": "hots"}),
     "protocols.lava-multinode.roles.guest.host_role"),
    ("host_role without expect_role",
     multinode(host=HOST, guest={"connection": "ssh", "count": 1, "host_role": "host"}),
     "protocols.lava-multinode.roles.guest"),
    ("unknown expect_role", multinode(host=HOST, guest={**GUEST, "expect_role": "nobody"}),
     "protocols.lava-multinode.roles.guest.expect_role"),
    ("expect_role without host_role", multinode(host={**HOST, "expect_role": "host"}),
     "protocols.lava-multinode.roles.host.expect_role"),
    ("connection role pinned to a device", multinode(host=HOST, guest={**GUEST, "device": "d"}),
     "protocols.lava-multinode.roles.guest"),
    ("connection role pinned to a worker", multinode(host=HOST, guest={**GUEST, "worker": "w"}),
     "protocols.lava-multinode.roles.guest"),
    ("device without device_type", multinode(host={"device": "qemu01", "count": 1}),
     "protocols.lava-multinode.roles.host"),
    ("worker without device_type", multinode(host={"worker": "w1", "count": 1}),
     "protocols.lava-multinode.roles.host"),
    ("device with two of it", multinode(host={**HOST, "device": "qemu01", "count": 2}),
     "protocols.lava-multinode.roles.host.count"),
    ("role context unknown key", multinode(host={**HOST, "context": {"colour": "red"}}),
     "protocols.lava-multinode.roles.host.context.colour"),
    ("role context empty", multinode(host={**HOST, "context": None}),
     "protocols.lava-multinode.roles.host.context"),
    ("email recipient without address or user", email(server="x"),
     "notify.recipients[0].to"),
    ("irc recipient without handle or user", irc(email="a@example.org"),
     "notify.recipients[0].to"),
    ("bad email address", email(email="someone@"), "notify.recipients[0].to.email"),
    ("bad email for the device owner", email(user=DEVICE_OWNER, email="not an address"),
     "notify.recipients[0].to.email"),
    ("query of another entity", notify(compare={"query": {"entity": "testsuite",
                                                          "conditions": {}}}),
     "notify.compare.query.entity"),
    ("custom query without conditions", custom_query(), "notify.compare.query.conditions"),
    ("condition with one part", custom_query(conditions={"state": "a,b"}),
     "notify.compare.query.conditions"),
    ("condition with five parts", custom_query(conditions={"a__b__c": "d__e"}),
     "notify.compare.query.conditions"),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "path"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused(edit: Callable[[dict[str, Any]], object], path: str) -> None:
    with pytest.raises(JobSchemaError) as caught:
        validate_submission(job(edit))
    assert caught.value.path == path
    assert caught.value.msg


ACCEPTED: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    ("revision with a full clone",
     lambda d: d["actions"][2]["test"]["definitions"][0].update(shallow=False)),
    ("shallow clone without revision",
     lambda d: d["actions"][2]["test"]["definitions"][0].update(revision=None, shallow=True)
     or d["actions"][2]["test"]["definitions"][0].pop("revision")),
    ("definitions as text next to monitors", definitions("revision shallow")),
    ("definitions holding other words", definitions(["revision", {"shallow": True}])),
    ("a full multinode job", multinode(
        host={**HOST, "context": {"arch": "arm64"}},
        guest=GUEST,
        pinned={"device_type": "qemu", "device": "qemu01", "worker": "w1", "count": 1},
    )),
    ("device with count true", multinode(host={**HOST, "device": "qemu01", "count": True})),
    ("email by address", email(email="lab@example.org")),
    ("email by address literal", email(email="lab@[192.0.2.1]")),
    ("email by user", email(user="alice")),
    # whether alice exists, and so whether her address matters, is for the server to say
    ("named user with a bad address", email(user="alice", email="not an address")),
    ("irc by handle", irc(handle="alice", server="irc.example.org")),
    ("saved query", notify(compare={"query": {"username": "alice", "name": "nightly"}})),
    ("custom query with no conditions", custom_query(conditions={})),
    ("custom query conditions", custom_query(conditions={
        "state": "finished", "health__ne": "Bad", "testsuite__name__icontains": "smoke"})),
]  # fmt: skip


@pytest.mark.parametrize("edit", [r[1] for r in ACCEPTED], ids=[r[0] for r in ACCEPTED])
def test_accepted(edit: Callable[[dict[str, Any]], object]) -> None:
    validate_submission(job(edit))


def test_role_context_takes_the_extra_context_variables() -> None:
    data = job(multinode(host={**HOST, "context": {"lab_fan": "on"}}))
    with pytest.raises(JobSchemaError):
        validate_submission(data)
    validate_submission(data, extra_context_variables=("lab_fan",))
