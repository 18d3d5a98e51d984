"""The scheduler's models, one module per resource."""

from .device import Device
from .devicetype import Alias, DeviceType
from .history import FavoriteJob, HealthChange
from .job import TestJob
from .notification import Notification
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
    "Notification",
    "Tag",
    "TestJob",
    "Worker",
]
