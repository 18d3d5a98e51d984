"""A day in the lab, in a real browser: Debian's chromium against a live lab.

The lab (tools/livelab.py) is the real thing: gunicorn behind its nginx front,
the scheduler and lava-worker, so the job submitted from the submit page boots
the guest under QEMU. On the PostgreSQL run of the server tests
(``LAVA_TEST_DATABASE_URL``) the lab's database is PostgreSQL too.

The tests run in file order and share one lab and one browser: sign in, submit
(a validation error first), watch the log grow live until the job completes,
its results and chart, cancel a second job, put a device into maintenance,
make and delete an API token, and open line 999,000 of a 1,000,000-line log.
Each page visited is saved as a screenshot (tests/support/browser.py: where).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lava.common import yamlio
from tests.support import browser as chrome
from tests.support.databases import database_for_tests
from tools import example
from tools.livelab import ADMIN, DEVICE_DICT, LiveLab

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

DATABASE = "postgresql" if os.environ.get("LAVA_TEST_DATABASE_URL") else "sqlite"
USER = "tester"
# A device type whose only device is in Maintenance: its jobs wait until canceled.
IDLE_TYPE = "kvm"
IDLE_DEVICE = "kvm-01"
BIG_LOG_LINES = 1_000_000
TARGET_LINE = 999_000
# The job page's first log lines in the browser: the bench's budget is 1 s on an idle
# machine; the test allows more, as the lab's own processes share the CPUs with it.
FIRST_LINES_BOUND_S = 3.0
# A viewer that reads pages of lines keeps the tab small, whatever the log's length.
MAX_RENDERED_LINES = 20_000
MAX_PAGE_BYTES = 500_000
LINE_IDS = """() => {
  const ids = [...document.querySelectorAll('#log-viewer [id^="L"]')]
    .map((e) => /^L(\\d+)$/.exec(e.id)).filter(Boolean).map((m) => Number(m[1]));
  const viewer = document.getElementById('log-viewer');
  return {rendered: ids.length, last: ids.length ? Math.max(...ids) : 0,
          known: viewer ? Number(viewer.dataset.lines || 0) : 0};
}"""
JOB_COUNT = (
    "import json\nfrom lava.server.scheduler.models import TestJob\n"
    "print(json.dumps(TestJob.objects.count()))"
)
RECORD_GROWTH = """() => {
  window.__sameDocument = true;
  const viewer = document.getElementById('log-viewer');
  const count = () => Number(viewer.dataset.lines || 0);
  window.__growth = [count()];
  new MutationObserver(() => {
    if (count() !== window.__growth.at(-1)) window.__growth.push(count());
  }).observe(viewer, {attributes: true, attributeFilter: ['data-lines']});
}"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLab]:
    """One lab for the module, with a user who signs in with a password."""
    chrome.require()  # no browser, no need for a lab
    root = tmp_path_factory.mktemp("browser")
    lab = LiveLab(root / "instance", port=0, settings=database_for_tests("lava_browser"))
    with lab.running_lab():
        password = lab.instance / f"{USER}-password"
        password.write_text(secrets.token_urlsafe(12) + "\n")
        password.chmod(0o600)
        lab.manage("users", "add", USER, "--passwd-file", str(password), quiet=True)
        lab.manage("device-types", "add", IDLE_TYPE, quiet=True)
        dictionary = root / f"{IDLE_DEVICE}.jinja2"
        dictionary.write_text(DEVICE_DICT.read_text().replace("qemu.jinja2", f"{IDLE_TYPE}.jinja2"))
        offline = ["--worker", lab.worker_name, "--offline", "--device-dict", str(dictionary)]
        lab.manage("devices", "add", IDLE_DEVICE, "--device-type", IDLE_TYPE, *offline, quiet=True)
        yield lab


def password(lab: LiveLab, name: str) -> str:
    """The password of ``name`` (the admin's is livelab's, the tester's ours)."""
    return (lab.instance / f"{name}-password").read_text().strip()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chrome.chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def shots() -> chrome.Shots:
    return chrome.Shots(DATABASE)


VISITORS: list[Visitor] = []  # every tab of the module, for the problems fixture


class Visitor:
    """One signed-in browser tab: visits pages, checks their answers, photographs them."""

    def __init__(self, page: Page, lab: LiveLab, shots: chrome.Shots) -> None:
        self.page = page
        self.lab = lab
        self.shots = shots
        self.problems = chrome.problems(page)
        VISITORS.append(self)
        page.on("dialog", lambda dialog: dialog.accept())  # "Delete this token?" and such

    def visit(self, path: str, name: str, status: int = 200) -> Page:
        answer = self.page.goto(self.lab.url + path.lstrip("/"))
        assert answer is not None and answer.status == status, f"{path}: {answer and answer.status}"
        self.page.wait_for_load_state("load")
        self.shot(name)
        return self.page

    def shot(self, name: str) -> Path:
        return self.shots.take(self.page, name)

    def sign_in(self, name: str) -> None:
        self.visit("/accounts/login/", f"sign-in-{name}")
        self.page.fill("#id_username", name)
        self.page.fill("#id_password", password(self.lab, name))
        with self.page.expect_navigation():
            self.page.click("#login-submit")
        assert self.page.locator("#logout").inner_text().strip() == f"Sign out {name}"

    def no_problems(self) -> None:
        found, self.problems[:] = list(self.problems), []
        assert not found, "the pages reported problems:\n" + "\n".join(found)


@pytest.fixture(autouse=True)
def _problems_of_this_test() -> Iterator[None]:
    """Each test answers for its own pages' problems; those left over are shown on failure."""
    for visitor in VISITORS:
        visitor.problems.clear()
    yield
    for visitor in VISITORS:
        for problem in visitor.problems:
            print(f"left over: {problem}")


@pytest.fixture(scope="module")
def tester(live: LiveLab, chromium: Browser, shots: chrome.Shots) -> Iterator[Visitor]:
    """The ordinary user's tab, signed in."""
    context = chromium.new_context(viewport=chrome.VIEWPORT)
    visitor = Visitor(context.new_page(), live, shots)
    visitor.sign_in(USER)
    yield visitor
    context.close()


@pytest.fixture(scope="module")
def admin(live: LiveLab, chromium: Browser, shots: chrome.Shots) -> Iterator[Visitor]:
    """The lab admin's tab, signed in."""
    context = chromium.new_context(viewport=chrome.VIEWPORT)
    visitor = Visitor(context.new_page(), live, shots)
    visitor.sign_in(ADMIN)
    yield visitor
    context.close()


# The job the submit test boots, for the tests after it (they boot their own if run alone).
BOOTED: dict[str, int] = {}


@pytest.fixture
def booted(live: LiveLab, guest: Path) -> int:
    if "job" not in BOOTED:
        BOOTED["job"] = live.submit(example.job_text(guest=guest), submitter=USER)
    record = live.wait_job(BOOTED["job"], timeout=300)
    assert record["health"] == "Complete", live.log_tail()
    return BOOTED["job"]


def test_sign_in_with_a_password(live: LiveLab, chromium: Browser, shots: chrome.Shots) -> None:
    context = chromium.new_context(viewport=chrome.VIEWPORT)
    visitor = Visitor(context.new_page(), live, shots)
    page = visitor.visit("/scheduler/jobsubmit", "sign-in-first", status=200)
    assert "/accounts/login/" in page.url, "an anonymous visitor of the submit page signs in"
    page.fill("#id_username", USER)
    page.fill("#id_password", "not the password")
    with page.expect_navigation():
        page.click("#login-submit")
    assert "Sign-in failed" in page.locator("main").inner_text()
    visitor.shot("sign-in-failed")
    page.fill("#id_username", USER)
    page.fill("#id_password", password(live, USER))
    with page.expect_navigation():
        page.click("#login-submit")
    assert page.url.endswith("/scheduler/jobsubmit"), "sign-in returns to the page asked for"
    assert page.locator("#logout").inner_text().strip() == f"Sign out {USER}"
    visitor.shot("signed-in")
    visitor.no_problems()
    context.close()


def test_submit_then_watch_the_log_live(live: LiveLab, tester: Visitor, guest: Path) -> None:
    definition = example.job_text(guest=guest)
    lines = definition.splitlines()
    bad_line = next(n for n, text in enumerate(lines, 1) if text.startswith("job_name:"))
    broken = list(lines)
    broken[bad_line - 1] += ": broken"  # "mapping values are not allowed here"
    page = tester.visit("/scheduler/jobsubmit", "jobsubmit")

    page.fill("#definition-input", "\n".join(broken) + "\n")
    status = page.locator("#validation-status")
    page.wait_for_selector('#validation-status[data-result="failure"]', timeout=10_000)
    assert status.locator(f'[data-goto="{bad_line}"]').is_visible(), status.inner_text()
    mark = page.locator("#definition-gutter .bad")
    assert mark.inner_text() == str(bad_line)
    status.locator(f'[data-goto="{bad_line}"]').click()  # scrolls the editor to the line
    note = page.locator("#definition-note")
    note.wait_for(state="visible", timeout=5_000)
    assert "mapping values" in note.inner_text()
    beside = abs(note.bounding_box()["y"] - mark.bounding_box()["y"])
    assert beside < 8, f"the error note is {beside:.0f} px off its line"
    tester.shot("jobsubmit-error")
    assert page.url.endswith("/scheduler/jobsubmit"), "checking as you type submits nothing"
    assert live.query(JOB_COUNT) == 0, "checking as you type submits nothing"

    page.fill("#definition-input", definition)
    page.wait_for_selector('#validation-status[data-result="success"]', timeout=10_000)
    tester.shot("jobsubmit-valid")
    with page.expect_navigation():
        page.click("#submit-button")
    found = re.search(r"/scheduler/job/(\d+)$", page.url)
    assert found, f"submitting leads to the job's page, not {page.url}"
    job_id = BOOTED["job"] = int(found.group(1))
    tester.shot("job-submitted")

    # From here on the page must never load again: everything arrives by itself. The
    # page records each change of the viewer's line count as it happens.
    page.evaluate(RECORD_GROWTH)
    deadline = time.monotonic() + 300
    running_shot = False
    while (state := page.locator("#job-status").inner_text().strip()) != "Complete":
        assert state in {"Submitted", "Scheduling", "Scheduled", "Running"}, live.log_tail()
        assert time.monotonic() < deadline, f"job {job_id} still {state} after 300 s"
        if not running_shot and state == "Running" and page.evaluate(LINE_IDS)["known"] >= 40:
            tester.shot("job-running")  # the live log, for the README too
            running_shot = True
        time.sleep(0.25)
    stored = len(live.log_lines(job_id))
    page.wait_for_function(  # the last lines may come after the state
        "(n) => Number(document.getElementById('log-viewer').dataset.lines) >= n",
        arg=stored,
        timeout=10_000,
    )
    page.wait_for_timeout(300)  # one more frame or two: the window follows the tail
    tester.shot("job-complete")
    assert page.evaluate("() => window.__sameDocument === true"), "the job page reloaded"
    growth = page.evaluate("() => window.__growth")
    print(f"\n{DATABASE}: job {job_id}'s line count on the page, as it changed: {growth}")
    assert growth == sorted(growth), f"the line count went back: {growth}"
    assert growth[-1] == stored, f"the page knows {growth[-1]} lines of {stored}"
    partial = [n for n in growth if 0 < n < stored]
    assert len(partial) >= 2, f"the log did not grow live on the page: {growth}"
    assert page.evaluate(LINE_IDS)["last"] == stored, "the window follows the log's tail"
    assert page.locator("#job-state").inner_text().strip() == "Finished"
    # the header and actions followed the job, without a reload
    page.wait_for_function(
        "() => document.getElementById('job-health').textContent.trim() === 'Complete'",
        timeout=10_000,
    )
    assert page.locator("#action-cancel").count() == 0, "Cancel stays offered on a finished job"
    ended = re.search(r"Ended\s+(.+)", page.locator("#job-times").inner_text())
    assert ended and ended.group(1).endswith("UTC"), "the end time shows without a reload"
    assert page.evaluate("() => window.__sameDocument === true"), "the job page reloaded"
    tester.shot("job-complete-header")

    page.reload()  # what a later visitor sees
    assert page.locator("#job-health").inner_text().strip() == "Complete"
    assert page.locator("#action-cancel").count() == 0, "a finished job offers no Cancel"
    tester.shot("job-finished")
    tester.no_problems()


def test_results_and_the_chart(tester: Visitor, booted: int) -> None:
    page = tester.visit(f"/results/{booted}", "results-job")
    main = page.locator("main")
    for suite in ("0_smoke", "1_smoke-git", "lava"):
        assert suite in main.inner_text()
    with page.expect_navigation():
        main.get_by_role("link", name="0_smoke", exact=True).first.click()
    assert page.url.endswith(f"/results/{booted}/0_smoke"), page.url
    tester.shot("results-suite")
    assert "always-fails" in main.inner_text()
    with page.expect_navigation():
        main.get_by_role("link", name="boot-entropy", exact=True).first.click()
    assert page.url.endswith(f"/results/{booted}/0_smoke/boot-entropy"), page.url
    assert "42.5" in main.inner_text()
    canvas = page.locator("main canvas").first
    canvas.wait_for(state="visible", timeout=10_000)
    drawn = page.wait_for_function(
        """(canvas) => {
          const chart = window.Chart && window.Chart.getChart(canvas);
          if (!chart) return false;
          const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          return pixels.data.some((value, i) => i % 4 === 3 && value > 0) && chart.config.type;
        }""",
        arg=canvas.element_handle(),
        timeout=10_000,
    )
    assert drawn.json_value(), "the chart was drawn by Chart.js"
    tester.shot("results-testcase-chart")

    page = tester.visit(f"/scheduler/job/{booted}#pipeline", "job-pipeline")
    chart = page.locator("#pipeline-chart")
    chart.wait_for(state="visible", timeout=10_000)
    assert page.evaluate("(c) => Boolean(window.Chart.getChart(c))", chart.element_handle())
    assert "deployimages" in page.locator("#pipeline-timing").inner_text()
    tester.shot("job-pipeline-drawn")
    tester.no_problems()


def test_cancel_a_second_job(live: LiveLab, tester: Visitor, guest: Path, booted: int) -> None:
    # long enough to be caught running, however slow the checks
    definition = yamlio.load(example.job_text(guest=guest))
    test = next(action["test"] for action in definition["actions"] if "test" in action)
    test["definitions"][0]["repository"]["run"]["steps"].append("sleep 120")
    job_id = live.submit(yamlio.dump(definition), submitter=USER)
    live.wait_job(job_id, states={"Running"}, timeout=120)
    page = tester.visit(f"/scheduler/job/{job_id}", "second-job-running")
    with page.expect_navigation():
        page.click("#action-cancel")
    status = page.locator("#job-status")
    assert status.inner_text().strip() in {"Canceling", "Canceled"}, status.inner_text()
    tester.shot("second-job-canceling")
    record = live.wait_job(job_id, timeout=120)
    assert record["health"] == "Canceled", record
    page.reload()
    assert status.inner_text().strip() == "Canceled"
    assert page.locator("#job-health").inner_text().strip() == "Canceled"
    tester.shot("second-job-canceled")
    tester.no_problems()


def test_device_maintenance_with_a_reason(live: LiveLab, admin: Visitor) -> None:
    reason = f"new serial cable {secrets.token_hex(3)}"
    page = admin.visit("/scheduler/device/qemu-01", "device")
    page.select_option("#health-select", label="Maintenance")
    page.fill("#health-reason", reason)
    with page.expect_navigation():
        page.locator("#health-form").get_by_role("button").click()
    admin.shot("device-maintenance")
    history = page.locator("#health-history tbody tr").first
    assert reason in history.locator(".reason").inner_text()
    assert "Maintenance" in history.inner_text()
    record = live.query(
        "import json\nfrom lava.server.scheduler.models import Device\n"
        "print(json.dumps(Device.objects.get(hostname='qemu-01').get_health_display()))"
    )
    assert record == "Maintenance"
    admin.no_problems()


def test_make_and_delete_an_api_token(tester: Visitor) -> None:
    description = f"browser test {secrets.token_hex(3)}"
    page = tester.visit("/api/tokens/", "tokens")
    page.fill("#token-description", description)
    with page.expect_navigation():
        page.locator("#token-create").get_by_role("button").click()
    secret = page.locator("#fresh-secret").input_value()
    assert len(secret) >= 32, "the new token's secret is shown once"
    tester.shot("token-created")
    row = page.locator("#tokens tbody tr", has_text=description)
    assert secret not in row.inner_text()
    page.reload()
    assert page.locator("#fresh-secret").count() == 0, "the secret is shown only once"
    assert secret not in page.content()
    with page.expect_navigation():
        row.get_by_role("button", name="Delete").click()
    assert "Token deleted." in page.locator("main").inner_text()
    assert page.locator("#tokens tbody tr", has_text=description).count() == 0
    tester.shot("token-deleted")
    tester.no_problems()


@pytest.fixture(scope="module")
def big_log(live: LiveLab, guest: Path) -> int:
    """A finished job whose log has 1,000,000 lines, written through the log store."""
    definition = example.job_text(guest=guest).replace(
        "device_type: qemu", f"device_type: {IDLE_TYPE}"
    )
    job_id = live.submit(definition, submitter=USER)
    live.manage("jobs", "cancel", str(job_id), quiet=True)
    assert live.wait_job(job_id, timeout=60)["health"] == "Canceled"
    started = time.monotonic()
    count = live.query(
        "import json\n"
        "from lava.common import log\n"
        "from lava.server.logs.store import log_store\n"
        f"job, total = {job_id}, {BIG_LOG_LINES}\n"
        "store = log_store()\n"
        "stamp = '2026-01-05T10:00:00.000000+00:00'\n"
        "def line(n):\n"
        "    if n % 1000 == 1:\n"
        "        return log.encode('info', f'start: {n // 1000}.1 step', stamp)\n"
        "    return log.encode('target', f'log line {n} of {total}', stamp)\n"
        "count = store.count(job)\n"
        "while count < total:\n"
        "    end = min(count + 50_000, total)\n"
        "    text = '\\n'.join(line(n) for n in range(count + 1, end + 1)) + '\\n'\n"
        "    count = store.append(job, count, text)\n"
        "print(json.dumps(count))\n"
    )
    assert count == BIG_LOG_LINES
    print(f"\n{DATABASE}: 1,000,000 log lines written in {time.monotonic() - started:.1f} s")
    return job_id


def first_visible(page: Page, element_id: str, timeout_s: float) -> float:
    """Milliseconds from the navigation's start until ``element_id`` is in the viewport."""
    handle = page.wait_for_function(
        """(id) => {
          const e = document.getElementById(id);
          if (!e) return false;
          const box = e.getBoundingClientRect();
          const shown = box.height > 0 && box.bottom > 0 && box.top < window.innerHeight;
          return shown && performance.now();
        }""",
        arg=element_id,
        polling="raf",
        timeout=timeout_s * 1000,
    )
    return float(handle.json_value())


def test_a_line_deep_in_a_million_line_log(tester: Visitor, big_log: int) -> None:
    page = tester.page
    url = f"{tester.lab.url}scheduler/job/{big_log}"
    answer = page.goto(url, wait_until="commit")
    top_ms = first_visible(page, "L1", 10)
    assert answer is not None and len(answer.body()) < MAX_PAGE_BYTES, "the page embeds the log"
    assert "log line 2 of" in page.locator("#L2").inner_text()
    tester.shot("big-log-top")

    page.goto("about:blank")  # a link followed from elsewhere: a fresh load, not a hash change
    page.goto(f"{url}#L{TARGET_LINE}", wait_until="commit")
    deep_ms = first_visible(page, f"L{TARGET_LINE}", 10)
    target = page.locator(f"#L{TARGET_LINE}")
    assert f"log line {TARGET_LINE} of" in target.inner_text(), "#L<n> counts lines from 1"
    highlighted = page.evaluate(
        """(n) => {
          const line = document.getElementById(`L${n}`);
          const other = document.getElementById(`L${n - 1}`)
            || document.getElementById(`L${n + 1}`);
          const bg = (e) => getComputedStyle(e).backgroundColor;
          return (line.classList.contains('highlight') || line.matches(':target'))
            && (!other || bg(line) !== bg(other));
        }""",
        TARGET_LINE,
    )
    assert highlighted, f"line {TARGET_LINE} is not highlighted"
    rendered = page.evaluate(LINE_IDS)
    assert rendered["rendered"] < MAX_RENDERED_LINES, f"the page rendered {rendered} lines"
    tester.shot("big-log-deep-line")
    print(
        f"\n{DATABASE}: 1,000,000-line log: first lines after {top_ms:.0f} ms, "
        f"line {TARGET_LINE} after {deep_ms:.0f} ms"
    )
    assert top_ms < FIRST_LINES_BOUND_S * 1000, f"first lines after {top_ms:.0f} ms"
    assert deep_ms < FIRST_LINES_BOUND_S * 1000, f"line {TARGET_LINE} after {deep_ms:.0f} ms"
    tester.no_problems()


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/", "home"),
        ("/scheduler/", "scheduler"),
        ("/scheduler/alljobs", "alljobs"),
        ("/scheduler/myjobs", "myjobs"),
        ("/scheduler/alldevices", "alldevices"),
        ("/scheduler/allworkers", "allworkers"),
        ("/scheduler/device_types", "device-types"),
        ("/scheduler/labhealth/", "labhealth"),
        ("/results/", "results"),
    ],
)
def test_the_lists_show_the_lab(tester: Visitor, path: str, name: str) -> None:
    page = tester.visit(path, name)
    assert page.locator("nav.navbar").is_visible()
    tester.no_problems()
