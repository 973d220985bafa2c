"""Open a built page in headless Chromium (Debian's ``chromium`` package) through Playwright.

Used by the browser test and by ``leaderboard/screenshot.py``. Playwright's own browser download is never used:
the system Chromium is launched through ``executable_path``, with networking side-channels switched off.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

from nbench.errors import NbenchError

CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")


def chromium_path() -> str | None:
    """The system Chromium: ``$NBENCH_CHROMIUM`` or the first of chromium / chromium-browser on PATH."""
    explicit = os.environ.get("NBENCH_CHROMIUM")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """Yield a Playwright ``Page`` in a fresh headless Chromium; raise NbenchError if either is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise NbenchError("the playwright package is not installed (pip install playwright)") from exc
    executable = chromium_path()
    if executable is None:
        raise NbenchError("no chromium executable found (apt-get install chromium, or set NBENCH_CHROMIUM)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()
