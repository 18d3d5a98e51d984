"""The scheduler app: device types, devices, workers, tags, jobs, and the scheduler loop."""
