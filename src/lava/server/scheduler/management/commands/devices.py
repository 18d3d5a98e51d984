"""``lava-server manage devices``: add, copy, update, details, list and check devices.

``--device-dict FILE`` on ``add``/``update`` imports a device dictionary (checked
to extend the device's type and to render first); ``details --device-dict``
prints the stored one, so export and import round-trip.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from lava.server.scheduler import dispatcher_config
from lava.server.scheduler.management import output
from lava.server.scheduler.management.admin_command import CONSOLE, AdminCommand, choice, names
from lava.server.scheduler.models import Device
from lava.server.scheduler.states import DeviceHealth, DeviceState
from lava.server.services import devices as ops

COLUMNS = ("hostname", "device-type", "state", "health", "worker", "tags")
OWNER_REFUSED = (
    "--owner: devices are restricted to groups (who may view and submit), "
    "not to single users; use --group GROUP"
)


def _people(parser: Any) -> Any:
    """--physical-user/--physical-group and --owner/--group; returns the owner group."""
    physical = parser.add_mutually_exclusive_group()
    physical.add_argument("--physical-user", help="user with physical access to the device")
    physical.add_argument("--physical-group", help="group with physical access to the device")
    owner = parser.add_mutually_exclusive_group()
    owner.add_argument("--owner", help="(not supported: use --group)")
    owner.add_argument("--group", help="only this group may see the device and submit jobs to it")
    return owner


class Command(AdminCommand):
    help = "Manage devices"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = self.sub_commands(parser)

        add = sub.add_parser("add", help="Add a device")
        add.add_argument("hostname", help="hostname of the device")
        add.add_argument("--device-type", required=True, help="its device type")
        add.add_argument("--worker", required=True, help="the worker it is attached to")
        add.add_argument("--description", default="", help="device description")
        add.add_argument(
            "--offline",
            dest="online",
            action="store_false",
            help="add it with health Maintenance (default: Good)",
        )
        add.add_argument("--tags", nargs="*", default=[], help="tags (created when missing)")
        _people(add)
        add.add_argument(
            "--device-dict", metavar="FILE", help="import its device dictionary ('-': stdin)"
        )

        copy = sub.add_parser("copy", help="Add a device like an existing one")
        copy.add_argument("original", help="hostname of the existing device")
        copy.add_argument("target", help="hostname of the device to add")
        copy.add_argument("--worker", required=True, help="the worker of the new device")
        copy.add_argument(
            "--offline",
            dest="online",
            action="store_false",
            help="add it with health Maintenance (default: Good)",
        )
        copy.add_argument(
            "--copy-with-tags",
            dest="copy_tags",
            action="store_true",
            help="give it the tags of the original",
        )

        details = sub.add_parser("details", help="Details of a device")
        details.add_argument("hostname", help="hostname of the device")
        details.add_argument(
            "--device-dict", action="store_true", help="print the stored device dictionary"
        )
        output.add_format_argument(details, csv_flag=False)

        list_p = sub.add_parser("list", help="List devices (not Retired ones unless asked)")
        list_p.add_argument(
            "--state",
            type=choice(DeviceState),
            metavar=names(DeviceState),
            help="only devices in this state",
        )
        health = list_p.add_mutually_exclusive_group()
        health.add_argument(
            "-a", "--all", dest="show_all", action="store_true", help="include Retired devices"
        )
        health.add_argument(
            "--health",
            type=choice(DeviceHealth),
            metavar=names(DeviceHealth),
            help="only devices with this health",
        )
        output.add_format_argument(list_p)

        update = sub.add_parser("update", help="Change a device")
        update.add_argument("hostname", help="hostname of the device")
        update.add_argument("--description", help="set the description")
        update.add_argument(
            "--health",
            type=choice(DeviceHealth),
            metavar=names(DeviceHealth),
            help="set the health",
        )
        update.add_argument("--worker", help="move it to this worker")
        update.add_argument(
            "--tags", nargs="*", help="replace its tags with these (none: remove all)"
        )
        owner = _people(update)
        owner.add_argument("--public", action="store_true", help="lift a --group restriction")
        update.add_argument(
            "--device-dict", metavar="FILE", help="import its device dictionary ('-': stdin)"
        )

        check = sub.add_parser("check", help="Render device configurations, report failures")
        which = check.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "-a",
            "--all",
            dest="check_all",
            action="store_true",
            default=None,
            help="check every device",
        )
        which.add_argument("hostnames", nargs="*", default=[], metavar="hostname")

    def _dictionary(self, options: dict[str, Any]) -> str | None:
        name = options["device_dict"]
        return self.read_input(name, "device dictionary") if name else None

    def handle_add(self, options: dict[str, Any]) -> None:
        if options["owner"]:
            raise CommandError(OWNER_REFUSED)
        hostname = options["hostname"]
        ops.add_device(
            CONSOLE,
            hostname,
            device_type=options["device_type"],
            worker=options["worker"],
            description=options["description"],
            online=options["online"],
            tags=options["tags"],
            physical_user=options["physical_user"],
            physical_group=options["physical_group"],
            group=options["group"],
            dictionary=self._dictionary(options),
        )
        self._remind(hostname)

    def handle_copy(self, options: dict[str, Any]) -> None:
        target = options["target"]
        ops.copy_device(
            CONSOLE,
            options["original"],
            target,
            worker=options["worker"],
            online=options["online"],
            with_tags=options["copy_tags"],
        )
        self._remind(target)

    def _remind(self, hostname: str) -> None:
        if dispatcher_config.read_device_dictionary(hostname) is None:
            path = dispatcher_config.device_dictionary_path(hostname)
            self.stderr.write(
                f"Reminder: device {hostname!r} has no device dictionary yet: write {path} "
                f"or run 'lava-server manage devices update {hostname} --device-dict FILE'"
            )

    def handle_update(self, options: dict[str, Any]) -> None:
        if options["owner"]:
            raise CommandError(OWNER_REFUSED)
        ops.update_device(
            CONSOLE,
            options["hostname"],
            health=options["health"],
            worker=options["worker"],
            description=options["description"],
            tags=options["tags"],
            physical_user=options["physical_user"],
            physical_group=options["physical_group"],
            group=options["group"],
            public=True if options["public"] else None,
            dictionary=self._dictionary(options),
        )

    def handle_details(self, options: dict[str, Any]) -> None:
        hostname = options["hostname"]
        fields = ops.device_details(hostname)
        if not options["device_dict"]:
            self.write_details(fields, options)
            return
        text = dispatcher_config.read_device_dictionary(hostname)
        if text is None:
            path = dispatcher_config.device_dictionary_path(hostname)
            raise CommandError(f"device {hostname!r} has no device dictionary ({path})")
        self.stdout.write(text, ending="")

    def handle_list(self, options: dict[str, Any]) -> None:
        rows = ops.device_rows(options["state"], options["health"], options["show_all"])
        self.write_rows(rows, COLUMNS, options)

    def handle_check(self, options: dict[str, Any]) -> None:
        devices = Device.objects.select_related("device_type").order_by("hostname")
        if not options["check_all"]:
            wanted = list(dict.fromkeys(options["hostnames"]))
            devices = devices.filter(hostname__in=wanted)
            missing = sorted(set(wanted) - {d.hostname for d in devices})
            if missing:
                raise CommandError(f"no such device: {', '.join(missing)}")
        failed = []
        for device in devices:
            problems = ops.device_problems(device)
            if problems:
                failed.append(device.hostname)
                self.stdout.write(f"* {device.hostname}: FAILED: {'; '.join(problems)}")
            else:
                self.stdout.write(f"* {device.hostname}: OK")
        if not devices:
            raise CommandError("no devices to check")
        if failed:
            total = len(devices)
            raise CommandError(f"{len(failed)} of {total} devices failed: {', '.join(failed)}")
