"""A real browser (headless Chromium, driven by Selenium) on a page of another origin: it must
not be able to drive the control API, and it must still be able to call a provider route, as
browser SDKs do. `make browser` (run by `make test`) installs the browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from selenium import webdriver

from tests.conftest import ServerProcess, start_server

PAGE = b"<!doctype html><title>elsewhere</title><p>a page of another origin</p>"
FIXTURE = {"fixtures": [{"match": {"userMessage": "injected"}, "response": {"content": "pwned"}}]}
# Each probe resolves to what the page could see: a status, or the error that stopped it.
PROBE = """
const [mock, done] = [arguments[0], arguments[arguments.length - 1]];
const fixture = JSON.stringify(arguments[1]);
const attempt = (url, init) => fetch(url, init).then(
  async (r) => ({status: r.status, type: r.type,
                 body: r.type === "opaque" ? null : await r.text()}),
  (e) => ({error: String(e)}));
Promise.all([
  // No preflight: a text/plain body, sent blind (no-cors) as an attacker would.
  attempt(mock + "/__aimock/fixtures", {method: "POST", mode: "no-cors",
    headers: {"Content-Type": "text/plain"}, body: fixture}),
  // A form-encoded reset, also without a preflight.
  attempt(mock + "/__aimock/reset", {method: "POST", mode: "no-cors",
    headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "a=1"}),
  // A JSON body needs a preflight, which the control API does not grant.
  attempt(mock + "/__aimock/fixtures", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: fixture}),
  // Reading the journal (request bodies) from the page.
  attempt(mock + "/__aimock/journal", {}),
  // A provider route, as a browser SDK calls it: preflighted, granted, readable.
  attempt(mock + "/v1/chat/completions", {method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "Bearer sk-test"},
    body: JSON.stringify({model: "gpt-4o", messages: [{role: "user", content: "hello"}]})}),
]).then(done);
"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[str]:
    """A page on another loopback port: another origin than the mock's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def mock() -> Iterator[ServerProcess]:
    server = start_server([])
    yield server
    server.stop()


def test_a_page_of_another_origin_cannot_drive_the_control_api(
    browser: webdriver.Chrome, elsewhere: str, mock: ServerProcess
) -> None:
    with httpx.Client(base_url=mock.url, timeout=30) as control:
        first = {"model": "gpt-4o", "messages": [{"role": "user", "content": "secret"}]}
        control.post("/v1/chat/completions", json=first)  # an entry in the journal to steal
        before = control.get("/__aimock/health").json()["fixtures"]
    browser.get(elsewhere)
    blind_add, blind_reset, json_add, journal, provider = browser.execute_async_script(
        PROBE, mock.url, FIXTURE
    )
    # The blind requests leave an opaque answer (the page learns nothing) and change nothing.
    assert blind_add.get("type") == "opaque" and blind_reset.get("type") == "opaque"
    # Without a CORS grant, the browser stops the others before the page sees anything.
    assert "Failed to fetch" in json_add.get("error", "")
    assert "Failed to fetch" in journal.get("error", "")
    with httpx.Client(base_url=mock.url, timeout=30) as control:
        assert control.get("/__aimock/health").json()["fixtures"] == before
        answered = control.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "injected"}]},
        )
        assert "pwned" not in answered.text
        journal_now = control.get("/__aimock/journal").json()
    # The reset did not happen: the first entry is still there, then the page's provider call
    # (control requests are never journaled), then ours.
    assert [e["body"]["messages"][0]["content"] for e in journal_now] == [
        "secret",
        "hello",
        "injected",
    ]
    # The provider route answers the page, readable, as a browser SDK needs.
    assert provider["status"] in (200, 404) and provider["type"] == "cors"
    assert '"error"' in provider["body"] or '"choices"' in provider["body"]
