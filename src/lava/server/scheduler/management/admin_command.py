"""What the admin commands share: sub-command dispatch, errors, input files and output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from lava.server.scheduler.states import parse_choice
from lava.server.services import Actor, ServiceError

from . import output


def choice(enum: type[models.IntegerChoices]) -> Callable[[str], int]:
    """An argparse type: a member's name in any case (``GOOD``, ``good``) to its value."""

    def parse(text: str) -> int:
        try:
            return parse_choice(enum, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def names(enum: type[models.IntegerChoices]) -> str:
    return "|".join(member.name for member in enum)


def count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def positive(text: str) -> int:
    """An argparse type: a whole number, 1 or more."""
    value = count(text)
    if value == 0:
        raise argparse.ArgumentTypeError("0 is not allowed here: give 1 or more")
    return value


CONSOLE = Actor.console()


class AdminCommand(BaseCommand):
    """A command with LAVA's sub-commands: ``handle_<sub>`` methods; a refusal -> CommandError."""

    def sub_commands(self, parser: CommandParser) -> Any:
        return parser.add_subparsers(dest="sub_command", help="Sub commands", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, "handle_" + options["sub_command"].replace("-", "_"))
        try:
            handler(options)
        except ServiceError as exc:  # the one place a refusal becomes the command's error
            raise CommandError(str(exc)) from None
        except OSError as exc:  # writing a dictionary or health check (the database rolled back)
            if exc.filename is None:
                raise
            raise CommandError(f"{exc.filename}: {exc.strerror}") from None

    def write_rows(
        self, rows: Sequence[dict[str, Any]], columns: Sequence[str], options: dict[str, Any]
    ) -> None:
        text = output.render(rows, columns, options["format"], options.get("csv", False))
        self.stdout.write(text, ending="")

    def write_details(self, fields: dict[str, Any], options: dict[str, Any]) -> None:
        self.stdout.write(output.details(fields, options["format"]), ending="")

    def read_input(self, name: str, what: str) -> str:
        """The text of file ``name`` (``-``: standard input); CommandError if unreadable."""
        try:
            if name == "-":
                return sys.stdin.read()
            return Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {what} {name}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{what} {name} is not UTF-8 text (byte {exc.start})") from None
