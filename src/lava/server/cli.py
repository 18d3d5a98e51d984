"""``lava-server``: the server's command, ``lava-server manage <django command> ...``.

As in LAVA, every admin verb is a Django management command; the scheduler
daemon is ``lava-server manage lava-scheduler`` and the web side is
``lava-server gunicorn``.

Who runs it matters on a packaged instance, whose data directory belongs to
the system user ``lavaserver``: root runs every command as that user (a
database or log file made by root would lock the services out), and another
user may run ``check`` and ``help`` only (the settings and templates are
readable, the database and the secret key are not).
"""

from __future__ import annotations

import os
import pwd
import sys
from collections.abc import Sequence

USAGE = """usage: lava-server manage COMMAND [ARGS...]
       lava-server gunicorn [GUNICORN OPTIONS...]

  lava-server manage help               list every command
  lava-server manage migrate            create or upgrade the database
  lava-server manage check              check the configuration
  lava-server manage lava-scheduler     run the scheduler daemon
  lava-server manage devices list       ... and the other admin verbs
  lava-server gunicorn --bind ADDRESS   serve the web pages and APIs

Settings come from /etc/lava-server/settings.yaml (or $LAVA_SETTINGS), the
files in settings.d/ beside it, and LAVA_* environment variables.
"""

# What a user who may not read the instance's data can still run
UNPRIVILEGED_COMMANDS = {"check", "help", "version"}


def become(user: pwd.struct_passwd) -> None:
    """Drop root for ``user`` (its groups, its home): what the services run as."""
    os.initgroups(user.pw_name, user.pw_gid)
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    os.environ.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)


def instance_user() -> str | None:
    """As root on an instance owned by another user: become that user. Otherwise,
    with an instance this user may not read: the owner's name (None when fine)."""
    from lava.server import config

    lava = config.load()
    if os.geteuid() == 0:
        try:
            owner = lava.data_dir.stat().st_uid
        except FileNotFoundError:
            return None
        if owner != 0:
            become(pwd.getpwuid(owner))
        return None
    return config.data_owner(lava)


def gunicorn(args: list[str]) -> int:
    """Serve the WSGI application with the server's gunicorn settings; ARGS add to them."""
    from gunicorn.app.wsgiapp import run

    sys.argv = [
        "lava-server gunicorn",
        "--config",
        "python:lava.server.gunicorn_config",
        *args,
        "lava.server.wsgi:application",
    ]
    run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run a Django management command as ``lava-server manage``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    if args[0] not in ("manage", "gunicorn"):
        sys.stderr.write(f"lava-server: unknown command {args[0]!r}\n\n{USAGE}")
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lava.server.settings")
    from lava.server.config import ConfigurationError
    from lava.server.privacy import private_umask

    try:
        owner = instance_user()
    except ConfigurationError as exc:
        sys.stderr.write(f"lava-server: configuration error: {exc}\n")
        return 1
    command = args[1] if args[0] == "manage" and len(args) > 1 else "help"
    if owner is not None:
        if args[0] == "gunicorn" or command not in UNPRIVILEGED_COMMANDS:
            sys.stderr.write(
                f"lava-server: the instance's data belongs to {owner!r} and is private: "
                f"run `sudo lava-server {' '.join(args)}` (root runs it as {owner!r})\n"
            )
            return 1
        os.environ["LAVA_UNPRIVILEGED"] = owner
    private_umask()  # the database, the scheduler's files: the server's user's only
    if args[0] == "gunicorn":
        return gunicorn(args[1:])
    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["lava-server manage", *args[1:]])
    except ConfigurationError as exc:
        sys.stderr.write(f"lava-server: configuration error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
