"""`Transfer` through a TFTP server: the job's files under the worker's TFTP root.

Layout, as LAVA's: `<root>/<prefix><job id>/tftp-deploy-<random>/<kind>/<file>`,
and the bootloader asks for the path relative to the root. The root is the
dispatcher configuration's `tftp_root` or, as in LAVA, `TFTP_DIRECTORY` in
`/etc/default/tftpd-hpa`. Everything under `<root>/<prefix><job id>` goes at
the end of the job.

TFTP has no authentication: whoever reaches the server can read what a job
places there while it runs, the overlay's secrets included.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lava.common.exceptions import ConfigurationError, InfrastructureError, JobError
from lava.dispatcher.paths import check_name

TFTPD_DEFAULTS = Path("/etc/default/tftpd-hpa")
# The TFTP server runs as its own user (tftp): it must be able to read what we place.
PUBLIC_DIR = 0o755
PUBLIC_FILE = 0o644
# Files of this size or more are refused (dispatcher.yaml `tftp_size_limit`, as LAVA).
DEFAULT_SIZE_LIMIT = 4 * 1024**3


def tftp_root(config: Mapping[str, Any], defaults: Path = TFTPD_DEFAULTS) -> Path:
    """The worker's TFTP root; InfrastructureError when none is configured."""
    configured = config.get("tftp_root")
    if configured:
        root = Path(str(configured))
    else:
        root = _tftpd_directory(defaults)
        if root is None:
            raise InfrastructureError(
                "Unable to identify the tftpd directory: set tftp_root in the worker's "
                f"dispatcher configuration or TFTP_DIRECTORY in {defaults} (tftpd-hpa)"
            )
    if not root.is_absolute():
        raise ConfigurationError(f"the TFTP root must be an absolute path, not '{root}'")
    if not root.is_dir():
        raise InfrastructureError(f"the TFTP root {root} does not exist on this worker")
    return root


def _tftpd_directory(defaults: Path) -> Path | None:
    try:
        text = defaults.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name.strip() == "TFTP_DIRECTORY":
            value = value.strip().strip("'\"")
            return Path(value) if value else None
    return None


def server_ip(config: Mapping[str, Any]) -> str:
    """`{SERVER_IP}`: the configured `dispatcher_ip`, else this host's default-route address."""
    configured = config.get("dispatcher_ip")
    if configured:
        return str(configured)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            # No packet is sent: connect() on UDP only picks the route and source address.
            probe.connect(("192.0.2.1", 9))
            return str(probe.getsockname()[0])
        except OSError as exc:
            raise InfrastructureError(
                f"Unable to find this worker's address for the device ({exc}): set "
                "dispatcher_ip in the worker's dispatcher configuration"
            ) from exc


class TftpTransfer:
    """Places a job's files under the TFTP root (implements `interfaces.Transfer`)."""

    def __init__(
        self, root: Path, job_id: str, prefix: str = "", size_limit: int = DEFAULT_SIZE_LIMIT
    ) -> None:
        check_name(f"{prefix}{job_id}", "TFTP job directory")
        self.root = root
        self.job_dir = root / f"{prefix}{job_id}"
        self.size_limit = size_limit
        self._deploy_dir: Path | None = None

    @property
    def deploy_dir(self) -> Path:
        """`<root>/<prefix><job id>/tftp-deploy-<random>`, created on first use."""
        if self._deploy_dir is None:
            try:
                self.job_dir.mkdir(mode=PUBLIC_DIR, exist_ok=True)
                self.job_dir.chmod(PUBLIC_DIR)
                self._deploy_dir = Path(tempfile.mkdtemp(prefix="tftp-deploy-", dir=self.job_dir))
                self._deploy_dir.chmod(PUBLIC_DIR)
            except OSError as exc:
                raise InfrastructureError(
                    f"Unable to create the job's TFTP directory in {self.root}: {exc}"
                ) from exc
        return self._deploy_dir

    def put(self, source: Path, kind: str) -> str:
        check_name(kind, "TFTP file kind")
        check_name(source.name, "TFTP file name")
        size = source.stat().st_size
        if size >= self.size_limit:
            raise JobError(
                f"'{kind}' is {size} bytes: TFTP cannot serve files of {self.size_limit} "
                "bytes or more (tftp_size_limit)"
            )
        target_dir = self.deploy_dir / kind
        target = target_dir / source.name
        try:
            target_dir.mkdir(mode=PUBLIC_DIR, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copyfile(source, target)
            target.chmod(PUBLIC_FILE)
        except OSError as exc:
            raise InfrastructureError(
                f"Unable to place {source.name} in {target_dir}: {exc}"
            ) from exc
        return str(target.relative_to(self.root))

    def remove(self) -> None:
        if self.job_dir.exists():
            shutil.rmtree(self.job_dir, ignore_errors=True)
        self._deploy_dir = None
