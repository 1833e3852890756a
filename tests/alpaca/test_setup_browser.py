"""The setup page in a real browser: Debian's Chromium, driven by Selenium through chromedriver,
against a real server on loopback (issue 9 point 8).

A setting changed on the page applies to the next exposure, and a page on another origin (another
loopback port) that posts the form without the token changes nothing. Without Chromium or its
driver these tests fail, naming the install step: a browser check that silently skips is no
check.
"""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from alpaca_sony.camera.decode import DEFAULT_ALGORITHM

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
IDS = "ClientID=1&ClientTransactionID=7"
PAGE = "/setup/v1/camera/0/setup"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError as exc:  # a missing test dependency fails every test here, loudly
    raise ImportError(f"{exc}: run bash tests/setup-machine.sh (pyproject test extra)") from exc


@pytest.fixture
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium with a fresh profile and nothing that reaches past this machine."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} missing: run bash tests/setup-machine.sh "
            "(it installs Debian's chromium and chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _api(port: int, method: str, member: str, form: str = "") -> Any:
    """One Alpaca request, as any client sends it; its Value."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if method == "GET":
            conn.request("GET", f"/api/v1/camera/0/{member}?{IDS}")
        else:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            conn.request("PUT", f"/api/v1/camera/0/{member}", f"{IDS}&{form}", headers)
        body = orjson.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert body["ErrorNumber"] == 0, body
    return body.get("Value")


def _until(what: str, ready: Callable[[], bool], timeout_s: float = 60) -> None:
    """Poll until ``ready`` (the server's state, read over HTTP as any client reads it)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _start(port: int) -> None:
    """StartExposure: it answers once the worker took it, so the exposure before it, saving
    included, is over by then."""
    _api(port, "PUT", "startexposure", "Duration=1&Light=true")


def _image(port: int) -> None:
    _until("the image", lambda: bool(_api(port, "GET", "imageready")))


def _originals(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ARW") if not p.name.startswith("."))


def _apply(driver: Any, port: int, box: str, checked: bool) -> None:
    """Open the page, set one checkbox, press Apply, and land on the page again."""
    driver.get(f"http://127.0.0.1:{port}{PAGE}")
    element = driver.find_element(By.ID, box)
    if element.is_selected() != checked:
        element.click()
    driver.find_element(By.ID, "apply").click()
    # The POST answers 303 to the page again, which then says what happened.
    wait = WebDriverWait(driver, 60)
    element = wait.until(expected_conditions.presence_of_element_located((By.ID, "form-notice")))
    notice = element.text
    assert notice == "Applied: the next exposure uses these settings.", notice
    assert driver.find_element(By.ID, box).is_selected() == checked


def test_a_setting_changed_on_the_page_applies_to_the_next_exposure(
    serve: Callable[..., int], browser: Any, tmp_path: Path
) -> None:
    port = serve()
    _api(port, "PUT", "connected", "Connected=True")
    _apply(browser, port, "save_originals", checked=False)
    assert "save_originals = false" in browser.find_element(By.ID, "config-lines").text
    _start(port)
    _image(port)
    _apply(browser, port, "save_originals", checked=True)
    _start(port)
    assert _originals(tmp_path) == []  # the first exposure, over by now, saved nothing
    _image(port)
    _until("the second exposure's original", lambda: len(_originals(tmp_path)) == 1)


class _ForeignSite(http.server.ThreadingHTTPServer):
    """Another origin on loopback: a page that posts the camera's form without its token."""

    def __init__(self, target: str):
        page = (
            "<!DOCTYPE html><html><body><form id='forged' method='post' "
            f"action='{target}'>"
            "<input type='hidden' name='csrf_token' value='guessed'>"
            "<input type='hidden' name='demosaic' value='LINEAR'>"
            "<input type='hidden' name='rgb_primaries' value='srgb'>"
            "</form><script>document.getElementById('forged').submit()</script></body></html>"
        ).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:  # the test log stays quiet
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def foreign_site(serve: Callable[..., int]) -> Iterator[tuple[int, int]]:
    """(the server's port, the foreign site's port)."""
    port = serve()
    site = _ForeignSite(f"http://127.0.0.1:{port}{PAGE}")
    thread = threading.Thread(target=site.serve_forever, name="foreign-site")
    thread.start()
    try:
        yield port, site.server_address[1]
    finally:
        site.shutdown()
        site.server_close()
        thread.join(10)


def test_a_cross_site_post_without_the_token_changes_nothing(
    foreign_site: tuple[int, int], browser: Any
) -> None:
    port, foreign = foreign_site
    browser.get(f"http://127.0.0.1:{port}{PAGE}")
    before = browser.find_element(By.ID, "config-lines").text
    assert f'demosaic = "{DEFAULT_ALGORITHM}"' in before and 'rgb_primaries = "camera"' in before
    browser.get(f"http://127.0.0.1:{foreign}/")
    # The forged form posts itself; the server's answer (a refusal, or the page after a change)
    # says which.
    answer = WebDriverWait(browser, 60).until(
        expected_conditions.any_of(
            expected_conditions.presence_of_element_located((By.ID, "form-error")),
            expected_conditions.presence_of_element_located((By.ID, "form-notice")),
        )
    )
    assert answer.text.startswith("This form did not come from this server's setup page")
    assert browser.current_url == f"http://127.0.0.1:{port}{PAGE}"
    browser.get(f"http://127.0.0.1:{port}{PAGE}")
    assert browser.find_element(By.ID, "config-lines").text == before
