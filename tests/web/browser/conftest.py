"""Fixtures of the browser tests: ``live`` (one ``coreatlas serve`` for the module, with the ETO
dataset uploaded to A's workspace), ``browser`` (Debian's Chromium through a plain
``sync_playwright()``: the pytest-playwright plugin is not used) and ``context`` (one browser
context per test, every request not to 127.0.0.1 aborted and counted). Helpers: browser_support.py.
"""

from __future__ import annotations

import pytest
from browser_support import ETO, Guard, chromium_path, guard_context, start_server, upload_eto

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pyproject's test extra)")

VIEWPORT = {"width": 1440, "height": 1000}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    if not ETO.is_dir():
        pytest.skip(f"the ETO dataset is not at {ETO} (../shared beside the repository): the browser flows need it")
    server = start_server(tmp_path_factory.mktemp("browser-data"))
    try:
        server.ids["dataset"] = upload_eto(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium; .ci/run installs it): the browser tests need it")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--disable-gpu", "--no-first-run"])
        yield launched
        launched.close()


def new_context(browser, live, locale: str = "en-GB"):
    """A context with the guard (no request leaves 127.0.0.1) and generous waits."""
    context = browser.new_context(locale=locale, viewport=VIEWPORT, timezone_id="Asia/Tokyo" if locale.startswith("ja") else "UTC")
    context.set_default_timeout(90_000)
    context.set_default_navigation_timeout(120_000)
    guard = guard_context(context, live)
    return context, guard


@pytest.fixture
def contexts(browser, live):
    """``open(locale) -> (context, guard)``: contexts of one test, closed after it; at the end
    every guard must have blocked nothing (the pages need no request beyond 127.0.0.1)."""
    made: list[tuple[object, Guard]] = []

    def open_context(locale: str = "en-GB"):
        made.append(new_context(browser, live, locale))
        return made[-1]

    yield open_context
    blocked = [url for _, guard in made for url in guard.blocked]
    errors = [e for _, guard in made for e in guard.page_errors]
    csp = [m for _, guard in made for m in guard.csp_violations()]
    for context, _ in made:
        context.close()
    assert not blocked, f"pages asked for resources outside 127.0.0.1 (blocked): {blocked}"
    assert not errors, f"uncaught JavaScript errors: {errors}"
    assert not csp, f"Content-Security-Policy violations: {csp}"
