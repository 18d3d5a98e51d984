"""lava-server: the Django project that owns the lab's state and schedules its jobs.

Nothing here imports the dispatcher; shared formats come from ``lava.common``.
"""
