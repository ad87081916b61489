"""The browser for tests/web/: one headless Chromium per test module (see
tests/browser.py); a module whose browser cannot start skips, saying
why."""

import browser as _browser
import pytest


@pytest.fixture(scope="module")
def browser():
    """A `browser.Browser`; pages from `browser.open(mounts)`."""
    with _browser.browser() as chromium:
        yield chromium
