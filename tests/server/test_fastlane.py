"""The fast lane (`aimock.http1` reading connections, `aimock.fastlane` answering): a request
it takes gets the answer aiohttp's path gives, byte for byte but for ids and clocks, with the
same journal entry; what it does not take reaches aiohttp whole, on the same connection, in
order.

Parity is checked against a second server started with AIMOCK_FAST_LANE=off, over raw sockets
so that every header and byte is seen."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.http1 import Answer, Doors, Front, Head, parse_head
from tests.conftest import ServerProcess, serving

FIXTURES: list[dict[str, Any]] = [
    {"match": {"userMessage": "hello"}, "response": {"content": "Hi there, from the lane."}},
    {
        "match": {"userMessage": "weather"},
        "response": {"toolCalls": [{"name": "get_weather", "arguments": '{"city":"Paris"}'}]},
    },
    {
        "match": {"userMessage": "boom"},
        "response": {
            "error": {"message": "upstream fell over", "type": "server_error"},
            "status": 500,
        },
    },
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """The same fixtures served with the lane and without it."""
    folder = tmp_path_factory.mktemp("lane")
    (folder / "fixtures.json").write_text(json.dumps({"fixtures": FIXTURES}))
    with (
        serving("-f", str(folder)) as lane,
        serving("-f", str(folder), env={"AIMOCK_FAST_LANE": "off"}) as full,
    ):
        yield lane, full


# --- raw HTTP/1.1 ------------------------------------------------------------------------------


def request(method: str, target: str, body: Any = None, **headers: str) -> bytes:
    data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def upload_request() -> bytes:
    """A transcription upload (multipart/form-data) as the openai SDK sends one."""
    body = (
        b'--b0\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        b'--b0\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\nRIFF....WAVE\r\n--b0--\r\n"
    )
    head = (
        "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary=b0\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Reply:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class Connection:
    """One client socket; `read` takes the next whole response off it."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.pending = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.pending += chunk

    def _take(self, size: int) -> bytes:
        while len(self.pending) < size:
            self._more()
        taken, self.pending = self.pending[:size], self.pending[size:]
        return taken

    def _line(self) -> bytes:
        while b"\r\n" not in self.pending:
            self._more()
        line, _, self.pending = self.pending.partition(b"\r\n")
        return line

    def read(self) -> Reply:
        status = int(self._line().split(b" ")[1])
        headers: list[tuple[str, str]] = []
        while line := self._line():
            name, _, value = line.decode().partition(":")
            headers.append((name, value.strip()))
        if status < 200:  # an interim answer (100 Continue): the real one follows
            return self.read()
        found = {k.lower(): v for k, v in headers}
        if found.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self._line(), 16):
                body += self._take(size)
                assert self._take(2) == b"\r\n"
            assert self._line() == b""
        else:
            body = self._take(int(found.get("content-length", "0")))
        return Reply(status, headers, body)

    def closed(self) -> bool:
        """Whether the server has closed its end (after what it sent was read)."""
        try:
            self._more()
        except (ConnectionError, TimeoutError, OSError):
            return True
        return False


def ask(server: ServerProcess, data: bytes) -> Reply:
    with Connection(server.url) as conn:
        conn.send(data)
        return conn.read()


# --- normalising what differs by nature (ids, clocks) ------------------------------------------

_VOLATILE = [
    (re.compile(rb"[0-9a-f]{16,}"), b"<hex>"),
    (re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), b"<uuid>"),
    (re.compile(rb"\b1[7-9]\d{8}(\.\d+)?\b"), b"<time>"),
    (re.compile(rb"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?"), b"<iso>"),
    (re.compile(rb'"obfuscation":"[^"]*"'), b'"obfuscation":"<o>"'),
    (re.compile(rb"\b([a-z]+_)[A-Za-z0-9]{12,}"), rb"\1<id>"),
    (re.compile(rb"_[0-9a-f]{12}\b"), b"_<hex>"),  # Cohere's tool call ids: name_ + 12 hex
]
_VOLATILE_HEADERS = {"date", "x-request-id", "request-id", "x-amzn-requestid"}


def normal(body: bytes) -> bytes:
    for pattern, stand_in in _VOLATILE:
        body = pattern.sub(stand_in, body)
    return body


def comparable(reply: Reply) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [
        (name, "<v>" if name.lower() in _VOLATILE_HEADERS else normal(value.encode()).decode())
        for name, value in reply.headers
    ]
    return reply.status, headers, normal(reply.body)


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def anthropic(text: str, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": text}]
    return {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": messages, **extra}


GEMINI = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
SAME_ANSWERS = {
    "chat": request("POST", "/v1/chat/completions", chat("hello")),
    "chat-stream": request(
        "POST",
        "/v1/chat/completions",
        chat("hello", stream=True, stream_options={"include_usage": True}),
    ),
    "tool-call": request("POST", "/v1/chat/completions", chat("weather")),
    "tool-call-stream": request("POST", "/v1/chat/completions", chat("weather", stream=True)),
    "error-fixture": request("POST", "/v1/chat/completions", chat("boom")),
    "miss": request("POST", "/v1/chat/completions", chat("nothing matches this")),
    "strict-miss": request(
        "POST", "/v1/chat/completions", chat("nothing matches this"), X_AIMock_Strict="true"
    ),
    "malformed-json": request("POST", "/v1/chat/completions", b'{"model": '),
    "empty-body": request("POST", "/v1/chat/completions", b""),
    "no-messages": request("POST", "/v1/chat/completions", {"model": "gpt-4o"}),
    "wrong-types": request("POST", "/v1/chat/completions", {"model": 3, "messages": "x"}),
    "test-id": request("POST", "/v1/chat/completions?testId=t1", chat("hello"), X_Test_Id="t2"),
    "anthropic": request("POST", "/v1/messages", anthropic("hello")),
    "anthropic-stream": request("POST", "/v1/messages", anthropic("hello", stream=True)),
    "anthropic-bad": request("POST", "/v1/messages", {"model": "claude"}),
    "gemini": request("POST", "/v1beta/models/gemini-2.5-flash:generateContent", GEMINI),
    "gemini-stream": request(
        "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", GEMINI
    ),
    "gemini-array-stream": request(
        "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", GEMINI
    ),
    "ollama": request(
        "POST", "/api/chat", {"model": "llama3", "messages": [{"role": "user", "content": "hello"}]}
    ),
    "cohere": request(
        "POST",
        "/v2/chat",
        {"model": "command-r", "messages": [{"role": "user", "content": "hello"}], "stream": True},
    ),
    "embeddings": request(
        "POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "hi"}
    ),
    # Not JSON out: speech's audio (`RawBody`), whole and as events.
    "speech-wav": request(
        "POST",
        "/v1/audio/speech",
        {"model": "tts-1", "input": "hello", "voice": "alloy", "response_format": "wav"},
    ),
    "speech-mp3": request(
        "POST", "/v1/audio/speech", {"model": "tts-1", "input": "hello", "voice": "alloy"}
    ),
    "speech-sse": request(
        "POST",
        "/v1/audio/speech",
        {"model": "gpt-4o-mini-tts", "input": "hi", "voice": "alloy", "stream_format": "sse"},
    ),
    # `Connection: close`: answered, then the connection closed.
    "chat-close": request("POST", "/v1/chat/completions", chat("hello"), Connection="close"),
    "chat-stream-close": request(
        "POST", "/v1/chat/completions", chat("hello", stream=True), Connection="Close"
    ),
    "error-fixture-close": request(
        "POST", "/v1/chat/completions", chat("boom"), Connection="close"
    ),
    "miss-close": request("POST", "/v1/chat/completions", chat("nothing"), Connection="close"),
    "malformed-close": request("POST", "/v1/chat/completions", b'{"m', Connection="close"),
    # Not JSON in: a multipart upload, which the lane leaves to the full path.
    "transcription-upload": upload_request(),
    "transcription-not-multipart": request(
        "POST", "/v1/audio/transcriptions", {"model": "whisper-1"}
    ),
}


@pytest.mark.parametrize("case", list(SAME_ANSWERS))
def test_the_lane_answers_what_the_full_path_answers(
    pair: tuple[ServerProcess, ServerProcess], case: str
) -> None:
    lane, full = pair
    data = SAME_ANSWERS[case]
    assert comparable(ask(lane, data)) == comparable(ask(full, data))


def journal_entries(server: ServerProcess) -> list[bytes]:
    """The server's journal, each entry without what differs by nature (ids, clocks)."""
    kept = []
    for entry in server.journal():
        lasting = {k: v for k, v in entry.items() if k not in ("id", "timestamp", "latencyMs")}
        kept.append(normal(json.dumps(lasting, sort_keys=True).encode()))
    return kept


def test_the_journal_entries_are_the_same(pair: tuple[ServerProcess, ServerProcess]) -> None:
    lane, full = pair
    for server in pair:
        server.reset()
        for data in SAME_ANSWERS.values():
            ask(server, data)

    on_lane, on_full = journal_entries(lane), journal_entries(full)
    assert len(on_lane) == len(SAME_ANSWERS)
    assert on_lane == on_full


def test_a_connection_moves_to_aiohttp_mid_way_and_answers_stay_in_order(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    lane, _ = pair
    hello = request("POST", "/v1/chat/completions", chat("hello"))
    health = request("GET", "/health")
    chunked = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    payload = json.dumps(chat("weather")).encode()
    chunked += b"%x\r\n%b\r\n0\r\n\r\n" % (len(payload), payload)
    with Connection(lane.url) as conn:
        # Pipelined in one write: lane, lane, aiohttp (a control route), then aiohttp for good.
        conn.send(hello + hello + health + chunked + hello)
        replies = [conn.read() for _ in range(5)]
    assert [r.status for r in replies] == [200, 200, 200, 200, 200]
    contents = [json.loads(r.body) for r in replies]
    assert contents[0]["choices"][0]["message"]["content"] == "Hi there, from the lane."
    assert contents[1]["choices"][0]["message"]["content"] == "Hi there, from the lane."
    assert contents[2]["status"] == "ok"
    assert contents[3]["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == (
        "get_weather"
    )
    assert contents[4]["choices"][0]["message"]["content"] == "Hi there, from the lane."
    assert len({r.header("x-request-id") for r in replies}) == 5


@pytest.mark.parametrize(
    "head",
    [
        b"POST /v1/chat/completions HTTP/1.0\r\nContent-Length: %d\r\n",  # HTTP/1.0
        b"POST /v1/chat/completions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: %d\r\n",
        b"POST /v1/chat/../v1/chat/completions HTTP/1.1\r\nContent-Length: %d\r\n",  # dot segment
        b"POST /v1/chat/%%63ompletions HTTP/1.1\r\nContent-Length: %d\r\n",  # an escape
        b"POST /v1/chat/completions HTTP/1.1\r\nConnection: close\r\nContent-Length: %d\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nX-Folded: a\r\n b\r\nContent-Length: %d\r\n",
    ],
)
def test_what_is_not_plain_is_aiohttps_and_answered_as_before(
    pair: tuple[ServerProcess, ServerProcess], head: bytes
) -> None:
    payload = json.dumps(chat("hello")).encode()
    data = head % len(payload) + b"Host: x\r\nContent-Type: application/json\r\n\r\n" + payload
    lane, full = pair
    on_lane, on_full = comparable(ask(lane, data)), comparable(ask(full, data))
    assert on_lane == on_full
    assert on_lane[0] < 500


@pytest.mark.parametrize("case", [name for name in SAME_ANSWERS if name.endswith("-close")])
def test_a_request_that_asks_to_close_is_answered_then_closed(
    pair: tuple[ServerProcess, ServerProcess], case: str
) -> None:
    lane, _ = pair
    health = request("GET", "/health")
    with Connection(lane.url) as conn:
        conn.send(SAME_ANSWERS[case] + health)  # the second request is never read
        reply = conn.read()
        assert reply.header("Connection") == "close"
        assert conn.closed()
        assert conn.pending == b""


def test_a_request_sent_in_pieces_is_answered(pair: tuple[ServerProcess, ServerProcess]) -> None:
    lane, _ = pair
    data = request("POST", "/v1/chat/completions", chat("hello"))
    with Connection(lane.url) as conn:
        for i in range(0, len(data), 7):  # the head and body trickle in, 7 bytes a write
            conn.send(data[i : i + 7])
        reply = conn.read()
    assert reply.status == 200
    assert json.loads(reply.body)["choices"][0]["message"]["content"] == "Hi there, from the lane."


def test_a_client_that_sends_before_reading_gets_every_answer_in_order(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    lane, _ = pair
    texts = ["hello", "weather", "nothing here"] * 300
    data = b"".join(request("POST", "/v1/chat/completions", chat(t)) for t in texts)
    with Connection(lane.url) as conn:
        conn.send(data)  # ~150 KiB of requests before reading any answer
        statuses = [conn.read().status for _ in texts]
    assert statuses == [200, 200, 404] * 300


def test_an_idle_connection_is_closed_and_a_stalled_body_gets_408(tmp_path: Path) -> None:
    (tmp_path / "fixtures.json").write_text(json.dumps({"fixtures": FIXTURES}))
    with serving("-f", str(tmp_path), "--idle-timeout", "1") as server:
        with Connection(server.url) as idle:
            idle.send(request("POST", "/v1/chat/completions", chat("hello")))
            assert idle.read().status == 200
            assert idle.closed()  # nothing more was sent: closed after the idle timeout
        data = request("POST", "/v1/chat/completions", chat("hello"))
        with Connection(server.url) as stalled:
            stalled.send(data[:-5])  # the body never completes
            reply = stalled.read()
        assert reply.status == 408
        assert json.loads(reply.body)["error"]["code"] == "request_timeout"


def test_latency_on_the_lane_still_waits_and_chaos_still_applies(tmp_path: Path) -> None:
    paced = [{**FIXTURES[0], "latency": 300}]
    (tmp_path / "fixtures.json").write_text(json.dumps({"fixtures": paced}))
    data = request("POST", "/v1/chat/completions", chat("hello"))
    with serving("-f", str(tmp_path)) as server:
        with Connection(server.url) as conn:
            started = time.monotonic()
            conn.send(data)
            assert conn.read().status == 200
            assert time.monotonic() - started >= 0.3
            dropped = request(
                "POST", "/v1/chat/completions", chat("hello"), X_AIMock_Chaos_Drop="1"
            )
            conn.send(dropped)
            reply = conn.read()
        assert reply.status == 500
        assert json.loads(reply.body)["error"]["code"] == "chaos_drop"


# --- properties --------------------------------------------------------------------------------

LANE_PATHS = (
    "/v1/chat/completions",
    "/v1/messages",
    "/v1/responses",
    "/v1/embeddings",
    "/api/chat",
    "/v2/chat",
    "/v1beta/models/gemini-2.5-flash:generateContent",
    "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    "/model/anthropic.claude-3/converse",
    "/no/such/route",
)
header_value = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20
).map(str.strip)
extra_headers = st.dictionaries(
    st.sampled_from(("X-Test-Id", "X-AIMock-Strict", "Accept", "Anthropic-Version", "X-Odd")),
    header_value,
    max_size=3,
)
json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
).map(lambda value: json.dumps(value).encode())
messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(("user", "system", "assistant", "tool", "x")),
            "content": st.text(max_size=12) | st.sampled_from(("hello", "weather", "boom")),
        }
    ),
    max_size=3,
)
chat_bodies = st.builds(
    lambda model, msgs, stream: json.dumps(
        {"model": model, "messages": msgs, "stream": stream, "max_tokens": 5}
    ).encode(),
    st.sampled_from(("gpt-4o", "claude-sonnet-4-5", "")),
    messages,
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_head_parses_or_is_left_to_aiohttp(raw: bytes) -> None:
    head = parse_head(b"POST /v1/chat/completions HTTP/1.1\r\n" + raw)
    if head is not None:
        assert all(name == name.lower() for name in head.headers)
        assert head.length >= 0
    parse_head(raw)  # never raises, whatever it is given


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(LANE_PATHS),
    headers=extra_headers,
    body=st.one_of(chat_bodies, json_bodies, st.binary(max_size=200)),
)
def test_any_request_gets_the_full_paths_answer(
    pair: tuple[ServerProcess, ServerProcess], path: str, headers: dict[str, str], body: bytes
) -> None:
    lane, full = pair
    data = request("POST", path, body, **headers)
    on_lane, on_full = comparable(ask(lane, data)), comparable(ask(full, data))
    assert on_lane == on_full
    # The only 5xx are the fixture's own error and strict mode's miss (503, on request).
    expected_5xx = (b"upstream fell over", b"Strict mode: no fixture matched")
    assert on_lane[0] < 500 or any(on_lane[2].find(why) >= 0 for why in expected_5xx)


class _BrokenLane:
    max_body = 1024

    def route(self, head: Head) -> object:
        return "any"

    def answer(self, route: object, head: Head, body: bytes) -> Answer | None:
        raise RuntimeError("a defect in the lane")


async def test_a_defect_in_the_lane_is_logged_and_the_connection_let_go(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    doors = Doors(5)
    server = await loop.create_server(
        lambda: Front(_BrokenLane(), asyncio.Protocol, doors), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request("POST", "/v1/chat/completions", chat("hello")))
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, nothing sent
        writer.close()
    finally:
        doors.close_all()
        server.close()
        await server.wait_closed()
    assert "internal error answering POST /v1/chat/completions" in caplog.text
