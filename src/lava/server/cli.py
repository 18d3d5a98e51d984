"""``lava-server``: the server's command, ``lava-server manage <django command> ...``.

As in LAVA, every admin verb is a Django management command; the scheduler
daemon is ``lava-server manage lava-scheduler``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

USAGE = """usage: lava-server manage COMMAND [ARGS...]

  lava-server manage help               list every command
  lava-server manage migrate            create or upgrade the database
  lava-server manage check              check the configuration
  lava-server manage lava-scheduler     run the scheduler daemon
  lava-server manage devices list       ... and the other admin verbs

Settings come from /etc/lava-server/settings.yaml (or $LAVA_SETTINGS) and
LAVA_* environment variables.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run a Django management command as ``lava-server manage``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    if args[0] != "manage":
        sys.stderr.write(f"lava-server: unknown command {args[0]!r}\n\n{USAGE}")
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lava.server.settings")
    from lava.server.config import ConfigurationError
    from lava.server.privacy import private_umask

    private_umask()  # the database, the scheduler's files: the server's user's only

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["lava-server manage", *args[1:]])
    except ConfigurationError as exc:
        sys.stderr.write(f"lava-server: configuration error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
