"""The journal page's route (`/__aimock/ui`, `/__aimock/`): whatever is sent, it answers the
page (a GET), or the control API's refusal in its own envelope; never a fault, never a journal
entry. What the page does in a browser: tests/browser/test_journal_page.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.testing import MockServer

ROOT = Path(__file__).resolve().parents[2]
header_value = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30
).map(str.strip)
HEADERS = ("Origin", "Sec-Fetch-Site", "Host", "Authorization", "Content-Type", "Accept")


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer([ROOT / "examples" / "fixtures"]) as mock:
        yield mock


def test_the_page_is_served_with_a_strict_policy(server: MockServer) -> None:
    for path in ("/__aimock/ui", "/__aimock/"):
        page = httpx.get(server.url + path)
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<title>aimock journal</title>" in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "connect-src 'self'" in policy
        assert "'unsafe-inline'" not in policy  # the inline script is allowed by its hash
        assert page.headers["x-frame-options"] == "DENY"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    request=st.tuples(
        st.sampled_from(("GET", "POST", "PUT", "DELETE", "HEAD")),
        st.sampled_from(("/__aimock/ui", "/__aimock/", "/__aimock/ui/x")),
        st.dictionaries(st.sampled_from(HEADERS), header_value, max_size=3),
        st.binary(max_size=200),
    )
)
def test_any_request_to_the_page_is_answered_without_a_fault(
    server: MockServer,
    caplog: pytest.LogCaptureFixture,
    request: tuple[str, str, dict[str, str], bytes],
) -> None:
    method, path, headers, body = request
    caplog.clear()
    before = len(server.journal)
    try:
        response = httpx.request(method, server.url + path, headers=headers, content=body)
    except httpx.LocalProtocolError:
        return  # httpx refuses to send such a header; nothing reached the server
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert response.status_code < 500
    if response.status_code == 200 and method == "GET" and path != "/__aimock/ui/x":
        assert "aimock journal" in response.text
    elif response.content and method != "HEAD":
        orjson.loads(response.content)  # the control API's JSON envelope
    assert len(server.journal) == before  # the control API is not journaled
