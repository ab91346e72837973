"""Headless Chromium for the browser tests (tests/test_browser.py); not a test module.

The tests drive the system's Chromium (Debian: `apt-get install -y chromium`) through
Playwright's Python package; no browser is ever downloaded. Playwright itself is imported
by the caller, so this module imports without it and the tests can skip cleanly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright, Request

#: The system Chromium; `CHROMIUM=/path/to/chromium` points the tests at another build.
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))

#: Headless in a container, and quiet: without the background-networking flags Chromium
#: phones home (component updates, sync, QUIC probes), which a sandboxed CI box refuses.
ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: How long any one browser step may take before the test fails instead of hanging (ms).
TIMEOUT_MS = 15_000


def missing_chromium() -> str | None:
    """Why Chromium can't be used here, or None if it can."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)"
    return None


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(ARGS))


@dataclass
class Visit:
    """A page plus everything it asked the network for and everything it complained about."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: Path) -> str:
        """Load a local file; return its URL (the only URL the page itself should fetch)."""
        url = path.resolve().as_uri()
        self.page.goto(url)
        return url

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location
            self.errors.append(
                f"console: {message.text} ({where.get('url')}:{where.get('lineNumber')})"
            )

    def on_page_error(self, error: Error) -> None:
        self.errors.append(f"page error: {error.message}")

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)


@contextmanager
def visit(browser: Browser, **context_options: Any) -> Iterator[Visit]:
    """A fresh browser context (options as for `Browser.new_context`) with one recorded page."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        recorded = Visit(page)
        page.on("console", recorded.on_console)
        page.on("pageerror", recorded.on_page_error)
        page.on("request", recorded.on_request)
        yield recorded
    finally:
        context.close()
