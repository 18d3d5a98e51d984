"""Every XML-RPC namespace; importing this package registers their methods."""

from . import (  # noqa: F401
    accounts,
    device_types,
    devices,
    jobs,
    lab_admin,
    legacy,
    perms,
    results,
    system,
    tags,
    workers,
)
