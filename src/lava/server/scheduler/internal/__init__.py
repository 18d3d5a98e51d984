"""The internal HTTP API the workers talk to (LAVA's ``/scheduler/internal/v1/``)."""
