"""Every web URL of LAVA's map, for a public, a hidden and a missing object, as four people.

One row per URL: what someone who may see the object gets (its status), per
person for the actions. The rules checked for every row:

* a visible object answers the row's status (anonymous is sent to sign in where
  the page or action needs it);
* a hidden object answers a stranger and an anonymous visitor exactly what a
  missing one does (status, redirect and body, ids aside), and its owner and an
  admin what a visible one does;
* a missing object answers 404 to everyone (or the sign-in redirect).

A last test fails when a URL of the web pages is in none of the tables, so a new
page cannot skip the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client

from lava.server.logs.store import log_store
from lava.server.scheduler.models import (
    AuthToken,
    Device,
    DeviceType,
    GroupDeviceTypePermission,
    TestJob,
)
from lava.server.scheduler.states import DeviceHealth, JobHealth, JobState, Visibility
from tests.support.probes import MISSING, Ids, Who, make_job, page

PEOPLE = ("anonymous", "owner", "stranger", "admin")
LOGIN = "302 /accounts/login/"

# A job's pages: the status its viewers get.
JOB_PAGES = {
    "scheduler/job/{i.job}": 200,
    "scheduler/job/{i.job}/definition": 200,
    "scheduler/job/{i.job}/definition/plain": 200,
    "scheduler/job/{i.job}/multinode_definition": 404,  # not a multinode job
    "scheduler/job/{i.job}/multinode_definition/plain": 404,
    "scheduler/job/{i.job}/description": 200,
    "scheduler/job/{i.job}/configuration": 200,
    "scheduler/job/{i.job}/log_file/plain": 200,
    "scheduler/job/{i.job}/timing": 200,
    "scheduler/job/{i.job}/job_status": 200,
    "scheduler/job/{i.job}/job_data": 404,  # it sent no callback (tests/server/notifications)
    "scheduler/job/{i.job}/log_pipeline_incremental?line=0": 200,
    "scheduler/job/{i.job}/log_lines?start=0&count=10": 200,
    "scheduler/job/{i.job}/log_find?lvl=error": 200,
    "scheduler/job/{i.job}/log_stream?line=2": 200,
    "scheduler/job/{i.job}/log": 200,
    "results/{i.job}": 200,
    "results/{i.job}/csv": 200,
    "results/{i.job}/yaml": 200,
    "results/{i.job}/yaml_summary": 200,
    "results/{i.job}/metadata": 200,
    "results/{i.job}/0_smoke": 200,
    "results/{i.job}/0_smoke/csv": 200,
    "results/{i.job}/0_smoke/stream/csv": 200,
    "results/{i.job}/0_smoke/yaml": 200,
    "results/{i.job}/0_smoke/+testcase-count": 200,
    "results/{i.job}/0_smoke/secret-case": 200,
    "results/{i.job}/0_smoke/no-set/secret-case": 404,  # the case is in no test set
    "results/testcase/{i.case}": 200,
    "results/testcase/{i.case}/yaml": 200,
}
# A job's actions (POST, with nothing else): per person, on a job they can see.
JOB_ACTIONS = {
    "scheduler/job/{i.job}/cancel": (LOGIN, 302, 403, 302),
    "scheduler/job/{i.job}/resubmit": (LOGIN, 400, 400, 400),  # its definition is no job
    "scheduler/job/{i.job}/fail": (LOGIN, 403, 403, 302),  # a conflict: the page says so
    "scheduler/job/{i.job}/toggle_favorite": (LOGIN, 302, 302, 302),
    "scheduler/job/{i.job}/priority": (LOGIN, 400, 403, 400),  # no priority given
}
DEVICE_PAGES = {
    "scheduler/device/{i.host}": 200,
    "scheduler/device/{i.host}/devicedict": 200,
    "scheduler/device/{i.host}/devicedict/plain": 200,
    "scheduler/labhealth/device/{i.host}": 200,
    "scheduler/device_type/{i.type}": 200,
    "scheduler/devicetypeyaml/{i.type}": 200,
    "scheduler/dthealthhistory/device_type/{i.type}": 200,
}
DEVICE_ACTIONS = {
    "scheduler/device/{i.host}/health": (LOGIN, 403, 403, 400),  # no health given
}
# Lists: whether the object is in them, per person (None: sent to sign in).
JOB_LISTS = {
    "": (True, True, True, True),
    "scheduler/alljobs": (True, True, True, True),
    "scheduler/activejobs": (True, True, True, True),
    "scheduler/queue": (True, True, True, True),
    "scheduler/running": (False, False, False, False),  # the job is queued
    "scheduler/joberrors": (False, False, False, False),
    "scheduler/healthcheck": (False, False, False, False),
    "scheduler/myjobs": (None, True, False, False),
    "scheduler/myactivejobs": (None, True, False, False),
    "scheduler/myqueuedjobs": (None, True, False, False),
    "scheduler/myerrorjobs": (None, False, False, False),
    "scheduler/favorite-jobs": (None, False, False, False),
    "results/": (True, True, True, True),
}
DEVICE_LISTS = (
    "scheduler/",
    "scheduler/device_types",
    "scheduler/alldevices",
    "scheduler/alldevices/active",
    "scheduler/online",
    "scheduler/maintenance",
    "scheduler/labhealth/",
)
# URLs with no job or device in them, and what each person gets.
PAGES = {
    "scheduler/passinghealthchecks": (200, 200, 200, 200),
    "scheduler/mydevices": (LOGIN, 200, 200, 200),
    "scheduler/allworkers": (200, 200, 200, 200),
    "scheduler/worker/worker-01": (200, 200, 200, 200),
    "scheduler/worker/ghost-01": (404, 404, 404, 404),
    "scheduler/jobsubmit": (LOGIN, 200, 200, 200),
    "accounts/login/": (200, 200, 200, 200),
    "api/tokens/": (LOGIN, 200, 200, 200),
    "api/help/": (200, 200, 200, 200),
    "v1/healthz/": (200, 200, 200, 200),
    "v1/prometheus/": (200, 200, 200, 200),
    "robots.txt": (200, 200, 200, 200),
}
POSTS = {
    "accounts/logout/": (302, 302, 302, 302),
    "scheduler/worker/worker-01/health": (LOGIN, 403, 403, 400),  # no health given
    "api/tokens/create/": (LOGIN, 302, 302, 302),
    "api/tokens/delete_unused/": (LOGIN, 302, 302, 302),
    # the owner's token: its owner may, a stranger reads it as missing
    "api/tokens/{token}/delete/": (LOGIN, 302, 404, 404),
    "api/tokens/{token}/secret/": (LOGIN, 200, 404, 404),
}


@dataclass
class Lab:
    people: dict[str, Who]
    client: Client

    def answer(self, who: str, path: str, method: str = "get") -> str:
        return page(self.client, self.people[who], "/" + path, method)


def status(answer: str) -> str:
    """``200``, ``404``, ...; a redirect to the sign-in page as ``LOGIN``."""
    return LOGIN if answer.startswith(LOGIN) else answer.split(" ", 1)[0]


def expected(value: object) -> str:
    return value if isinstance(value, str) else str(value)


@pytest.fixture
def web(users, lab, data_dir) -> Lab:
    people = {"anonymous": Who("anonymous", {}, {}, None)}
    people.update({name: Who(name, {}, {}, user) for name, user in users.items()})
    secret = DeviceType.objects.create(name="secret")
    GroupDeviceTypePermission.objects.create(
        devicetype=secret, group=Group.objects.get(name="lab"), permission="view"
    )
    (lab.root / "device-types" / "secret.jinja2").write_text("{% extends 'qemu.jinja2' %}\n")
    lab.device("secret-01", device_type=secret)
    return Lab(people, Client(HTTP_HOST="localhost"))


def _job(users, lab, visibility: int, finished: bool = False) -> Ids:
    ids = make_job(users, lab, visibility=visibility)
    log_store().write_file(ids.job, "description.yaml", "pipeline: []\n")
    if finished:  # its live log stream ends at once
        TestJob.objects.filter(id=ids.job).update(
            state=JobState.FINISHED, health=JobHealth.COMPLETE
        )
    return ids


def _check_object(web: Lab, ids: Ids, hidden: bool, path: str, wanted: tuple) -> None:
    for n, who in enumerate(PEOPLE):
        got = ids.normalise(web.answer(who, path.format(i=ids), "post" if wanted else "get"))
        missing = MISSING.normalise(
            web.answer(who, path.format(i=MISSING), "post" if wanted else "get")
        )
        where = f"{path} as {who} ({'hidden' if hidden else 'visible'})"
        assert status(missing) in ("404", LOGIN), f"{where}: a missing one answers {missing[:80]}"
        if hidden and who in ("anonymous", "stranger"):
            assert got == missing, f"{where}: tells a hidden object from a missing one"
        elif wanted:
            assert status(got) == expected(wanted[n]), f"{where}: {got[:300]}"


def _rolled_back(check) -> None:
    """Run ``check`` and undo what it wrote (an action's effect), so each person starts alike."""
    try:
        with transaction.atomic():
            check()
            raise _Undo
    except _Undo:
        pass


class _Undo(Exception):
    pass


@pytest.mark.parametrize("hidden", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("path", list(JOB_PAGES))
def test_job_pages(web, users, lab, hidden, path) -> None:
    ids = _job(users, lab, Visibility.PERSONAL if hidden else Visibility.PUBLIC, finished=True)
    _check_object(web, ids, hidden, path, ())
    for who in PEOPLE:
        if hidden and who in ("anonymous", "stranger"):
            continue
        got = web.answer(who, path.format(i=ids))
        assert status(got) == str(JOB_PAGES[path]), f"{path} as {who}: {got[:300]}"


@pytest.mark.parametrize("hidden", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("path", list(JOB_ACTIONS))
def test_job_actions(web, users, lab, hidden, path) -> None:
    ids = _job(users, lab, Visibility.PERSONAL if hidden else Visibility.PUBLIC)
    _rolled_back(lambda: _check_object(web, ids, hidden, path, JOB_ACTIONS[path]))
    assert TestJob.objects.get(id=ids.job).state == JobState.SUBMITTED  # every action undone


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("path", [*DEVICE_PAGES, *DEVICE_ACTIONS])
def test_device_pages(web, hidden, path) -> None:
    ids = Ids(MISSING.job, MISSING.suite, MISSING.case, "qemu-01", "qemu")
    if hidden:
        ids = Ids(MISSING.job, MISSING.suite, MISSING.case, "secret-01", "secret")
    wanted = DEVICE_ACTIONS.get(path) or (DEVICE_PAGES[path],) * 4
    if path in DEVICE_ACTIONS:
        _rolled_back(lambda: _check_object(web, ids, hidden, path, wanted))
        return
    _check_object(web, ids, hidden, path, ())
    for n, who in enumerate(PEOPLE):
        if hidden and who in ("anonymous", "stranger"):
            continue
        got = web.answer(who, path.format(i=ids))
        assert status(got) == expected(wanted[n]), f"{path} as {who}: {got[:300]}"


@pytest.mark.parametrize("hidden", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("path", list(JOB_LISTS))
def test_job_lists(web, users, lab, hidden, path) -> None:
    ids = _job(users, lab, Visibility.PERSONAL if hidden else Visibility.PUBLIC)
    for n, who in enumerate(PEOPLE):
        got = web.answer(who, path)
        shown = JOB_LISTS[path][n]
        if shown is None:
            assert status(got) == LOGIN, f"{path} as {who}: {got[:200]}"
            continue
        assert status(got) == "200", f"{path} as {who}: {got[:300]}"
        if hidden and who in ("anonymous", "stranger"):
            shown = False
        link = f'href="/scheduler/job/{ids.job}"' in got or f'href="/results/{ids.job}"' in got
        assert link == shown, f"{path} as {who}: job {'missing' if shown else 'shown'}"


@pytest.mark.parametrize("path", DEVICE_LISTS)
def test_device_lists(web, path) -> None:
    if path == "scheduler/maintenance":
        Device.objects.update(health=DeviceHealth.MAINTENANCE)
    for who in PEOPLE:
        got = web.answer(who, path)
        assert status(got) == "200", f"{path} as {who}: {got[:300]}"
        assert "/scheduler/device/qemu-01" in got or "/scheduler/device_type/qemu" in got
        hidden = "secret-01" in got or "/scheduler/device_type/secret" in got
        assert hidden == (who in ("owner", "admin")), f"{path} as {who}"


@pytest.mark.parametrize("path", [*PAGES, *POSTS])
def test_other_pages(web, users, path) -> None:
    wanted = PAGES.get(path) or POSTS[path]
    method = "post" if path in POSTS else "get"
    for n, who in enumerate(PEOPLE):
        token = AuthToken.objects.create(user=users["owner"], description="the owner's")
        got = web.answer(who, path.format(token=token.id), method)
        assert status(got) == expected(wanted[n]), f"{path} as {who}: {got[:300]}"
        if who != "owner":  # nobody else removes the owner's token
            assert AuthToken.objects.filter(id=token.id).exists(), f"{path} as {who}"


def _routes() -> set[str]:
    from django.urls import URLPattern, URLResolver

    from lava.server.web import urls

    found: set[str] = set()

    def walk(patterns, prefix: str = "") -> None:
        for each in patterns:
            if isinstance(each, URLResolver):
                walk(each.url_patterns, prefix + str(each.pattern))
            elif isinstance(each, URLPattern):
                found.add(prefix + str(each.pattern))

    walk(urls.urlpatterns)
    return found


def test_every_web_url_is_in_a_table() -> None:
    import re

    tables = [*JOB_PAGES, *JOB_ACTIONS, *DEVICE_PAGES, *DEVICE_ACTIONS, *JOB_LISTS]
    tables += [*DEVICE_LISTS, *PAGES, *POSTS]
    shapes = {re.sub(r"\{[^}]+\}", "X", path.split("?")[0]) for path in tables}
    shapes |= {re.sub(r"worker-01|ghost-01", "X", path) for path in tables}
    shapes |= {re.sub(r"0_smoke|secret-case|no-set", "X", shape) for shape in set(shapes)}
    missing = sorted(route for route in _routes() if re.sub(r"<[^>]+>", "X", route) not in shapes)
    assert not missing, f"web URLs in no table of this test: {missing}"
