"""One test per schema rule, on a small QEMU job changed in one place."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lava.common.schema import CONTEXT_VARIABLES, JobSchemaError, validate_job

BASE: dict[str, Any] = {
    "job_name": "qemu smoke",
    "device_type": "qemu",
    "visibility": "public",
    "priority": "medium",
    "context": {"arch": "amd64", "memory": 1024},
    "timeouts": {"job": {"minutes": 20}, "action": {"minutes": 5}},
    "actions": [
        {
            "deploy": {
                "to": "tmpfs",
                "images": {
                    "rootfs": {
                        "url": "https://example.org/debian.img.gz",
                        "compression": "gz",
                        "image_arg": "-drive format=raw,file={rootfs}",
                    }
                },
            }
        },
        {
            "boot": {
                "method": "qemu",
                "media": "tmpfs",
                "prompts": ["root@debian:~#"],
                "auto_login": {"login_prompt": "login:", "username": "root"},
            }
        },
        {
            "test": {
                "timeout": {"minutes": 5},
                "definitions": [
                    {
                        "from": "git",
                        "repository": "https://example.org/tests.git",
                        "path": "smoke.yaml",
                        "name": "smoke",
                    }
                ],
            }
        },
    ],
}


def job(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def action(data: dict[str, Any], index: int) -> dict[str, Any]:
    return next(iter(data["actions"][index].values()))


def error_of(data: Any, strict: bool = True) -> JobSchemaError:
    with pytest.raises(JobSchemaError) as info:
        validate_job(data, strict=strict)
    return info.value


def test_base_job_is_valid_in_both_modes() -> None:
    validate_job(job(), strict=True)
    validate_job(job(), strict=False)


def test_missing_job_name() -> None:
    error = error_of(job(job_name=None))
    assert error.path == "job_name"
    assert "required" in error.msg


@pytest.mark.parametrize("name", ["", "x" * 201, 42])
def test_job_name_length_and_type(name: Any) -> None:
    assert error_of(job(job_name=name)).path == "job_name"


@pytest.mark.parametrize(
    "timeout",
    [
        {"minutes": 5, "seconds": 30},  # two units
        {"minutes": 0},  # zero
        {"weeks": 1},  # unknown unit
        {},
        {"minutes": "5"},
        "5m",
    ],
    ids=["two-units", "zero", "unknown-unit", "empty", "string-value", "not-a-mapping"],
)
def test_bad_job_timeout(timeout: Any) -> None:
    error = error_of(job(timeouts={"job": timeout}))
    assert error.path == "timeouts.job"
    assert "timeout" in error.msg


def test_two_units_are_accepted_when_not_strict() -> None:
    # non-strict lets the second unit through as an extra key, as LAVA does
    validate_job(job(timeouts={"job": {"minutes": 5, "seconds": 30}}), strict=False)


def test_timeout_skip_flag() -> None:
    validate_job(job(timeouts={"job": {"hours": 1, "skip": True}}))
    assert error_of(job(timeouts={"job": {"hours": 1, "skip": "yes"}})).path == "timeouts.job"


def test_missing_timeouts_job() -> None:
    assert error_of(job(timeouts={"action": {"minutes": 1}})).path == "timeouts.job"


@pytest.mark.parametrize("priority", ["high", "medium", "low", 0, 50, 100])
def test_good_priority(priority: Any) -> None:
    validate_job(job(priority=priority))


@pytest.mark.parametrize("priority", ["urgent", -1, 101, "50", None])
def test_bad_priority(priority: Any) -> None:
    data = job()
    data["priority"] = priority
    assert error_of(data).path == "priority"


@pytest.mark.parametrize("visibility", ["public", "personal", {"group": ["lab", "qa"]}])
def test_visibility_forms(visibility: Any) -> None:
    validate_job(job(visibility=visibility))


@pytest.mark.parametrize("visibility", ["private", {"group": "lab"}, {"users": ["bob"]}, ["lab"]])
def test_bad_visibility(visibility: Any) -> None:
    assert error_of(job(visibility=visibility)).path.startswith("visibility")


def test_missing_visibility() -> None:
    assert error_of(job(visibility=None)).path == "visibility"


def test_unknown_deploy_to() -> None:
    data = job()
    action(data, 0)["to"] = "floppy"
    error = error_of(data)
    assert error.path == "actions[0].deploy.to"
    assert "unknown deploy" in error.msg and "tmpfs" in error.msg


def test_unknown_boot_method() -> None:
    data = job()
    action(data, 1)["method"] = "lilo"
    error = error_of(data)
    assert error.path == "actions[1].boot.method"
    assert "unknown boot method 'lilo'" in error.msg


def test_dispatch_maps_dash_to_underscore_but_spelling_is_checked() -> None:
    data = job()
    action(data, 1).clear()
    action(data, 1).update({"method": "u_boot", "commands": "ramdisk"})
    error = error_of(data)
    assert error.path == "actions[1].boot.u_boot.method"
    assert error.msg == "'method' should be 'u-boot'"
    action(data, 1)["method"] = "u-boot"
    validate_job(data)


def test_nested_error_path_names_the_method_as_written() -> None:
    data = job()
    action(data, 1)["media"] = "nfs"
    error = error_of(data)
    assert error.path == "actions[1].boot.qemu.media"
    assert str(error) == f"{error.msg} @ actions[1].boot.qemu.media"


def test_u_boot_path_keeps_the_dash() -> None:
    data = job()
    data["actions"][1] = {"boot": {"method": "u-boot", "commands": "nfs", "media": "tmpfs"}}
    assert error_of(data).path == "actions[1].boot.u-boot.media"


def test_list_items_in_paths() -> None:
    data = job()
    action(data, 2)["definitions"][0]["name"] = "smoke test!"
    error = error_of(data)
    assert error.path.startswith("actions[2].test.definition.definitions[0]")


@pytest.mark.parametrize("name", ["smoke test", "a/b", "naïve", ""])
def test_bad_test_definition_name(name: str) -> None:
    data = job()
    action(data, 2)["definitions"][0]["name"] = name
    assert error_of(data).path.startswith("actions[2].test.definition.definitions[0]")


def test_test_without_any_form() -> None:
    data = job()
    data["actions"][2] = {"test": {"timeout": {"minutes": 1}}}
    error = error_of(data)
    assert error.path == "actions[2].test"
    assert "invalid action" in error.msg


def test_context_key_not_allowed() -> None:
    error = error_of(job(context={"arch": "amd64", "kernel": "vmlinuz"}))
    assert error.path == "context.kernel"
    # closed in non-strict mode too
    assert error_of(job(context={"kernel": "vmlinuz"}), strict=False).path == "context.kernel"


def test_every_context_variable_is_allowed() -> None:
    validate_job(job(context=dict.fromkeys(CONTEXT_VARIABLES, "1")))


def test_extra_context_variables() -> None:
    validate_job(job(context={"custom": 1}), extra_context_variables=("custom",))


def test_action_timeout_larger_than_job_timeout() -> None:
    data = job()
    action(data, 2)["timeout"] = {"hours": 1}
    error = error_of(data)
    assert error.msg == "Action timeout is larger than job timeout"
    assert error.path == "actions[2].test.timeout"


@pytest.mark.parametrize("key", ["action", "connection"])
def test_global_timeout_larger_than_job_timeout(key: str) -> None:
    error = error_of(job(timeouts={"job": {"minutes": 5}, key: {"seconds": 301}}))
    assert error.msg == "Global timeout is larger than job timeout"
    assert error.path == f"timeouts.{key}"


def test_named_timeout_larger_than_job_timeout() -> None:
    timeouts = {"job": {"minutes": 5}, "actions": {"http-download": {"minutes": 6}}}
    assert error_of(job(timeouts=timeouts)).path == "timeouts.actions.http-download"


def test_equal_timeout_is_fine() -> None:
    validate_job(job(timeouts={"job": {"minutes": 5}, "action": {"seconds": 300}}))


def test_namespaces_all_or_none() -> None:
    data = job()
    action(data, 0)["namespace"] = "target"
    error = error_of(data)
    assert "every action should have a namespace" in error.msg
    assert error.path == "actions[1].boot.namespace"
    for index in (1, 2):
        action(data, index)["namespace"] = "target"
    validate_job(data)


@pytest.mark.parametrize("name", ["common", "docker-test-shell"])
def test_reserved_namespaces(name: str) -> None:
    data = job()
    for index in range(3):
        action(data, index)["namespace"] = name
    error = error_of(data)
    assert "reserved" in error.msg
    assert error.path == "actions[0].deploy.tmpfs.namespace"


def multinode() -> dict[str, Any]:
    data = job(device_type=None, context=None)
    data["protocols"] = {
        "lava-multinode": {
            "roles": {
                "server": {"device_type": "qemu", "count": 1},
                "client": {"device_type": "qemu", "count": 2, "context": {"arch": "arm64"}},
            },
            "timeout": {"minutes": 10},
        }
    }
    for index in range(3):
        action(data, index)["role"] = ["server", "client"]
    return data


def test_multinode_job_is_valid() -> None:
    validate_job(multinode())


def test_multinode_actions_need_roles() -> None:
    data = multinode()
    del action(data, 1)["role"]
    error = error_of(data)
    assert error.msg == "Every action of a multinode job should have roles"
    assert error.path == "actions[1].boot.role"


@pytest.mark.parametrize(
    ("key", "value"),
    [("device_type", "qemu"), ("context", {"arch": "amd64"}), ("tags", ["kvm"])],
)
def test_multinode_forbids_top_level_device_selection(key: str, value: Any) -> None:
    data = multinode()
    data[key] = value
    assert error_of(data).msg == f'"{key}" should not be used with multinode'


def test_device_type_needed_without_multinode() -> None:
    assert error_of(job(device_type=None)).msg == '"device_type" or multinode should be defined'


def test_multinode_role_must_be_a_mapping() -> None:
    data = multinode()
    data["protocols"]["lava-multinode"]["roles"]["server"] = "server"
    assert error_of(data).path == "protocols.lava-multinode.roles.server"


def test_xnbd_port() -> None:
    validate_job(job(protocols={"lava-xnbd": {"port": "auto"}}))
    validate_job(job(protocols={"lava-xnbd": {"port": 10809}}))
    assert error_of(job(protocols={"lava-xnbd": {"port": "any"}})).path.startswith(
        "protocols.lava-xnbd.port"
    )


def test_unknown_top_level_key_strict_only() -> None:
    assert error_of(job(owner="me")).path == "owner"
    validate_job(job(owner="me"), strict=False)


def test_unknown_action_key_strict_only() -> None:
    data = job()
    action(data, 1)["kernel"] = "vmlinuz"
    assert error_of(data).path == "actions[1].boot.qemu.kernel"
    validate_job(data, strict=False)


def test_secrets_metadata_tags() -> None:
    validate_job(job(secrets={"TOKEN": "x"}, metadata={"build": 12, "ok": [1]}, tags=["kvm"]))
    assert error_of(job(secrets={"TOKEN": 12})).path == "secrets.TOKEN"
    assert error_of(job(tags="kvm")).path == "tags"


def test_notify() -> None:
    notify = {
        "criteria": {"status": "complete", "type": "regression"},
        "recipients": [{"to": {"method": "email", "email": "qa@example.org"}}],
        "callbacks": [{"url": "https://ci.example.org/hook", "method": "POST"}],
    }
    validate_job(job(notify=notify))
    both = {**notify, "callback": {"url": "https://ci.example.org/hook"}}
    assert error_of(job(notify=both)).path.startswith("notify")
    assert error_of(job(notify={"criteria": {"status": "done"}})).path.startswith("notify.criteria")


def test_command_action() -> None:
    data = job()
    data["actions"].append({"command": {"name": "leds"}})
    validate_job(data)
    data["actions"][3] = {"command": {}}
    assert error_of(data).path == "actions[3].command.command.name"


@pytest.mark.parametrize(
    "body",
    [
        {"interactive": [{"name": "uboot", "prompts": ["=>"], "script": [{"command": "help"}]}]},
        {"monitors": [{"name": "zephyr", "start": "BOOT", "end": "DONE", "pattern": "(?P<x>.)"}]},
        {
            "services": [
                {"from": "git", "name": "db", "repository": "https://x/y.git", "path": "c.yaml"}
            ]
        },
        {
            "docker": {"image": "debian:bookworm"},
            "definitions": [
                {"from": "git", "repository": "https://x/y.git", "path": "a.yaml", "name": "a"}
            ],
        },
    ],
    ids=["interactive", "monitors", "services", "docker"],
)
def test_test_forms(body: dict[str, Any]) -> None:
    data = job()
    data["actions"][2] = {"test": body}
    validate_job(data)


def test_inline_definition_is_checked() -> None:
    data = job()
    action(data, 2)["definitions"][0] = {
        "from": "inline",
        "name": "smoke",
        "path": "inline/smoke.yaml",
        "repository": {
            "metadata": {"format": "Lava-Test Test Definition 1.0", "name": "smoke"},
            "run": {"steps": ["uname -a"]},
        },
    }
    validate_job(data)
    action(data, 2)["definitions"][0]["repository"]["metadata"]["format"] = "other"
    assert error_of(data).path.startswith("actions[2].test.definition.definitions[0]")


def test_bad_docker_image_name() -> None:
    data = job()
    data["actions"][0] = {"deploy": {"to": "docker", "image": "Debian Latest"}}
    assert error_of(data).path.startswith("actions[0].deploy.docker.image")


def test_actions_entries() -> None:
    assert error_of(job(actions={"deploy": {}})).path == "actions"
    assert error_of(job(actions=[{"flash": {}}])).path == "actions[0].flash"
    assert error_of(job(actions=[{}])).path == "actions[0]"


def test_not_a_mapping() -> None:
    assert "dictionary" in error_of(["job_name"]).msg


def test_self_referencing_data_does_not_escape() -> None:
    data = job()
    data["metadata"] = {"loop": []}
    data["metadata"]["loop"].append(data["metadata"])
    error = error_of(data)  # the schema leaves metadata alone; its size is endless
    assert error.path == "metadata" and "metadata_size" in error.msg
    del data["metadata"]
    loop: list[Any] = []
    loop.append(loop)
    data["tags"] = loop
    assert isinstance(error_of(data), JobSchemaError)


def test_package_module_name_checks_only_the_common_keys() -> None:
    # LAVA's module lookup reaches the package module for "__init__"; same verdicts here
    data = job()
    data["actions"][0] = {"deploy": {"to": "__init__", "os": "debian"}}
    validate_job(data, strict=False)
    assert error_of(data).path == "actions[0].deploy.__init__.to"


def test_a_cancel_during_the_check_is_a_cancel_not_a_bad_definition(monkeypatch) -> None:
    """lava-run canceled as it starts: its signal handler raises JobCanceled inside the
    schema check, and the job must end Canceled (the device keeps its health), not with a
    Job error for a definition that was fine."""
    import lava.common.schema as schema
    from lava.common.exceptions import JobCanceled

    def canceled(*args, **kwargs):
        raise JobCanceled("The job was canceled (SIGTERM)")

    monkeypatch.setattr(schema, "validate", canceled)
    with pytest.raises(JobCanceled):
        schema.validate_job({"job_name": "x"}, strict=False)
