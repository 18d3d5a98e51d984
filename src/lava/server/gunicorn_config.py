"""gunicorn's settings for the server: ``gunicorn -c python:lava.server.gunicorn_config ...``.

Only what the server needs whatever the deployment: no control socket, and an
access log that never holds a credential. gunicorn's ``%(u)s`` is the part of a Basic
``Authorization`` header before its colon; a malformed header (a token with no
``USER:``, or the two swapped) put the whole token into the access log.
Command-line options still override these.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

# Apache's combined format, without the user (%(u)s): see `CredentialFreeLogger`
access_log_format = '%(h)s %(l)s - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
logger_class = "lava.server.gunicorn_config.CredentialFreeLogger"
# gunicorn 25.1+ opens a control socket for `gunicornc` at one path per user
# ($HOME/.gunicorn/gunicorn.ctl), which two instances on a host would share, served by
# an asyncio loop that costs the master ~11 MB; the server needs none of it.
control_socket_disable = True

# headers whose values are credentials, as gunicorn names them in a format ({name}i)
SECRET_HEADERS = ("{authorization}i", "{lava-token}i", "{cookie}i", "{x-csrftoken}i")


class CredentialFreeLogger(Logger):
    """gunicorn's logger, with the user and credential headers left out of every access line,
    whatever format an admin sets."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        found = super().atoms(resp, req, environ, request_time)
        found["u"] = "-"
        for name in SECRET_HEADERS:
            if name in found:
                found[name] = "-"
        return found
