"""``lava-server manage lava-scheduler``: the scheduler daemon (the ``lava-server`` service)."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from lava.server.notifications import sender
from lava.server.scheduler import daemon

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING}
LEVELS |= {"WARNING": logging.WARNING, "ERROR": logging.ERROR}
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError(text)
    return value


positive.__name__ = "number of seconds above 0"


def setup_logging(log_file: str | None, level: int) -> Callable[[], None]:
    """Send the ``lava`` loggers to ``log_file`` (or keep stderr) at ``level``; returns an undo."""
    logger = logging.getLogger("lava")
    saved = (list(logger.handlers), logger.level)
    if log_file and log_file != "-":
        # WatchedFileHandler reopens the file after logrotate moved it
        handler: logging.Handler = logging.handlers.WatchedFileHandler(log_file)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.handlers = [handler]
    logger.setLevel(level)

    def restore() -> None:
        for handler in logger.handlers:
            if handler not in saved[0]:
                handler.close()
        logger.handlers, logger.level = saved[0], saved[1]

    return restore


# Django's system checks load the whole URLconf (every view, DRF, the API schema):
# ~28 MB a daemon keeps for its life and never uses. `lava-server manage check` runs them.
NO_SYSTEM_CHECKS: list[str] = []


class Command(BaseCommand):
    requires_system_checks = NO_SYSTEM_CHECKS
    help = (
        "Run the scheduler: assign queued jobs to idle devices, health checks first, "
        "pass after pass, and send the jobs' notifications (callbacks, mail) from a thread; "
        "stops cleanly on SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=positive,
            default=None,
            help="seconds between passes when nothing changes "
            "[SCHEDULER_INTERVAL setting, 20]; new jobs and freed devices wake it sooner",
        )
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument(
            "--no-notifications",
            action="store_true",
            help="do not send the jobs' notifications (callbacks, mail) from this process",
        )
        parser.add_argument(
            "--publisher",
            nargs="?",
            const="",
            default=None,
            metavar="BIND",
            help="also publish the lab's events to /ws/ listeners from a thread, as "
            "`lava-publisher --bind BIND` would [EVENT_PUBLISHER_BIND setting]: one "
            "process (~50 MiB) less; run no lava-publisher beside it",
        )
        parser.add_argument(
            "--log-file", default=None, help="log to this file instead of stderr ('-': stderr)"
        )
        parser.add_argument(
            "--level", default="INFO", choices=sorted(LEVELS), type=str.upper, help="log level"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"] or settings.LAVA.scheduler_interval
        try:
            restore = setup_logging(options["log_file"], LEVELS[options["level"]])
        except OSError as exc:
            raise CommandError(f"cannot open log file {options['log_file']}: {exc}") from None
        log = daemon.LOG
        stop = daemon.SignalStop()
        stop.install()
        try:
            log.info(
                "lava-scheduler starting: %s, interval %g s, polling every %g s",
                "one pass" if options["once"] else "daemon",
                interval,
                daemon.POLL_SECONDS,
            )
            log.info("database: %s %s", connection.vendor, connection.settings_dict["NAME"])
            sending = None
            if not (options["once"] or options["no_notifications"]):
                sending = sender.start(stop)
            publishing = None
            if options["publisher"] is not None and not options["once"]:
                from lava.server.events import publisher

                bind = options["publisher"] or settings.LAVA.event_publisher_bind
                try:
                    publisher.parse_bind(bind)
                except publisher.PublisherError as exc:
                    raise CommandError(str(exc)) from None
                publishing = publisher.serve_in_thread(bind, settings.LAVA, stop.is_set)
            status = daemon.run(interval, stop=stop, once=options["once"])
            if sending is not None:
                sending.join(settings.LAVA.callback_timeout + 5)
            if publishing is not None:
                publishing.join(10)  # listeners get their clean close
            if stop.is_set():
                log.info("lava-scheduler stopping: %s received", stop.signal)
            else:
                log.info("lava-scheduler stopping")
        finally:
            stop.uninstall()
            restore()
        if status:
            raise CommandError("the scheduler pass failed; see the log")
