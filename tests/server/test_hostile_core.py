"""Hostile input against the request path itself (issue 12): the control API's guards, the
journal's redaction and byte budget, unknown paths in their family's envelope, malformed HTTP
and clients that leave or stall. Provider, service and loader specifics have their own files.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.journal import Entry, Journal, is_secret
from aimock.testing import MockServer
from tests.conftest import ServerProcess, start_server
from tests.server.conftest import ClientFactory, chat_body, state_of, user

ROOT = Path(__file__).resolve().parents[2]
JSON = {"Content-Type": "application/json"}
RUNTIME = {"fixtures": [{"match": {"userMessage": "x"}, "response": {"content": "y"}}]}


# The control API and the browser


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1:1"},  # another port of the same host is another origin
    ],
)
async def test_a_page_of_another_origin_cannot_drive_the_control_api(
    make_client: ClientFactory, headers: dict[str, str]
) -> None:
    client = await make_client()
    added = await client.post("/__aimock/fixtures", json=RUNTIME, headers=headers)
    read = await client.get("/__aimock/journal", headers=headers)
    for answer in (added, read):
        assert answer.status == 403
        assert "other web origins" in (await answer.json())["error"]
        assert "Access-Control-Allow-Origin" not in answer.headers
    assert len(state_of(client).index) == 0


async def test_the_control_api_takes_its_own_origin_and_scripts(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    own = f"http://{client.host}:{client.port}"
    added = await client.post("/__aimock/fixtures", json=RUNTIME, headers={"Origin": own})
    assert added.status == 200
    # A script names no type for a body it sends as bytes (requests' data=...): taken too.
    raw = await client.post(
        "/__aimock/fixtures", data=orjson.dumps(RUNTIME), skip_auto_headers=["Content-Type"]
    )
    assert raw.status == 200
    assert len(state_of(client).index) == 2


@pytest.mark.parametrize(
    "kind", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_a_body_a_browser_sends_without_a_preflight_is_refused(
    make_client: ClientFactory, kind: str
) -> None:
    client = await make_client()
    answer = await client.post(
        "/__aimock/fixtures", data=orjson.dumps(RUNTIME), headers={"Content-Type": kind}
    )
    assert answer.status == 415
    assert "application/json" in (await answer.json())["error"]
    assert len(state_of(client).index) == 0


async def test_a_rebound_name_cannot_reach_the_control_api_on_loopback(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    for host in ("evil.example", "evil.example:80", "10.0.0.1"):
        answer = await client.get("/__aimock/journal", headers={"Host": host})
        assert answer.status == 403 and "loopback" in (await answer.json())["error"]
    for host in ("localhost:1", "127.0.0.1", "[::1]:9", "app.localhost"):
        assert (await client.get("/__aimock/journal", headers={"Host": host})).status == 200
    # Probes stay open whatever the name.
    assert (await client.get("/health", headers={"Host": "evil.example"})).status == 200


async def test_with_a_token_on_loopback_the_token_decides_not_the_host(
    make_client: ClientFactory,
) -> None:
    """A proxy in front (the API server's pod proxy names the pod's address) reaches a
    loopback server that has a token; a rebinding page, which cannot send it, still cannot."""
    client = await make_client(admin_token="s3cret")
    proxied = {"Host": "10.244.0.7:4010", "X-AIMock-Admin-Token": "s3cret"}
    assert (await client.get("/__aimock/journal", headers=proxied)).status == 200
    rebound = await client.get("/__aimock/journal", headers={"Host": "evil.example"})
    assert rebound.status == 401
    wrong = await client.get("/__aimock/journal", headers={**proxied, "X-AIMock-Admin-Token": "x"})
    assert wrong.status == 401
    origin = {**proxied, "Origin": "http://evil.example"}
    assert (await client.get("/__aimock/journal", headers=origin)).status == 403


async def test_preflights_grant_provider_routes_only(make_client: ClientFactory) -> None:
    client = await make_client()
    provider = await client.options("/v1/chat/completions", headers={"Origin": "http://a.b"})
    control = await client.options("/__aimock/fixtures", headers={"Origin": "http://a.b"})
    assert provider.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in control.headers
    served = await client.post("/v1/chat/completions", json=chat_body(user("hi")))
    health = await client.get("/__aimock/health")
    assert served.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in health.headers


async def test_beyond_loopback_the_control_api_needs_a_token_or_an_explicit_opening(
    make_client: ClientFactory,
) -> None:
    closed = await make_client(host="0.0.0.0")
    answer = await closed.get("/__aimock/journal")
    assert answer.status == 403 and "AIMOCK_ADMIN_TOKEN" in (await answer.json())["error"]
    assert (await closed.get("/__aimock/health")).status == 200
    assert (await closed.get("/metrics")).status == 200
    # Any Host is fine off loopback: the Service's name, the pod's address...
    opened = await make_client(host="0.0.0.0", open_control=True)
    answer = await opened.get("/__aimock/journal", headers={"Host": "mock.ns.svc:4010"})
    assert answer.status == 200
    guarded = await make_client(host="0.0.0.0", admin_token="s3cret")
    refused = await guarded.get("/__aimock/journal")
    assert refused.status == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    bearer = {"Authorization": "Bearer s3cret"}
    assert (await guarded.get("/__aimock/journal", headers=bearer)).status == 200


async def test_a_queued_error_takes_a_string_or_integer_code_only(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    bad = await client.post("/__aimock/error", json={"status": 500, "body": {"code": ["x"]}})
    assert bad.status == 400 and "code" in (await bad.json())["error"]
    good = await client.post("/__aimock/error", json={"status": 429, "body": {"code": 42}})
    assert good.status == 200
    # Rendered by a wire whose envelope has no integer code (Bedrock's): no fault.
    answer = await client.post(
        "/model/anthropic.claude-3/converse",
        json={"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
    )
    assert answer.status == 429


# The journal


def test_credentials_are_recognised_by_name() -> None:
    secret = [
        "authorization",
        "x-api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
        "x-amz-security-token",
        "x-chroma-token",
        "x-aimock-admin-token",
        "proxy-authorization",
        "cookie",
        "key",
        "api_key",
        "X-Amz-Signature",
        "x-amz-credential",
        "access_token",
    ]
    plain = ["content-type", "x-test-id", "max_tokens", "idempotency-key", "mcp-session-id"]
    assert [n for n in secret if not is_secret(n)] == []
    assert [n for n in plain if is_secret(n)] == []


async def test_secrets_are_redacted_wherever_the_journal_holds_them(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    headers = {
        "X-Amz-Security-Token": "t1",
        "X-Chroma-Token": "t2",
        "Ocp-Apim-Subscription-Key": "t3",
        "X-AIMock-Admin-Token": "t4",
        "X-Custom-Api-Key": "t5",
    }
    await client.post(
        "/v1beta/models/gemini-2.5-flash:generateContent?key=t6&alt=json",
        json={"contents": [{"parts": [{"text": "hi"}]}]},
        headers=headers,
    )
    await client.post("/search", json={"query": "q", "api_key": "t7"})
    dumped = (await (await client.get("/__aimock/journal")).read()).decode()
    legacy = (await (await client.get("/v1/_requests")).read()).decode()
    for text in (dumped, legacy):
        assert not [t for t in ("t1", "t2", "t3", "t4", "t5", "t6", "t7") if f'"{t}"' in text]
        assert "key=[REDACTED]" in text and "alt=json" in text
    entries = orjson.loads(dumped)
    assert entries[1]["body"] == {"query": "q", "api_key": "[REDACTED]"}


def test_a_large_body_is_kept_as_its_start_and_marked() -> None:
    journal = Journal(max_body_bytes=100, max_total_bytes=1000)
    raw = orjson.dumps({"input": "x" * 500})
    entry = _entry(orjson.loads(raw))
    journal.add(entry, raw)
    shown = entry.to_json()
    assert shown["body"] == raw[:100].decode()
    assert shown["bodyTruncated"] is True and shown["bodyBytes"] == len(raw)


def test_the_journal_holds_a_byte_budget_dropping_the_oldest_bodies() -> None:
    journal = Journal(max_entries=100, max_body_bytes=100, max_total_bytes=300)
    raws = [orjson.dumps({"n": i, "pad": "y" * 70}) for i in range(5)]
    entries = [_entry(orjson.loads(raw)) for raw in raws]
    for entry, raw in zip(entries, raws, strict=True):
        journal.add(entry, raw)
    assert journal.body_bytes <= 300  # three bodies of 86 bytes fit, four do not
    kept = [e.to_json() for e in journal]
    assert [e.get("bodyDropped", False) for e in kept] == [True, True, False, False, False]
    assert [e["body"]["n"] for e in kept[2:]] == [2, 3, 4]
    # Entries leaving the ring give their bytes back; a clear gives back everything.
    small = Journal(max_entries=2, max_body_bytes=100, max_total_bytes=10_000)
    for entry, raw in zip(entries, raws, strict=True):
        small.add(entry, raw)
    assert small.body_bytes == sum(len(r) for r in raws[-2:])
    small.clear()
    assert small.body_bytes == 0 and len(small) == 0


def _entry(body: Any) -> Entry:
    return Entry("POST", "/v1/embeddings", {}, "openai.embeddings", "openai", "t", body=body)


async def test_the_journal_budget_applies_to_served_requests(make_client: ClientFactory) -> None:
    client = await make_client(journal_max_body_bytes=64, journal_max_total_bytes=1000)
    big = {"model": "m", "input": "z" * 5000}
    for _ in range(40):
        assert (await client.post("/v1/embeddings", json=big)).status == 200
    journal = state_of(client).journal
    assert journal.body_bytes <= 1000
    entries = await (await client.get("/__aimock/journal")).json()
    assert len(entries) == 40
    assert entries[-1]["bodyTruncated"] is True and entries[-1]["bodyBytes"] > 5000
    assert entries[0]["bodyDropped"] is True and entries[0]["body"] is None


# Unknown paths answer in the envelope of the family they are nearest


def _openai(body: Any) -> bool:
    return isinstance(body.get("error"), dict) and "message" in body["error"]


def _anthropic(body: Any) -> bool:
    return body.get("type") == "error" and "message" in body["error"]


def _gemini(body: Any) -> bool:
    return {"code", "message", "status"} <= set(body.get("error", {}))


ENVELOPES = [
    ("PUT", "/v1/nope", _openai),
    ("GET", "/zzz", _openai),
    ("GET", "/v1/messages/nope", _anthropic),
    ("DELETE", "/v1/messages", _anthropic),
    ("GET", "/v1beta/nope", _gemini),
    ("GET", "/model/x/nope", lambda b: set(b) == {"message"}),
    ("GET", "/api/nope", lambda b: isinstance(b.get("error"), str) and set(b) == {"error"}),
    ("GET", "/collections/c/nope/x", lambda b: "error" in b.get("status", {})),
    ("GET", "/indexes/i/nope", lambda b: {"code", "message"} <= set(b.get("error", {}))),
    ("GET", "/api/v2/nope", lambda b: "message" in b and isinstance(b.get("error"), str)),
    ("GET", "/v2/nope", lambda b: "message" in b and "error" not in b),
    ("PUT", "/mcp/x/y", lambda b: b.get("jsonrpc") == "2.0" and "code" in b["error"]),
    ("PUT", "/__aimock/journal", lambda b: isinstance(b.get("error"), str)),
]


@pytest.mark.parametrize(("method", "path", "envelope"), ENVELOPES)
async def test_an_unknown_path_answers_in_its_familys_envelope(
    make_client: ClientFactory, method: str, path: str, envelope: Any
) -> None:
    client = await make_client()
    answer = await client.request(method, path)
    assert answer.status in (404, 405)
    body = await answer.json()
    assert envelope(body), body


# Malformed HTTP, clients that leave, clients that stall: a real server process


@pytest.fixture(scope="module")
def served() -> Any:
    server = start_server(["--idle-timeout", "2"])
    yield server
    server.stop()


def _send(server: ServerProcess, data: bytes, *, read: bool = True) -> bytes:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(data)
        return sock.recv(65536) if read else b""


def test_malformed_messages_and_clients_that_leave_log_no_traceback(
    served: ServerProcess,
) -> None:
    malformed = [
        b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Content-Length: 6\r\n\r\nabcde",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        # A body its encoding does not decode, on a route that answers without reading it:
        # aiohttp meets the fault draining the body after the answer.
        b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Encoding: gzip\r\nContent-Length: 7\r\n\r\n{"a":1}',
    ]
    for data in malformed[:-1]:
        assert _send(served, data).startswith(b"HTTP/1.") and b" 400 " in _send(served, data)
    assert b" 404 " in _send(served, malformed[-1]).split(b"\r\n", 1)[0]  # no MCP server there
    # A client that leaves mid-body.
    _send(
        served,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 500\r\n\r\n{"model":',
        read=False,
    )
    # A client that leaves mid-stream (the stream is paced: 50 ms a chunk).
    body = orjson.dumps(
        {"model": "gpt-4o", "stream": True, "messages": [user("tell me a long story")]}
    )
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-AIMock-Latency: 50\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    _send(served, head + body)
    with httpx.Client(base_url=served.url, timeout=30) as client:
        assert client.get("/health").status_code == 200
        entries = client.get("/__aimock/journal").json()  # the journal is still readable
    assert entries
    log = "".join(served.output)
    assert "Traceback" not in log and " ERROR " not in log, log


def test_stalled_connections_are_closed(served: ServerProcess) -> None:
    # Half a request line, then nothing: closed by the server after the idle timeout (2 s).
    assert _send(served, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow:") == b""
    # Headers, then a body that never comes: answered 408 in the envelope, then closed.
    answer = _send(
        served,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{",
    )
    assert b" 408 " in answer.split(b"\r\n", 1)[0]
    assert b'"code":"request_timeout"' in answer
    with httpx.Client(base_url=served.url, timeout=30) as client:
        assert client.get("/health").status_code == 200


def test_a_stalled_client_does_not_hold_others(served: ServerProcess) -> None:
    host, port = served.url.removeprefix("http://").rsplit(":", 1)
    stalled = [socket.create_connection((host, int(port))) for _ in range(50)]
    try:
        for sock in stalled:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        with httpx.Client(base_url=served.url, timeout=30) as client:
            answer = client.post("/v1/chat/completions", json=chat_body(user("hi")))
        assert answer.status_code in (200, 404)
    finally:
        for sock in stalled:
            sock.close()


# Property: any request to the control API answers JSON, never a fault


CONTROL_PATHS = sorted(
    {
        "/__aimock/health",
        "/__aimock/journal",
        "/__aimock/fixtures",
        "/__aimock/reset",
        "/__aimock/reset/journal",
        "/__aimock/reset/counts",
        "/__aimock/error",
        "/__aimock/reload",
        "/__aimock/chaos",
        "/__aimock/nope",
        "/v1/_requests",
    }
)
control_bodies = st.one_of(
    st.binary(max_size=200),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
        max_leaves=15,
    ).map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries(
        {
            "fixtures": st.lists(
                st.dictionaries(
                    st.sampled_from(["match", "response", "chaos", "sequenceIndex"]),
                    st.recursive(
                        st.none() | st.integers() | st.text(max_size=8),
                        lambda inner: st.dictionaries(st.text(max_size=8), inner, max_size=3),
                        max_leaves=6,
                    ),
                ),
                max_size=3,
            ),
            "status": st.integers(-5, 1000),
            "body": st.dictionaries(
                st.sampled_from(["message", "type", "code"]),
                st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers()),
            ),
        }
    ).map(lambda value: json.dumps(value).encode()),
)
control_headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Origin", "X-Test-Id", "Authorization", "Sec-Fetch-Site"]),
    st.sampled_from(
        [
            "application/json",
            "text/plain",
            "http://evil.example",
            "Bearer x",
            "cross-site",
            "same-origin",
            "t1",
            "",
        ]
    ),
    max_size=3,
)


@pytest.fixture(scope="module")
def in_thread() -> Iterator[MockServer]:
    with MockServer([ROOT / "examples" / "fixtures"]) as mock:
        yield mock


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    request=st.tuples(
        st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
        st.sampled_from(CONTROL_PATHS),
        control_headers,
        control_bodies,
    )
)
def test_any_control_request_answers_json_and_leaves_the_server_whole(
    in_thread: MockServer,
    caplog: pytest.LogCaptureFixture,
    request: tuple[str, str, dict[str, str], bytes],
) -> None:
    method, path, headers, body = request
    caplog.clear()
    answer = httpx.request(method, in_thread.url + path, headers=headers, content=body, timeout=30)
    faults = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert faults == [], faults[0].getMessage()
    assert answer.status_code < 500, answer.text
    assert "Access-Control-Allow-Origin" not in answer.headers
    if answer.status_code != 204:
        shown = orjson.loads(answer.content)
        if answer.status_code >= 400:
            assert isinstance(shown["error"], str)
    journal = httpx.get(in_thread.url + "/__aimock/journal", timeout=30)
    assert journal.status_code == 200 and isinstance(journal.json(), list)
