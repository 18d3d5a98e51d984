"""``lava-server manage workers``: add, update, details and list workers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from lava.server.scheduler.management import output
from lava.server.scheduler.management.admin_command import (
    CONSOLE,
    AdminCommand,
    choice,
    count,
    names,
)
from lava.server.scheduler.states import WorkerHealth
from lava.server.services import workers as ops

COLUMNS = ("hostname", "state", "health", "devices", "job_limit", "last_ping", "description")


class Command(AdminCommand):
    help = "Manage workers"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = self.sub_commands(parser)

        add = sub.add_parser("add", help="Add a worker; print its token")
        add.add_argument("hostname", help="hostname of the worker")
        add.add_argument("--description", default="", help="worker description")
        add.add_argument(
            "--health",
            type=choice(WorkerHealth),
            metavar=names(WorkerHealth),
            default=WorkerHealth.ACTIVE,
            help="worker health [ACTIVE]",
        )
        add.add_argument(
            "--job-limit",
            type=count,
            default=0,
            help="at most this many jobs at once (0: no limit) [0]",
        )

        details = sub.add_parser("details", help="Details of a worker")
        details.add_argument("hostname", help="hostname of the worker")
        details.add_argument("--devices", action="store_true", help="list its devices")
        output.add_format_argument(details, csv_flag=False)

        list_p = sub.add_parser("list", help="List workers (not Retired ones unless asked)")
        list_p.add_argument(
            "-a", "--all", dest="show_all", action="store_true", help="include Retired workers"
        )
        output.add_format_argument(list_p)

        update = sub.add_parser("update", help="Change a worker")
        update.add_argument("hostname", help="hostname of the worker")
        update.add_argument("--description", help="set the description")
        update.add_argument(
            "--health",
            type=choice(WorkerHealth),
            metavar=names(WorkerHealth),
            help="set the health",
        )
        update.add_argument("--job-limit", type=count, help="at most this many jobs (0: no limit)")
        update.add_argument(
            "--token",
            dest="new_token",
            action="store_true",
            help="give it a new token and print it (the old one stops working)",
        )

    def handle_add(self, options: dict[str, Any]) -> None:
        worker = ops.add_worker(
            CONSOLE,
            options["hostname"],
            description=options["description"],
            health=options["health"],
            job_limit=options["job_limit"],
        )
        self.stdout.write(f"Token: {worker.token}")

    def handle_update(self, options: dict[str, Any]) -> None:
        worker = ops.update_worker(
            CONSOLE,
            options["hostname"],
            description=options["description"],
            health=options["health"],
            job_limit=options["job_limit"],
            new_token=options["new_token"],
        )
        if options["new_token"]:
            self.stdout.write(f"Token: {worker.token}")

    def handle_details(self, options: dict[str, Any]) -> None:
        self.write_details(ops.worker_details(options["hostname"], options["devices"]), options)

    def handle_list(self, options: dict[str, Any]) -> None:
        self.write_rows(ops.worker_rows(options["show_all"]), COLUMNS, options)
