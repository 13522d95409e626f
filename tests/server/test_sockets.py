"""The WebSocket core (`aimock.sockets`) on every socket surface: hostile frames, the server's
cap on open sockets, disabled surfaces, the journal of a socket's turns, and shutdown."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
from typing import Any

import aiohttp
import pytest
import websockets
from aiohttp import WSMsgType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock import sockets
from aimock.providers.registry import PROVIDERS
from tests.conftest import start_server
from tests.server.conftest import ClientFactory, state_of

FIXTURES = """
fixtures:
  - match: {userMessage: hello}
    response: {content: Hello from the socket}
"""
SOCKET_PATHS = sorted({path for p in PROVIDERS for s in p.sockets for path in s.paths})
# Socket paths whose protocol opens with a server event before any client frame.
GREETS = {"/v1/realtime"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
# Frames a client might send: JSON (objects shaped like events, or anything), text that is
# not JSON, and binary.
event_types = st.sampled_from(
    [
        "response.create",
        "session.update",
        "conversation.item.create",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "response.cancel",
        "setup",
        "x",
    ]
)
frames = st.one_of(
    st.builds(
        lambda kind, rest: json.dumps({"type": kind, **rest}),
        event_types,
        st.dictionaries(st.text(max_size=10), json_values, max_size=4),
    ),
    json_values.map(json.dumps),
    st.text(max_size=60),
    st.binary(max_size=60),
)


def test_every_socket_path_is_a_get_route() -> None:
    assert "/v1/realtime" in SOCKET_PATHS
    assert "/v1/responses" in SOCKET_PATHS


@pytest.mark.parametrize("path", SOCKET_PATHS)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(sent=st.lists(frames, min_size=1, max_size=6))
async def test_hostile_frames_get_answers_never_faults(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture, path: str, sent: list[Any]
) -> None:
    caplog.set_level(logging.WARNING)
    client = await make_client(FIXTURES)
    try:
        async with client.ws_connect(path) as ws:
            for frame in sent:
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:
                    await ws.send_str(frame)
            await ws.send_str(json.dumps({"type": "no.such.event"}))
            # Every frame the server sends is JSON; it answers the last frame with an error
            # (or, for a protocol that closes on errors, by closing).
            while True:
                message = await asyncio.wait_for(ws.receive(), timeout=30)
                if message.type != WSMsgType.TEXT:
                    assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
                    break
                event = json.loads(message.data)
                answered = isinstance(event, dict) and event.get("type") == "error"
                if answered and "no.such.event" in json.dumps(event):
                    break
    finally:
        await client.close()
    faults = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert faults == []


async def test_a_turn_is_journaled_with_the_frames_it_sent(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    async with client.ws_connect("/v1/responses") as ws:
        await ws.send_json({"type": "response.create", "model": "gpt-5", "input": "hello"})
        while (event := await ws.receive_json())["type"] != "response.completed":
            pass
    entries = list(state_of(client).journal)
    turn = next(e for e in entries if e.method == "WS")
    assert turn.status == 200
    assert turn.body["input"] == "hello"
    assert turn.fixture is not None
    sent = [json.loads(line) for line in (turn.response_body or b"").splitlines()]
    assert sent[-1] == event
    await client.close()


async def test_the_server_caps_its_open_sockets(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sockets, "MAX_OPEN_SOCKETS", 2)
    client = await make_client(FIXTURES)
    first = await client.ws_connect("/v1/responses")
    second = await client.ws_connect("/v1/responses")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/v1/responses")
    assert refused.value.status == 429
    await first.close()
    await asyncio.sleep(0.05)
    third = await client.ws_connect("/v1/responses")  # a closed socket frees its place
    for ws in (second, third):
        await ws.close()
    await client.close()


async def test_a_disabled_surface_refuses_the_upgrade(make_client: ClientFactory) -> None:
    client = await make_client(
        """
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {name: only-chat}
spec:
  surfaces: [openai.chat]
  fixtures:
    - match: {}
      response: {content: hi}
"""
    )
    response = await client.get(
        "/v1/realtime",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "surface_disabled"
    refused = [e for e in state_of(client).journal if e.path == "/v1/realtime"]
    assert [e.status for e in refused] == [404]  # a refused upgrade is journaled
    await client.close()


async def test_a_stack_may_serve_only_a_socket_surface(make_client: ClientFactory) -> None:
    client = await make_client(
        """
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {name: only-realtime}
spec:
  surfaces: [openai.realtime]
  fixtures:
    - match: {}
      response: {content: hi}
"""
    )
    async with client.ws_connect("/v1/realtime") as ws:
        assert (await ws.receive_json())["type"] == "session.created"
    chat = await client.post("/v1/chat/completions", json={"model": "m", "messages": []})
    assert chat.status == 404
    await client.close()


@pytest.mark.parametrize(
    "path", ["/realtime", "/v1/realtime", "/openai/v1/realtime", "/x/realtime"]
)
async def test_openai_sockets_are_served_where_its_http_routes_are(
    make_client: ClientFactory, path: str
) -> None:
    """The bare host, /v1, /openai/v1 (as every OpenAI HTTP route) and `--openai-prefix`."""
    client = await make_client(FIXTURES, openai_prefixes=("/x",))
    async with client.ws_connect(path + "?model=gpt-realtime") as ws:
        assert (await ws.receive_json())["type"] == "session.created"
    await client.close()


def test_a_stopping_server_closes_its_sockets_going_away() -> None:
    server = start_server([])
    url = server.url.replace("http://", "ws://") + "/v1/realtime?model=gpt-realtime"

    async def hold_then_stop() -> int | None:
        async with websockets.connect(url) as socket:
            await socket.recv()
            server.process.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), timeout=30)
            return closed.value.rcvd.code if closed.value.rcvd else None

    try:
        code = asyncio.run(hold_then_stop())
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()
    assert code == 1001
    assert "Traceback" not in "".join(server.output)


def _client_frame(text: str) -> bytes:
    """A masked text frame, as a client must send it (RFC 6455 section 5.3)."""
    body = text.encode()
    mask = os.urandom(4)
    size = len(body)
    head = (
        bytes((0x81, 0x80 | size)) if size < 126 else bytes((0x81, 0xFE)) + size.to_bytes(2, "big")
    )
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(body))


async def test_a_client_that_stops_reading_is_dropped_not_buffered(
    make_client: ClientFactory,
) -> None:
    """Answers the client does not read wait for it, up to the idle timeout; then it is
    dropped, and what the server held for it stays bounded."""
    big = "x" * 60_000
    client = await make_client(
        f"fixtures:\n  - match: {{userMessage: flood}}\n    response: {{content: {big}}}\n",
        idle_timeout=1.0,
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    writer.write(
        b"GET /v1/responses HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
    ask = json.dumps({"type": "response.create", "model": "m", "input": "flood"})
    started = asyncio.get_running_loop().time()
    for _ in range(60):  # far more answer than the server keeps waiting for a reader
        writer.write(_client_frame(ask))
        await writer.drain()
    links = state_of(client).sockets.get("openai.responses", set())
    while links and asyncio.get_running_loop().time() - started < 30:
        for link in links:
            transport = link.request.transport
            if transport is not None:
                assert transport.get_write_buffer_size() < sockets.MAX_UNSENT_BYTES + 2 * 1024**2
        await asyncio.sleep(0.05)
    assert not links  # dropped
    writer.close()
    await client.close()


async def test_a_socket_may_not_queue_responses_without_end(make_client: ClientFactory) -> None:
    client = await make_client(
        "fixtures:\n  - match: {userMessage: slow}\n    response: {content: slowly now}\n"
        "    streamingProfile: {ttft: 200}\n"
    )
    async with client.ws_connect("/v1/responses") as ws:
        ask = {"type": "response.create", "model": "m", "input": "slow"}
        for _ in range(70):
            await ws.send_json(ask)
        codes = set()
        while "too_many_queued_responses" not in codes:
            event = await ws.receive_json(timeout=30)
            if event["type"] == "error":
                codes.add(event["error"]["code"])
    await client.close()
