"""``lava-server manage groups``: add, update and list groups.

``--submitting`` grants what LAVA's flag grants, the right to cancel or
resubmit other users' jobs (``scheduler.change_testjob``, for staff members).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from lava.server.scheduler.management import output
from lava.server.scheduler.management.admin_command import CONSOLE, AdminCommand
from lava.server.services import accounts as ops

COLUMNS = ("name", "users", "permissions")
SUBMITTING = "let its staff members cancel or resubmit other users' jobs"


class Command(AdminCommand):
    help = "Manage groups"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = self.sub_commands(parser)

        add = sub.add_parser("add", help="Add a group")
        add.add_argument("name", help="group name")
        add.add_argument("--username", help="add this user to it")
        add.add_argument("--submitting", action="store_true", help=SUBMITTING)

        update = sub.add_parser("update", help="Change a group")
        update.add_argument("name", help="group name")
        update.add_argument("--username", help="add this user to it")
        update.add_argument("--remove-username", metavar="USERNAME", help="take this user out")
        right = update.add_mutually_exclusive_group()
        right.add_argument("--submitting", action="store_const", const=True, help=SUBMITTING)
        right.add_argument(
            "--not-submitting",
            dest="submitting",
            action="store_const",
            const=False,
            help="withdraw --submitting",
        )

        list_p = sub.add_parser("list", help="List groups, their users and permissions")
        output.add_format_argument(list_p)

    def handle_add(self, options: dict[str, Any]) -> None:
        ops.add_group(
            CONSOLE,
            options["name"],
            username=options["username"],
            submitting=options["submitting"],
        )

    def handle_update(self, options: dict[str, Any]) -> None:
        ops.update_group(
            CONSOLE,
            options["name"],
            username=options["username"],
            remove_username=options["remove_username"],
            submitting=options["submitting"],
        )

    def handle_list(self, options: dict[str, Any]) -> None:
        self.write_rows(ops.group_rows(), COLUMNS, options)
