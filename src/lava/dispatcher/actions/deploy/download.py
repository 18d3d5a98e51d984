"""`download-retry`: download one image, with the retries the job or device asks for.

The child that does the work is chosen from the URL scheme when the pipeline
is built: `http-download` for http and https, `file-download` for `file://`
URLs and plain paths. Other schemes are reported by validate().
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from lava.common.exceptions import JobError
from lava.dispatcher.actions.deploy.handler import DownloadHandler
from lava.dispatcher.pipeline import RetryAction

__all__ = ["HANDLERS", "DownloaderAction", "handler_for"]

HANDLERS: dict[str, str] = {
    "http": "http_download:HttpDownloadAction",
    "https": "http_download:HttpDownloadAction",
    "file": "file_download:FileDownloadAction",
    "": "file_download:FileDownloadAction",
}
"""URL scheme → "module:Class" of its downloader, imported only when a job needs it
(requests alone costs ~80 ms of lava-run's start-up)."""


def handler_for(scheme: str) -> type[DownloadHandler] | None:
    """The downloader class for a URL scheme, or None when none handles it."""
    target = HANDLERS.get(scheme)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(f"lava.dispatcher.actions.deploy.{module}"), name)


class DownloaderAction(RetryAction):
    """Retry wrapper around the downloader of one image (`label` in the deploy block)."""

    name = "download-retry"
    description = "download with retry"
    summary = "download-retry"

    def __init__(self, label: str, image: Mapping[str, Any]) -> None:
        super().__init__()
        self.label = str(label)
        self.image: dict[str, Any] = dict(image) if isinstance(image, Mapping) else {}
        self.problem = ""

    def populate_children(self, parameters: dict[str, Any]) -> None:
        assert self.pipeline is not None
        url = self.image.get("url")
        if not isinstance(url, str) or not url:
            self.problem = f"Invalid deploy action: 'url' is missing for '{self.label}'"
            return
        scheme = urlparse(url).scheme.lower()
        handler = handler_for(scheme)
        if handler is None:
            self.problem = (
                f"Unsupported url protocol scheme '{scheme}' for '{self.label}': {url} "
                "(supported: http, https, file)"
            )
            return
        self.pipeline.add_action(handler(self.label, self.image))

    def validate(self) -> None:
        super().validate()
        if self.problem:
            raise JobError(self.problem)
