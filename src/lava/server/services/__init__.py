"""The lab's service layer: the only code that changes the lab.

One module per resource (``jobs``, ``devices``, ``device_types``, ``workers``,
``tags``, ``accounts``, ``permissions``, ``labfiles``, ``dictionaries``,
``device_commands``: a device's power and console, read from its configuration;
``health_history``: who changed a device's or worker's health, and why). Each
write takes the acting ``Actor``, checks the actor's right and every input
before it writes, and raises one of the errors of ``errors`` naming what is
wrong; nothing is stored after a refusal. XML-RPC, REST, ``lava-server
manage``, the Django admin and the web pages only parse, call and translate.
"""

from .actors import Actor
from .errors import Conflict, Invalid, Limit, Missing, Refused, ServiceError

__all__ = ["Actor", "Conflict", "Invalid", "Limit", "Missing", "Refused", "ServiceError"]
