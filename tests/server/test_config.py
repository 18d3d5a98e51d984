from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lava.server import config
from lava.server.config import ConfigurationError


def test_defaults_are_safe(tmp_path: Path) -> None:
    settings = config.load({"LAVA_SETTINGS": os.devnull, "LAVA_DATA_DIR": str(tmp_path)})
    assert settings.debug is False
    assert settings.effective_database_url() == f"sqlite:///{tmp_path}/lava.sqlite3"
    assert settings.max_job_size == 1024 * 1024


def test_yaml_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(
        "DEBUG: true\nDATABASE_URL: postgresql://postgres@127.0.0.1:5432/lava\n"
        "ALLOWED_HOSTS: [lava.example.com]\nSCHEDULER_INTERVAL: 5\n"
    )
    settings = config.load({"LAVA_SETTINGS": str(path), "LAVA_SCHEDULER_INTERVAL": "2.5"})
    assert settings.debug is True
    assert settings.database_url.startswith("postgresql://")
    assert settings.allowed_hosts == ["lava.example.com"]
    assert settings.scheduler_interval == 2.5  # the environment wins
    assert settings.source == [str(path)]


def test_worker_grace_period(tmp_path: Path) -> None:
    base = {"LAVA_SETTINGS": os.devnull}
    assert config.load(base).worker_grace_period == 300
    assert config.load(base | {"LAVA_WORKER_GRACE_PERIOD": "0"}).worker_grace_period == 0
    with pytest.raises(ConfigurationError, match="WORKER_GRACE_PERIOD"):
        config.load(base | {"LAVA_WORKER_GRACE_PERIOD": "-5"})


def test_queue_timeout_hours(tmp_path: Path) -> None:
    base = {"LAVA_SETTINGS": os.devnull}
    assert config.load(base).queue_timeout_hours is None
    assert config.load(base | {"LAVA_QUEUE_TIMEOUT_HOURS": "12"}).queue_timeout_hours == 12.0
    assert config.load(base | {"LAVA_QUEUE_TIMEOUT_HOURS": ""}).queue_timeout_hours is None
    for bad in ("0", "-1", "721", "nan", "soon"):
        with pytest.raises(ConfigurationError, match="QUEUE_TIMEOUT_HOURS"):
            config.load(base | {"LAVA_QUEUE_TIMEOUT_HOURS": bad})


def test_environment_lists_are_comma_separated(tmp_path: Path) -> None:
    settings = config.load(
        {"LAVA_SETTINGS": os.devnull, "LAVA_ALLOWED_HOSTS": "a.example.com, b.example.com"}
    )
    assert settings.allowed_hosts == ["a.example.com", "b.example.com"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DEBUGG: true\n", "unknown setting 'DEBUGG'"),
        ("SCHEDULER_INTERVAL: soon\n", "SCHEDULER_INTERVAL must be a float"),
        ("- a list\n", "expected a mapping"),
        ("DEBUG: [\n", "not valid YAML"),
        ("WORKER_GRACE_PERIOD: -1\n", "WORKER_GRACE_PERIOD must be a number of seconds >= 0"),
        ("WORKER_OFFLINE_TIMEOUT: 0\n", "WORKER_OFFLINE_TIMEOUT must be a number of seconds > 0"),
        ("SCHEDULER_INTERVAL: .nan\n", "SCHEDULER_INTERVAL must be a number of seconds > 0"),
    ],
)
def test_bad_settings_file_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=message):
        config.load({"LAVA_SETTINGS": str(path)})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="LAVA_DEBUG"):
        config.load({"LAVA_SETTINGS": os.devnull, "LAVA_DEBUG": "perhaps"})


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = config.load({"LAVA_SETTINGS": os.devnull, "LAVA_DATA_DIR": str(tmp_path / "i")})
    first = config.ensure_secret_key(settings)
    assert len(first) >= 50
    assert config.ensure_secret_key(settings) == first
    mode = stat.S_IMODE((tmp_path / "i" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_a_configured_secret_key_is_used_as_is(tmp_path: Path) -> None:
    settings = config.load(
        {"LAVA_SETTINGS": os.devnull, "LAVA_DATA_DIR": str(tmp_path), "LAVA_SECRET_KEY": "k" * 60}
    )
    assert config.ensure_secret_key(settings) == "k" * 60
    assert not (tmp_path / "secret_key").exists()


def test_trusted_proxies_are_addresses_networks_or_the_unix_socket() -> None:
    base = {"LAVA_SETTINGS": os.devnull}
    found = config.load(base | {"LAVA_TRUSTED_PROXIES": "unix,10.0.0.0/8,::1"}).trusted_proxies
    assert found == ["unix", "10.0.0.0/8", "::1"]
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES: 'nginx' is not an address"):
        config.load(base | {"LAVA_TRUSTED_PROXIES": "nginx"})


def test_settings_d_is_read_after_the_file_in_name_order(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("INSTANCE_NAME: from-the-file\nSCHEDULER_INTERVAL: 5\n")
    extra = tmp_path / "settings.d"
    extra.mkdir()
    (extra / "10-name.yaml").write_text("INSTANCE_NAME: from-10\n")
    (extra / "00-database.yaml").write_text("DATABASE_URL: postgresql://lavaserver@/lavaserver\n")
    (extra / "20-name.yaml").write_text("INSTANCE_NAME: from-20\n")
    (extra / "notes.txt").write_text("INSTANCE_NAME: never read\n")
    settings = config.load({"LAVA_SETTINGS": str(path)})
    assert settings.instance_name == "from-20"
    assert settings.scheduler_interval == 5
    assert settings.database_url == "postgresql://lavaserver@/lavaserver"
    assert settings.source == [str(path), *(str(extra / n) for n in ("00-database.yaml",
                                                                      "10-name.yaml",
                                                                      "20-name.yaml"))]  # fmt: skip


def test_a_bad_settings_d_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("{}\n")
    (tmp_path / "settings.d").mkdir()
    bad = tmp_path / "settings.d" / "50-typo.yaml"
    bad.write_text("SCHEDULER_INTERVALL: 5\n")
    with pytest.raises(ConfigurationError, match=rf"{bad}: unknown setting 'SCHEDULER_INTERVALL'"):
        config.load({"LAVA_SETTINGS": str(path)})


def test_data_owner_names_who_keeps_the_data_from_us(tmp_path: Path) -> None:
    settings = config.load({"LAVA_SETTINGS": os.devnull, "LAVA_DATA_DIR": str(tmp_path)})
    assert config.data_owner(settings) is None  # ours (or root's view)
    settings.data_dir = tmp_path / "absent"
    assert config.data_owner(settings) is None  # nothing to keep from anyone yet
