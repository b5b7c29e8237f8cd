"""Browser tests of the sandbox page: Debian's Chromium and ChromeDriver, driven by Selenium, headless.

``tests/browser/run`` installs the two Debian packages when they are missing (as root); screenshots of each
test go to ``build/screenshots/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from mockserver import MockServer

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# attacker.test resolves to this machine, as a rebound name would (tests/browser/test_security.py).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--window-size=1600,1000",
         "--host-resolver-rules=MAP attacker.test 127.0.0.1")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    for program in (CHROMIUM, CHROMEDRIVER):
        assert shutil.which(program), f"{program} is missing: run tests/browser/run, or apt-get install chromium " \
                                      "chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(seed=8) as running:
        yield running


@pytest.fixture
def screenshot(browser: webdriver.Chrome, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``screenshot("step")`` saves ``build/screenshots/<test>-<step>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(step: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{step}.png"
        browser.save_screenshot(str(path))
        return path

    return save
