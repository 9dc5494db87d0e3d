"""Driving Debian's Chromium with Playwright (which downloads no browser here): the browser, and a visit that records
every request, console error, page error, dialog and Content-Security-Policy violation, and fails the test on any
of them when it closes.

The network is closed on these machines, so a figure image a page asks PMC for fails to load. A visit may be told
the origins the pages' policy allows images from (``images_from``): requests for images there are expected, and
their failing to load (a ``net::`` error, never a policy refusal) is recorded in ``offline`` instead of failing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("PFOCR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("PFOCR_TEST_ARTIFACTS") or ROOT / "output" / "test-artifacts")
# As the machine notes advise: no background connections (the network is closed), no sandbox (CI runs as root).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
WAIT = 20_000  # ms any one thing may take to appear
# Every policy violation a page meets, kept where the test can read it.
_WATCH_POLICY = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.__violations = window.__violations || []).push(e.violatedDirective + " " + e.blockedURI); });"""


def launch_chromium(playwright):
    if not os.path.isfile(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (make system-deps)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Visit:
    """A fresh browser context that records every request, console error, page error, dialog and policy
    violation."""

    def __init__(self, browser, origin_url: str, width: int = 1280, images_from: tuple[str, ...] = (),
                 **options) -> None:
        self.origin = origin_url
        self.images_from = images_from
        self.context = browser.new_context(viewport={"width": width, "height": 900}, **options)
        self.context.add_init_script(_WATCH_POLICY)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT)
        self.requests: list[str] = []
        self.images: list[str] = []  # image requests to images_from
        self.offline: list[str] = []  # those that failed for want of a network
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.expected_statuses: set[str] = set()  # console lines a page's own error status causes
        self.page.on("request", self._request)
        self.page.on("requestfailed", self._failed)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("console", self._console)

        def dialog(d) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)

    def _request(self, request) -> None:
        self.requests.append(request.url)
        if origin(request.url) in self.images_from and request.resource_type == "image":
            self.images.append(request.url)

    def _failed(self, request) -> None:
        if request.url in self.images and (request.failure or "").startswith("net::"):
            self.offline.append(request.url)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource: net::") and url in self.images:
            return  # the image host is out of reach from here; requestfailed records it
        if message.text in self.expected_statuses:
            return
        self.problems.append(f"console: {message.text} ({url})")

    def open(self, path: str, status: int = 200):
        response = self.page.goto(self.origin + path)
        assert response is not None and response.status == status, (path, response and response.status)
        return self.page

    def violations(self) -> list[str]:
        return self.page.evaluate("() => window.__violations || []")

    def shot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        foreign = sorted({u for u in self.requests if not u.startswith(self.origin + "/") and not u.startswith("data:")
                          and u not in self.images})
        violations = self.violations() if not self.page.is_closed() else []
        self.context.close()
        assert foreign == [], f"the page loaded from elsewhere: {foreign}"
        assert violations == [], f"the policy refused: {violations}"
        assert self.problems == [], self.problems
        assert self.dialogs == [], f"data ran as script: {self.dialogs}"


def answer(site: str, query: str) -> list[dict]:
    import requests

    response = requests.post(site + "/sparql", data={"query": query},
                             headers={"Accept": "application/sparql-results+json"}, timeout=30)
    response.raise_for_status()
    return response.json()["results"]["bindings"]
