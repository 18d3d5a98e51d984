"""Every XML-RPC namespace; importing this package registers their methods."""

from . import jobs, system  # noqa: F401
