"""``lava-server manage device-types``: add, update, details and list device types."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from lava.server.scheduler import dispatcher_config
from lava.server.scheduler.management import output
from lava.server.scheduler.management.admin_command import CONSOLE, AdminCommand, positive
from lava.server.scheduler.states import HealthDenominator
from lava.server.services import device_types as ops

DENOMINATORS = {"hours": HealthDenominator.HOURS, "jobs": HealthDenominator.JOBS}
COLUMNS = ("name", "installed", "template", "devices", "display", "health_check", "aliases")


def _health_options(parser: Any, defaults: bool) -> None:
    parser.add_argument(
        "--health-frequency",
        type=positive,
        default=24 if defaults else None,
        help="how often to run health checks" + (" [24]" if defaults else ""),
    )
    parser.add_argument(
        "--health-denominator",
        choices=sorted(DENOMINATORS),
        default="hours" if defaults else None,
        help="health-check frequency counts hours or jobs" + (" [hours]" if defaults else ""),
    )


class Command(AdminCommand):
    help = "Manage device types (a type needs a template in the device-types search path)"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = self.sub_commands(parser)

        add = sub.add_parser("add", help="Add device types whose templates exist")
        add.add_argument("name", metavar="device-type", help="device type name; '*': all templates")
        add.add_argument("--alias", default="", help="an alias for it (single type only)")
        _health_options(add, defaults=True)
        add.add_argument("--hide", action="store_true", help="hide the type from listings")

        update = sub.add_parser("update", help="Change a device type")
        update.add_argument("name", metavar="device-type")
        update.add_argument("--alias", help="add this alias")
        _health_options(update, defaults=False)
        shown = update.add_mutually_exclusive_group()
        shown.add_argument("--hide", dest="display", action="store_false", default=None)
        shown.add_argument("--show", dest="display", action="store_true")
        checks = update.add_mutually_exclusive_group()
        checks.add_argument(
            "--disable-health-check", dest="disable_health_check", action="store_true", default=None
        )
        checks.add_argument(
            "--enable-health-check", dest="disable_health_check", action="store_false"
        )
        update.add_argument(
            "--health-check",
            metavar="FILE",
            help="install this job (checked first) as the type's health check ('-': stdin)",
        )

        details = sub.add_parser("details", help="Details of a device type")
        details.add_argument("name", metavar="device-type")
        details.add_argument("--devices", action="store_true", help="list its devices")
        output.add_format_argument(details, csv_flag=False)

        list_p = sub.add_parser("list", help="List device types")
        list_p.add_argument(
            "-a",
            "--all",
            dest="show_all",
            action="store_true",
            help="also list templates not added as device types",
        )
        output.add_format_argument(list_p)

    def handle_add(self, options: dict[str, Any]) -> None:
        frequency = options["health_frequency"]
        denominator = DENOMINATORS[options["health_denominator"]]
        if options["name"] != "*":
            ops.add_device_type(
                CONSOLE,
                options["name"],
                alias=options["alias"],
                health_frequency=frequency,
                health_denominator=denominator,
                display=not options["hide"],
            )
            return
        if options["alias"] or options["hide"]:
            raise CommandError("--alias and --hide need a single device type, not '*'")
        self.stdout.write("Adding all known device types")
        added = ops.add_all_device_types(
            CONSOLE, health_frequency=frequency, health_denominator=denominator
        )
        for name, created in added:
            self.stdout.write(f"* {name}" + ("" if created else " [skip]"))

    def handle_update(self, options: dict[str, Any]) -> None:
        name = options["name"]
        text = None
        if options["health_check"]:
            text = self.read_input(options["health_check"], "health check")
        denominator = options["health_denominator"]
        warnings = ops.update_device_type(
            CONSOLE,
            name,
            alias=options["alias"],
            health_frequency=options["health_frequency"],
            health_denominator=DENOMINATORS[denominator] if denominator else None,
            display=options["display"],
            disable_health_check=options["disable_health_check"],
            health_check=text,
        )
        for warning in warnings:
            self.stderr.write(f"warning: health check for {name!r}: {warning}")
        if text is not None:
            installed = dispatcher_config.health_check_file(name)
            self.stdout.write(f"Health check installed: {installed}")

    def handle_details(self, options: dict[str, Any]) -> None:
        self.write_details(ops.device_type_details(options["name"], options["devices"]), options)

    def handle_list(self, options: dict[str, Any]) -> None:
        self.write_rows(ops.device_type_rows(options["show_all"]), COLUMNS, options)
