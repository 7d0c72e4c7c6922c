"""Browser tests: Playwright driving Debian's Chromium (``/usr/bin/chromium``, installed by
``.ci/run``) against a live server, with the realtime (WebSocket) app served by uvicorn in
a thread beside it. Screenshots go to ``ESIMDESK_SCREENSHOT_DIR`` (default
``var/screenshots``), one per page, language and viewport, so a run can be looked at."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test's thread; Django would then refuse
# the test's own ORM calls as "async-unsafe". They are plain sync calls between page steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("ESIMDESK_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
SHOTS = Path(os.environ.get("ESIMDESK_SCREENSHOT_DIR",
                            Path(__file__).resolve().parents[2] / "var" / "screenshots"))
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("ESIMDESK_REQUIRE_BROWSER"):  # CI: a missing browser is a failure
        raise pytest.UsageError(f"browser tests need Chromium at {CHROMIUM}")
    skip = pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium; "
                                   ".ci/run installs it)")
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Per test: Playwright's sync API keeps an event loop running in this thread while it
    is open, which would break later tests' ``async_to_sync`` in the same worker."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def realtime(settings: Any, live_server: Any) -> Iterator[str]:
    """The ASGI realtime app on its own port, in this process (so it shares the test
    database). Events from the live server reach it over its internal publish endpoint,
    exactly as from a web process without Redis."""
    import uvicorn

    port = _free_port()
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    settings.REALTIME_URL = f"ws://localhost:{port}"
    settings.REALTIME_INTERNAL_URL = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config("esimdesk.asgi:application", host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the realtime app did not start")
        time.sleep(0.05)
    yield settings.REALTIME_URL
    server.should_exit = True
    thread.join(timeout=10)


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot (the test's artifact) and return its path."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def base_url(live_server: Any) -> str:
    # "localhost", not 127.0.0.1: the WebSocket host must match for the session cookie.
    return str(live_server.url).replace("127.0.0.1", "localhost")


@pytest.fixture
def site(settings: Any, live_server: Any) -> str:
    """The live server's address, also as the public URL (payment pages redirect there)."""
    base = base_url(live_server)
    settings.PUBLIC_URL = base
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    return base
