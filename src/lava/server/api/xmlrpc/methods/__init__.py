"""Every XML-RPC namespace; importing this package registers their methods."""

from . import device_types, devices, jobs, lab_admin, results, system, tags, workers  # noqa: F401
