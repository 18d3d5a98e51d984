"""``lava-server manage users``: add, update, details and list users.

``--passwd-file FILE`` (``-``: standard input) reads the password from its
first line, so it does not show in ``ps`` as ``--passwd`` would.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from lava.server.scheduler.management import output
from lava.server.scheduler.management.admin_command import CONSOLE, AdminCommand
from lava.server.services import accounts as ops

COLUMNS = ("username", "fullname", "email", "active", "staff", "superuser")


def _password_options(parser: Any, what: str) -> None:
    passwd = parser.add_mutually_exclusive_group()
    passwd.add_argument("--passwd", help=f"{what} (visible in ps: prefer --passwd-file)")
    passwd.add_argument(
        "--passwd-file", metavar="FILE", help="read the password from this file ('-': stdin)"
    )


def _switch(parser: Any, name: str, dest: str, on: str, off: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(f"--{name}", dest=dest, action="store_const", const=True, help=on)
    group.add_argument(f"--not-{name}", dest=dest, action="store_const", const=False, help=off)


class Command(AdminCommand):
    help = "Manage users"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = self.sub_commands(parser)

        add = sub.add_parser("add", help="Add a user (prints a generated password if none given)")
        add.add_argument("username", help="user name")
        add.add_argument("--email", default="", help="email address")
        _password_options(add, "password")
        add.add_argument("--staff", action="store_true", help="make the user a staff member")
        add.add_argument("--superuser", action="store_true", help="make the user a superuser")

        update = sub.add_parser("update", help="Change a user")
        update.add_argument("username", help="user name")
        update.add_argument("--email", help="set the email address")
        _password_options(update, "new password")
        _switch(update, "active", "active", "let the user sign in", "stop the user signing in")
        _switch(update, "staff", "staff", "make a staff member", "no longer a staff member")
        _switch(update, "superuser", "superuser", "make a superuser", "no longer a superuser")

        details = sub.add_parser("details", help="Details of a user")
        details.add_argument("username", help="user name")
        output.add_format_argument(details, csv_flag=False)

        list_p = sub.add_parser("list", help="List users (active ones unless asked)")
        list_p.add_argument(
            "-a", "--all", dest="show_all", action="store_true", help="include inactive users"
        )
        output.add_format_argument(list_p)

    def _password(self, options: dict[str, Any]) -> str | None:
        if options["passwd_file"] is None:
            return options["passwd"]
        text = self.read_input(options["passwd_file"], "password file")
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise CommandError(f"password file {options['passwd_file']}: the first line is empty")
        return lines[0]

    def handle_add(self, options: dict[str, Any]) -> None:
        _, generated = ops.add_user(
            CONSOLE,
            options["username"],
            email=options["email"],
            password=self._password(options),
            staff=options["staff"],
            superuser=options["superuser"],
        )
        if generated is not None:
            self.stdout.write(generated)

    def handle_update(self, options: dict[str, Any]) -> None:
        ops.update_user(
            CONSOLE,
            options["username"],
            email=options["email"],
            password=self._password(options),
            active=options["active"],
            staff=options["staff"],
            superuser=options["superuser"],
        )

    def handle_details(self, options: dict[str, Any]) -> None:
        self.write_details(ops.user_details(options["username"]), options)

    def handle_list(self, options: dict[str, Any]) -> None:
        self.write_rows(ops.user_rows(options["show_all"]), COLUMNS, options)
