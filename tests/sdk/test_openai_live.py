"""GPT-Live through the official `openai` client: `client.live.connect()` against a real server
process loaded with AIMock's own two Live fixture files, unchanged (`openai-live-client.json`
and `openai-live-managed.json`, from the AIMock package that tests/peers.py installs).

The client's side is played from the transcript itself: each client entry is sent with ids of
our own choosing where the transcript says the client defines one, and with the ids the server
just sent where it refers to one. Each server event must be the transcript's next one with
fresh `aimock-<uuid>` ids in the places the server defines, our ids echoed where it refers to
them, and must validate strictly against the SDK's Live event types. The same script against
AIMock itself gives the same events, in the same order, with the same ids in the same places.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from openai import AsyncOpenAI, OpenAI
from openai.types.live.server_event import ServerEvent
from pydantic import TypeAdapter

from aimock.models.live import at_pointer, pointer_parts, put_at_pointer
from tests.conftest import ServerProcess, serving
from tests.peers import CACHE, AimockPeer, aimock_bin

EVENTS: TypeAdapter[Any] = TypeAdapter(ServerEvent)
FRESH = re.compile(r"^aimock-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
NAMES = ("openai-live-client.json", "openai-live-managed.json")


def aimock_fixture(name: str) -> Path:
    aimock_bin()  # installs AIMock (and its fixture files) on first use
    return CACHE / "node_modules" / "@copilotkit" / "aimock" / "fixtures" / name


def transcript(name: str) -> dict[str, Any]:
    data: Any = json.loads(aimock_fixture(name).read_text())
    live: dict[str, Any] = data["fixtures"][0]["response"]["live"]
    return live


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ServerProcess]]:
    """A server per AIMock file: both files' fixtures match every Live session, so the first
    loaded would answer them all."""
    with (
        serving("-f", str(aimock_fixture(NAMES[0]))) as client_mode,
        serving("-f", str(aimock_fixture(NAMES[1]))) as managed_mode,
    ):
        yield {NAMES[0]: client_mode, NAMES[1]: managed_mode}


class Player:
    """The client's side of a transcript, and the check of the server's."""

    def __init__(self, live: dict[str, Any]) -> None:
        self.live = live
        self.values: dict[str, str] = {}  # binding name -> the id in force this session
        self.numbers = itertools.count(1)
        self.by_entry: dict[int, list[dict[str, Any]]] = {}
        for binding in live["bindings"]:
            self.by_entry.setdefault(binding["entry"], []).append(binding)

    def client_message(self, index: int) -> dict[str, Any]:
        event: dict[str, Any] = copy.deepcopy(self.live["entries"][index]["event"])
        for binding in self.by_entry.get(index, ()):
            parts = pointer_parts(binding["pointer"]) or []
            if binding["action"] == "define":
                self.values[binding["name"]] = f"sdk-{next(self.numbers)}"
            put_at_pointer(event, parts, self.values[binding["name"]])
        return event

    def check_server_event(self, index: int, event: dict[str, Any]) -> None:
        EVENTS.validate_python(event, strict=True)
        expected = copy.deepcopy(self.live["entries"][index]["event"])
        for binding in sorted(self.by_entry.get(index, ()), key=lambda b: b["action"] != "define"):
            parts = pointer_parts(binding["pointer"]) or []
            found, value = at_pointer(event, parts)
            assert found, (index, binding["pointer"])
            if binding["action"] == "define":
                assert FRESH.match(value), value
                assert value not in self.values.values()
                self.values[binding["name"]] = value
            put_at_pointer(expected, parts, self.values[binding["name"]])
        assert event == expected


async def replay(connection: Any, live: dict[str, Any]) -> list[dict[str, Any]]:
    """Play the transcript on an open SDK connection; the server's events as they came."""
    player = Player(live)
    received: list[dict[str, Any]] = []
    for index, entry in enumerate(live["entries"]):
        if entry["direction"] == "client":
            await connection.send(player.client_message(index))
            continue
        event = json.loads(await asyncio.wait_for(connection.recv_bytes(), timeout=10))
        player.check_server_event(index, event)
        received.append(event)
    return received


async def closed_code(connection: Any) -> int | None:
    """The close code, once the server has closed."""
    with pytest.raises(websockets.ConnectionClosed) as caught:
        await asyncio.wait_for(connection.recv_bytes(), timeout=10)
    return caught.value.rcvd.code if caught.value.rcvd else None


@pytest.mark.parametrize("name", NAMES)
async def test_aimocks_live_fixtures_replay_to_the_sdk(
    servers: dict[str, ServerProcess], name: str
) -> None:
    server = servers[name]
    live = transcript(name)
    async with (
        AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
        client.live.connect() as connection,
    ):
        received = await replay(connection, live)
        code = await closed_code(connection)
    recorded = [e["event"]["type"] for e in live["entries"] if e["direction"] == "server"]
    assert [event["type"] for event in received] == recorded
    assert received[-1]["type"] == "session.closed" and code == 1000
    turn: Any = server.journal(method="WS")[-1]
    assert turn["body"]["type"] == "session.start" and turn["matched"] is True
    assert turn["response"]["status"] == 200 and turn["response"]["fixture"] is not None


def test_the_sync_client_replays_the_client_mode_fixture(
    servers: dict[str, ServerProcess],
) -> None:
    server = servers[NAMES[0]]
    live = transcript(NAMES[0])
    player = Player(live)
    with (
        OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
        client.live.connect() as connection,
    ):
        for index, entry in enumerate(live["entries"]):
            if entry["direction"] == "client":
                connection.send(player.client_message(index))  # type: ignore[arg-type]
            else:
                player.check_server_event(index, json.loads(connection.recv_bytes()))
        with pytest.raises(websockets.ConnectionClosed) as caught:
            connection.recv_bytes()
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1000


async def stray(connection: Any, live: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """Start as the transcript does, then send session.close where audio is expected."""
    player = Player(live)
    await connection.send(player.client_message(0))
    started = json.loads(await connection.recv_bytes())
    assert started["type"] == "session.started"
    await connection.send({"type": "session.close", "event_id": "sdk-stray"})
    error = json.loads(await asyncio.wait_for(connection.recv_bytes(), timeout=10))
    return error, await closed_code(connection)


@pytest.mark.parametrize("name", NAMES)
async def test_a_client_that_strays_gets_an_aimock_error_and_1008(
    servers: dict[str, ServerProcess], name: str
) -> None:
    server = servers[name]
    async with (
        AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
        client.live.connect() as connection,
    ):
        error, code = await stray(connection, transcript(name))
    assert error["type"] == "aimock.error"
    assert error["error"]["category"] == "fixture-mismatch" and error["error"]["message"]
    assert code == 1008


async def test_a_model_in_the_url_is_refused_with_400(servers: dict[str, ServerProcess]) -> None:
    server = servers[NAMES[0]]
    async with AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with client.live.connect(extra_query={"model": "gpt-live-1"}):
                pass
    assert refused.value.response.status_code == 400


async def test_the_seventeenth_open_session_is_refused_with_429(
    servers: dict[str, ServerProcess],
) -> None:
    server = servers[NAMES[1]]
    async with AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
        held = [await client.live.connect().enter() for _ in range(16)]
        try:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await client.live.connect().enter()
            assert refused.value.response.status_code == 429
        finally:
            for connection in held:
                await connection.close()


# --------------------------------------------------------------------------- beside AIMock


def _normalised(events: list[dict[str, Any]]) -> str:
    """The events with each minted id named by its first appearance (`<id-1>`, ...)."""
    names: dict[str, str] = {}

    def name(found: re.Match[str]) -> str:
        return names.setdefault(found.group(0), f"<id-{len(names) + 1}>")

    return re.sub(r"aimock-[0-9a-f-]{36}", name, json.dumps(events, sort_keys=True))


async def _session(base_url: str, live: dict[str, Any]) -> tuple[str, int | None]:
    async with (
        AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0) as client,
        client.live.connect() as connection,
    ):
        received = await replay(connection, live)
        return _normalised(received), await closed_code(connection)


async def _strayed(base_url: str, live: dict[str, Any]) -> tuple[str, int | None]:
    async with (
        AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0) as client,
        client.live.connect() as connection,
    ):
        error, code = await stray(connection, live)
        return error["error"]["category"], code


@pytest.mark.parametrize("name", NAMES)
async def test_the_same_session_as_aimock_gives(name: str) -> None:
    live = transcript(name)
    peer = AimockPeer(["--fixtures", str(aimock_fixture(name))])
    try:
        with serving("-f", str(aimock_fixture(name))) as ours:
            assert await _session(ours.base_url, live) == await _session(peer.url + "/v1", live)
            assert await _strayed(ours.base_url, live) == await _strayed(peer.url + "/v1", live)
    finally:
        peer.stop()
