"""Debian's chromium driven by Playwright, for the web pages' end-to-end tests.

Playwright's own browser downloads are never used: the tests run the
``chromium`` package (``make deps`` installs it), headless. Without it, or
without the ``playwright`` module, the tests skip with a notice, except in CI
where a missing browser is a broken setup and fails.

Every page a test visits is saved as a full-page screenshot, so a person can
look at what the test saw: into ``$LAVA_SCREENSHOTS``, else ``screenshots/``
at the checkout's root (ignored by git).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# Laptop-sized: what a reader of the README expects a page to look like.
VIEWPORT = {"width": 1280, "height": 800}


def missing(what: str) -> None:
    """Skip the test for want of ``what``; in CI, fail: the setup must provide it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI must run the browser tests: `make deps` installs it)")
    pytest.skip(f"{what}: the browser tests are skipped")


def require() -> None:
    """Skip (in CI: fail) unless Playwright and Debian's chromium are both installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("the Python package playwright is not installed (make venv)")
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is not installed (apt install chromium)")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian chromium under Playwright, closed when the block ends."""
    require()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshots_dir() -> Path:
    """Where screenshots go: ``$LAVA_SCREENSHOTS`` or ``<checkout>/screenshots``."""
    path = Path(os.environ.get("LAVA_SCREENSHOTS") or ROOT / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Shots:
    """Numbered full-page screenshots of one run: ``<prefix>-NN-<name>.png``."""

    def __init__(self, prefix: str, directory: Path | None = None) -> None:
        self.prefix = prefix
        self.directory = directory or screenshots_dir()
        self.count = 0
        for old in self.directory.glob(f"{prefix}-*.png"):  # a previous run's pictures
            old.unlink()

    def take(self, page: Page, name: str, full_page: bool = True) -> Path:
        """Save what ``page`` shows now, the whole page unless ``full_page`` is false."""
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.directory / f"{self.prefix}-{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


def problems(page: Page) -> list[str]:
    """Collect the page's script errors and failed requests from now on (for assertions).

    A failed request is named by its response (the console's own "Failed to load
    resource" line has no address); the browser's unasked /favicon.ico is not a page's.
    """
    seen: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            seen.append(f"console on {page.url}: {message.text}")

    def response(answer: Any) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            seen.append(f"{answer.status} from {answer.request.method} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda error: seen.append(f"script error on {page.url}: {error}"))
    page.on("response", response)
    return seen
