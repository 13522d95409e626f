"""The browser the tests in this folder drive: the distribution's Chromium, headless, through
its ChromeDriver (`make browser`, run by `make test`, installs both)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "run make browser (make test does)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1400,900")
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_script_timeout(60)
    yield chrome
    chrome.quit()
