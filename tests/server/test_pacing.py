"""Pacing: the delay before each event (pure), and how a paced or cut stream looks on the wire."""

from __future__ import annotations

import json
import random
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from aimock.fixtures.compiled import Physics, ServerDefaults, compile_physics
from aimock.models.fixture import Fixture
from aimock.streaming import jsonarray, pacing
from aimock.streaming.pacing import delay_ms
from aimock.surface import Event
from tests.server.conftest import ClientFactory, state_of, user

RNG = random.Random(0)


# --- delay_ms ------------------------------------------------------------------------------


def test_instant_physics_has_no_delay() -> None:
    physics = Physics()
    assert physics.is_instant
    assert [delay_ms(physics, i, 3, RNG) for i in range(3)] == [0, 0, 0]


def test_ttft_before_the_first_event_only() -> None:
    physics = Physics(ttft=250)
    assert delay_ms(physics, 0, 1, RNG) == 250
    assert delay_ms(physics, 1, 1, RNG) == 0


def test_tps_weights_each_later_event_by_its_tokens() -> None:
    physics = Physics(ttft=100, tps=50)
    assert delay_ms(physics, 0, 10, RNG) == 100  # the first event waits ttft, not tokens
    assert delay_ms(physics, 1, 5, RNG) == pytest.approx(100)  # 5 tokens at 50/s
    assert delay_ms(physics, 2, 1, RNG) == pytest.approx(20)
    assert delay_ms(physics, 3, 0, RNG) == pytest.approx(20)  # structural events weigh 1


def test_latency_is_added_before_every_event() -> None:
    physics = Physics(ttft=100, tps=10, latency=7)
    assert delay_ms(physics, 0, 1, RNG) == 107
    assert delay_ms(physics, 1, 1, RNG) == pytest.approx(107)
    assert delay_ms(Physics(latency=7), 5, 1, RNG) == 7


def test_jitter_stays_within_its_bounds_and_replays_with_a_seed() -> None:
    physics = Physics(ttft=100, tps=10, jitter=0.2)
    first = [delay_ms(physics, i, 1, random.Random(42)) for i in range(50)]
    again = [delay_ms(physics, i, 1, random.Random(42)) for i in range(50)]
    assert first == again
    rng = random.Random(7)
    delays = [delay_ms(physics, 1, 1, rng) for _ in range(500)]
    assert all(80 <= d <= 120 for d in delays)
    assert len(set(delays)) > 100  # it does vary
    assert min(delays) < 90 and max(delays) > 110  # and spreads across the range


def test_recorded_timings_replay_in_order_then_their_mean() -> None:
    physics = Physics(recorded_ttft=300, recorded_gaps=(10, 20, 60))
    assert [delay_ms(physics, i, 99, RNG) for i in range(6)] == [300, 10, 20, 60, 30, 30]


def test_replay_speed_divides_every_delay() -> None:
    recorded = Physics(recorded_ttft=300, recorded_gaps=(10,), replay_speed=2, latency=4)
    assert delay_ms(recorded, 0, 1, RNG) == 152
    assert delay_ms(recorded, 1, 1, RNG) == 7
    profiled = Physics(ttft=100, tps=100, replay_speed=4)
    assert delay_ms(profiled, 0, 1, RNG) == 25
    assert delay_ms(profiled, 1, 2, RNG) == pytest.approx(5)


def test_fixture_physics_override_server_defaults() -> None:
    fixture = Fixture.model_validate(
        {
            "match": {},
            "response": {"content": "x"},
            "streamingProfile": "fast",
            "latency": 3,
            "chunkSize": 7,
            "replaySpeed": 2,
        }
    )
    defaults = ServerDefaults(latency=50, chunk_size=20)
    physics = compile_physics(fixture, defaults)
    assert (physics.ttft, physics.tps, physics.latency, physics.chunk_size) == (150, 150, 3, 7)
    assert physics.replay_speed == 2
    assert compile_physics(None, defaults).latency == 50


def test_recorded_timings_replace_the_server_profile() -> None:
    fixture = Fixture.model_validate(
        {
            "match": {},
            "response": {"content": "x"},
            "recordedTimings": {"ttftMs": 40, "interChunkDelaysMs": [1, 2]},
        }
    )
    physics = compile_physics(fixture, ServerDefaults(latency=0))
    assert (physics.ttft, physics.recorded_ttft, physics.recorded_gaps) == (None, 40, (1, 2))


# --- streams on the wire -------------------------------------------------------------------


STREAMS = """
fixtures:
  - match: {userMessage: cut}
    response: {content: "0123456789abcdefghij"}
    chunkSize: 2
    truncateAfterChunks: 3
  - match: {userMessage: late}
    response: {content: "0123456789abcdefghij"}
    chunkSize: 2
    latency: 20
    disconnectAfterMs: 50
  - match: {userMessage: paced}
    response:
      content: "The quick brown fox jumps over the lazy dog"
      toolCalls: [{name: f, arguments: '{"a": "bcdefghij"}'}]
    chunkSize: 3
    streamingProfile: {ttft: 1, tps: 5000, jitter: 0.5}
  - match: {userMessage: instant}
    response:
      content: "The quick brown fox jumps over the lazy dog"
      toolCalls: [{name: f, arguments: '{"a": "bcdefghij"}'}]
    chunkSize: 3
"""


async def read_stream(
    client: TestClient[Any, Any], text: str
) -> tuple[list[str], BaseException | None]:
    """The `data:` payloads received, and the error that ended the stream (None if clean)."""
    body = {"model": "gpt-4o", "messages": [user(text)], "stream": True}
    response = await client.post("/v1/chat/completions", json=body)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    payloads: list[str] = []
    try:
        async for line in response.content:
            if line.startswith(b"data: "):
                payloads.append(line[6:].decode().strip())
    except aiohttp.ClientPayloadError as exc:
        return payloads, exc
    return payloads, None


def deltas(payloads: list[str]) -> list[Any]:
    return [json.loads(p)["choices"][0]["delta"] for p in payloads if p != "[DONE]"]


async def test_truncate_after_chunks_cuts_the_stream_without_a_terminator(
    make_client: ClientFactory,
) -> None:
    client = await make_client(STREAMS)
    payloads, error = await read_stream(client, "cut")
    assert error is not None  # the connection closed mid-body
    assert len(payloads) == 3
    assert "[DONE]" not in payloads
    assert [d.get("content") for d in deltas(payloads)] == ["", "01", "23"]
    [entry] = state_of(client).journal
    assert entry.status == 200
    assert entry.interrupted == "truncated"
    assert entry.to_json()["response"]["interrupted"] is True
    assert entry.to_json()["response"]["interruptReason"] == "truncateAfterChunks"


async def test_disconnect_after_ms_cuts_the_stream(make_client: ClientFactory) -> None:
    client = await make_client(STREAMS)
    payloads, error = await read_stream(client, "late")
    assert error is not None
    assert "[DONE]" not in payloads
    assert len(payloads) < 12  # 10 content slices, role, finish and [DONE] were due
    [entry] = state_of(client).journal
    assert entry.interrupted == "disconnected"
    assert entry.to_json()["response"]["interruptReason"] == "disconnectAfterMs"


async def test_a_paced_stream_keeps_the_order_of_events(make_client: ClientFactory) -> None:
    client = await make_client(STREAMS)
    paced, paced_error = await read_stream(client, "paced")
    instant, instant_error = await read_stream(client, "instant")
    assert paced_error is None and instant_error is None
    assert paced[-1] == instant[-1] == "[DONE]"

    def shape(payloads: list[str]) -> list[Any]:
        out = []
        for delta in deltas(payloads):
            for call in delta.get("tool_calls") or ():
                call.pop("id", None)  # generated per response
            out.append(delta)
        return out

    assert shape(paced) == shape(instant)
    text = "".join(d.get("content") or "" for d in deltas(paced))
    assert text == "The quick brown fox jumps over the lazy dog"
    arguments = "".join(
        c["function"]["arguments"] for d in deltas(paced) for c in d.get("tool_calls") or ()
    )
    assert arguments == '{"a": "bcdefghij"}'


async def test_server_latency_applies_to_plain_answers(make_client: ClientFactory) -> None:
    client = await make_client(STREAMS, latency=1, profile="instant")
    physics = state_of(client).index.default_physics
    assert physics.latency == 1
    response = await client.post(
        "/v1/chat/completions", json={"model": "m", "messages": [user("instant")]}
    )
    assert response.status == 200


# --- framers with delimiters (a JSON array) -------------------------------------------------


class Written:
    """A stand-in response and request for `pacing.stream`: collects the writes in order."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.aborted = False
        self.transport = self  # the request's transport, aborted on a cut

    async def write(self, data: bytes) -> None:
        self.writes.append(data)

    def abort(self) -> None:
        self.aborted = True

    @property
    def body(self) -> bytes:
        return b"".join(self.writes)


def events(*payloads: Any) -> list[Event]:
    return [Event(payload, tokens=1) for payload in payloads]


async def write_stream(framing: str, physics: Physics, *payloads: Any) -> tuple[str, Written]:
    sink = Written()
    outcome = await pacing.stream(
        sink,  # type: ignore[arg-type]
        sink,  # type: ignore[arg-type]
        events(*payloads),
        physics,
        framing=framing,
        rng=random.Random(0),
    )
    return outcome, sink


def test_json_array_element_is_pretty_printed() -> None:
    assert jsonarray.frame({"a": [1]}) == b'{\n  "a": [\n    1\n  ]\n}'
    assert pacing.FRAMERS["json-array"][1] == "application/json; charset=UTF-8"


@pytest.mark.parametrize(
    "physics",
    [Physics(), Physics(ttft=1, tps=5000), Physics(latency=1)],
    ids=["instant", "tps", "latency"],
)
async def test_json_array_opens_separates_and_closes(physics: Physics) -> None:
    outcome, sink = await write_stream("json-array", physics, {"n": 1}, {"n": 2}, {"n": 3})
    assert outcome == "complete" and not sink.aborted
    assert sink.body == b'[{\n  "n": 1\n}\n,\r\n{\n  "n": 2\n}\n,\r\n{\n  "n": 3\n}\n]'
    assert json.loads(sink.body) == [{"n": 1}, {"n": 2}, {"n": 3}]
    if not physics.is_instant:  # paced: the opening rides the first element, the closing comes last
        assert sink.writes[0].startswith(b"[{") and sink.writes[-1] == b"\n]"


async def test_empty_json_array_is_still_an_array() -> None:
    outcome, sink = await write_stream("json-array", Physics())
    assert outcome == "complete" and json.loads(sink.body) == []


@pytest.mark.parametrize(
    "physics", [Physics(truncate_after_chunks=2), Physics(tps=5000, truncate_after_chunks=2)]
)
async def test_cut_json_array_has_no_closing(physics: Physics) -> None:
    outcome, sink = await write_stream("json-array", physics, {"n": 1}, {"n": 2}, {"n": 3})
    assert outcome == "truncated" and sink.aborted
    assert sink.body == b'[{\n  "n": 1\n}\n,\r\n{\n  "n": 2\n}'


async def test_framings_without_delimiters_are_unchanged() -> None:
    _, sink = await write_stream("ndjson", Physics(), {"n": 1}, {"n": 2})
    assert sink.body == b'{"n":1}\n{"n":2}\n'
    _, sink = await write_stream("sse", Physics(), {"n": 1}, "[DONE]")
    assert sink.body == b'data: {"n":1}\n\ndata: [DONE]\n\n'


GEMINI_STREAMS = """
fixtures:
  - match: {userMessage: arr}
    response: {content: "0123456789"}
    chunkSize: 4
"""


async def test_the_request_picks_the_framing(make_client: ClientFactory) -> None:
    """One Gemini route, two wire forms: `?alt=sse` streams SSE, anything else a JSON array."""
    client = await make_client(GEMINI_STREAMS)
    body = {"contents": [{"role": "user", "parts": [{"text": "arr"}]}]}
    path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    sse_response = await client.post(path + "?alt=sse", json=body)
    assert sse_response.headers["Content-Type"] == "text/event-stream"
    assert (await sse_response.text()).count("data: ") == 3
    array_response = await client.post(path, json=body)
    assert array_response.headers["Content-Type"] == "application/json; charset=UTF-8"
    chunks = json.loads(await array_response.read())
    texts = [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks]
    assert texts == ["0123", "4567", "89"]


def test_the_server_replay_speed_divides_delays_and_a_fixture_speed_wins() -> None:
    from aimock.fixtures.compiled import ServerDefaults, compile_physics
    from aimock.models.fixture import Fixture

    recorded = {"match": {}, "response": {"content": "x"}}
    timings = {"recordedTimings": {"ttftMs": 100, "interChunkDelaysMs": [40, 40]}}
    plain = Fixture.model_validate({**recorded, **timings})
    own = Fixture.model_validate({**recorded, **timings, "replaySpeed": 4})
    fast = ServerDefaults(replay_speed=2.0)
    assert compile_physics(plain, ServerDefaults()).replay_speed == 1.0
    assert compile_physics(plain, fast).replay_speed == 2.0
    assert compile_physics(own, fast).replay_speed == 4.0
    physics = compile_physics(plain, fast)
    assert delay_ms(physics, 0, 1, random.Random(0)) == 50.0
    assert delay_ms(physics, 1, 1, random.Random(0)) == 20.0
