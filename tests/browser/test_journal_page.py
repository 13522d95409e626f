"""The journal page (`/__aimock/ui`) in a real headless Chromium: requests appear live, newest
first; one opens to its request and response bodies and, for a miss, why it missed; the
filters narrow the list; the fixtures show their hits; the journal clears; an admin token is
asked for and then used. AIMOCK_SCREENSHOT=<png> saves what the page shows (docs/)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import ServerProcess, start_server

FIXTURES = {
    "fixtures": [
        {
            "name": "refunds",
            "match": {"userMessage": "refund"},
            "response": {"content": "Five days."},
        },
        {"name": "weather", "match": {"userMessage": "weather"}, "response": {"content": "Sunny."}},
    ]
}


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("journal-page")
    (folder / "fixtures.json").write_text(json.dumps(FIXTURES))
    server = start_server(["-f", str(folder)])
    yield server
    server.stop()


# Read in one go inside the page: the table is rebuilt as requests arrive.
ROWS = (
    "return [...document.querySelectorAll('#rows tr')]"
    ".map(r => [...r.cells].map(c => c.textContent))"
)


def rows(browser: webdriver.Chrome) -> list[list[str]]:
    found: list[list[str]] = browser.execute_script(ROWS)
    return found


def open_row(browser: webdriver.Chrome, index: int) -> None:
    browser.execute_script("document.querySelectorAll('#rows tr')[arguments[0]].click()", index)


def until(browser: webdriver.Chrome, holds: Callable[[], bool], what: str) -> None:
    WebDriverWait(browser, 20, poll_frequency=0.1).until(lambda _: holds(), message=what)


def test_requests_appear_live_and_open_to_their_bodies(
    browser: webdriver.Chrome, mock: ServerProcess
) -> None:
    mock.reset()
    browser.get(mock.url + "/__aimock/ui")
    assert browser.title == "aimock journal"
    with httpx.Client(base_url=mock.url, timeout=30) as http:
        http.post(
            "/v1/chat/completions", json=chat("a refund please"), headers={"X-Test-Id": "t-1"}
        )
        http.post("/v1/chat/completions", json=chat("weather?", stream=True))
        http.post(
            "/v1/chat/completions", json=chat("I want a refnud"), headers={"X-Test-Id": "t-2"}
        )
    until(browser, lambda: len(rows(browser)) == 3, "three requests listed")
    listed = rows(browser)
    assert [row[4] for row in listed] == ["404", "200", "200"]  # newest first
    assert [row[5] for row in listed] == ["missed", "weather", "refunds"]

    open_row(browser, 0)
    until(browser, lambda: "Why it missed" in browser.find_element(By.ID, "detail").text, "why")
    why = browser.find_element(By.ID, "why").text
    assert 'refunds: userMessage "refund" not in "I want a refnud"' in why
    detail = browser.find_element(By.ID, "detail").text
    assert "I want a refnud" in detail  # the request body
    assert "no_fixture_match" in detail  # the response body

    open_row(browser, 1)  # the stream
    until(browser, lambda: "text/event-stream" in browser.find_element(By.ID, "detail").text, "sse")
    assert "data: [DONE]" in browser.find_element(By.ID, "detail").text

    hits = browser.find_element(By.ID, "fixtures").text
    assert "refunds 1" in hits and "weather 1" in hits
    assert browser.find_element(By.ID, "chaos").text == "none in force"

    Select(browser.find_element(By.ID, "filter-matched")).select_by_value("false")
    until(browser, lambda: len(rows(browser)) == 1, "only the miss")
    Select(browser.find_element(By.ID, "filter-matched")).select_by_value("")
    browser.find_element(By.ID, "filter-test").send_keys("t-1")
    until(browser, lambda: [r[5] for r in rows(browser)] == ["refunds"], "only test t-1")

    if shot := os.environ.get("AIMOCK_SCREENSHOT"):
        browser.find_element(By.ID, "filter-test").clear()
        browser.execute_script("render()")
        open_row(browser, 0)
        until(browser, lambda: "Why it missed" in browser.find_element(By.ID, "detail").text, "why")
        Path(shot).write_bytes(browser.get_screenshot_as_png())

    browser.find_element(By.ID, "clear").click()
    browser.find_element(By.ID, "filter-test").clear()
    until(browser, lambda: rows(browser) == [], "the journal cleared")
    with httpx.Client(base_url=mock.url) as http:
        assert http.get("/__aimock/journal").json() == []


def test_with_an_admin_token_the_page_asks_for_it(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    (tmp_path / "fixtures.json").write_text(json.dumps(FIXTURES))
    server = start_server(["-f", str(tmp_path)], env={"AIMOCK_ADMIN_TOKEN": "s3cret"})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            http.post("/v1/chat/completions", json=chat("a refund"))
            assert http.get("/__aimock/journal").status_code == 401  # the data needs the token
            page = http.get("/__aimock/ui")
            assert page.status_code == 200  # the page itself holds none
            assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
            other_site = http.get("/__aimock/ui", headers={"Sec-Fetch-Site": "cross-site"})
            assert other_site.status_code == 403  # not from a page of another origin
        browser.get(server.url + "/__aimock/ui")
        bar = browser.find_element(By.ID, "token-bar")
        until(browser, bar.is_displayed, "the token is asked for")
        assert rows(browser) == []
        browser.find_element(By.ID, "token").send_keys("s3cret")
        browser.find_element(By.ID, "use-token").click()
        until(browser, lambda: len(rows(browser)) == 1, "the journal, once the token is given")
        assert not bar.is_displayed()
    finally:
        browser.execute_script("sessionStorage.clear()")
        server.stop()
