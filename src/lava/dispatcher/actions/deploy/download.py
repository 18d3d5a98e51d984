"""`download-retry`: download one image, with the retries the job or device asks for.

The child that does the work is chosen from the URL scheme when the pipeline
is built: `http-download` for http and https, `file-download` for `file://`
URLs and plain paths. Other schemes are reported by validate().
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from lava.common.exceptions import JobError
from lava.dispatcher.actions.deploy.file_download import FileDownloadAction
from lava.dispatcher.actions.deploy.handler import DownloadHandler
from lava.dispatcher.actions.deploy.http_download import HttpDownloadAction
from lava.dispatcher.pipeline import RetryAction

__all__ = ["HANDLERS", "DownloaderAction", "FileDownloadAction", "HttpDownloadAction"]

HANDLERS: dict[str, type[DownloadHandler]] = {
    "http": HttpDownloadAction,
    "https": HttpDownloadAction,
    "file": FileDownloadAction,
    "": FileDownloadAction,
}
"""URL scheme → downloader."""


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
        handler = HANDLERS.get(scheme)
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
