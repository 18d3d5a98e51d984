"""Every XML-RPC namespace; importing this package registers their methods."""

from . import device_types, devices, jobs, results, system, tags, workers  # noqa: F401
