"""``lava-server manage aliases``: other names for device types, usable in job definitions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from lava.server.scheduler.management import output
from lava.server.scheduler.management.admin_command import CONSOLE, AdminCommand
from lava.server.services import device_types as ops

COLUMNS = ("alias", "device_type")


class Command(AdminCommand):
    help = "Manage device-type aliases"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = self.sub_commands(parser)

        add = sub.add_parser("add", help="Add an alias to a device type")
        add.add_argument("alias", help="the alias")
        add.add_argument("devicetype", help="the device type it names")

        list_p = sub.add_parser("list", help="List aliases")
        output.add_format_argument(list_p)

        show = sub.add_parser("show", help="The device type an alias names")
        show.add_argument("alias", help="the alias")

        remove = sub.add_parser("remove", help="Remove an alias")
        remove.add_argument("alias", help="the alias")

    def handle_add(self, options: dict[str, Any]) -> None:
        ops.add_alias(CONSOLE, options["alias"], options["devicetype"])

    def handle_list(self, options: dict[str, Any]) -> None:
        self.write_rows(ops.alias_rows(), COLUMNS, options)

    def handle_show(self, options: dict[str, Any]) -> None:
        self.stdout.write(f"device_type: {ops.alias_device_type(options['alias'])}")

    def handle_remove(self, options: dict[str, Any]) -> None:
        ops.remove_alias(CONSOLE, options["alias"])
