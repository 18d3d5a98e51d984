"""``lava-server manage device-tags``: create tags, add them to and remove them from devices."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from lava.server.scheduler.management import output
from lava.server.scheduler.management.admin_command import CONSOLE, AdminCommand
from lava.server.services import tags as ops

COLUMNS = ("name", "description", "devices")


class Command(AdminCommand):
    help = "Manage device tags"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = self.sub_commands(parser)

        create = sub.add_parser("create", help="Create a tag")
        create.add_argument("name", help="tag name")
        create.add_argument("description", nargs="?", default="", help="what the tag means")

        add = sub.add_parser("add", help="Add existing tags to a device")
        add.add_argument("hostname", help="hostname of the device")
        add.add_argument("--tags", nargs="+", required=True, help="tags to add")

        remove = sub.add_parser("remove", help="Remove tags from a device")
        remove.add_argument("hostname", help="hostname of the device")
        remove.add_argument("--tags", nargs="+", required=True, help="tags to remove")

        show = sub.add_parser("show", help="List the tags of a device")
        show.add_argument("hostname", help="hostname of the device")
        output.add_format_argument(show)

        list_p = sub.add_parser("list", help="List all tags")
        output.add_format_argument(list_p)

    def handle_create(self, options: dict[str, Any]) -> None:
        ops.create_tag(CONSOLE, options["name"], options["description"])

    def handle_add(self, options: dict[str, Any]) -> None:
        ops.tag_device(CONSOLE, options["hostname"], options["tags"])

    def handle_remove(self, options: dict[str, Any]) -> None:
        ops.tag_device(CONSOLE, options["hostname"], options["tags"], remove=True)

    def handle_show(self, options: dict[str, Any]) -> None:
        self.write_rows(ops.tag_rows(options["hostname"]), COLUMNS, options)

    def handle_list(self, options: dict[str, Any]) -> None:
        self.write_rows(ops.tag_rows(), COLUMNS, options)
