"""Rendering a device dictionary with a caller's context: signed-in callers, within the limits."""

from __future__ import annotations

import pytest
import yaml
from django.contrib.auth.models import AnonymousUser

from lava.server.api import dictionaries
from lava.server.scheduler.models import Device


@pytest.fixture
def device(lab) -> Device:
    return Device.objects.get(hostname="qemu-01")


def test_a_signed_in_caller_renders_with_a_context_as_lava_reads_it(device, users) -> None:
    text = dictionaries.read(device, True, "arch: arm64\nnetdevice: tap\n", users["stranger"])
    qemu = yaml.safe_load(text)["actions"]["boot"]["methods"]["qemu"]["parameters"]
    assert qemu["command"] == "qemu-system-aarch64"
    assert any(option.endswith("-net tap") for option in qemu["options"])


@pytest.mark.parametrize("user", [None, AnonymousUser()])
def test_anonymous_callers_render_without_a_context_only(device, user) -> None:
    assert yaml.safe_load(dictionaries.read(device, True, None, user))["hostname"] == "qemu-01"
    assert dictionaries.read(device, True, "  ", user)
    with pytest.raises(dictionaries.NeedsLogin, match="needs authentication"):
        dictionaries.read(device, True, "arch: arm64", user)


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
    with pytest.raises(dictionaries.Refused) as refused:
        dictionaries.read(device, True, context, users["owner"])
    for word in words:
        assert word in str(refused.value)


def test_a_rendering_over_device_size_is_refused(device, users, lab) -> None:
    echo = "{% for n in range(100) %}line{{ n }}: {{ arch | yaml_quote }}\n{% endfor %}"
    (lab.root / "device-types" / "echo.jinja2").write_text(echo)
    (lab.root / "devices" / "qemu-01.jinja2").write_text("{% extends 'echo.jinja2' %}\n")
    context = "arch: '" + "x" * 15_000 + "'"  # within context_size; a hundred times over
    with pytest.raises(dictionaries.Refused, match="device_size"):
        dictionaries.read(device, True, context, users["owner"])
