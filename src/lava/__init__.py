"""A LAVA-compatible lab: job formats, the dispatcher, the worker and the server."""

__version__ = "2026.11"
