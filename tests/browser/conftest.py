"""Debian's headless Chromium, driven by Playwright, against the real gunicorn and workers.

Each test gets a fresh browser context: a new cookie jar, so a new owner of jobs.
"""

from __future__ import annotations

import os

import pytest

CHROMIUM = os.environ.get("SPOOL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(chromium, live_server):
    """Open browser contexts (each its own owner) on the live server; all closed after the test.

    A script error on any page fails the test, and so does anything the page's
    Content-Security-Policy blocked: every browser test shows the pages work under it.
    """
    contexts, errors = [], []

    def watch(page):
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                errors.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
            ),
        )

    def open_context(**options):
        context = chromium.new_context(**{"base_url": live_server.url, **options})
        context.set_default_timeout(20_000)
        context.on("page", watch)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    assert not errors, "script errors in the page:\n" + "\n".join(errors)


@pytest.fixture
def page(new_context):
    return new_context().new_page()
