"""Playwright drives Debian's Chromium (browser downloads are impossible here) against live_server."""

import os
from pathlib import Path

import pytest

from tests.escalations.conftest import (  # noqa: F401 - fixtures of the escalation pages' test
    group_manager,
    head_of_it,
    hierarchy,
    network,
    office,
    standard,
    vendor,
    victor,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

CHROMIUM = os.environ.get("ITSM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("ITSM_SCREENSHOTS", "test-results/screenshots"))


@pytest.fixture(scope="session", autouse=True)
def _plain_http_live_server():
    """live_server speaks plain HTTP; its middleware is built once, so relax TLS redirects before it starts."""
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        from tests.conftest import _missing

        _missing(f"end-to-end tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
