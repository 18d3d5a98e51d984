"""Who hears an event: the publisher's decision, made without a database, equals the
visibility rules' querysets (``permissions.visible_jobs`` and ``visible_devices``)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava.server.events import facts
from lava.server.events.messages import TESTJOB, WORKER, Event, Scope
from lava.server.events.scope import Viewer, sees, viewer_of
from lava.server.scheduler import permissions
from lava.server.scheduler.models import (
    Device,
    Worker,
)
from lava.server.scheduler.states import Visibility
from tests.support.permission_world import (
    DEVICE_ROWS,
    HOSTS,
    TYPE_ROWS,
    permission_rows,
    viewer_and_job,
)


def test_an_anonymous_listener_of_an_open_lab_hears_public_jobs_only(lab, users) -> None:
    """(Also first in the file: it sets up the test database the property test below uses.)"""
    anonymous = viewer_of(AnonymousUser())
    assert anonymous == Viewer()
    public = Event(TESTJOB, "admin", {"job": 1}, Scope(types=("qemu",), job=True))
    personal = Event(TESTJOB, "owner", {"job": 2}, Scope(job=True, public=False, submitter=2))
    assert sees(anonymous, public) and not sees(anonymous, personal)
    assert sees(viewer_of(users["admin"]), personal)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    type_rows=TYPE_ROWS,
    device_rows=DEVICE_ROWS,
    member_of=st.sets(st.sampled_from([0, 1])),
    viewer=st.sampled_from(["anonymous", "someone", "submitter", "superuser"]),
    visibility=st.sampled_from(list(Visibility)),
    job_groups=st.sets(st.sampled_from([0, 1])),
    requested=st.sampled_from(["a", "b"]),
    device=st.sampled_from([None, *HOSTS]),
)
def test_listeners_hear_what_the_rules_let_them_see(
    django_db_setup,
    django_db_blocker,
    type_rows,
    device_rows,
    member_of,
    viewer,
    visibility,
    job_groups,
    requested,
    device,
) -> None:
    with django_db_blocker.unblock(), transaction.atomic():
        groups = permission_rows(type_rows, device_rows)
        user, job = viewer_and_job(
            groups, viewer, member_of, visibility, job_groups, requested, device
        )

        listener = viewer_of(user)
        [job_event] = facts.job_events([job.id])
        assert sees(listener, job_event) == permissions.can_view_job(user, job)
        for host in HOSTS:
            event = facts.device_event(Device.objects.get(hostname=host))
            visible = permissions.visible_devices(user).filter(pk=host).exists()
            assert sees(listener, event) == visible, host
        assert sees(listener, facts.worker_event(Worker(hostname="w1")))
        transaction.set_rollback(True)


def test_a_worker_hears_only_of_its_own_jobs() -> None:
    worker = Viewer(worker="w1")
    mine = Event(TESTJOB, "admin", {"job": 1, "worker": "w1"}, Scope(job=True))
    other = Event(TESTJOB, "admin", {"job": 2, "worker": "w2"}, Scope(job=True))
    assert sees(worker, mine) and not sees(worker, other)
    assert not sees(worker, Event(WORKER, "lavaserver", {"hostname": "w1"}))
