"""Rendering a device dictionary with a caller's context: signed-in callers, within the limits."""

from __future__ import annotations

import pytest
import yaml
from django.contrib.auth.models import AnonymousUser

from lava.server.scheduler.models import Device
from lava.server.services import Actor, Refused, ServiceError, dictionaries


@pytest.fixture
def device(lab) -> str:
    return Device.objects.get(hostname="qemu-01").hostname


def rest(user) -> Actor:
    return Actor(user, "REST")


def test_a_signed_in_caller_renders_with_a_context_as_lava_reads_it(device, users) -> None:
    text = dictionaries.read(rest(users["stranger"]), device, True, "arch: arm64\nnetdevice: tap\n")
    qemu = yaml.safe_load(text)["actions"]["boot"]["methods"]["qemu"]["parameters"]
    assert qemu["command"] == "qemu-system-aarch64"
    assert any(option.endswith("-net tap") for option in qemu["options"])


@pytest.mark.parametrize("user", [AnonymousUser()])
def test_anonymous_callers_render_without_a_context_only(device, user) -> None:
    assert (
        yaml.safe_load(dictionaries.read(rest(user), device, True, None))["hostname"] == "qemu-01"
    )
    assert dictionaries.read(rest(user), device, True, "  ")
    with pytest.raises(Refused, match="needs authentication"):
        dictionaries.read(rest(user), device, True, "arch: arm64")


@pytest.mark.parametrize(
    ("context", "words"),
    [
        ("arch: '" + "x" * 20_000 + "'", ["context: at least", "context_size"]),
        (  # 15 KB of request, 3 MB expanded: refused before anything is built
            "a: &a ['" + "x" * 1000 + "']\nb: &b [" + ", ".join(["*a"] * 3000) + "]\n",
            ["context", "expanded_size"],
        ),
        ("extra_options: [" + ", ".join(["'-smp 1'"] * 3000) + "]\n", ["context_size"]),
        ("[arch, arm64]", ["must be a mapping of variables, not list"]),
        ("arch: [unclosed", ["context: not valid YAML"]),
        (42, ["must be YAML text, not int"]),
    ],
)
def test_a_context_over_the_limits_is_refused_by_name(device, users, context, words) -> None:
    with pytest.raises(ServiceError) as refused:
        dictionaries.read(rest(users["owner"]), device, True, context)
    for word in words:
        assert word in str(refused.value)


def test_a_rendering_over_device_size_is_refused(device, users, lab) -> None:
    echo = "{% for n in range(100) %}line{{ n }}: {{ arch | yaml_quote }}\n{% endfor %}"
    (lab.root / "device-types" / "echo.jinja2").write_text(echo)
    (lab.root / "devices" / "qemu-01.jinja2").write_text("{% extends 'echo.jinja2' %}\n")
    context = "arch: '" + "x" * 15_000 + "'"  # within context_size; a hundred times over
    with pytest.raises(ServiceError, match="device_size"):
        dictionaries.read(rest(users["owner"]), device, True, context)
