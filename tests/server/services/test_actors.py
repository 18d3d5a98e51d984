"""Who signs a state change's reason, and reading the signature back."""

from __future__ import annotations

from django.contrib.auth.models import User

from lava.server.scheduler.reasons import LENGTH
from lava.server.services.actors import Actor, signer


def test_a_signed_reason_names_who_gave_it() -> None:
    alice = User(username="alice")
    signed = Actor(alice, "REST").signed("new PSU")
    assert signed == "new PSU (by alice over REST)" and signer(signed) == "alice"
    assert signer(Actor.lab("scheduler").signed("lost")) is None
    assert signer("health check 12 incomplete") is None
    # a reason quoting another signature is still signed by who sent it
    assert signer(Actor(alice, "web").signed("moved (by bob over REST)")) == "alice"


def test_a_long_reason_is_cut_but_keeps_its_signature() -> None:
    signed = Actor(User(username="alice"), "XML-RPC").signed("x" * 5000)
    assert len(signed) <= LENGTH and signed.endswith("... (by alice over XML-RPC)")
    assert signer(signed) == "alice"
