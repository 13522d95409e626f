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


def test_ttft_before_the_first_event_then_the_latency() -> None:
    physics = Physics(profiled=True, ttft=250, latency=4)
    assert delay_ms(physics, 0, 1, RNG) == 250
    assert delay_ms(physics, 1, 1, RNG) == 4  # no rate: AIMock falls back to the latency


def test_tps_counts_events_not_tokens() -> None:
    """AIMock's meaning: every event after the first waits 1000/tps, whatever it carries."""
    physics = Physics(profiled=True, ttft=100, tps=40, latency=7)
    assert delay_ms(physics, 0, 10, RNG) == 100  # the first event waits ttft; no latency on top
    assert [delay_ms(physics, i, t, RNG) for i, t in ((1, 5), (2, 1), (3, 0))] == [25, 25, 25]


def test_a_profile_without_ttft_paces_the_first_event_too() -> None:
    assert delay_ms(Physics(profiled=True, tps=50), 0, 9, RNG) == 20


def test_tokens_per_second_weighs_each_event_by_its_tokens() -> None:
    physics = Physics(profiled=True, ttft=100, tokens_per_second=50)
    assert delay_ms(physics, 0, 10, RNG) == 100
    assert delay_ms(physics, 1, 5, RNG) == pytest.approx(100)  # 5 tokens at 50/s
    assert delay_ms(physics, 2, 1, RNG) == pytest.approx(20)
    assert delay_ms(physics, 3, 0, RNG) == pytest.approx(20)  # structural events weigh 1


def test_latency_alone_goes_before_every_event() -> None:
    assert [delay_ms(Physics(latency=7), i, 1, RNG) for i in range(3)] == [7, 7, 7]


def test_jitter_stays_within_its_bounds_and_replays_with_a_seed() -> None:
    physics = Physics(profiled=True, ttft=100, tps=10, jitter=0.2)
    first = [delay_ms(physics, i, 1, random.Random(42)) for i in range(50)]
    again = [delay_ms(physics, i, 1, random.Random(42)) for i in range(50)]
    assert first == again
    rng = random.Random(7)
    delays = [delay_ms(physics, 1, 1, rng) for _ in range(500)]
    assert all(80 <= d <= 120 for d in delays)
    assert len(set(delays)) > 100  # it does vary
    assert min(delays) < 90 and max(delays) > 110  # and spreads across the range


def test_jitter_spares_the_latency_fallback() -> None:
    physics = Physics(profiled=True, ttft=100, jitter=0.5, latency=30)
    assert {delay_ms(physics, 1, 1, random.Random(seed)) for seed in range(20)} == {30}


def test_recorded_timings_replay_in_order_then_their_mean() -> None:
    physics = Physics(recorded_ttft=300, recorded_gaps=(10, 20, 60), latency=5)
    # The latency is not added: recorded gaps already hold the upstream's.
    assert [delay_ms(physics, i, 99, RNG) for i in range(6)] == [300, 10, 20, 60, 30, 30]


def test_replay_speed_divides_every_delay() -> None:
    recorded = Physics(recorded_ttft=300, recorded_gaps=(10,), replay_speed=2)
    assert delay_ms(recorded, 0, 1, RNG) == 150
    assert delay_ms(recorded, 1, 1, RNG) == 5
    profiled = Physics(profiled=True, ttft=100, tps=100, replay_speed=4)
    assert delay_ms(profiled, 0, 1, RNG) == 25
    assert delay_ms(profiled, 1, 2, RNG) == pytest.approx(2.5)
    assert delay_ms(Physics(latency=8, replay_speed=4), 3, 1, RNG) == 2


def test_a_whole_answer_waits_what_its_first_event_would() -> None:
    assert pacing.first_byte_ms(Physics(profiled=True, ttft=120, tps=5, latency=9)) == 120
    assert pacing.first_byte_ms(Physics(profiled=True, tps=5, latency=9)) == 9
    assert pacing.first_byte_ms(Physics(recorded_ttft=80, latency=9, replay_speed=2)) == 40
    assert pacing.first_byte_ms(Physics(latency=9)) == 9


@pytest.mark.parametrize(
    ("profile", "tps", "tokens_per_second"),
    [
        ("fast", None, 150),
        ("reasoning", None, 60),
        ("overloaded", None, 8),
        ("instant", None, None),
    ],
)
def test_named_profiles_pace_by_tokens(
    profile: str, tps: float | None, tokens_per_second: float | None
) -> None:
    fixture = Fixture.model_validate(
        {"match": {}, "response": {"content": "x"}, "streamingProfile": profile}
    )
    physics = compile_physics(fixture, ServerDefaults())
    assert (physics.profiled, physics.tps, physics.tokens_per_second) == (
        True,
        tps,
        tokens_per_second,
    )


def test_a_profile_sets_tps_or_tokens_per_second_not_both() -> None:
    with pytest.raises(ValueError, match=r"tps .* or tokensPerSecond .*not both"):
        Fixture.model_validate(
            {
                "match": {},
                "response": {"content": "x"},
                "streamingProfile": {"tps": 4, "tokensPerSecond": 9},
            }
        )


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
    assert (physics.ttft, physics.tokens_per_second, physics.latency, physics.chunk_size) == (
        150,
        150,
        3,
        7,
    )
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


# --- the timeline ----------------------------------------------------------------------------


class LateClock:
    """A clock whose every wait overruns by `late` seconds, as a busy event loop's does."""

    def __init__(self, late: float) -> None:
        self.time, self.late = 0.0, late
        self.waits: list[float] = []
        self.emitted: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds * 1000, 6))
        self.time += seconds + self.late


async def paced(physics: Physics, stream: list[Event], clock: LateClock) -> pacing.Outcome:
    async def emit(index: int, event: Event) -> None:
        clock.emitted.append(round(clock.time * 1000, 6))

    return await pacing.pace(
        stream,
        physics,
        emit,
        lambda: None,
        rng=random.Random(0),
        clock=pacing.Clock(clock.now, clock.sleep),
    )


async def test_a_late_wake_up_is_caught_up_on_the_next_event() -> None:
    """Events are due on one timeline from the start: a wait that overran shortens the next
    one, so the stream keeps its rate instead of drifting slower by every overrun."""
    clock = LateClock(late=0.005)
    physics = Physics(profiled=True, ttft=100, tps=40)
    assert await paced(physics, [Event(i, tokens=1) for i in range(4)], clock) == "complete"
    assert clock.waits == [100, 20, 20, 20]  # 25 ms a chunk, less the 5 ms the last wait overran
    assert clock.emitted == [105, 130, 155, 180]


async def test_trailers_go_out_with_the_last_chunk() -> None:
    clock = LateClock(late=0)
    physics = Physics(profiled=True, ttft=10, tps=100)
    stream = [Event("a"), Event("b"), Event("usage", trailer=True), Event("[DONE]", trailer=True)]
    assert await paced(physics, stream, clock) == "complete"
    assert clock.emitted == [10, 20, 20, 20]


def test_openai_chat_streams_its_usage_and_done_as_trailers() -> None:
    from aimock.canonical import CanonicalRequest, RequestContext
    from aimock.fixtures.compiled import Reply
    from aimock.providers import openai_chat
    from aimock.surface import RenderOptions

    request = CanonicalRequest(
        "openai.chat",
        "openai",
        "chat",
        "m",
        RequestContext({}),
        stream=True,
        extras={"include_usage": True},
    )
    reply = Reply(kind="message", content="0123456789")
    events = list(openai_chat.stream(request, reply, RenderOptions(chunk_size=5)))
    assert [e.trailer for e in events] == [False] * 4 + [True, True]  # role, 2 pieces, finish
    assert events[-1].data == "[DONE]" and events[-2].data["usage"]


async def test_a_disconnect_deadline_cuts_on_the_timeline() -> None:
    clock = LateClock(late=0.002)
    physics = Physics(profiled=True, ttft=10, tps=100, disconnect_after_ms=25)
    assert await paced(physics, [Event(i) for i in range(5)], clock) == "disconnected"
    assert clock.emitted == [12, 22]  # the third event was due at 30 ms, past the deadline
    assert clock.waits[-1] == 3  # from 22 ms to the 25 ms deadline


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
    [Physics(), Physics(profiled=True, ttft=1, tps=5000), Physics(latency=1)],
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
    "physics",
    [Physics(truncate_after_chunks=2), Physics(profiled=True, tps=5000, truncate_after_chunks=2)],
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
