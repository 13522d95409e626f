"""GPT-Live (`GET /v1/live/sessions`): the transcript a fixture holds and the checks it must
pass, the index that files it, the pure replay engine (with property-based fuzz: whatever a
client sends, the engine answers with its own failure and nothing else), and the socket in
process. The official SDK drives it in tests/sdk/test_openai_live.py.

The transcript here is our own: a client-mode session that starts, streams 12 bytes of PCM in
two appends, gets a delegation, comments on it and closes.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import ServerDefaults
from aimock.fixtures.loading import LoadError, load_text
from aimock.fixtures.matching import FixtureIndex, MatchState
from aimock.models.live import LiveLimits, LiveTranscript
from aimock.providers import openai_live
from aimock.providers.openai_live import (
    LiveFailure,
    LiveReplay,
    LiveTape,
    category_of,
    compile_tape,
    opening,
)
from aimock.providers.registry import REPLY_EXTENSIONS
from aimock.surface import ErrorInfo
from tests.server.conftest import ClientFactory, state_of

PCM_A = bytes([0, 0, 1, 0, 255, 255, 2, 0])  # four 16-bit samples
PCM_B = bytes([254, 255, 0, 0])  # two more
CONFIG: dict[str, Any] = {
    "model": "gpt-live-1",
    "instructions": "Read out the made-up weather of Ventimiglia-on-Sea.",
    "audio": {"format": {"type": "audio/pcm", "rate": 24000}, "output": {"voice": "cedar"}},
    "delegation": {"type": "client"},
}


def b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode()


def conversation() -> dict[str, Any]:
    """A complete client-mode transcript (ids are the capture's; the replay swaps them)."""
    resource = {**copy.deepcopy(CONFIG), "id": "sess-1", "expires_at": 1900000000}
    resource["status"] = "active"

    def client(at: int, event: dict[str, Any]) -> dict[str, Any]:
        return {"direction": "client", "atMs": at, "event": event}

    def server(at: int, event: dict[str, Any], command: int, audio: int = 0) -> dict[str, Any]:
        barrier = {"command": command, "audioBytes": audio}
        return {"direction": "server", "atMs": at, "event": event, "barrier": barrier}

    entries = [
        client(0, {"type": "session.start", "event_id": "c-1", "session": copy.deepcopy(CONFIG)}),
        server(
            5,
            {
                "type": "session.started",
                "event_id": "s-1",
                "client_event_id": "c-1",
                "session": copy.deepcopy(resource),
            },
            1,
        ),
        client(10, {"type": "session.input_audio.append", "audio": b64(PCM_A)}),
        client(12, {"type": "session.input_audio.append", "audio": b64(PCM_B)}),
        server(
            20,
            {
                "type": "session.delegation.created",
                "event_id": "s-2",
                "offset_ms": 0,
                "delegation": {"id": "d-1", "type": "delegation", "target": "client"},
            },
            1,
            12,
        ),
        client(
            30,
            {
                "type": "session.commentary.append",
                "event_id": "c-2",
                "delegation_id": "d-1",
                "content": "Drizzle, then a rainbow over the pier.",
            },
        ),
        server(
            40,
            {
                "type": "session.commentary.appended",
                "event_id": "s-3",
                "client_event_id": "c-2",
                "start_ms": 0,
                "end_ms": 3,
            },
            2,
        ),
        client(50, {"type": "session.close", "event_id": "c-3"}),
        server(
            60,
            {
                "type": "session.closed",
                "event_id": "s-4",
                "client_event_id": "c-3",
                "reason": "close_requested",
                "session": copy.deepcopy(resource),
                "usage": {"seconds": 2},
            },
            3,
        ),
    ]

    def bind(entry: int, pointer: str, name: str, action: str, owner: str) -> dict[str, Any]:
        return {"entry": entry, "pointer": pointer, "name": name, "action": action, "owner": owner}

    bindings = [
        bind(0, "/event_id", "c1", "define", "client"),
        bind(1, "/event_id", "s1", "define", "server"),
        bind(1, "/client_event_id", "c1", "reference", "client"),
        bind(1, "/session/id", "session", "define", "server"),
        bind(4, "/event_id", "s2", "define", "server"),
        bind(4, "/delegation/id", "delegation", "define", "server"),
        bind(5, "/event_id", "c2", "define", "client"),
        bind(5, "/delegation_id", "delegation", "reference", "server"),
        bind(6, "/event_id", "s3", "define", "server"),
        bind(6, "/client_event_id", "c2", "reference", "client"),
        bind(7, "/event_id", "c3", "define", "client"),
        bind(8, "/event_id", "s4", "define", "server"),
        bind(8, "/client_event_id", "c3", "reference", "client"),
        bind(8, "/session/id", "session", "reference", "server"),
    ]
    return {
        "version": 1,
        "model": "gpt-live-1",
        "mode": "client",
        "audio": {"encoding": "pcm16le", "sampleRateHz": 24000, "channels": 1},
        "configuration": copy.deepcopy(CONFIG),
        "entries": entries,
        "bindings": bindings,
        "capture": {"source": "authored", "complete": True, "terminalEntry": len(entries) - 1},
    }


def live_fixture(
    transcript: dict[str, Any] | None = None, timing: str | None = "immediate", **extra: Any
) -> dict[str, Any]:
    response: dict[str, Any] = {"live": transcript or conversation()}
    if timing is not None:
        response["liveTiming"] = timing
    return {
        "match": {"endpoint": "openai-live", "model": "gpt-live-1"},
        "response": response,
        **extra,
    }


def fixtures_text(*fixtures: dict[str, Any]) -> str:
    return json.dumps({"fixtures": list(fixtures)})


def tape(transcript: dict[str, Any] | None = None, immediate: bool = True) -> LiveTape:
    return compile_tape(LiveTranscript.model_validate(transcript or conversation()), immediate)


def counter() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"minted-{next(numbers)}"


# The client's side of `conversation()`, with ids of its own choosing.
START = {"type": "session.start", "event_id": "mine-1", "session": copy.deepcopy(CONFIG)}


def append(pcm: bytes) -> dict[str, Any]:
    return {"type": "session.input_audio.append", "audio": b64(pcm)}


def commentary(delegation: str, event_id: str = "mine-2") -> dict[str, Any]:
    return {
        "type": "session.commentary.append",
        "event_id": event_id,
        "delegation_id": delegation,
        "content": "Drizzle, then a rainbow over the pier.",
    }


CLOSE = {"type": "session.close", "event_id": "mine-3"}


def drain(replay: LiveReplay, now: float) -> list[dict[str, Any]]:
    """Every server event due at `now`."""
    sent = []
    while (due := replay.due_at()) is not None and due <= now:
        sent.append(replay.take(now))
    return sent


def failure_of(replay: LiveReplay, *messages: Any) -> LiveFailure:
    with pytest.raises(LiveFailure) as caught:
        for message in messages:
            replay.accept(message, 0.0)
            drain(replay, 0.0)
    return caught.value


# --------------------------------------------------------------------------- the model


def test_our_transcript_and_its_managed_twin_load() -> None:
    assert LiveTranscript.model_validate(conversation()).mode == "client"
    assert LiveTranscript.model_validate(managed()).mode == "managed"


def problems_of(fixture: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(LoadError) as caught:
        load_text(fixtures_text(fixture), "live.json")
    return [(p.field, p.reason) for p in caught.value.problems]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation of the transcript: the value at a dotted path (`entries.3.atMs`)."""

    def mutate(live: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = live
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[int(last) if isinstance(node, list) else last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


_DELETE = object()
LIVE = "fixtures[0].response.live"
ERROR_EVENT = {
    "type": "error",
    "event_id": "s-3",
    "error": {"type": "t", "code": "c", "message": "m"},
}


@pytest.mark.parametrize(
    ("mutate", "field", "reason"),
    [
        (_set("version", 2), f"{LIVE}.version", "1"),
        (_set("model", "gpt-live-2"), f"{LIVE}.model", "gpt-live-1"),
        (_set("audio.sampleRateHz", 16000), f"{LIVE}.audio.sampleRateHz", "24000"),
        (_set("surprise", 1), f"{LIVE}.surprise", "unknown field"),
        (_set("mode", "managed"), f"{LIVE}.configuration.delegation.type", "managed mode"),
        (
            _set("configuration.audio.format.rate", 16000),
            f"{LIVE}.configuration.audio.format.rate",
            "24000",
        ),
        (_set("capture.complete", False), f"{LIVE}.capture.complete", "must be true"),
        (_set("capture.terminalEntry", 7), f"{LIVE}.capture.terminalEntry", "last entry"),
        (
            _set("entries.0.event.session.instructions", "x"),
            f"{LIVE}.entries[0].event.session",
            "must equal the configuration",
        ),
        (
            _set("entries.1.event.session.instructions", "x"),
            f"{LIVE}.entries[1].event.session.instructions",
            "differs from the session configuration",
        ),
        (
            _set("entries.1.event.session.status", "idle"),
            f"{LIVE}.entries[1].event.session.status",
            "'active'",
        ),
        (_set("entries.4.barrier.audioBytes", 14), f"{LIVE}.entries[4].barrier", "client input"),
        (_set("entries.4.barrier.audioBytes", 3), f"{LIVE}.entries[4].barrier", "whole samples"),
        (_set("entries.4.barrier", _DELETE), f"{LIVE}.entries[4].barrier", "needs a barrier"),
        (
            _set("entries.2.barrier", {"command": 1, "audioBytes": 0}),
            f"{LIVE}.entries[2].barrier",
            "no barrier",
        ),
        (_set("entries.3.atMs", 1), f"{LIVE}.entries[3].atMs", "back in time"),
        (_set("entries.8.atMs", 120001), f"{LIVE}.entries[8].atMs", "120000"),
        (
            _set("entries.2.event.audio", "AA=="),
            f"{LIVE}.entries[2].event.audio",
            "whole 16-bit samples",
        ),
        (
            _set("entries.2.event.audio", "AAB="),
            f"{LIVE}.entries[2].event.audio",
            "canonical base64",
        ),
        (
            _set("entries.5.event.type", "session.chat"),
            f"{LIVE}.entries[5].event.type",
            "not a Live client command",
        ),
        (_set("entries.5.event.content", 7), f"{LIVE}.entries[5].event.content", "must be string"),
        (_set("entries.6.event", ERROR_EVENT), f"{LIVE}.entries[6].event", "error event"),
        (_set("entries.0.direction", "server"), f"{LIVE}.entries[0]", "session.start"),
        (
            _set("entries.8.event.reason", "expired"),
            f"{LIVE}.capture.terminalEntry",
            "close_requested",
        ),
        (_set("bindings.13", _DELETE), f"{LIVE}.entries[8].event.session.id", "has no binding"),
        (_set("bindings.2.owner", "server"), f"{LIVE}.bindings[2].owner", "client"),
        (_set("bindings.7.name", "nobody"), f"{LIVE}.bindings[7]", "not defined before"),
        (
            _set("bindings.5.pointer", "/delegation/target"),
            f"{LIVE}.bindings[5].pointer",
            "identifier field",
        ),
        (_set("bindings.5.pointer", "delegation"), f"{LIVE}.bindings[5].pointer", "JSON Pointer"),
        (_set("bindings.0.entry", 99), f"{LIVE}.bindings[0].entry", "past the last entry"),
        (_set("bindings.3.action", "reference"), f"{LIVE}.bindings[3]", "not defined before"),
        (_set("entries", []), f"{LIVE}.entries", "at least one"),
    ],
)
def test_each_problem_of_a_transcript_names_its_field(
    mutate: Callable[[dict[str, Any]], None], field: str, reason: str
) -> None:
    live = conversation()
    mutate(live)
    problems = problems_of(live_fixture(live))
    assert any(found == field and reason in why for found, why in problems), problems


def test_a_server_event_before_the_client_input_it_answers_is_refused() -> None:
    live = conversation()
    live["entries"][6]["barrier"] = {"command": 1, "audioBytes": 12}  # before c-2 arrived
    assert problems_of(live_fixture(live)) == [
        (
            f"{LIVE}.entries[6].barrier",
            "comes before the client input that defines /client_event_id",
        )
    ]


def test_documented_only_commands_are_refused_in_a_provider_capture() -> None:
    live = conversation()
    live["capture"]["source"] = "provider"
    live["entries"][7]["event"] = {"type": "session.input_audio.mute", "event_id": "c-3"}
    [(field, reason)] = problems_of(live_fixture(live))
    assert field == f"{LIVE}.entries[7].event.type" and "provider capture" in reason


def test_the_openai_live_endpoint_answers_with_a_transcript_only() -> None:
    fixture = {"match": {"endpoint": "openai-live"}, "response": {"content": "hi"}}
    assert problems_of(fixture) == [
        ("fixtures[0]", "match.endpoint openai-live answers with response.live only")
    ]


def test_live_timing_goes_with_a_transcript() -> None:
    problems = problems_of({"match": {}, "response": {"content": "hi", "liveTiming": "recorded"}})
    assert problems == [
        ("fixtures[0].response", "liveTiming goes beside live, and there is no live")
    ]
    problems = problems_of(live_fixture(timing="slow"))
    assert [field for field, _ in problems] == ["fixtures[0].response.liveTiming"]


def test_a_transcript_nested_past_aimocks_depth_is_refused() -> None:
    live = conversation()
    deep: Any = "x"
    for _ in range(30):
        deep = {"d": deep}
    live["entries"][1]["event"]["extra"] = deep
    [(field, reason)] = problems_of(live_fixture(live))
    assert field == f"{LIVE}.entries[1].event" and "deeper than 32" in reason


def test_a_session_update_changes_the_configuration_later_events_must_agree_with() -> None:
    live = managed()
    live["entries"][3]["event"]["session"]["delegation"]["responses"]["instructions"] = "Be brief."
    [(field, reason)] = problems_of(live_fixture(live))
    assert field == f"{LIVE}.entries[3].event.session.delegation.responses.instructions"
    assert "differs from the session configuration" in reason


def managed() -> dict[str, Any]:
    """A managed-mode transcript: start, then one instructions update, then close."""
    config: dict[str, Any] = {
        "model": "gpt-live-1",
        "audio": {"format": {"type": "audio/pcm", "rate": 24000}},
        "delegation": {
            "type": "responses",
            "responses": {"model": "gpt-5.5", "instructions": "Be brief."},
        },
    }
    updated = copy.deepcopy(config)
    updated["delegation"]["responses"]["instructions"] = "Be thorough."
    resource = {"id": "sess-9", "expires_at": 1900000000, "status": "active"}
    patch = {"delegation": {"type": "responses", "responses": {"instructions": "Be thorough."}}}
    entries = [
        {"direction": "client", "atMs": 0, "event": {"type": "session.start", "session": config}},
        {
            "direction": "server",
            "atMs": 1,
            "event": {
                "type": "session.started",
                "event_id": "s-1",
                "session": {**config, **resource},
            },
            "barrier": {"command": 1, "audioBytes": 0},
        },
        {"direction": "client", "atMs": 2, "event": {"type": "session.update", "session": patch}},
        {
            "direction": "server",
            "atMs": 3,
            "event": {
                "type": "session.updated",
                "event_id": "s-2",
                "session": {**updated, **resource},
            },
            "barrier": {"command": 2, "audioBytes": 0},
        },
        {"direction": "client", "atMs": 4, "event": {"type": "session.close"}},
        {
            "direction": "server",
            "atMs": 5,
            "event": {
                "type": "session.closed",
                "event_id": "s-3",
                "reason": "close_requested",
                "session": {**updated, **resource},
                "usage": {"seconds": 1},
            },
            "barrier": {"command": 3, "audioBytes": 0},
        },
    ]
    bindings = [
        {"entry": 1, "pointer": "/event_id", "name": "e1", "action": "define", "owner": "server"},
        {"entry": 1, "pointer": "/session/id", "name": "s", "action": "define", "owner": "server"},
        {"entry": 3, "pointer": "/event_id", "name": "e2", "action": "define", "owner": "server"},
        {
            "entry": 3,
            "pointer": "/session/id",
            "name": "s",
            "action": "reference",
            "owner": "server",
        },
        {"entry": 5, "pointer": "/event_id", "name": "e3", "action": "define", "owner": "server"},
        {
            "entry": 5,
            "pointer": "/session/id",
            "name": "s",
            "action": "reference",
            "owner": "server",
        },
    ]
    return {
        "version": 1,
        "model": "gpt-live-1",
        "mode": "managed",
        "audio": {"encoding": "pcm16le", "sampleRateHz": 24000, "channels": 1},
        "configuration": config,
        "entries": entries,
        "bindings": bindings,
        "capture": {"source": "authored", "complete": True, "terminalEntry": 5},
    }


# --------------------------------------------------------------------------- the index


def index_of(*fixtures: dict[str, Any]) -> FixtureIndex:
    loaded = load_text(fixtures_text(*fixtures), "live.json")
    return FixtureIndex(loaded.fixtures, ServerDefaults(), extend=REPLY_EXTENSIONS)


def live_request(model: str = "gpt-live-1") -> CanonicalRequest:
    return CanonicalRequest(
        surface="openai.live",
        provider="openai",
        endpoint="openai-live",
        model=model,
        context=RequestContext(headers={}),
    )


def test_a_live_fixture_answers_live_sessions_only_and_carries_its_tape() -> None:
    catch_all = {"match": {}, "response": {"content": "hello"}}
    index = index_of(catch_all, live_fixture())
    assert [e.order for e in index.entries_for("openai-live", 10)] == [1]
    assert [e.order for e in index.entries_for("chat", 10)] == [0]
    selection = index.select(live_request(), MatchState())
    assert selection.compiled is not None and selection.compiled.order == 1
    assert selection.reply is not None and selection.reply.kind == "live"
    found = selection.reply.extension(LiveTape)
    assert found is not None and found.immediate and len(found.servers) == 4


def test_a_transcript_without_the_live_endpoint_never_matches_as_in_aimock() -> None:
    unmarked = {"match": {}, "response": {"live": conversation()}}
    as_chat = {"match": {"endpoint": "chat"}, "response": {"live": conversation()}}
    index = index_of(unmarked, as_chat)
    assert index.select(live_request(), MatchState()).compiled is None
    assert index.entries_for("chat", 10) == [] and index.entries_for("openai-live", 10) == []


def test_the_model_criterion_applies_to_a_live_session() -> None:
    other = live_fixture()
    other["match"]["model"] = "gpt-live-2"
    assert index_of(other).select(live_request(), MatchState()).compiled is None


# --------------------------------------------------------------------------- the engine


def test_server_events_wait_for_their_barriers_and_get_fresh_ids() -> None:
    replay = LiveReplay(tape(), now=0.0, mint=counter())
    assert replay.due_at() is None  # nothing before session.start
    replay.accept(START, 0.0)
    [started] = drain(replay, 0.0)
    assert started["type"] == "session.started"
    assert started["event_id"] == "minted-1" and started["session"]["id"] == "minted-2"
    assert started["client_event_id"] == "mine-1"  # the client's own id, echoed
    # The 12 bytes of PCM may come in any cut: the delegation waits for all of them.
    pcm = PCM_A + PCM_B
    for cut in (pcm[:2], pcm[2:10]):
        replay.accept(append(cut), 0.0)
        assert drain(replay, 0.0) == []
    replay.accept(append(pcm[10:]), 0.0)
    [delegation] = drain(replay, 0.0)
    assert delegation["delegation"]["id"] == "minted-4"
    replay.accept(commentary("minted-4"), 0.0)
    [appended] = drain(replay, 0.0)
    assert appended["client_event_id"] == "mine-2"
    replay.accept(CLOSE, 0.0)
    [closed] = drain(replay, 0.0)
    assert closed["type"] == "session.closed" and closed["session"]["id"] == "minted-2"
    assert closed["client_event_id"] == "mine-3"
    assert replay.finished


def test_an_empty_append_is_part_of_the_run_it_continues() -> None:
    replay = started_replay()
    for message in (append(PCM_A + PCM_B), append(b""), append(b"")):
        replay.accept(message, 0.0)
    assert [e["type"] for e in drain(replay, 0.0)] == ["session.delegation.created"]
    replay.accept(commentary("minted-4"), 0.0)
    assert [e["type"] for e in drain(replay, 0.0)] == ["session.commentary.appended"]


def test_recorded_timing_sends_each_event_at_its_time_over_the_replay_speed() -> None:
    replay = LiveReplay(tape(immediate=False), now=100.0, speed=2.0)
    replay.accept(START, 100.0)
    assert replay.due_at() == pytest.approx(100.0 + 0.005 / 2)
    assert drain(replay, 100.001) == []  # not yet
    assert [e["type"] for e in drain(replay, 100.003)] == ["session.started"]
    replay.accept(append(PCM_A + PCM_B), 101.0)
    assert replay.due_at() == pytest.approx(100.0 + 0.020 / 2)  # overdue: at once
    assert [e["type"] for e in drain(replay, 101.0)] == ["session.delegation.created"]


def test_each_session_mints_its_own_server_ids() -> None:
    ids = set()
    for _ in range(2):
        replay = LiveReplay(tape(), now=0.0)
        replay.accept(START, 0.0)
        [started] = drain(replay, 0.0)
        assert started["event_id"].startswith("aimock-") and len(started["event_id"]) == 43
        ids.add(started["event_id"])
    assert len(ids) == 2


def started_replay() -> LiveReplay:
    replay = LiveReplay(tape(), now=0.0, mint=counter())
    replay.accept(START, 0.0)
    drain(replay, 0.0)
    return replay


@pytest.mark.parametrize(
    ("messages", "category", "says"),
    [
        ([CLOSE], "fixture-mismatch", "expected session.input_audio.append"),
        ([append(PCM_B)], "fixture-mismatch", "differs from the recorded PCM at byte 0"),
        ([append(PCM_A + PCM_B + PCM_B)], "fixture-mismatch", "decodes to more audio"),
        ([append(PCM_A), CLOSE], "fixture-mismatch", "expected session.input_audio.append"),
        (
            [append(PCM_A + PCM_B), commentary("minted-9")],
            "fixture-mismatch",
            "the fixture's delegation is 'minted-4'",
        ),
        (
            [append(PCM_A + PCM_B), commentary("minted-4", event_id="mine-1")],
            "fixture-mismatch",
            "used already",
        ),
        (
            [append(PCM_A + PCM_B), {**commentary("minted-4"), "content": "Sunny."}],
            "fixture-mismatch",
            "differs at content",
        ),
        (
            [append(PCM_A + PCM_B), commentary("minted-4"), CLOSE, CLOSE],
            "fixture-mismatch",
            "no more messages",
        ),
        ([START], "invalid-client", "started already"),
        ([{"type": "session.chat"}], "invalid-client", "not a Live client command"),
        ([{"type": "session.close", "event_id": 3}], "invalid-client", "event_id"),
        ([append(b"\x00")], "invalid-client", "whole 16-bit samples"),
        ([[1, 2]], "invalid-client", "must be an object"),
        (
            [
                {
                    "type": "session.update",
                    "session": {
                        "delegation": {"type": "responses", "responses": {"instructions": "x"}}
                    },
                }
            ],
            "invalid-client",
            "managed mode",
        ),
        (
            [{**commentary("minted-4"), "content": "x" * (1024 * 1024)}],
            "resource-limit",
            "past the limit",
        ),
    ],
)
def test_a_client_that_strays_from_the_tape_fails_the_session(
    messages: list[Any], category: str, says: str
) -> None:
    failure = failure_of(started_replay(), *messages)
    assert failure.category == category
    assert says in failure.message, failure.message
    assert failure.close_code == (1009 if category == "resource-limit" else 1008)


@pytest.mark.parametrize(
    ("message", "says"),
    [
        (CLOSE, "the first message must be session.start"),
        (
            {**START, "session": {**CONFIG, "delegation": None}},
            "delegation.type client or responses",
        ),
        ({**START, "session": {**CONFIG, "model": "gpt-live-2"}}, "must be 'gpt-live-1'"),
        (
            {
                **START,
                "session": {**CONFIG, "audio": {"format": {"type": "audio/pcm", "rate": 16000}}},
            },
            "must be 24000",
        ),
        ("session.start", "must be an object"),
    ],
)
def test_the_first_message_must_start_a_session_live_can_serve(message: Any, says: str) -> None:
    with pytest.raises(LiveFailure) as caught:
        opening(message)
    assert caught.value.category == "invalid-client"
    assert says in caught.value.message


def test_a_different_configuration_does_not_follow_the_tape() -> None:
    replay = LiveReplay(tape(), now=0.0)
    other = {**START, "session": {**CONFIG, "instructions": "Something else."}}
    with pytest.raises(LiveFailure) as caught:
        replay.accept(other, 0.0)
    assert caught.value.category == "fixture-mismatch"
    assert "differs at session.instructions" in caught.value.message


def test_managed_mode_takes_an_instructions_update_and_nothing_else() -> None:
    managed_tape = tape(managed())
    start = {"type": "session.start", "session": managed()["configuration"]}
    patch = {"delegation": {"type": "responses", "responses": {"instructions": "Be thorough."}}}
    replay = LiveReplay(managed_tape, now=0.0)
    replay.accept(start, 0.0)
    drain(replay, 0.0)
    replay.accept({"type": "session.update", "session": patch}, 0.0)
    [updated] = drain(replay, 0.0)
    assert updated["session"]["delegation"]["responses"]["instructions"] == "Be thorough."
    for wrong in (
        {"instructions": "x"},
        {"delegation": {"type": "client", "responses": {"instructions": "x"}}},
        {"delegation": {"type": "responses", "responses": {"model": "gpt-5", "instructions": "x"}}},
    ):
        fresh = LiveReplay(managed_tape, now=0.0)
        fresh.accept(start, 0.0)
        with pytest.raises(LiveFailure) as caught:
            fresh.accept({"type": "session.update", "session": wrong}, 0.0)
        assert caught.value.category == "invalid-client"


def test_deadlines_idle_duration_and_awaited_client_input() -> None:
    limits = LiveLimits(max_duration_ms=10_000, idle_timeout_ms=5_000, mismatch_timeout_ms=2_000)
    replay = LiveReplay(tape(), now=0.0, limits=limits)
    at, failure = replay.deadline()
    assert (at, failure.category) == (2.0, "fixture-mismatch")  # session.start is awaited
    replay.accept(START, 1.0)
    at, failure = replay.deadline()
    assert (at, failure.category) == (6.0, "timeout")  # session.started is due: idle only
    drain(replay, 1.0)
    at, failure = replay.deadline()  # now the tape waits for audio
    assert (at, failure.category) == (3.0, "fixture-mismatch")
    assert "session.input_audio.append, entries[2]" in failure.message


# --------------------------------------------------------------------------- fuzz

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=16,
)
# Messages that look like Live commands: a known type with arbitrary fields, or one of the
# tape's own messages with a field changed or dropped.
client_types = st.sampled_from(
    [
        "session.start",
        "session.update",
        "session.input_audio.append",
        "response.item.create",
        "response.create",
        "session.close",
        "session.thinking.append",
        "session.commentary.append",
        "session.input_audio.mute",
        "x",
    ]
)
GOOD = [START, append(PCM_A), append(PCM_B), commentary("minted-4"), CLOSE]


def _mutated(data: st.DataObject) -> Any:
    message = copy.deepcopy(data.draw(st.sampled_from(GOOD)))
    key = data.draw(st.sampled_from(sorted(message)))
    if data.draw(st.booleans()):
        del message[key]
    else:
        message[key] = data.draw(json_values)
    return message


messages = st.one_of(
    json_values,
    st.builds(
        lambda kind, rest: {**rest, "type": kind},
        client_types,
        st.dictionaries(
            st.sampled_from(["event_id", "audio", "session", "item", "content", "delegation_id"]),
            json_values,
            max_size=4,
        ),
    ),
    st.sampled_from(GOOD),
    st.builds(append, st.binary(max_size=16)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(prefix=st.integers(0, len(GOOD)), tail=st.lists(messages, max_size=5), data=st.data())
def test_whatever_a_client_sends_the_engine_fails_only_its_own_way(
    prefix: int, tail: list[Any], data: st.DataObject
) -> None:
    replay = LiveReplay(tape(), now=0.0, mint=counter())
    sequence = [*GOOD[:prefix], *tail]
    if data.draw(st.booleans()):
        sequence.insert(data.draw(st.integers(0, len(sequence))), _mutated(data))
    try:
        for message in sequence:
            replay.accept(message, 0.0)
            drain(replay, 0.0)
            replay.deadline()
    except LiveFailure as failure:
        assert failure.category in openai_live.CATEGORIES
        assert failure.message


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(message=messages)
def test_any_first_message_is_started_or_refused_as_invalid(message: Any) -> None:
    try:
        opening(message)
    except LiveFailure as failure:
        assert failure.category == "invalid-client"


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*path, index))


ALL_PATHS = [path for path in _paths(conversation()) if path]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(ALL_PATHS), st.booleans(), json_values), min_size=1, max_size=3
    )
)
def test_a_mangled_transcript_is_refused_by_validation_only(
    changes: list[tuple[tuple[Any, ...], bool, Any]],
) -> None:
    live = conversation()
    for path, drop, value in changes:
        node: Any = live
        try:
            for part in path[:-1]:
                node = node[part]
            if drop:
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the place
    try:
        checked = LiveTranscript.model_validate(live)
    except ValidationError:
        return
    compile_tape(checked)  # whatever passed must compile


# --------------------------------------------------------------------------- the socket

Frames = list[dict[str, Any]]


async def converse(ws: aiohttp.ClientWebSocketResponse) -> tuple[Frames, int | None]:
    """Our conversation's client side, answering with the ids the server sent."""
    received: Frames = []

    async def take(count: int) -> None:
        for _ in range(count):
            message = await asyncio.wait_for(ws.receive(), timeout=10)
            assert message.type == WSMsgType.TEXT, message
            received.append(json.loads(message.data))

    await ws.send_json(START)
    await take(1)
    await ws.send_json(append(PCM_A[:4]))
    await ws.send_json(append(PCM_A[4:] + PCM_B))
    await take(1)
    await ws.send_json(commentary(received[-1]["delegation"]["id"]))
    await take(1)
    await ws.send_json(CLOSE)
    await take(1)
    closing = await asyncio.wait_for(ws.receive(), timeout=10)
    assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    return received, ws.close_code


async def failed(ws: aiohttp.ClientWebSocketResponse) -> tuple[dict[str, Any], int | None]:
    """The `aimock.error` the server sent last, and the close code."""
    error: dict[str, Any] = {}
    while True:
        message = await asyncio.wait_for(ws.receive(), timeout=10)
        if message.type != WSMsgType.TEXT:
            break
        event = json.loads(message.data)
        if event.get("type") == "aimock.error":
            error = event
    return error, ws.close_code


async def ws_statuses(client: Any, count: int) -> list[int]:
    """The statuses of the socket's turns, once `count` are journaled (a failed turn is
    journaled after the close it ends with)."""
    turns: list[int] = []
    for _ in range(200):
        turns = [e.status for e in state_of(client).journal if e.method == "WS"]
        if len(turns) >= count:
            return turns
        await asyncio.sleep(0.01)
    return turns


async def test_a_session_replays_over_the_socket_and_closes_1000(
    make_client: ClientFactory,
) -> None:
    client = await make_client(fixtures_text(live_fixture()))
    async with client.ws_connect("/v1/live/sessions") as ws:
        received, code = await converse(ws)
    assert [e["type"] for e in received] == [
        "session.started",
        "session.delegation.created",
        "session.commentary.appended",
        "session.closed",
    ]
    assert code == 1000
    assert received[0]["client_event_id"] == "mine-1" and received[3]["client_event_id"] == "mine-3"
    [turn] = [e for e in state_of(client).journal if e.method == "WS"]
    assert turn.status == 200 and turn.body["type"] == "session.start"
    assert turn.fixture is not None and turn.model == "gpt-live-1"
    await client.close()


async def test_recorded_timing_holds_each_event_until_its_time(make_client: ClientFactory) -> None:
    client = await make_client(fixtures_text(live_fixture(timing=None)))
    started = time.monotonic()
    async with client.ws_connect("/v1/live/sessions") as ws:
        received, _code = await converse(ws)
    assert time.monotonic() - started >= 0.060  # session.closed is recorded at 60 ms
    assert len(received) == 4
    await client.close()


async def test_a_stray_message_is_an_aimock_error_then_1008(make_client: ClientFactory) -> None:
    client = await make_client(fixtures_text(live_fixture()))
    async with client.ws_connect("/v1/live/sessions") as ws:
        await ws.send_json(START)
        assert (await ws.receive_json())["type"] == "session.started"
        await ws.send_json(CLOSE)
        error, code = await failed(ws)
    assert error["error"]["category"] == "fixture-mismatch"
    assert set(error) == {"type", "error"} and set(error["error"]) == {"category", "message"}
    assert code == 1008
    assert await ws_statuses(client, 2) == [200, 409]
    await client.close()


@pytest.mark.parametrize(
    ("send", "category", "code"),
    [
        (lambda ws: ws.send_json(CLOSE), "invalid-client", 1008),
        (lambda ws: ws.send_str("{not json"), "invalid-client", 1008),
        (lambda ws: ws.send_bytes(b"\x00\x01"), "invalid-client", 1008),
        (
            lambda ws: ws.send_json({**START, "padding": "x" * (1024 * 1024)}),
            "resource-limit",
            1009,
        ),
    ],
)
async def test_a_bad_frame_is_an_aimock_error(
    make_client: ClientFactory, send: Callable[[Any], Any], category: str, code: int
) -> None:
    client = await make_client(fixtures_text(live_fixture()))
    async with client.ws_connect("/v1/live/sessions") as ws:
        await send(ws)
        error, closed = await failed(ws)
    assert (error["error"]["category"], closed) == (category, code)
    await client.close()


@pytest.mark.parametrize("strict", [False, True])
async def test_no_live_fixture_is_a_fixture_mismatch(
    make_client: ClientFactory, strict: bool
) -> None:
    client = await make_client(
        fixtures_text({"match": {}, "response": {"content": "hi"}}), strict=strict
    )
    async with client.ws_connect("/v1/live/sessions") as ws:
        await ws.send_json(START)
        error, code = await failed(ws)
    assert (error["error"]["category"], code) == ("fixture-mismatch", 1008)
    assert await ws_statuses(client, 1) == [503 if strict else 404]
    await client.close()


async def test_a_model_in_the_url_is_refused_before_the_upgrade(make_client: ClientFactory) -> None:
    client = await make_client(fixtures_text(live_fixture()))
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/v1/live/sessions?model=gpt-live-1")
    assert refused.value.status == 400
    await client.close()


async def test_past_the_session_limit_an_upgrade_is_refused_with_429(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openai_live, "SESSION_LIMITS", LiveLimits(max_sessions=2))
    client = await make_client(fixtures_text(live_fixture()))
    first = await client.ws_connect("/v1/live/sessions")
    second = await client.ws_connect("/v1/live/sessions")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/v1/live/sessions")
    assert refused.value.status == 429
    await first.close()
    await asyncio.sleep(0.05)
    third = await client.ws_connect("/v1/live/sessions")  # a closed session frees its place
    for ws in (second, third):
        await ws.close()
    await client.close()


def test_the_default_session_limit_is_aimocks() -> None:
    assert openai_live.SESSION_LIMITS.max_sessions == 16


@pytest.mark.parametrize(
    ("limits", "messages", "category"),
    [
        (LiveLimits(idle_timeout_ms=150), [], "timeout"),
        (LiveLimits(mismatch_timeout_ms=150), [START], "fixture-mismatch"),
        (LiveLimits(max_duration_ms=150), [START], "timeout"),
    ],
)
async def test_a_session_that_stalls_times_out(
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    limits: LiveLimits,
    messages: list[Any],
    category: str,
) -> None:
    monkeypatch.setattr(openai_live, "SESSION_LIMITS", limits)
    client = await make_client(fixtures_text(live_fixture()))
    async with client.ws_connect("/v1/live/sessions") as ws:
        for message in messages:
            await ws.send_json(message)
        error, code = await failed(ws)
    assert (error["error"]["category"], code) == (category, 1008)
    await client.close()


@pytest.mark.parametrize(
    ("info", "category"),
    [
        (ErrorInfo(404, "m", code="no_fixture_match"), "fixture-mismatch"),
        (ErrorInfo(413, "m", code="frame_too_large"), "resource-limit"),
        (ErrorInfo(400, "m", code="invalid_json"), "invalid-client"),
        (ErrorInfo(500, "m", type="server_error"), "protocol-divergence"),
        (ErrorInfo(429, "m", type="rate_limit_error"), "protocol-divergence"),
        (LiveFailure("timeout", "m").info(), "timeout"),
    ],
)
def test_every_error_on_the_socket_has_a_live_category(info: ErrorInfo, category: str) -> None:
    assert category_of(info) == category
