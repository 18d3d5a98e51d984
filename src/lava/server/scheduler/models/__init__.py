"""The scheduler's models, one module per resource."""

from .device import Device
from .devicetype import Alias, DeviceType
from .history import FavoriteJob, HealthChange
from .job import TestJob
from .permission import GroupDevicePermission, GroupDeviceTypePermission
from .tag import Tag
from .token import AuthToken
from .worker import Worker

__all__ = [
    "Alias",
    "AuthToken",
    "Device",
    "DeviceType",
    "FavoriteJob",
    "GroupDevicePermission",
    "GroupDeviceTypePermission",
    "HealthChange",
    "Tag",
    "TestJob",
    "Worker",
]
