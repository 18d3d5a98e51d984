"""The job's secrets: a quoted file for the device, expanded only where named."""

from __future__ import annotations

from lava.dispatcher.job_secrets import expand, job_secrets, secrets_file


def test_file_quotes_every_value_and_skips_bad_names() -> None:
    text = secrets_file({"A": "plain", "B": "it's", "bad-name": "x"}, {"C": "$(id)"})
    assert text == "A=plain\nB='it'\"'\"'s'\nC='$(id)'\n"


def test_expand_fills_in_secrets_only() -> None:
    secrets = job_secrets({"secrets": {"USER": "bot", "TOKEN": "t0k"}})
    url = "https://${USER}:$TOKEN@example.org/$HOME/${PATH}/repo.git"
    assert expand(url, secrets) == "https://bot:t0k@example.org/$HOME/${PATH}/repo.git"
    assert expand("no reference", secrets) == "no reference"
