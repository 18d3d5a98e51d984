"""``lava-server manage tokens``: add, list and remove API tokens."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from lava.server.scheduler.management import output
from lava.server.scheduler.management.admin_command import CONSOLE, AdminCommand, count
from lava.server.services import tokens as ops

COLUMNS = ("id", "secret", "description", "created_on", "last_used_on")


class Command(AdminCommand):
    help = "Manage API tokens"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = self.sub_commands(parser)

        add = sub.add_parser("add", help="Create a token; print its secret")
        add.add_argument("--user", "-u", required=True, help="the token's owner")
        add.add_argument("--description", "-d", default="", help="what the token is for")
        add.add_argument("--secret", help="import this secret instead of generating one")

        list_p = sub.add_parser("list", help="List a user's tokens")
        list_p.add_argument("--user", "-u", required=True, help="the tokens' owner")
        output.add_format_argument(list_p)

        rm = sub.add_parser("rm", help="Remove one token, or the tokens not used for some days")
        rm.add_argument("--token", help="the secret of the token to remove")
        rm.add_argument(
            "-n",
            "--days",
            type=count,
            default=730,
            help="without --token: remove tokens unused for this many days [730]",
        )
        rm.add_argument("--user", "-u", help="without --token: only this user's tokens")
        rm.add_argument("--dry-run", action="store_true", help="only list what would go")
        rm.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    def handle_add(self, options: dict[str, Any]) -> None:
        token = ops.add_token(
            CONSOLE, options["user"], description=options["description"], secret=options["secret"]
        )
        self.stdout.write(token.secret)

    def handle_list(self, options: dict[str, Any]) -> None:
        self.write_rows(ops.token_rows(options["user"]), COLUMNS, options)

    def handle_rm(self, options: dict[str, Any]) -> None:
        if options["token"]:
            if options["dry_run"]:
                raise CommandError("--dry-run goes with --days, not --token")
            ops.remove_token(CONSOLE, options["token"])
            self.stdout.write("Token removed")
            return
        tokens = ops.unused_tokens(options["days"], options["user"])
        found = list(tokens)
        if not found:
            self.stdout.write("No tokens to remove")
            return
        for token in found:
            used = token.last_used_on.date() if token.last_used_on else "never"
            self.stdout.write(f"* {token.id} of {token.user.username} (last used: {used})")
        if options["dry_run"]:
            self.stdout.write(f"Would remove {len(found)} tokens")
            return
        if not options["yes"]:
            self._confirm(len(found))
        removed = ops.remove_tokens(CONSOLE, [t.pk for t in found])
        self.stdout.write(f"Removed {removed} tokens")

    def _confirm(self, how_many: int) -> None:
        if not sys.stdin.isatty():
            raise CommandError(
                f"refusing to remove {how_many} tokens without confirmation: pass --yes"
            )
        answer = input(f"Remove {how_many} tokens? (yes/no): ")
        if answer.strip().lower() != "yes":
            raise CommandError("nothing removed")
