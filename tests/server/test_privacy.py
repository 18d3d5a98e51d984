"""Files that hold secrets are private to the server's user: made so, kept so, checked."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lava.server import config, privacy
from lava.server.config import ConfigurationError
from lava.server.logs.store import LogStore
from lava.server.scheduler.dispatcher_config import write_atomic

LAVA_SERVER = Path(sys.executable).parent / "lava-server"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def instance(root: Path) -> config.Settings:
    """A data directory, database, key, log and dictionary, all readable by everyone."""
    lava = config.load({"LAVA_SETTINGS": os.devnull, "LAVA_DATA_DIR": str(root)})
    for directory in (root, lava.job_output_dir, lava.devices_dir):
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o755)
    for path in (
        root / "lava.sqlite3",
        root / "lava.sqlite3-wal",
        root / "secret_key",
        lava.devices_dir / "qemu-01.jinja2",
    ):
        path.write_text("secret\n")
        path.chmod(0o644)
    return lava


def test_too_open_files_of_ours_are_made_private(tmp_path: Path) -> None:
    lava = instance(tmp_path / "data")
    changed = privacy.secure(lava, str(lava.data_dir / "lava.sqlite3"))
    assert len(changed) == 7 and "lava.sqlite3: mode 0644 -> 0600" in "\n".join(changed)
    assert mode(lava.data_dir) == 0o700 and mode(lava.job_output_dir) == 0o700
    for name in ("lava.sqlite3", "lava.sqlite3-wal", "secret_key"):
        assert mode(lava.data_dir / name) == 0o600
    assert mode(lava.devices_dir / "qemu-01.jinja2") == 0o600
    assert privacy.secure(lava, str(lava.data_dir / "lava.sqlite3")) == []  # nothing left


def test_a_new_data_directory_is_private(tmp_path: Path) -> None:
    lava = config.load({"LAVA_SETTINGS": os.devnull, "LAVA_DATA_DIR": str(tmp_path / "new")})
    config.ensure_secret_key(lava)
    assert mode(lava.data_dir) == 0o700 and mode(lava.data_dir / "secret_key") == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file of another user needs root")
def test_a_too_open_file_of_another_user_is_refused(tmp_path: Path) -> None:
    lava = instance(tmp_path / "data")
    os.chown(lava.data_dir / "secret_key", 65534, 65534)
    with pytest.raises(ConfigurationError, match=r"secret_key has mode 0644.*`chmod 600 "):
        privacy.secure(lava)


def test_logs_and_kept_files_are_created_private(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "jobs")
    store.append(7, 0, '- {"dt": "x", "lvl": "info", "msg": "secret"}\n')
    assert mode(store._job_dir(7)) == 0o700
    assert mode(store._path(7)) == 0o600 and mode(store._index_path(7)) == 0o600
    assert mode(store.write_file(7, "job.yaml", "secrets: {a: b}\n")) == 0o600
    assert mode(store.write_file(8, "metadata/a-b-1.yaml", "url: x\n")) == 0o600
    assert mode(store._job_dir(8)) == 0o700 and mode(store._job_dir(8) / "metadata") == 0o700
    assert mode(write_atomic(tmp_path / "dictionary.jinja2", "secret\n")) == 0o600


def run(*args: str, root: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAVA_", "DJANGO_"))}
    env |= {"LAVA_SETTINGS": os.devnull, "LAVA_DATA_DIR": str(root)}
    return subprocess.run(
        [str(LAVA_SERVER), "manage", *args], env=env, capture_output=True, text=True, umask=0o022
    )


def test_manage_creates_private_files_and_check_reports_loose_ones(tmp_path: Path) -> None:
    root = tmp_path / "data"
    assert run("migrate", "--noinput", root=root).returncode == 0
    assert mode(root) == 0o700
    assert mode(root / "lava.sqlite3") == 0o600  # created under the server's umask
    (root / "lava.sqlite3").chmod(0o644)
    checked = run("check", root=root)
    assert "lava.W010" in checked.stdout + checked.stderr
    assert "lava.sqlite3: mode 0644 -> 0600" in checked.stdout + checked.stderr
    assert mode(root / "lava.sqlite3") == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file of another user needs root")
def test_manage_refuses_to_start_with_a_loose_file_of_another_user(tmp_path: Path) -> None:
    root = tmp_path / "data"
    assert run("migrate", "--noinput", root=root).returncode == 0
    (root / "lava.sqlite3").chmod(0o644)
    os.chown(root / "lava.sqlite3", 65534, 65534)
    refused = run("check", root=root)
    assert refused.returncode == 1
    assert "lava.sqlite3 has mode 0644 and holds secrets" in refused.stderr
