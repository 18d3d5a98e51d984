"""``lava-server manage lava-publisher``: the event publisher (the ``lava-publisher`` service)."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lava.server.events import publisher

# the scheduler daemon's logging options and set-up, shared by both daemons
daemon_command = importlib.import_module("lava.server.scheduler.management.commands.lava-scheduler")
DEFAULT_PORT = 8001  # LAVA's


def _bind(options: dict[str, Any], default: str) -> str:
    """Where to serve: --bind, else LAVA's --host and --port over the setting's."""
    bind = options["bind"]
    if bind is None and (options["host"] is not None or options["port"] is not None):
        host, port, _ = publisher.parse_bind(default)
        host = options["host"] if options["host"] is not None else host or "*"
        port = options["port"] or port or DEFAULT_PORT
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    bind = bind or default
    publisher.parse_bind(bind)
    return bind


class Command(BaseCommand):
    requires_system_checks = daemon_command.NO_SYSTEM_CHECKS
    help = (
        "Publish the lab's events (jobs, devices, workers, test cases) to websocket "
        "listeners at /ws/, as LAVA's lava-publisher: `lavacli events listen` reads them. "
        "Stops cleanly on SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=None,
            help="HOST:PORT or unix:PATH to serve listeners at "
            "[EVENT_PUBLISHER_BIND setting, 127.0.0.1:8001]",
        )
        parser.add_argument("--host", default=None, help="as LAVA's: the host of --bind ('*': all)")
        parser.add_argument("--port", default=None, type=int, help="as LAVA's: the port of --bind")
        parser.add_argument(
            "--log-file", default=None, help="log to this file instead of stderr ('-': stderr)"
        )
        parser.add_argument(
            "--level",
            default="INFO",
            choices=sorted(daemon_command.LEVELS),
            type=str.upper,
            help="log level",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        lava = settings.LAVA
        if lava.event_max_clients < 1:
            raise CommandError(f"EVENT_MAX_CLIENTS must be 1 or more, not {lava.event_max_clients}")
        try:
            bind = _bind(options, lava.event_publisher_bind)
        except publisher.PublisherError as exc:
            raise CommandError(str(exc)) from None
        try:
            restore = daemon_command.setup_logging(
                options["log_file"], daemon_command.LEVELS[options["level"]]
            )
        except OSError as exc:
            raise CommandError(f"cannot open log file {options['log_file']}: {exc}") from None
        try:
            if not lava.event_notification:
                publisher.LOG.warning(
                    "EVENT_NOTIFICATION is false: the lab publishes no events to serve"
                )
            asyncio.run(self._serve(bind, lava))
        except publisher.PublisherError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot serve listeners at {bind}: {exc.strerror or exc}") from None
        finally:
            restore()

    async def _serve(self, bind: str, lava: Any) -> None:
        stop = asyncio.Event()
        publisher.install_stop(stop)
        server = publisher.Publisher(lava.event_topic, lava.event_max_clients)
        await server.run(bind, lava.internal_event_socket_path, stop)
        publisher.LOG.info("lava-publisher stopping")
