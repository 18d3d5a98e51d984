"""The scheduler's models, one module per resource."""

from .device import Device
from .devicetype import Alias, DeviceType
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
    "GroupDevicePermission",
    "GroupDeviceTypePermission",
    "Tag",
    "TestJob",
    "Worker",
]
