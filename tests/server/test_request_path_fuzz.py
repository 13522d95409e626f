"""Property: whatever a request looks like, the request path answers it in a protocol's JSON
envelope with a request id, never with a traceback or a fault of ours, and the journal holds
exactly one entry per request that is not the control API's.

Requests are drawn over every registered route (and unknown ones), every method, odd header
values and arbitrary bodies, against a real server on a loopback port.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.providers.registry import PROVIDERS
from aimock.testing import MockServer

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
# Every path a provider serves, with its variables filled in, plus the services' mounts.
KNOWN_PATHS = sorted(
    {
        path.replace("{", "").replace("}", "").replace(":", "")
        for provider in PROVIDERS
        for path in (
            *(p for surface in provider.surfaces for p in surface.paths),
            *(route.path for route in provider.routes),
            *(p for socket in provider.sockets for p in socket.paths),
        )
    }
    | {"/mcp", "/a2a/agent", "/agui", "/collections", "/api/v2/heartbeat", "/indexes"}
    | {"/no/such/route"}
    # Pinecone's data plane at the root (the one index there is).
    | {"/query", "/vectors/upsert", "/vectors/fetch", "/vectors/delete", "/describe_index_stats"}
)
# Header values a client may send, chaos ones aside (chaos answers are checked elsewhere).
HEADER_NAMES = ("x-test-id", "x-aimock-strict", "content-type", "accept", "anthropic-version")
# Printable ASCII; HTTP clients refuse leading or trailing blanks, so they are trimmed.
header_value = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40
).map(str.strip)
bodies = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    ).map(lambda value: json.dumps(value).encode()),  # stdlib: integers past 64 bits too
)


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer([ROOT / "examples" / "fixtures"]) as mock:
        yield mock


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    request=st.tuples(
        st.sampled_from(METHODS),
        st.sampled_from(KNOWN_PATHS),
        st.dictionaries(st.sampled_from(HEADER_NAMES), header_value, max_size=3),
        bodies,
    )
)
def test_any_request_gets_an_envelope_a_request_id_and_one_journal_entry(
    server: MockServer,
    caplog: pytest.LogCaptureFixture,
    request: tuple[str, str, dict[str, str], bytes],
) -> None:
    method, path, headers, body = request
    caplog.clear()
    before = len(server.journal)
    response = httpx.request(method, server.url + path, headers=headers, content=body, timeout=30)
    faults = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert faults == [], faults[0].getMessage()
    assert "internal error" not in response.text
    assert response.headers["x-request-id"].startswith("req_")
    if response.status_code not in (202, 204) and response.content:
        streamed = response.headers.get("content-type", "").startswith(
            ("text/event-stream", "application/x-ndjson", "application/vnd.amazon")
        )
        if not streamed:
            orjson.loads(response.content)  # a JSON envelope, never an HTML page or a traceback
    assert len(server.journal) == before + 1
