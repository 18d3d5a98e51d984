"""The lab's front: nginx, run unprivileged by the lab, in front of gunicorn.

gunicorn's threads read a request themselves, so a client that sends its
headers or body a byte at a time holds a thread for as long as it likes: a
few dozen such clients starve the API and the workers' pings. nginx reads
every request whole (headers and body, within a time limit) before it
passes it on over gunicorn's private unix socket, and buffers the answer, so a
gunicorn thread only ever works on complete requests at loopback speed.

The configuration is written into ``<instance>/front/`` at every start, with
every path nginx writes (pid, temporary files, logs) inside the instance.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
from pathlib import Path

# How long a client may take to send its whole header, and may pause between
# two reads of its body, before the front answers 408 and closes.
HEADER_TIMEOUT = 10
BODY_TIMEOUT = 10
# Bodies up to this size stay in memory; larger ones are spooled to a file.
BODY_BUFFER = 1024 * 1024
# Longer than the longest request the server holds: a worker's long-polled ping.
UPSTREAM_READ_TIMEOUT = 120
# How long an idle connection to gunicorn is kept: under gunicorn's --keep-alive,
# so the front, never gunicorn, closes it (a POST on a connection gunicorn has
# just closed would get 502).
UPSTREAM_KEEPALIVE = 30
# Events (/ws/, the publisher): open websocket connections one client address may hold,
# and how long one may stay silent (the publisher pings every 20 s, so only a dead one is).
WS_PER_ADDRESS = 64
WS_IDLE_TIMEOUT = 120
TEMPORARY = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx() -> str | None:
    """Debian's nginx binary (in /usr/sbin, which a user's PATH may lack), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def body_limit(max_job_size: int) -> int:
    """The largest request body the front lets through: what the server's views read
    (lava.server.bodies), with Django's default limit on form and JSON bodies. The server
    refuses what is over its own limits with its own message; the front only stops the absurd.
    """
    from django.conf import global_settings

    from lava.server.bodies import body_limit as server_limit

    return server_limit(max_job_size, global_settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def _user_line() -> str:
    # Started by root, nginx would switch its workers to `nobody`, who may not
    # read the instance; keep them the lab's own user instead.
    if os.geteuid() != 0:
        return ""
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return f"user {user} {group};\n"


def _events(publisher: Path | None) -> str:
    """The websocket of events at /ws/, passed to the publisher's unix socket as it comes."""
    if publisher is None:
        return ""
    return f"""
        location /ws/ {{
            proxy_pass http://unix:{publisher}:;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_buffering off;
            proxy_connect_timeout 5s;
            proxy_read_timeout {WS_IDLE_TIMEOUT}s;
            proxy_send_timeout {WS_IDLE_TIMEOUT}s;
            limit_conn events_per_address {WS_PER_ADDRESS};
        }}
"""


def configuration(
    directory: Path,
    logs: Path,
    port: int,
    upstream: Path,
    max_body: int,
    publisher: Path | None = None,
) -> str:
    """nginx.conf for a front on 127.0.0.1:``port`` before the unix socket ``upstream`` (and
    the event publisher's, ``publisher``, at /ws/)."""
    temporary = "".join(f"    {name}_temp_path {directory / name};\n" for name in TEMPORARY)
    return f"""# The lab's front (tools/front.py); written anew at every start.
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 8192;
pid {directory / "nginx.pid"};
error_log {logs / "front.log"} warn;
{_user_line()}
events {{
    worker_connections 4096;
}}

http {{
{temporary}    # no $remote_user: the name part of a Basic header may be a token sent the wrong way
    log_format lava '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                    '$request_time "$http_user_agent"';
    access_log {logs / "front-access.log"} lava;
    default_type application/octet-stream;
    server_tokens off;

    # A slow client costs the front a few KB, never a gunicorn thread.
    client_header_timeout {HEADER_TIMEOUT}s;
    client_body_timeout {BODY_TIMEOUT}s;
    client_body_buffer_size {BODY_BUFFER};
    client_max_body_size {max_body};
    send_timeout 30s;
    keepalive_timeout 30s;

    limit_conn_zone $binary_remote_addr zone=events_per_address:1m;

    upstream lava_server {{
        server unix:{upstream};
        # connections kept open to gunicorn: no connect per request
        keepalive 16;
        keepalive_timeout {UPSTREAM_KEEPALIVE}s;
    }}

    server {{
        listen 127.0.0.1:{port};

        location / {{
            proxy_pass http://lava_server;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_set_header Host $http_host;
            # the front is the edge: the client's address, never a value it sent
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 5s;
            proxy_send_timeout 30s;
            proxy_read_timeout {UPSTREAM_READ_TIMEOUT}s;
        }}
{_events(publisher)}    }}
}}
"""


def write(
    directory: Path,
    logs: Path,
    port: int,
    upstream: Path,
    max_body: int,
    publisher: Path | None = None,
) -> Path:
    """Write the front's configuration and make its directories; the configuration's path."""
    directory.mkdir(mode=0o700, exist_ok=True)
    for name in TEMPORARY:
        (directory / name).mkdir(mode=0o700, exist_ok=True)
    logs.mkdir(exist_ok=True)
    path = directory / "nginx.conf"
    path.write_text(configuration(directory, logs, port, upstream, max_body, publisher))
    return path
