"""lava.dispatcher.shell: which scripts go into the overlay, and how they are rendered."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from lava.dispatcher.shell import (
    DISTRO_DIR,
    PLACEHOLDERS,
    SHELL_DIR,
    distros,
    helper_scripts,
    render_script,
    storage_value,
)

ROOT = Path(__file__).resolve().parents[3]

# The helpers LAVA's test definitions may call (multinode ones excepted).
LAVA_SCRIPTS = {
    "lava-test-runner",
    "lava-test-shell",
    "lava-test-case",
    "lava-test-set",
    "lava-test-reference",
    "lava-test-raise",
    "lava-test-event",
    "lava-test-feedback",
    "lava-background-process-start",
    "lava-background-process-stop",
    "lava-common-functions",
    "lava-add-keys",
    "lava-add-sources",
    "lava-install-packages",
    "lava-installed-packages",
    "lava-os-build",
    "lava-echo-ipv4",
    "lava-target-ip",
    "lava-target-mac",
    "lava-target-storage",
    "lava-probe-ip",
    "lava-probe-channel",
}


def all_script_files() -> list[Path]:
    return sorted(SHELL_DIR.glob("lava-*")) + sorted(DISTRO_DIR.glob("*/lava-*"))


def test_helper_scripts_cover_lava_and_are_posix_sh_scripts() -> None:
    scripts = helper_scripts()
    assert set(scripts) >= LAVA_SCRIPTS
    assert set(scripts) - LAVA_SCRIPTS == {"lava-package-functions"}
    for path in all_script_files():
        assert path.read_text().startswith("#!/bin/sh\n"), path
        assert os.access(path, os.X_OK), f"{path} is not executable"


def test_distro_overrides_replace_the_generic_scripts() -> None:
    assert "oe" in distros()
    generic = helper_scripts()
    oe = helper_scripts("oe")
    assert set(oe) == set(generic)
    assert oe["lava-install-packages"] == DISTRO_DIR / "oe" / "lava-install-packages"
    assert oe["lava-test-case"] == generic["lava-test-case"]
    # An os without overrides gets the generic scripts, as in LAVA.
    assert helper_scripts("debian") == generic
    with pytest.raises(ValueError, match="Invalid os name"):
        helper_scripts("../etc")


def test_render_rewrites_the_shebang() -> None:
    rendered = render_script(SHELL_DIR / "lava-test-case", "/system/bin/sh")
    original = (SHELL_DIR / "lava-test-case").read_bytes()
    assert rendered.startswith(b"#!/system/bin/sh\n")
    assert rendered.split(b"\n", 1)[1] == original.split(b"\n", 1)[1]


def test_render_fills_placeholders_with_quoted_values() -> None:
    path = SHELL_DIR / "lava-probe-channel"
    values = {"PROBE_DEVICE_CHANNEL": "it's 2", "TARGET_DEVICE_IP": "x"}
    rendered = render_script(path, values=values)
    assert b"PROBE_DEVICE_CHANNEL='it'\"'\"'s 2'\n" in rendered
    assert b"overlay placeholder" not in rendered
    # Unfilled placeholders stay, empty.
    assert b"PROBE_DEVICE_CHANNEL=''  # overlay placeholder" in render_script(path)


def test_every_placeholder_is_in_its_script() -> None:
    for name, script in PLACEHOLDERS.items():
        text = (SHELL_DIR / script).read_text()
        assert f"\n{name}=''  # overlay placeholder\n" in text, (name, script)


def test_render_rejects_unknown_placeholders_and_bad_shells() -> None:
    with pytest.raises(ValueError, match="Unknown placeholder"):
        render_script(SHELL_DIR / "lava-target-ip", values={"TARGET_IP": "1.2.3.4"})
    with pytest.raises(ValueError, match="lava_test_sh_cmd"):
        render_script(SHELL_DIR / "lava-target-ip", "/bin/sh\nrm -rf /")
    with pytest.raises(ValueError, match="lava_test_sh_cmd"):
        render_script(SHELL_DIR / "lava-target-ip", "")


def test_storage_value() -> None:
    assert storage_value([]) == ""
    assert storage_value([{"UMS": "/dev/a"}, {"SATA": "/dev/b", "NVME": "/dev/c"}]) == (
        "UMS\t/dev/a\nSATA\t/dev/b\nNVME\t/dev/c"
    )
    with pytest.raises(ValueError, match="tab or a newline"):
        storage_value([{"UMS": "/dev/a\n/dev/b"}])


def test_package_data_ships_every_script() -> None:
    """pyproject's package-data for lava.dispatcher must match each file the overlay needs."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["lava.dispatcher"]
    package_dir = SHELL_DIR.parent
    for path in all_script_files():
        relative = path.relative_to(package_dir).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    proc = subprocess.run(
        [shellcheck, "--shell=sh", "--external-sources", *map(str, all_script_files())],
        cwd=SHELL_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
