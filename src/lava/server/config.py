"""The server's settings: one typed object read from one YAML file and the environment.

Order (later wins): built-in defaults, ``/etc/lava-server/settings.yaml`` (or
the file named by ``LAVA_SETTINGS``), then ``LAVA_*`` environment variables.
Keys in the YAML file are the attribute names in upper case (``DATABASE_URL``,
``DATA_DIR``, ``DEBUG``...); environment variables add the ``LAVA_`` prefix.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import pwd
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lava.common import yamlio
from lava.common.limits import limit

ETC_SETTINGS = Path("/etc/lava-server/settings.yaml")
# In TRUSTED_PROXIES: whatever connects over gunicorn's unix socket (it has no address)
UNIX_PEER = "unix"
ETC_DISPATCHER_CONFIG = Path("/etc/lava-server/dispatcher-config")


class ConfigurationError(ValueError):
    """A setting is missing or has a value of the wrong kind."""


def default_data_dir() -> Path:
    """Per-instance data: /var/lib/lava-server for root, else under the user's XDG data home."""
    if os.geteuid() == 0:
        return Path("/var/lib/lava-server")
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "lava-server"


@dataclass
class Settings:
    """Everything the server reads from its configuration, with safe defaults."""

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str = ""  # empty: SQLite file lava.sqlite3 in data_dir
    secret_key: str = ""  # empty: generated once into data_dir/secret_key
    debug: bool = False
    allowed_hosts: list[str] = field(default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"])
    time_zone: str = "UTC"
    dispatcher_config: Path | None = None  # None: /etc/... when it exists, else data_dir/...
    instance_name: str = "lava"
    # The scheduler daemon
    scheduler_interval: float = 20.0
    worker_offline_timeout: float = 60.0
    worker_grace_period: float = 300.0  # after Offline, before its jobs end Incomplete
    health_frequency_hours: int = 24
    # Queue order among jobs of equal priority for a device type: "fair" shares the
    # devices between submitters (FAIR_SHARE_WEIGHTS: "user:NAME" or "group:NAME" ->
    # weight, default 1; a listed group's members share one share), "lava" is LAVA's
    # submit-time order
    scheduler_order: str = "fair"
    fair_share_weights: dict[str, float] = field(default_factory=dict)
    # Submissions
    max_job_size: int = limit("definition_size")  # lava.common.limits, the one table
    extra_context_variables: list[str] = field(default_factory=list)
    # a job's time in the queue when it gives no `timeouts: queue` (None: no limit)
    queue_timeout_hours: float | None = None
    # Sign-in (the admin's login, POST /api/v0.2/token/): attempts, successful or not,
    # allowed per client address and per user name ("COUNT/PERIOD", PERIOD s, m, h or d)
    login_rate_per_address: str = "20/m"
    login_rate_per_username: str = "10/m"
    # Reverse proxies (addresses, networks, or "unix" for a front on gunicorn's unix
    # socket) whose X-Forwarded-For names the client; empty: the connection's own address
    trusted_proxies: list[str] = field(default_factory=list)
    # Notifications (a job's `notify` block): the lab's address in mails, callbacks
    # (seconds per attempt, allowed host patterns, log bytes sent), retries, mail server
    instance_url: str = ""  # empty: http://<this host's fully qualified name>
    callback_timeout: float = 5.0
    callback_allowed_hosts: list[str] = field(default_factory=list)  # empty: any host
    callback_log_max_bytes: int = 64 * 1024 * 1024
    notification_retry_max_delay: float = 300.0
    notification_retry_hours: float = 24.0
    server_email: str = "lava@localhost"
    email_host: str = "localhost"
    email_port: int = 25
    email_host_user: str = ""
    email_host_password: str = ""
    email_use_tls: bool = False
    email_use_ssl: bool = False
    # Events (`lavacli events listen`): what changes are published, under which topic, by
    # `lava-server manage lava-publisher` (README: Events). The internal socket is the
    # publisher's inbox (empty: DATA_DIR/events.sock); it serves listeners at
    # EVENT_PUBLISHER_BIND (HOST:PORT or unix:PATH); EVENT_SOCKET is what
    # scheduler.get_publisher_event_socket answers ("*": the server's host name).
    event_notification: bool = True
    event_topic: str = "org.lavasoftware"
    event_socket: str = "ws://*/ws/"
    internal_event_socket: Path | None = None
    event_publisher_bind: str = "127.0.0.1:8001"
    event_max_clients: int = 500
    source: list[str] = field(default_factory=list)  # files read, for `check`

    @property
    def dispatcher_config_dir(self) -> Path:
        if self.dispatcher_config is not None:
            return self.dispatcher_config
        if ETC_DISPATCHER_CONFIG.is_dir() and os.access(ETC_DISPATCHER_CONFIG, os.W_OK):
            return ETC_DISPATCHER_CONFIG
        return self.data_dir / "dispatcher-config"

    @property
    def devices_dir(self) -> Path:
        return self.dispatcher_config_dir / "devices"

    @property
    def device_types_dir(self) -> Path:
        return self.dispatcher_config_dir / "device-types"

    @property
    def health_checks_dir(self) -> Path:
        return self.dispatcher_config_dir / "health-checks"

    @property
    def job_output_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def internal_event_socket_path(self) -> Path:
        return self.internal_event_socket or self.data_dir / "events.sock"

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'lava.sqlite3').absolute()}"


_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


def _convert(name: str, kind: Any, value: Any, where: str) -> Any:
    """``value`` (from YAML or an environment string) as the field's type."""
    text = isinstance(value, str)
    if kind == "dict[str, float]":
        return _weights(name, value, where)
    try:
        if kind in ("bool", bool):
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in _BOOL_TRUE:
                return True
            if lowered in _BOOL_FALSE:
                return False
            raise ValueError(value)
        if kind in ("int", int):
            return int(value)
        if kind in ("float", float):
            return float(value)
        if kind == "float | None":
            return None if value in (None, "") else float(value)
        if kind in ("Path", "Path | None"):
            return None if value in (None, "") else Path(str(value)).expanduser()
        if kind in ("list[str]",):
            if text:
                return [item for item in (v.strip() for v in value.split(",")) if item]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
            raise ValueError(value)
        if kind in ("str", str):
            if not isinstance(value, str | int | float):
                raise ValueError(value)
            return str(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"{where}: {name.upper()} must be a {kind}, not {value!r}"
        ) from None
    raise ConfigurationError(f"{where}: {name.upper()} has an unsupported type {kind}")


def _weights(name: str, value: Any, where: str) -> dict[str, float]:
    """A mapping of names to numbers, from YAML or from ``KEY=NUMBER,KEY=NUMBER``."""
    example = "a mapping such as {user:alice: 2, group:ci: 0.5}"
    if isinstance(value, str):  # the environment's form
        example = "KEY=NUMBER pairs separated by commas, such as user:alice=2,group:ci=0.5"
        pairs = [item.partition("=") for item in (v.strip() for v in value.split(",")) if item]
        if any(not sep for _, sep, _ in pairs):
            raise ConfigurationError(f"{where}: {name.upper()} must be {example}, not {value!r}")
        value = {key.strip(): number.strip() for key, _, number in pairs}
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: {name.upper()} must be {example}, not {value!r}")
    weights = {}
    for key, number in value.items():
        try:
            if isinstance(number, bool):
                raise ValueError(number)
            weights[str(key)] = float(number)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"{where}: {name.upper()}: the weight of {key!r} must be a number, not {number!r}"
            ) from None
    return weights


def _fields() -> dict[str, Any]:
    return {f.name: f.type for f in dataclasses.fields(Settings) if f.name != "source"}


def settings_file(environ: dict[str, str] | None = None) -> Path | None:
    """The YAML settings file in use: ``$LAVA_SETTINGS`` or /etc/lava-server/settings.yaml."""
    env = os.environ if environ is None else environ
    if env.get("LAVA_SETTINGS"):
        return Path(env["LAVA_SETTINGS"])
    return ETC_SETTINGS if ETC_SETTINGS.is_file() else None


def settings_files(path: Path | None) -> list[Path]:
    """The settings file in use, then ``settings.d/*.yaml`` beside it in name order.

    Packages and admins drop files into ``settings.d/`` (the Debian package's
    database choice, say) so the main file stays the admin's own.
    """
    extra = (path or ETC_SETTINGS).parent / "settings.d"
    main = [path] if path is not None else []
    return [*main, *sorted(extra.glob("*.yaml"))] if extra.is_dir() else main


def _read_settings_file(settings: Settings, path: Path, kinds: dict[str, Any]) -> None:
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"), str(path)) or {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read settings file {path}: {exc.strerror}") from None
    except yamlio.YAMLError as exc:
        raise ConfigurationError(f"settings file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"settings file {path}: expected a mapping of settings")
    for key, value in data.items():
        name = str(key).lower()
        if name not in kinds:
            known = ", ".join(sorted(k.upper() for k in kinds))
            raise ConfigurationError(
                f"settings file {path}: unknown setting {key!r} (known: {known})"
            )
        setattr(settings, name, _convert(name, kinds[name], value, str(path)))
    settings.source.append(str(path))


def load(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings files and the environment into a Settings object."""
    env = os.environ if environ is None else environ
    settings = Settings()
    kinds = _fields()
    path = settings_file(env)
    for each in settings_files(path):
        _read_settings_file(settings, each, kinds)
    for name, kind in kinds.items():
        var = f"LAVA_{name.upper()}"
        if var in env:
            setattr(settings, name, _convert(name, kind, env[var], f"environment {var}"))
    settings.data_dir = Path(settings.data_dir).expanduser()
    _check_durations(settings, path)
    _check_queue_timeout(settings, path)
    _check_sign_in(settings, path)
    _check_fair_share(settings, path)
    return settings


def data_owner(settings: Settings) -> str | None:
    """The user the instance's data belongs to, when this process may not read it.

    A packaged instance's data directory is private to ``lavaserver``: another
    user (not root) sees its settings but not its database or secret key.
    """
    try:
        info = settings.data_dir.stat()
    except FileNotFoundError:
        return None
    except PermissionError:
        info = settings.data_dir.parent.stat()  # hidden inside a private parent
    if os.geteuid() == 0 or info.st_uid == os.geteuid():
        return None
    if os.access(settings.data_dir, os.R_OK | os.W_OK | os.X_OK):
        return None
    try:
        return pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        return str(info.st_uid)


RATE = re.compile(r"[1-9][0-9]*/[1-9]?[0-9]*[smhd]")


def _check_sign_in(settings: Settings, path: Path | None) -> None:
    """Login rates read COUNT/PERIOD; trusted proxies are addresses, networks or ``unix``."""
    where = f"settings file {path}" if path else "settings"
    for name in ("login_rate_per_address", "login_rate_per_username"):
        if not RATE.fullmatch(getattr(settings, name)):
            raise ConfigurationError(
                f"{where}: {name.upper()} must be COUNT/PERIOD such as 10/m (s, m, h or d), "
                f"not {getattr(settings, name)!r}"
            )
    for proxy in settings.trusted_proxies:
        if proxy == UNIX_PEER:
            continue
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"{where}: TRUSTED_PROXIES: {proxy!r} is not an address, a network or "
                f"{UNIX_PEER!r} (a front on gunicorn's unix socket)"
            ) from None


def _check_durations(settings: Settings, path: Path | None) -> None:
    """Durations are seconds: positive, except a grace period, which may be 0."""
    where = f"settings file {path}" if path else "settings"
    for name, zero_ok in (
        ("scheduler_interval", False),
        ("worker_offline_timeout", False),
        ("worker_grace_period", True),
        ("callback_timeout", False),
        ("callback_log_max_bytes", False),
        ("notification_retry_max_delay", False),
        ("notification_retry_hours", True),
    ):
        value = getattr(settings, name)
        if value > 0 or (zero_ok and value == 0):
            continue
        least = ">= 0" if zero_ok else "> 0"
        raise ConfigurationError(
            f"{where}: {name.upper()} must be a number of seconds {least}, not {value!r}"
        )


def _check_queue_timeout(settings: Settings, path: Path | None) -> None:
    """QUEUE_TIMEOUT_HOURS, when set, is positive and within the ``queue_timeout`` limit."""
    hours = settings.queue_timeout_hours
    most = limit("queue_timeout") / 3600
    if hours is None or 0 < hours <= most:
        return
    where = f"settings file {path}" if path else "settings"
    raise ConfigurationError(
        f"{where}: QUEUE_TIMEOUT_HOURS must be a number of hours > 0 and at most {most:g} "
        f"(the queue_timeout limit), not {hours!r}; leave it unset for no queue timeout"
    )


SCHEDULER_ORDERS = ("fair", "lava")
SHARE_KINDS = ("user", "group")


def _check_fair_share(settings: Settings, path: Path | None) -> None:
    """SCHEDULER_ORDER is fair or lava; each FAIR_SHARE_WEIGHTS key names a user or a group."""
    where = f"settings file {path}" if path else "settings"
    if settings.scheduler_order not in SCHEDULER_ORDERS:
        raise ConfigurationError(
            f"{where}: SCHEDULER_ORDER must be one of {', '.join(SCHEDULER_ORDERS)}, "
            f"not {settings.scheduler_order!r}"
        )
    for key, weight in settings.fair_share_weights.items():
        kind, _, name = key.partition(":")
        if kind not in SHARE_KINDS or not name.strip():
            raise ConfigurationError(
                f"{where}: FAIR_SHARE_WEIGHTS: {key!r} must be user:NAME or group:NAME "
                f"(for example user:alice: 2 or group:ci: 0.5)"
            )
        if not (0 < weight < math.inf):
            raise ConfigurationError(
                f"{where}: FAIR_SHARE_WEIGHTS: the weight of {key!r} must be a number > 0 "
                f"(1 is an equal share), not {weight!r}"
            )


def ensure_secret_key(settings: Settings) -> str:
    """The configured key, or the one generated on first run and kept in data_dir (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds secrets
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key
