"""gunicorn's access log never holds a credential, whatever the Authorization header holds."""

from __future__ import annotations

import base64
import datetime
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from lava.server import gunicorn_config

SECRET = "f3c2a9e8d1b0" * 4


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(SECRET.encode()).decode(),  # a token without USER:
        "Basic " + base64.b64encode(f"{SECRET}:mallory".encode()).decode(),  # swapped
        "Basic " + base64.b64encode(f"mallory:{SECRET}".encode()).decode(),
        f"Token {SECRET}",
    ],
)
def test_no_credential_in_an_access_line(header: str, capsys) -> None:
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", gunicorn_config.access_log_format + ' "%({authorization}i)s"')
    logger = gunicorn_config.CredentialFreeLogger(cfg)
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/RPC2",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": header,
    }
    request = SimpleNamespace(headers=[("AUTHORIZATION", header), ("LAVA-TOKEN", SECRET)])
    response = SimpleNamespace(status="401 Unauthorized", sent=10, headers=[])
    logger.access(response, request, environ, datetime.timedelta(seconds=0.01))
    (line,) = capsys.readouterr().out.splitlines()
    assert "POST /RPC2" in line and SECRET not in line and "mallory" not in line


def test_the_stock_logger_leaked_it(capsys) -> None:
    """What the default format did with a token sent without ``USER:``."""
    from gunicorn.glogging import Logger

    cfg = Config()
    cfg.set("accesslog", "-")
    header = "Basic " + base64.b64encode(SECRET.encode()).decode()
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_AUTHORIZATION": header,
    }
    Logger(cfg).access(
        SimpleNamespace(status="200 OK", sent=1, headers=[]),
        SimpleNamespace(headers=[]),
        environ,
        datetime.timedelta(0),
    )
    assert SECRET in capsys.readouterr().out
