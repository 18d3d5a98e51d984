"""lava-install-packages & co. against stand-in package managers that log how they were called.

The helpers run with busybox's applets as the only tools (busybox has ``dpkg``
and ``rpm`` applets, which must not be taken for a package manager), plus the
stand-ins of each test; under busybox ash and under dash.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from shell_overlay import SHELLS, Overlay, make_overlay

# Stand-in body: log the call; `install`/`add` calls fail while $FAKE_FAILURES
# says so, with status $FAKE_STATUS (100 by default).
FAKE = """\
echo "${0##*/} $*" >>"$FAKE_LOG"
[ -z "$DEBIAN_FRONTEND" ] || echo "  DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >>"$FAKE_LOG"
case " $* " in
*" install "* | *" add "*)
    count=$(cat "$FAKE_LOG.count" 2>/dev/null || echo 0)
    echo $((count + 1)) >"$FAKE_LOG.count"
    if [ "$count" -lt "${FAKE_FAILURES:-0}" ]; then exit "${FAKE_STATUS:-100}"; fi
    ;;
esac
"""


def skip_if_applet(packages: Packages, name: str) -> None:
    """Debian's busybox sh runs its own applets (rpm, wget, ...) before any program on PATH."""
    if packages.overlay.shell == "busybox":
        pytest.skip(f"busybox sh runs its {name} applet, not the stand-in")


class Packages:
    """An overlay whose PATH is bin/, the stand-ins, then busybox's applets."""

    def __init__(self, overlay: Overlay, fakes: Path) -> None:
        self.overlay = overlay
        self.fakes = fakes
        self.log = overlay.tmp / "calls.log"

    def fake(self, name: str, body: str = FAKE) -> None:
        path = self.fakes / name
        path.write_text(f"#!{self.overlay.sh_cmd}\n{body}")
        path.chmod(0o755)

    def run(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.overlay.run(*argv, env={"FAKE_LOG": str(self.log), **env})

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture(params=SHELLS)
def packages(
    request: pytest.FixtureRequest, tmp_path: Path, busybox_tools: Path | None
) -> Packages:
    if busybox_tools is None:
        pytest.skip("busybox is not installed (apt-get install busybox-static)")
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    overlay = make_overlay(request.param, tmp_path, busybox_tools, tools=f"{fakes}:{busybox_tools}")
    return Packages(overlay, fakes)


def test_without_a_package_manager_the_install_is_reported_and_skipped(
    packages: Packages,
) -> None:
    proc = packages.run("lava-install-packages", "curl", "git")
    assert proc.returncode == 0
    assert "no package manager found" in proc.stderr
    assert "cannot install curl git" in proc.stderr
    assert "must already contain them" in proc.stderr


def test_nothing_to_install(packages: Packages) -> None:
    packages.fake("apt-get")
    proc = packages.run("lava-install-packages")
    assert proc.returncode == 0
    assert packages.calls() == []


def test_apt(packages: Packages) -> None:
    packages.fake("apt-get")
    proc = packages.run("lava-install-packages", "curl", "git")
    assert proc.returncode == 0, proc.stderr
    assert packages.calls() == [
        "apt-get update -q",
        "  DEBIAN_FRONTEND=noninteractive",
        "apt-get install -y -q curl git",
        "  DEBIAN_FRONTEND=noninteractive",
    ]


@pytest.mark.parametrize(
    ("managers", "expected"),
    [
        (["dnf", "yum"], ["dnf -y -q install curl"]),
        (["yum"], ["yum -y -q install curl"]),
        (["opkg"], ["opkg update", "opkg install curl"]),
        (["apk"], ["apk add --update-cache curl"]),
        (["pacman"], ["pacman -Sy --noconfirm --needed --noprogressbar curl"]),
    ],
)
def test_other_package_managers(
    packages: Packages, managers: list[str], expected: list[str]
) -> None:
    for manager in managers:
        packages.fake(manager)
    proc = packages.run("lava-install-packages", "curl")
    assert proc.returncode == 0, proc.stderr
    assert packages.calls() == expected


def test_install_is_retried(packages: Packages) -> None:
    packages.fake("dnf")
    proc = packages.run(
        "lava-install-packages", "curl", FAKE_FAILURES="2", LAVA_INSTALL_RETRY_DELAY="0"
    )
    assert proc.returncode == 0, proc.stderr
    assert packages.calls() == ["dnf -y -q install curl"] * 3
    assert "dnf failed (exit status 100), attempt 2; retrying in 0s" in proc.stderr


def test_install_gives_up_with_the_package_manager_status(packages: Packages) -> None:
    packages.fake("dnf")
    proc = packages.run(
        "lava-install-packages",
        "curl",
        FAKE_FAILURES="99",
        FAKE_STATUS="3",
        LAVA_INSTALL_RETRIES="1",
        LAVA_INSTALL_RETRY_DELAY="0",
    )
    assert proc.returncode == 3
    assert packages.calls() == ["dnf -y -q install curl"] * 2
    assert "dnf could not install curl (exit status 3); giving up" in proc.stderr


def test_oe_insists_on_opkg(packages: Packages) -> None:
    packages.overlay.install("oe")
    packages.fake("apt-get")
    proc = packages.run("lava-install-packages", "curl")
    assert proc.returncode == 1
    assert "opkg is not installed: cannot install curl" in proc.stderr
    assert packages.calls() == []
    listing = packages.run("lava-installed-packages")
    assert listing.returncode == 1
    assert "opkg is not installed" in listing.stderr

    packages.fake("opkg")
    proc = packages.run("lava-install-packages", "curl")
    assert proc.returncode == 0, proc.stderr
    assert packages.calls() == ["opkg update", "opkg install curl"]


@pytest.mark.parametrize(
    ("managers", "fake", "output", "expected"),
    [
        (
            ["apt-get"],
            "dpkg-query",
            "install ok installed\\tbash\\t5.2.15-2\\n"
            "deinstall ok config-files\\told\\t1.0\\n"
            "install ok installed\\tlibc6\\t2.36-9\\n",
            ["package: bash : 5.2.15-2", "package: libc6 : 2.36-9"],
        ),
        (
            ["dnf"],
            "rpm",
            "package: bash : 5.2.26-3.fc40\\n",
            ["package: bash : 5.2.26-3.fc40"],
        ),
        (
            ["opkg"],
            "opkg",
            "busybox - 1.36.1-r0\\nlibc6 - 2.39+git0-r0 - extra\\n",
            ["package: busybox : 1.36.1-r0", "package: libc6 : 2.39+git0-r0"],
        ),
        (
            ["apk"],
            "apk",
            "musl-utils-1.2.4-r2\\nbusybox-1.36.1-r15\\n",
            ["package: musl-utils : 1.2.4-r2", "package: busybox : 1.36.1-r15"],
        ),
        (
            ["pacman"],
            "pacman",
            "bash 5.2.026-2\\n",
            ["package: bash : 5.2.026-2"],
        ),
    ],
    ids=["apt", "dnf", "opkg", "apk", "pacman"],
)
def test_installed_packages(
    packages: Packages, managers: list[str], fake: str, output: str, expected: list[str]
) -> None:
    if fake == "rpm":
        skip_if_applet(packages, fake)
    for manager in managers:
        packages.fake(manager)
    packages.fake(fake, f'echo "${{0##*/}} $*" >>"$FAKE_LOG"\nprintf "{output}"\n')
    proc = packages.run("lava-installed-packages")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == expected


def test_installed_packages_without_a_package_manager(packages: Packages) -> None:
    proc = packages.run("lava-installed-packages")
    assert proc.returncode == 0
    assert proc.stdout == ""
    assert "cannot list the installed packages" in proc.stderr


def test_keys_and_sources_on_rpm_systems(packages: Packages) -> None:
    skip_if_applet(packages, "rpm")
    packages.fake("dnf")
    packages.fake("rpm")
    proc = packages.run("lava-add-keys", "https://example.org/RPM-GPG-KEY")
    assert proc.returncode == 0, proc.stderr
    assert packages.calls() == ["rpm --import https://example.org/RPM-GPG-KEY"]
    proc = packages.run("lava-add-sources", "https://example.org/base")
    assert proc.returncode == 0
    assert "give dnf sources as the URL of a .repo file" in proc.stderr


def test_keys_and_sources_without_a_package_manager(packages: Packages) -> None:
    keys = packages.run("lava-add-keys", "0xDEADBEEF")
    sources = packages.run("lava-add-sources", "deb http://example.org/debian stable main")
    assert (keys.returncode, sources.returncode) == (0, 0)
    assert "cannot add the key 0xDEADBEEF" in keys.stderr
    assert "cannot add the source deb http://example.org/debian stable main" in sources.stderr


def test_apt_keyring_package_and_ppa(packages: Packages) -> None:
    packages.fake("apt-get")
    packages.fake("add-apt-repository")
    keys = packages.run("lava-add-keys", "debian-archive-keyring")
    sources = packages.run("lava-add-sources", "ppa:linaro/tools")
    assert (keys.returncode, sources.returncode) == (0, 0)
    assert [call for call in packages.calls() if not call.startswith(" ")] == [
        "apt-get install -y -q debian-archive-keyring",
        "add-apt-repository -y ppa:linaro/tools",
    ]


def test_failures_to_add_keys_are_reported_not_fatal(packages: Packages) -> None:
    packages.fake("apt-get", "exit 100\n")
    proc = packages.run("lava-add-keys", "some-keyring")
    assert proc.returncode == 0
    assert "could not add the key some-keyring" in proc.stderr


def test_apt_files_under_etc_apt(packages: Packages, tmp_path: Path) -> None:
    """Key URLs, key ids and deb lines write under /etc/apt: a private copy of it here."""
    skip_if_applet(packages, "wget")
    unshare = shutil.which("unshare")
    if unshare is None or not Path("/etc/apt").is_dir():
        pytest.skip("needs unshare and a host with /etc/apt")
    etc_apt = tmp_path / "etc-apt"
    (etc_apt / "trusted.gpg.d").mkdir(parents=True)
    (etc_apt / "sources.list.d").mkdir()
    probe = subprocess.run(
        [unshare, "-m", "mount", "--bind", str(etc_apt), "/etc/apt"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot bind-mount over /etc/apt here: {probe.stderr.decode().strip()}")

    packages.fake("apt-get")
    packages.fake("wget", 'echo "${0##*/} $*" >>"$FAKE_LOG"\necho "key from $4" >"$3"\n')
    packages.fake(
        "gpg",
        'echo "${0##*/} $*" >>"$FAKE_LOG"\ncase $* in *--export*) echo "exported key" ;; esac\n',
    )
    script = (
        'mount --bind "$0" /etc/apt && '
        "lava-add-keys https://example.org/archive.key 0123456789ABCDEF && "
        'lava-add-sources "deb http://example.org/debian stable main" && '
        'lava-add-sources "deb http://example.org/debian stable main"'
    )
    proc = packages.run(unshare, "-m", "sh", "-c", script, str(etc_apt))
    assert proc.returncode == 0, proc.stderr
    assert (etc_apt / "trusted.gpg.d" / "lava-archive.key.asc").read_text() == (
        "key from https://example.org/archive.key\n"
    )
    assert (etc_apt / "trusted.gpg.d" / "lava-0123456789ABCDEF.gpg").read_text() == (
        "exported key\n"
    )
    # Added once, however many times it is asked for.
    assert (etc_apt / "sources.list.d" / "lava-test.list").read_text() == (
        "deb http://example.org/debian stable main\n"
    )
    assert packages.calls() == [
        "wget -q -O /etc/apt/trusted.gpg.d/lava-archive.key.asc https://example.org/archive.key",
        "gpg --batch --keyserver hkps://keyserver.ubuntu.com --recv-keys 0123456789ABCDEF",
        "gpg --batch --export 0123456789ABCDEF",
    ]
