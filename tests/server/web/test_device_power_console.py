"""The device page's "Power and console" section: what it shows, to whom, and that a
dictionary that does not render leaves the page standing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from lava.server.scheduler.models import GroupDevicePermission
from lava.server.services import Refused, dictionaries

PDU_DICT = """{% extends 'qemu.jinja2' %}
{% set connection_command = 'telnet 127.0.0.1 7101' %}
{% set hard_reset_command = ['pduclient --daemon pdu-01 --port 3 --command reboot', 'sleep 5'] %}
{% set power_on_command = 'pduclient --daemon pdu-01 --port 3 --command on' %}
{% set power_off_command = 'pduclient --daemon pdu-01 --port 3 --command off' %}
{% set recovery_mode_command = 'relay 3 recovery' %}
"""
LIST_DICT = """{% extends 'qemu.jinja2' %}
{% set connection_list = ['uart0', 'uart1'] %}
{% set connection_commands = {'uart0': 'telnet ser2net 7001', 'uart1': 'ssh -t ser2net uart1'} %}
{% set connection_tags = {'uart0': ['primary', 'telnet'], 'uart1': 'ssh'} %}
{% set soft_reboot_command = 'reboot' %}
"""
HOSTILE_DICT = """{% extends 'qemu.jinja2' %}
{% set connection_command = '<script>alert(1)</script>' %}
{% set hard_reset_command = '"><img src=x onerror=alert(2)>' %}
"""


def client_for(who: str, users: dict[str, User]) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(users[who])
    return client


def section(client: Client, hostname: str) -> str:
    """The page's "Power and console" card ("" when the page has none)."""
    response = client.get(f"/scheduler/device/{hostname}")
    assert response.status_code == 200, response.content[:300]
    body = response.content.decode()
    if 'id="power-console"' not in body:
        return ""
    return body.split('id="power-console"')[1].split("</section>")[0]


def row(card: str, key: str) -> str:
    return card.split(f'id="command-{key}"')[1].split("</tr>")[0]


def test_telnet_console_and_pdu_commands(lab: Any, users: dict[str, User]) -> None:
    lab.device("board-01", dictionary=PDU_DICT)
    card = section(client_for("stranger", users), "board-01")
    assert "Power and console" in card
    assert "<code>telnet 127.0.0.1 7101</code>" in card
    reset = row(card, "hard_reset")
    assert "pduclient --daemon pdu-01 --port 3 --command reboot" in reset and "sleep 5" in reset
    assert "--command on" in row(card, "power_on")
    assert "--command off" in row(card, "power_off")
    assert "not set" in row(card, "soft_reboot")
    assert "relay 3 recovery" in row(card, "recovery_mode")
    assert 'id="command-pre_os_command"' not in card  # not a main command, not set
    assert 'id="no-power-control"' not in card
    # the same commands as the dictionary page shows, unmasked as there
    devicedict = client_for("stranger", users).get("/scheduler/device/board-01/devicedict")
    assert "pduclient --daemon pdu-01 --port 3 --command reboot" in devicedict.content.decode()


def test_connection_list_with_tags(lab: Any, users: dict[str, User]) -> None:
    lab.device("board-02", dictionary=LIST_DICT)
    card = section(client_for("anonymous", users), "board-02")
    connections = card.split('class="connection"')[1:]
    assert len(connections) == 2
    assert "uart0" in connections[0] and "<code>telnet ser2net 7001</code>" in connections[0]
    assert ">primary</span>" in connections[0] and ">telnet</span>" in connections[0]
    assert "uart1" in connections[1] and "<code>ssh -t ser2net uart1</code>" in connections[1]
    assert ">ssh</span>" in connections[1] and "primary" not in connections[1]
    assert '<code class="d-block">reboot</code>' in row(card, "soft_reboot")
    assert 'id="no-power-control"' in card  # soft reboot only


def test_no_commands_gives_the_note(lab: Any, users: dict[str, User]) -> None:
    card = section(client_for("stranger", users), "qemu-01")
    assert 'id="no-power-control"' in card and "must rely on a soft reboot" in card
    for key in ("hard_reset", "power_on", "power_off", "soft_reboot"):
        assert "not set" in row(card, key), key
    console = card.split('class="connection"')[1].split("</tr>")[0]
    assert "not set" in console


def test_hostile_commands_are_escaped(lab: Any, users: dict[str, User]) -> None:
    lab.device("evil-01", dictionary=HOSTILE_DICT)
    card = section(client_for("stranger", users), "evil-01")
    assert "<script>" not in card and "<img" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in card


@pytest.mark.parametrize("who", ["anonymous", "stranger", "owner", "admin"])
def test_only_who_may_read_the_dictionary(who: str, lab: Any, users: dict[str, User]) -> None:
    device = lab.device("secret-01", dictionary=PDU_DICT)
    group = Group.objects.get(name="lab")
    GroupDevicePermission.objects.create(group=group, device=device, permission="view")
    response = client_for(who, users).get("/scheduler/device/secret-01")
    body = response.content.decode()
    if who in ("owner", "admin"):
        assert response.status_code == 200 and "pduclient" in body
    else:  # the page of a hidden device reads as a missing one: nothing of its commands
        assert response.status_code == 404
        assert "pduclient" not in body and "telnet 127.0.0.1" not in body


def test_refused_dictionary_leaves_no_trace(
    lab: Any, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the dictionary's rule to refuse a visitor the device page still shows, the
    page would carry none of it."""
    lab.device("board-01", dictionary=PDU_DICT)

    def refuse(actor: Any, hostname: str) -> Any:
        raise Refused("sign in to read device dictionaries", login=True)

    monkeypatch.setattr(dictionaries, "readable_device", refuse)
    response = Client().get("/scheduler/device/board-01")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="power-console"' not in body
    assert "pduclient" not in body and "telnet 127.0.0.1" not in body


def test_a_dictionary_that_does_not_render(lab: Any, users: dict[str, User]) -> None:
    lab.device("broken-01", dictionary="{% extends 'qemu.jinja2' %}\n{% if <b>x</b> %}\n")
    card = section(client_for("admin", users), "broken-01")
    problem = card.split('id="power-console-problem">')[1].split("</div>")[0]
    assert problem.startswith("the device dictionary does not render: device &#x27;broken-01")
    assert "<b>" not in card
    assert 'class="power-command"' not in card


def test_a_device_without_a_dictionary(lab: Any, users: dict[str, User]) -> None:
    (lab.root / "devices" / "qemu-02.jinja2").unlink()
    card = section(client_for("stranger", users), "qemu-02")
    assert "the device has no device dictionary" in card
