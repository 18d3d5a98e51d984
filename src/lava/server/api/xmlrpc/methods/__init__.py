"""Every XML-RPC namespace; importing this package registers their methods."""

from . import (  # noqa: F401
    accounts,
    device_types,
    devices,
    events,
    jobs,
    legacy,
    results,
    system,
    tags,
    workers,
)
