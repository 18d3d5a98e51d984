"""The Debian packages, built from this checkout and installed on clean Debian 12 roots.

In order, on one lab (the tests share it and run in file order):
lintian; ``apt-get install lava`` on a clean root and nothing else, then the
home page through Apache on port 80; a QEMU job submitted with lavacli
through Apache, run by the packaged worker while the scheduler restarts;
``apache2ctl restart`` serving new code; ``lava-server manage check`` as root
and as a user; a second root in its own network namespace with
``lava-dispatcher`` only, registered as a worker through the first root's
Apache, running a job; an upgrade to a rebuilt, newer version with a new
migration; purge.

They need root (mounts, network namespaces), mmdebstrap and Debian's
archive: they skip with a notice where those are missing, and are required
in CI (``CI=true``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio
from tests.packaging.roots import Root, missing_tools
from tools import debian, example

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LAVACLI = str(Path(sys.executable).parent / "lavacli")
GUEST_FILES = ("vmlinuz", "initrd.gz")
NEXT_VERSION = debian.version() + "+1"
ADMIN_PASSWORD = "packaged-lab-admin"  # a throw-away root's
JOB = """\
job_name: {name}
device_type: qemu
visibility: public
priority: medium
context:
  arch: amd64
timeouts:
  job: {{minutes: 5}}
  action: {{minutes: 2}}
  connection: {{minutes: 1}}
actions:
- deploy:
    to: tmpfs
    images:
      kernel:
        url: file:///srv/images/vmlinuz
        image_arg: -kernel {{kernel}} -append "console=ttyS0 quiet panic=-1"
      initrd:
        url: file:///srv/images/initrd.gz
        image_arg: -initrd {{initrd}}
- boot:
    method: qemu
    media: tmpfs
    timeout: {{minutes: 2}}
    prompts: ['root@lava-guest:~#']
- test:
    timeout: {{minutes: 2}}
    definitions:
    - from: inline
      name: packaged
      path: inline/packaged.yaml
      repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: packaged
          description: "a case, a wait (the scheduler restarts), a case"
        run:
          steps:
          - lava-test-case kernel --shell uname -r
          - sleep {wait}
          - lava-test-case after-wait --shell true
"""


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root (mounts, network namespaces, chroot)"
    missing = missing_tools() + [
        tool for tool in ("dpkg-buildpackage", "dh", "lintian") if shutil.which(tool) is None
    ]
    if missing:
        return f"needs {', '.join(missing)} (make deb-deps installs them)"
    if not Path(LAVACLI).exists():
        return f"needs lavacli at {LAVACLI} (make venv)"
    return None


@pytest.fixture(scope="module")
def guest() -> Path:
    return example.guest_dir()


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the package tests are required in CI: {reason}")
        pytest.skip(f"package tests skipped: {reason}")
    return debian.build(tmp_path_factory.mktemp("debs"))


class Lab:
    """The first root with ``lava`` installed, and what the tests learn about it."""

    def __init__(self, root: Root, seconds: float, packages: int) -> None:
        self.root = root
        self.install_seconds = seconds
        self.packages = packages
        self.token = ""
        self.worker = ""
        self.jobs: list[int] = []

    def lavacli(self, *args: str, check: bool = True) -> str:
        uri = f"http://admin:{self.token}@127.0.0.1/RPC2"
        return self.root.host_run([LAVACLI, "--uri", uri, *args], check=check).stdout

    def submit(self, tmp: Path, name: str, wait: int = 1) -> int:
        path = tmp / f"{name.replace(' ', '-')}.yaml"
        path.write_text(JOB.format(name=name, wait=wait), encoding="utf-8")
        job = int(self.lavacli("jobs", "submit", str(path)).strip())
        self.jobs.append(job)
        return job

    def job(self, job: int) -> dict[str, Any]:
        return yamlio.load(self.lavacli("jobs", "show", str(job), "--yaml"), "jobs show")

    def wait_for(self, job: int, state: str, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.job(job)
            if shown["state"] == state or (state == "Running" and shown["state"] == "Finished"):
                return shown
            if time.monotonic() > deadline:
                log = self.lavacli("jobs", "logs", str(job), check=False)
                raise AssertionError(f"job {job} still {shown['state']}; log:\n{log[-3000:]}")
            time.sleep(1)

    def pid(self, name: str) -> int:
        return int((self.root.path / "run" / name).read_text().strip())

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, headers, body) of an HTTP GET of ``path`` on port 80 in the lab's namespace."""
        out = self.root.host_run(
            ["curl", "-s", "-D", "-", "--max-time", "20", f"http://127.0.0.1{path}"], check=False
        ).stdout
        head, _, body = out.partition("\n\n")  # text mode: CRLF read as LF
        status = int(head.split()[1]) if head.startswith("HTTP/") else 0
        return status, head, body


@pytest.fixture(scope="module")
def lab(debs: list[Path], guest: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = Root(tmp_path_factory.mktemp("lab") / "root", "lab1")
    try:
        made = root.create()
        seconds, packages = root.apt_install(debs)
        print(f"\nclean root in {made:.1f} s; apt-get install lava: {packages} packages in "
              f"{seconds:.1f} s")  # fmt: skip
        lab = Lab(root, seconds, packages)
        _first_device(lab, guest)
        yield lab
    finally:
        root.remove()


def _first_device(lab: Lab, guest: Path) -> None:
    """What the admin guide's "first device" does: a user with a token, a QEMU device on
    the local worker, and a directory of images jobs may name."""
    root = lab.root
    images = root.path / "srv" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for name in GUEST_FILES:
        shutil.copy2(guest / name, images / name)
    shutil.copy2(ROOT / "examples" / "devices" / "qemu-01.jinja2", root.path / "srv")
    (root.path / "srv" / "admin-password").write_text(ADMIN_PASSWORD + "\n")
    root.run("lava-server", "manage", "users", "add", "admin", "--superuser", "--staff",
             "--passwd-file", "/srv/admin-password")  # fmt: skip
    lab.token = root.run("lava-server", "manage", "tokens", "add", "--user", "admin").stdout.strip()
    lab.worker = root.run("python3", "-c", "import socket; print(socket.getfqdn())").stdout.strip()
    root.run("lava-server", "manage", "device-types", "add", "qemu")
    root.run("lava-server", "manage", "devices", "add", "qemu-01", "--device-type", "qemu",
             "--worker", lab.worker, "--device-dict", "/srv/qemu-01.jinja2")  # fmt: skip
    # the admin's edit of a conffile: jobs may name the images (kept across the upgrade)
    root.sh(
        "sed -i 's|^EXTRA_ARGS=$|EXTRA_ARGS=\"--allow-local-path /srv/images\"|' "
        "/etc/lava-dispatcher/lava-worker && service lava-worker restart"
    )


def test_lintian_finds_no_error(debs: list[Path]) -> None:
    changes = sorted(debs[0].parent.glob("*.changes"))
    proc = debian.lintian(changes[0])
    tags = [line for line in proc.splitlines() if re.match(r"[EWIO]: ", line)]
    print("\n" + "\n".join(tags))
    errors = [line for line in tags if line.startswith("E: ")]
    assert errors == [], errors


def test_install_serves_the_lab_on_port_80(lab: Lab) -> None:
    install = lab.root.last_install.stdout
    assert "lava-server: database: SQLite /var/lib/lava-server/lava.sqlite3" in install
    assert "lava: the local worker" in install
    status, head, body = lab.get("/")
    assert status == 200, head
    assert re.search(r"^Server: Apache", head, re.MULTILINE | re.IGNORECASE), head
    assert "<title>" in body
    # the APIs answer through the same site
    assert lab.lavacli("system", "version").strip()
    assert lab.lavacli("devices", "list").count("qemu-01") == 1


def test_lavacli_job_runs_while_the_scheduler_restarts(lab: Lab, tmp_path: Path) -> None:
    job = lab.submit(tmp_path, "packaged job", wait=10)
    running = lab.wait_for(job, "Running")
    assert running["device"] == "qemu-01"
    scheduler, worker, apache = (
        lab.pid("lava-server.pid"), lab.pid("lava-worker.pid"), lab.pid("apache2/apache2.pid")
    )  # fmt: skip
    restart = lab.root.run("service", "lava-server", "restart")
    assert "Restarting the LAVA scheduler" in restart.stdout
    assert lab.pid("lava-server.pid") != scheduler  # the scheduler restarted...
    assert lab.pid("lava-worker.pid") == worker  # ...and nothing else did
    assert lab.pid("apache2/apache2.pid") == apache
    assert lab.job(job)["state"] in ("Running", "Finished")
    done = lab.wait_for(job, "Finished")
    assert done["health"] == "Complete", lab.lavacli("jobs", "logs", str(job))
    results = lab.lavacli("results", str(job))
    assert "packaged.kernel [pass]" in results, results
    assert "packaged.after-wait [pass]" in results, results
    log = lab.root.path / "var" / "log" / "lava-server" / "lava-scheduler.log"
    assert "lava-scheduler stopping: SIGTERM received" in log.read_text()


def test_lavacli_hears_a_jobs_events_through_apache(lab: Lab, tmp_path: Path) -> None:
    """lava-publisher runs as a service; Apache passes /ws/ to it (mod_proxy_wstunnel)."""
    status, _, body = lab.get("/ws/v1/healthz")
    assert (status, body) == (200, '{"health": "good"}'), body
    log = lab.root.path / "var" / "log" / "lava-server" / "lava-publisher.log"
    heard = log.read_text().count(" signed in: ")
    uri = f"http://admin:{lab.token}@127.0.0.1/RPC2"
    listen = subprocess.Popen(
        ["ip", "netns", "exec", lab.root.netns, LAVACLI, "--uri", uri, "events", "listen"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while log.read_text().count(" signed in: ") == heard:
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        job = lab.submit(tmp_path, "events job")
        assert lab.wait_for(job, "Finished")["health"] == "Complete"
        time.sleep(2)
    finally:
        listen.terminate()
        printed = listen.communicate(timeout=10)[0]
    states = re.findall(rf"\.testjob admin - \[{job}\] <[^>]*> state=(\w+)", printed)
    assert states == ["Submitted", "Scheduled", "Running", "Finished"], printed


def _web_processes(lab: Lab) -> set[int]:
    """The mod_wsgi daemon processes that run the web side (display name ``(wsgi:lava-server``)."""
    found = set()
    for pid in lab.root.processes():
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"(wsgi:lava-server"):
                found.add(pid)
        except OSError:
            continue
    return found


def test_apache_restart_serves_new_code(lab: Lab) -> None:
    template = (
        lab.root.path / "usr/lib/python3/dist-packages/lava/server/web/templates/web/base.html"
    )
    marker = "<!-- served after apache2ctl restart -->"
    assert lab.get("/")[0] == 200
    before = _web_processes(lab)
    assert len(before) == 2, before  # WSGIDaemonProcess processes=2
    template.write_text(template.read_text().replace("</html>", f"{marker}</html>"))
    lab.root.run("apache2ctl", "restart")
    deadline = time.monotonic() + 20
    while marker not in lab.get("/")[2]:
        assert time.monotonic() < deadline, "the new template is not served"
        time.sleep(0.5)
    # every process that served the old code is gone, and every answer is the new code
    after = _web_processes(lab)
    assert after and not (after & before), (before, after)
    assert all(marker in lab.get("/")[2] for _ in range(10))


def test_manage_check_as_root_and_as_a_user(lab: Lab) -> None:
    as_root = lab.root.run("lava-server", "manage", "check")
    assert "System check identified no issues" in as_root.stdout + as_root.stderr
    # root ran the postinst's migrate and every command since as lavaserver: all of the
    # instance's files are the services' own
    owned = lab.root.sh(
        "find /var/lib/lava-server /var/log/lava-server ! -user lavaserver -print"
    ).stdout.split()
    assert owned == [], owned
    lab.root.run("useradd", "--create-home", "alice")
    as_user = lab.root.run("lava-server", "manage", "check", user="alice")
    assert "lava.I001" in as_user.stdout + as_user.stderr
    refused = lab.root.run("lava-server", "manage", "devices", "list", user="alice", check=False)
    assert refused.returncode == 1
    assert "run `sudo lava-server manage devices list`" in refused.stderr


def test_a_worker_on_a_second_host(lab: Lab, debs: list[Path], guest: Path, tmp_path: Path) -> None:
    second = Root(tmp_path / "root", "worker2")
    try:
        second.create()
        dispatcher = [d for d in debs if d.name.startswith(("lava-common", "lava-dispatcher"))]
        seconds, packages = second.apt_install(dispatcher)
        print(f"\nlava-dispatcher alone: {packages} packages in {seconds:.1f} s")
        assert second.run("dpkg-query", "-W", "-f", "${Status}", "lava-server",
                          check=False).returncode != 0  # fmt: skip
        server_address, _ = lab.root.link(second)
        token = lab.root.run("lava-server", "manage", "workers", "add", "worker2").stdout
        token = token.split("Token:")[1].strip()
        lab.root.run("lava-server", "manage", "devices", "add", "qemu-02", "--device-type",
                     "qemu", "--worker", "worker2",
                     "--device-dict", "/srv/qemu-01.jinja2")  # fmt: skip
        images = second.path / "srv" / "images"
        images.mkdir(parents=True, exist_ok=True)
        for name in GUEST_FILES:
            shutil.copy2(guest / name, images / name)
        (second.path / "etc" / "lava-dispatcher" / "token").write_text(token + "\n")
        (second.path / "etc" / "lava-dispatcher" / "token").chmod(0o600)
        second.sh(
            f"sed -i -e 's|^URL=.*|URL=http://{server_address}/|' "
            "-e 's|^WORKER_NAME=.*|WORKER_NAME=worker2|' "
            "-e 's|^EXTRA_ARGS=$|EXTRA_ARGS=\"--allow-local-path /srv/images\"|' "
            "/etc/lava-dispatcher/lava-worker && service lava-worker start"
        )
        # the local device is in maintenance: the job can only go to the second host's
        lab.root.run("lava-server", "manage", "devices", "update", "qemu-01", "--health",
                     "Maintenance")  # fmt: skip
        try:
            job = lab.submit(tmp_path, "on the second host")
            done = lab.wait_for(job, "Finished")
        finally:
            lab.root.run("lava-server", "manage", "devices", "update", "qemu-01", "--health",
                         "Good")  # fmt: skip
        assert done["device"] == "qemu-02"
        assert done["health"] == "Complete", lab.lavacli("jobs", "logs", str(job))
        worker_log = (second.path / "var/log/lava-dispatcher/lava-worker.log").read_text()
        assert f"http://{server_address}/ as worker2" in worker_log
        assert f"[{job}] finished: pass" in worker_log
    finally:
        # the host goes away: its device must not take the next jobs
        lab.root.run("lava-server", "manage", "devices", "update", "qemu-02", "--health",
                     "Retired", check=False)  # fmt: skip
        second.remove()


def _next_release_migration() -> dict[str, str]:
    """The next release's new migration (an empty one) on the results app."""
    migrations = ROOT / "src" / "lava" / "server" / "results" / "migrations"
    latest = sorted(p.stem for p in migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))[-1]
    text = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f'    dependencies = [("results", "{latest}")]\n'
        "    operations = []\n"
    )
    return {"src/lava/server/results/migrations/9000_next_release.py": text}


def test_upgrade_keeps_edits_jobs_and_logs(
    lab: Lab, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = lab.root
    settings = root.path / "etc" / "lava-server" / "settings.yaml"
    settings.write_text(settings.read_text() + "INSTANCE_NAME: upgraded-lab\n")
    job = lab.submit(tmp_path_factory.mktemp("jobs"), "before the upgrade")
    assert lab.wait_for(job, "Finished")["health"] == "Complete"
    log_before = lab.lavacli("jobs", "logs", str(job))
    results_before = lab.lavacli("results", str(job))
    newer = debian.build(
        tmp_path_factory.mktemp("debs-next"), NEXT_VERSION, _next_release_migration()
    )
    seconds, _ = root.apt_install(newer)
    print(f"\nupgrade to {NEXT_VERSION} in {seconds:.1f} s")
    shown = root.run("dpkg-query", "-W", "-f", "${Version}", "lava-server").stdout
    assert shown == NEXT_VERSION
    assert "INSTANCE_NAME: upgraded-lab" in settings.read_text()
    worker_options = (root.path / "etc/lava-dispatcher/lava-worker").read_text()
    assert 'EXTRA_ARGS="--allow-local-path /srv/images"' in worker_options
    migrations = root.run("lava-server", "manage", "showmigrations", "results").stdout
    assert "[X] 9000_next_release" in migrations, migrations
    assert lab.lavacli("jobs", "logs", str(job)) == log_before
    assert lab.lavacli("results", str(job)) == results_before
    assert all(lab.job(each)["health"] == "Complete" for each in lab.jobs)
    after = lab.submit(tmp_path_factory.mktemp("jobs"), "after the upgrade")
    assert lab.wait_for(after, "Finished")["health"] == "Complete"


# What may stay after a purge: the admin's device dictionaries (the admin guide says so)
KEPT = {
    "/etc/lava-server/dispatcher-config/devices/qemu-01.jinja2",
    "/etc/lava-server/dispatcher-config/devices/qemu-02.jinja2",
}


def test_purge_leaves_nothing_of_ours(lab: Lab) -> None:
    root = lab.root
    root.run("apt-get", "purge", "-y", "-q", "lava", "lava-server", "lava-dispatcher",
             "lava-common")  # fmt: skip
    left = root.sh(
        "find /etc /var /usr /run -path /usr/share/zoneinfo -prune -o "
        "\\( -name '*lava*' -o -user lavaserver \\) -print 2>/dev/null || true"
    ).stdout.split()
    left = [path for path in left if path not in KEPT]
    kept_parents = (
        {str(Path(p).parent) for p in KEPT}
        | {str(Path(p).parent.parent) for p in KEPT}
        | {"/etc/lava-server"}
    )
    left = [path for path in left if path not in kept_parents]
    assert left == [], left
    # the system user stays (Debian's practice): it owns no file any more
    assert "lavaserver" in (root.path / "etc" / "passwd").read_text()
    assert not (root.path / "etc/apache2/sites-enabled/lava-server.conf").exists()
    # Apache has its default site back
    assert (root.path / "etc/apache2/sites-enabled/000-default.conf").exists()


def test_postgresql_is_used_when_it_runs_at_install(debs: list[Path], tmp_path: Path) -> None:
    """A host with PostgreSQL running: the lab's database is made there, no step by hand."""
    root = Root(tmp_path / "root", "pglab")
    try:
        root.create()
        root.apt_install([], "postgresql")
        root.apt_install(debs)
        assert root.last_install is not None
        assert "lava-server: database: PostgreSQL" in root.last_install.stdout
        database = (root.path / "etc/lava-server/settings.d/00-database.yaml").read_text()
        assert "DATABASE_URL: postgresql://lavaserver@/lavaserver" in database
        check = root.run("lava-server", "manage", "check")
        assert "PostgreSQL lavaserver" in check.stdout
        assert "System check identified no issues" in check.stdout + check.stderr
        query = "SELECT count(*) FROM django_migrations"
        applied = root.run("runuser", "-u", "postgres", "--", "psql", "-qAtc", query,
                           "lavaserver").stdout  # fmt: skip
        assert int(applied) > 10
        assert not (root.path / "var/lib/lava-server/lava.sqlite3").exists()
        status = root.host_run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1/"]
        ).stdout
        assert status == "200"
        # purge keeps the database (the lab's history) and says how to drop it
        purge = root.run("apt-get", "purge", "-y", "-q", "lava", "lava-server")
        assert "the PostgreSQL database lavaserver is kept" in purge.stdout
    finally:
        root.remove()
