"""``scheduler.devices/device_types/workers/tags/aliases`` and ``results`` over XML-RPC.

A device type restricted to group ``lab`` is invisible to others in every
listing and detail, and reads exactly like a missing one.
"""

from __future__ import annotations

import csv
import io
import xmlrpc.client

import pytest
import yaml
from django.contrib.auth.models import Group
from rpc_helpers import basic, refused, rpc

from lava.common import log
from lava.server.results.ingest import ingest
from lava.server.scheduler.models import (
    Alias,
    AuthToken,
    DeviceType,
    GroupDeviceTypePermission,
    Tag,
    TestJob,
)


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_HOST="localhost")


@pytest.fixture
def tokens(users, lab):
    secret = DeviceType.objects.create(name="secret")
    GroupDeviceTypePermission.objects.create(
        devicetype=secret, group=Group.objects.get(name="lab"), permission="view"
    )
    lab.device("secret-01", device_type=secret)
    Alias.objects.create(name="hidden-alias", device_type=secret)
    Alias.objects.create(name="kvm", device_type=lab.device_type)
    Tag.objects.create(name="usb", description="a USB hub")
    return {
        name: basic(name, AuthToken.objects.create(user=user).secret)
        for name, user in users.items()
    }


def fault(call) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as caught:
        call()
    return caught.value


def test_devices_and_types_by_who_asks(client, tokens) -> None:
    for who, hosts in (
        ({}, ["qemu-01", "qemu-02"]),
        (tokens["stranger"], ["qemu-01", "qemu-02"]),
        (tokens["owner"], ["qemu-01", "qemu-02", "secret-01"]),
    ):
        rows = rpc(client, "scheduler.devices.list", auth=who)
        assert [row["hostname"] for row in rows] == hosts
        types = [row["name"] for row in rpc(client, "scheduler.device_types.list", auth=who)]
        assert types == sorted({host.rsplit("-", 1)[0] for host in hosts})
    assert rows[0] == {
        "hostname": "qemu-01",
        "type": "qemu",
        "health": "Good",
        "state": "Idle",
        "current_job": None,
        "pipeline": True,
    }
    for name, method in (
        ("secret-01", "scheduler.devices.show"),
        ("secret-01", "scheduler.devices.get_dictionary"),
        ("secret-01", "scheduler.devices.tags.list"),
        ("secret", "scheduler.device_types.show"),
        ("hidden-alias", "scheduler.aliases.show"),
    ):
        hidden = fault(lambda m=method, n=name: rpc(client, m, n, auth=tokens["stranger"]))
        missing = fault(lambda m=method: rpc(client, m, "nothing-here", auth=tokens["stranger"]))
        assert hidden.faultCode == missing.faultCode == 404
        assert hidden.faultString == missing.faultString.replace("nothing-here", name)
    assert rpc(client, "scheduler.devices.show", "secret-01", auth=tokens["owner"])["worker"] == (
        "worker-01"
    )
    assert rpc(client, "scheduler.aliases.list", auth=tokens["stranger"]) == ["kvm"]
    assert rpc(client, "scheduler.aliases.list", auth=tokens["owner"]) == ["hidden-alias", "kvm"]
    shown = rpc(client, "scheduler.device_types.show", "qemu")
    assert shown["devices"] == ["qemu-01", "qemu-02"] and shown["aliases"] == ["kvm"]


def test_dictionary_get_render_and_set(client, tokens) -> None:
    text = rpc(client, "scheduler.devices.get_dictionary", "qemu-01").decode()
    assert "extends 'qemu.jinja2'" in text
    rendered = rpc(client, "scheduler.devices.get_dictionary", "qemu-01", True).decode()
    assert yaml.safe_load(rendered)["hostname"] == "qemu-01"
    assert (
        fault(lambda: rpc(client, "scheduler.devices.set_dictionary", "qemu-01", text)).faultCode
        == 401
    )
    owner = tokens["owner"]
    assert (
        fault(
            lambda: rpc(client, "scheduler.devices.set_dictionary", "qemu-01", text, auth=owner)
        ).faultCode
        == 403
    )
    admin = tokens["admin"]
    changed = text + "{% set memory = 512 %}\n"
    assert rpc(client, "scheduler.devices.set_dictionary", "qemu-01", changed, auth=admin) is True
    got = rpc(client, "scheduler.devices.get_dictionary", "qemu-01").decode()
    assert got == changed
    bad = "{% extends 'nope.jinja2' %}"
    refused = fault(
        lambda: rpc(client, "scheduler.devices.set_dictionary", "qemu-01", bad, auth=admin)
    )
    assert refused.faultCode == 400 and "nope.jinja2" in refused.faultString
    assert rpc(client, "scheduler.devices.get_dictionary", "qemu-01").decode() == changed


def test_workers_and_tags(client, tokens) -> None:
    assert rpc(client, "scheduler.workers.list") == ["worker-01"]
    shown = rpc(client, "scheduler.workers.show", "worker-01")
    assert shown["state"] == "Online" and shown["devices"] == ["qemu-01", "qemu-02"]
    assert "token" not in shown
    assert (
        len(rpc(client, "scheduler.workers.show", "worker-01", auth=tokens["admin"])["token"]) == 32
    )
    assert fault(lambda: rpc(client, "scheduler.workers.show", "nope")).faultCode == 404
    assert rpc(client, "scheduler.tags.list") == [{"name": "usb", "description": "a USB hub"}]
    assert rpc(client, "scheduler.tags.show", "usb")["devices"] == []


def test_results_yaml_and_visibility(client, tokens, users, data_dir) -> None:
    job = TestJob.objects.create(submitter=users["owner"], definition="x", visibility=1)
    lines = "".join(
        log.encode("results", {"definition": "0_smoke", "case": name, "result": result}) + "\n"
        for name, result in (("a", "pass"), ("b", "fail"))
    )
    ingest(job, 0, lines)
    everything = yaml.safe_load(
        rpc(client, "results.get_testjob_results_yaml", job.id, auth=tokens["owner"])
    )
    assert [(r["suite"], r["name"], r["result"]) for r in everything] == [
        ("0_smoke", "a", "pass"),
        ("0_smoke", "b", "fail"),
    ]
    suite = rpc(
        client, "results.get_testsuite_results_yaml", job.id, "0_smoke", 1, 1, auth=tokens["owner"]
    )
    assert [r["name"] for r in yaml.safe_load(suite)] == ["b"]
    case = rpc(
        client, "results.get_testcase_results_yaml", job.id, "0_smoke", "b", auth=tokens["owner"]
    )
    assert yaml.safe_load(case)[0]["result"] == "fail"
    for who in ({}, tokens["stranger"]):
        for method, params in (
            ("results.get_testjob_results_yaml", (job.id,)),
            ("results.get_testsuite_results_yaml", (job.id, "0_smoke")),
            ("results.get_testcase_results_yaml", (job.id, "0_smoke", "a")),
            ("results.get_testjob_results_csv", (job.id,)),
            ("results.get_testsuite_results_csv", (job.id, "0_smoke")),
            ("results.get_testcase_results_csv", (job.id, "0_smoke", "a")),
            ("results.get_testjob_suites_list_yaml", (job.id,)),
            ("results.get_testjob_suites_list_csv", (job.id,)),
            ("results.get_testsuite_results_count", (job.id, "0_smoke")),
            ("results.get_testjob_metadata", (job.id,)),
        ):
            refused = fault(lambda m=method, p=params, w=who: rpc(client, m, *p, auth=w))
            assert (refused.faultCode, refused.faultString) == (
                404,
                f"Job '{job.id}' was not found.",
            )
    missing = fault(
        lambda: rpc(client, "results.get_testsuite_results_yaml", job.id, "x", auth=tokens["owner"])
    )
    assert missing.faultCode == 404


def test_results_csv_suites_count_and_metadata(client, tokens, users, data_dir) -> None:
    job = TestJob.objects.create(
        submitter=users["owner"], definition="x", metadata={"build": "7", "tree": "next"}
    )
    lines = "".join(
        log.encode("results", {"definition": suite, "case": name, "result": "pass"}) + "\n"
        for suite, name in (("lava", "job"), ("0_smoke", "a"), ("0_smoke", "b"))
    )
    ingest(job, 0, lines)
    rows = list(csv.DictReader(io.StringIO(rpc(client, "results.get_testjob_results_csv", job.id))))
    assert [(r["suite"], r["name"]) for r in rows] == [
        ("lava", "job"),
        ("0_smoke", "a"),
        ("0_smoke", "b"),
    ]
    page = rpc(client, "results.get_testsuite_results_csv", job.id, "0_smoke", 1, 1)
    assert [r["name"] for r in csv.DictReader(io.StringIO(page))] == ["b"]
    one = rpc(client, "results.get_testcase_results_csv", job.id, "0_smoke", "a")
    assert [r["name"] for r in csv.DictReader(io.StringIO(one))] == ["a"]
    suites = yaml.safe_load(rpc(client, "results.get_testjob_suites_list_yaml", job.id))
    assert [(s["name"], s["job"]) for s in suites] == [
        ("lava", str(job.id)),
        ("0_smoke", str(job.id)),
    ]
    listed = rpc(client, "results.get_testjob_suites_list_csv", job.id)
    assert list(csv.DictReader(io.StringIO(listed))) == suites
    assert rpc(client, "results.get_testsuite_results_count", job.id, "0_smoke") == 2
    assert rpc(client, "results.get_testjob_metadata", job.id) == [{"build": "7"}, {"tree": "next"}]
    bad = fault(lambda: rpc(client, "results.get_testsuite_results_csv", job.id, "0_smoke", "x"))
    assert bad.faultCode == -32602
    assert "parameter 3 (limit) must be an int or nil, not a string" in bad.faultString
    assert (
        fault(lambda: rpc(client, "results.get_testsuite_results_count", job.id, "x")).faultCode
        == 404
    )


def test_device_type_aliases(client, tokens) -> None:
    admin = tokens["admin"]
    name = "scheduler.device_types.aliases"
    rpc(client, f"{name}.add", "qemu", "x86", auth=admin)
    assert rpc(client, f"{name}.list", "qemu") == ["kvm", "x86"]
    assert rpc(client, "scheduler.device_types.show", "qemu")["aliases"] == ["kvm", "x86"]
    assert refused(client, f"{name}.add", "qemu", "x86", auth=admin) == 400
    assert refused(client, f"{name}.delete", "qemu", "arm", auth=admin) == 404
    assert refused(client, f"{name}.add", "qemu", "y", auth=tokens["owner"]) == 403
    assert refused(client, f"{name}.list", "secret", auth=tokens["stranger"]) == 404
    rpc(client, f"{name}.delete", "qemu", "x86", auth=admin)
    assert rpc(client, f"{name}.list", "qemu") == ["kvm"]
