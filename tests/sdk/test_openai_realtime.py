"""OpenAI Realtime (GA) through the official `openai` client: `client.realtime.connect()`
against a real server process. Every server event is checked against the SDK's own pydantic
event types, strictly (the SDK itself parses leniently, so a wrong field would pass unseen)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import websockets
from openai import AsyncOpenAI
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

from aimock.providers.audio import tone
from tests.conftest import ServerProcess, serving, serving_fixtures

EVENTS: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)
WEATHER = "What is the weather in Paris?"
FIXTURES: list[dict[str, Any]] = [
    {
        "match": {"userMessage": "weather", "hasToolResult": True},
        "response": {"content": "It is sunny in Paris."},
    },
    {
        "match": {"userMessage": "weather"},
        "response": {
            "toolCalls": [{"id": "call_w1", "name": "get_weather", "arguments": '{"city":"Paris"}'}]
        },
    },
    {
        "match": {"userMessage": "hello"},
        "response": {"content": "Hello there, how can I help you today?"},
    },
    {"match": {"context": "voice"}, "response": {"content": "I heard you."}},
    {
        "match": {"endpoint": "realtime-transcription"},
        "response": {"transcription": {"text": "What is the weather in Paris?"}},
    },
    {
        "match": {"userMessage": "recorded voice"},
        "response": {"content": "Played back.", "audio": base64.b64encode(b"PCM!" * 600).decode()},
    },
    {
        "match": {"userMessage": "slowly"},
        "response": {"content": "one two three four five six seven eight nine ten"},
        "chunkSize": 4,
        "streamingProfile": {"ttft": 5, "tps": 10},
    },
    {
        "match": {"userMessage": "cut short"},
        "response": {"content": "this answer never ends: " + "word " * 40},
        "chunkSize": 5,
        "truncateAfterChunks": 3,
    },
    {
        "match": {"userMessage": "refused"},
        "response": {
            "error": {"message": "Quota exceeded", "type": "insufficient_quota"},
            "status": 429,
        },
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("realtime"), FIXTURES) as running:
        yield running


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as sdk:
        yield sdk


def checked(raw: bytes | str) -> dict[str, Any]:
    """A server event, validated strictly against the SDK's types."""
    event: dict[str, Any] = json.loads(raw)
    EVENTS.validate_python(event, strict=False)
    return event


async def until_done(connection: Any) -> list[dict[str, Any]]:
    """Every event up to and including `response.done` (then the `rate_limits.updated`)."""
    events: list[dict[str, Any]] = []
    while True:
        event = checked(await connection.recv_bytes())
        events.append(event)
        if event["type"] == "rate_limits.updated":
            return events


async def say(connection: Any, text: str) -> None:
    await connection.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    )
    added = checked(await connection.recv_bytes())
    done = checked(await connection.recv_bytes())
    assert [added["type"], done["type"]] == ["conversation.item.added", "conversation.item.done"]
    assert added["item"]["content"][0]["text"] == text


async def text_session(client: AsyncOpenAI, **options: Any) -> Any:
    manager = client.realtime.connect(model="gpt-realtime", **options)
    connection = await manager.enter()
    created = checked(await connection.recv_bytes())
    assert created["type"] == "session.created"
    assert created["session"]["model"] == "gpt-realtime"
    await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
    updated = checked(await connection.recv_bytes())
    assert updated["type"] == "session.updated"
    assert updated["session"]["output_modalities"] == ["text"]
    return connection


async def test_a_text_turn_streams_its_events_in_order(
    client: AsyncOpenAI, server: ServerProcess
) -> None:
    connection = await text_session(client)
    await say(connection, "hello")
    await connection.response.create()
    events = await until_done(connection)
    await connection.close()

    kinds = [e["type"] for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert deltas == 2  # 38 characters in chunks of 20
    assert kinds == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
        "rate_limits.updated",
    ]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "Hello there, how can I help you today?"
    done = events[-2]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"] == [{"type": "output_text", "text": text}]
    assert done["usage"]["output_tokens"] > 0
    response_id = events[0]["response"]["id"]
    assert all(e.get("response_id", response_id) == response_id for e in events)

    turns = server.journal(surface="openai.realtime")
    assert turns[-1]["method"] == "WS"
    assert turns[-1]["path"] == "/v1/realtime?model=gpt-realtime"
    response = turns[-1]["response"]
    assert isinstance(response, dict)
    assert response["status"] == 200
    assert response["fixture"] is not None


async def test_a_tool_call_turn_then_the_tool_result_answers(client: AsyncOpenAI) -> None:
    connection = await text_session(client)
    await say(connection, WEATHER)
    await connection.response.create()
    events = await until_done(connection)
    kinds = [e["type"] for e in events]
    assert kinds[:3] == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
    ]
    assert "response.output_text.delta" not in kinds
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert done["name"] == "get_weather"
    assert done["call_id"] == "call_w1"
    assert json.loads(done["arguments"]) == {"city": "Paris"}
    pieces = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert "".join(pieces) == done["arguments"]
    assert kinds.index("response.function_call_arguments.done") < kinds.index(
        "response.output_item.done"
    )

    await connection.conversation.item.create(
        item={"type": "function_call_output", "call_id": "call_w1", "output": '{"sky":"clear"}'}
    )
    assert checked(await connection.recv_bytes())["type"] == "conversation.item.added"
    assert checked(await connection.recv_bytes())["type"] == "conversation.item.done"
    await connection.response.create()
    second = await until_done(connection)
    await connection.close()
    text = "".join(e["delta"] for e in second if e["type"] == "response.output_text.delta")
    assert text == "It is sunny in Paris."


async def test_an_audio_response_sends_transcript_and_pcm_in_order(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-realtime-mini") as connection:
        created = checked(await connection.recv_bytes())
        assert created["session"]["output_modalities"] == ["audio"]  # the service's default
        await say(connection, "hello")
        await connection.response.create()
        events = await until_done(connection)

    kinds = [e["type"] for e in events]
    assert "response.output_text.delta" not in kinds
    transcript = [
        e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
    ]
    audio = [
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    ]
    assert "".join(transcript) == "Hello there, how can I help you today?"
    assert len(audio) == len(transcript)
    pcm = b"".join(audio)
    assert len(pcm) % 2 == 0 and len(pcm) > 24000  # over half a second of 24 kHz 16-bit PCM
    assert kinds.index("response.output_audio.done") < kinds.index(
        "response.output_audio_transcript.done"
    )
    part = next(e for e in events if e["type"] == "response.content_part.added")["part"]
    assert part == {"type": "audio", "transcript": ""}
    item = next(e for e in events if e["type"] == "response.output_item.done")["item"]
    assert item["content"] == [{"type": "output_audio", "transcript": "".join(transcript)}]
    assert events[-2]["response"]["usage"]["output_token_details"]["audio_tokens"] > 0


async def test_a_fixture_gives_its_own_audio(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-realtime") as connection:
        checked(await connection.recv_bytes())
        await say(connection, "play the recorded voice")
        await connection.response.create()
        events = await until_done(connection)
    pcm = b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )
    assert pcm == b"PCM!" * 600


async def test_server_vad_turns_speech_then_silence_into_a_response(client: AsyncOpenAI) -> None:
    """The session's default turn detection: speech (audio louder than a quiet room) then
    enough silence commits the audio and starts a response, as the service's VAD does."""
    headers = {"X-AIMock-Context": "voice"}
    async with client.realtime.connect(model="gpt-realtime", extra_headers=headers) as connection:
        created = checked(await connection.recv_bytes())
        detection = created["session"]["audio"]["input"]["turn_detection"]
        assert detection["type"] == "server_vad"
        speech = tone(400)
        silence = bytes(24000 * 2 * 600 // 1000)
        for chunk in (speech[:9600], speech[9600:], silence):
            await connection.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        events = await until_done(connection)
    kinds = [e["type"] for e in events]
    assert kinds[:5] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    started, stopped, committed = events[0], events[1], events[2]
    assert started["audio_start_ms"] == 0
    assert 400 <= stopped["audio_end_ms"] <= 1000
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    assert kinds[5] == "response.created"
    transcript = "".join(
        e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
    )
    assert transcript == "I heard you."


async def test_speech_over_a_response_interrupts_it(client: AsyncOpenAI) -> None:
    """Speech starting while a response plays cancels it (`interrupt_response`)."""
    async with client.realtime.connect(model="gpt-realtime") as connection:
        checked(await connection.recv_bytes())
        await say(connection, "say it slowly")
        await connection.response.create()
        assert checked(await connection.recv_bytes())["type"] == "response.created"
        await connection.input_audio_buffer.append(audio=base64.b64encode(tone(100)).decode())
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["type"] != "response.done":
            seen.append(checked(await connection.recv_bytes()))
    assert "input_audio_buffer.speech_started" in [e["type"] for e in seen]
    done = seen[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "turn_detected"


async def test_transcribed_audio_is_matched_on_its_transcript(client: AsyncOpenAI) -> None:
    """With input transcription on, committed audio is transcribed by a
    `realtime-transcription` fixture, and the next response is matched on the transcript."""
    connection = await text_session(client)
    await connection.session.update(
        session={
            "type": "realtime",
            "audio": {
                "input": {"transcription": {"model": "gpt-4o-transcribe"}, "turn_detection": None}
            },
        }
    )
    assert checked(await connection.recv_bytes())["type"] == "session.updated"
    await connection.input_audio_buffer.append(audio=base64.b64encode(tone(300)).decode())
    await connection.input_audio_buffer.commit()
    kinds = []
    while not kinds or kinds[-1] != "conversation.item.input_audio_transcription.completed":
        event = checked(await connection.recv_bytes())
        kinds.append(event["type"])
    assert event["transcript"] == "What is the weather in Paris?"
    assert kinds[:3] == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert "conversation.item.input_audio_transcription.delta" in kinds
    await connection.response.create()
    events = await until_done(connection)
    await connection.close()
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert done["name"] == "get_weather"


async def test_a_transcription_session_transcribes_and_never_answers(server: ServerProcess) -> None:
    sdk = AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    async with sdk.realtime.connect(
        model="", extra_query={"intent": "transcription"}
    ) as connection:
        created = checked(await connection.recv_bytes())
        assert created["session"]["type"] == "transcription"
        await connection.input_audio_buffer.append(audio=base64.b64encode(tone(200)).decode())
        await connection.input_audio_buffer.commit()
        while (event := checked(await connection.recv_bytes()))["type"] != (
            "conversation.item.input_audio_transcription.completed"
        ):
            pass
        await connection.response.create()
        refused = checked(await connection.recv_bytes())
    assert event["transcript"] == "What is the weather in Paris?"
    assert refused["type"] == "error"


async def test_committed_audio_becomes_a_user_item(client: AsyncOpenAI) -> None:
    connection = await text_session(client)
    await connection.input_audio_buffer.append(audio=base64.b64encode(bytes(4800)).decode())
    await connection.input_audio_buffer.commit()
    committed = checked(await connection.recv_bytes())
    added = checked(await connection.recv_bytes())
    assert committed["type"] == "input_audio_buffer.committed"
    assert added["item"]["id"] == committed["item_id"]
    assert added["item"]["content"][0]["type"] == "input_audio"
    assert checked(await connection.recv_bytes())["type"] == "conversation.item.done"
    # An empty buffer cannot be committed: the service's error, naming the client event.
    await connection.send({"type": "input_audio_buffer.commit", "event_id": "evt_client_1"})
    error = checked(await connection.recv_bytes())
    await connection.close()
    assert error["type"] == "error"
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    assert error["error"]["event_id"] == "evt_client_1"


async def test_a_paced_answer_arrives_whole_in_the_fixture_chunks(client: AsyncOpenAI) -> None:
    connection = await text_session(client)
    await say(connection, "say it slowly")
    await connection.response.create()
    events = await until_done(connection)
    await connection.close()
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == "one two three four five six seven eight nine ten"
    assert len(deltas) == 12  # 48 characters in chunks of 4


async def test_an_error_fixture_is_an_error_event_and_the_socket_stays_open(
    client: AsyncOpenAI,
) -> None:
    connection = await text_session(client)
    await say(connection, "this will be refused")
    await connection.response.create()
    error = checked(await connection.recv_bytes())
    assert error["type"] == "error"
    assert error["error"]["type"] == "insufficient_quota"
    assert error["error"]["message"] == "Quota exceeded"
    await say(connection, "hello")  # the socket still serves
    await connection.close()


async def test_a_miss_is_an_error_event_and_strict_mode_says_so(
    client: AsyncOpenAI, server: ServerProcess
) -> None:
    connection = await text_session(client, extra_headers={"X-AIMock-Strict": "true"})
    await say(connection, "nothing matches this")
    await connection.response.create()
    error = checked(await connection.recv_bytes())
    await connection.close()
    assert error["error"]["code"] == "no_fixture_match"
    assert "Strict mode" in error["error"]["message"]
    last = server.journal(surface="openai.realtime")[-1]["response"]
    assert isinstance(last, dict) and last["status"] == 503


async def test_a_cut_response_drops_the_connection_as_the_client_sees_it(
    client: AsyncOpenAI,
) -> None:
    connection = await text_session(client)
    await say(connection, "cut short please")
    await connection.response.create()
    seen: list[str] = []
    with pytest.raises(websockets.ConnectionClosedError) as closed:
        while True:
            seen.append(checked(await connection.recv_bytes())["type"])
    assert "response.done" not in seen
    assert seen.count("response.output_text.delta") <= 3
    assert closed.value.rcvd is None  # no close frame: the connection was dropped


@pytest.mark.parametrize("action", ["disconnect", "drop", "malformed", "ratelimit"])
async def test_chaos_strikes_a_turn_as_each_client_detects_it(
    client: AsyncOpenAI, server: ServerProcess, action: str
) -> None:
    connection = await text_session(client, extra_headers={f"x-aimock-chaos-{action}": "1"})
    await say(connection, "hello")
    await connection.response.create()
    if action == "disconnect":
        with pytest.raises(websockets.ConnectionClosedError):
            await connection.recv_bytes()
        return
    raw = await connection.recv_bytes()
    await connection.close()
    if action == "malformed":
        with pytest.raises(json.JSONDecodeError):
            json.loads(raw)
        return
    error = checked(raw)
    assert error["type"] == "error"
    assert error["error"]["code"] == {"drop": "chaos_drop", "ratelimit": "chaos_ratelimit"}[action]
    last = server.journal(surface="openai.realtime")[-1]["response"]
    assert isinstance(last, dict)
    assert last["chaosAction"] == action


async def test_the_retired_beta_header_is_refused_as_the_service_refuses_it(
    server: ServerProcess,
) -> None:
    origin = server.url.replace("http://", "ws://")
    sdk = AsyncOpenAI(api_key="k", websocket_base_url=origin + "/v1")
    async with sdk.beta.realtime.connect(model="gpt-4o-realtime-preview") as connection:
        error = json.loads(await connection.recv_bytes())
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            await connection.recv_bytes()
    assert error["type"] == "error"
    assert error["error"]["code"] == "beta_api_shape_disabled"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4000
    assert closed.value.rcvd.reason == "invalid_request_error.beta_api_shape_disabled"


async def test_the_client_event_errors_speak_the_realtime_envelope(client: AsyncOpenAI) -> None:
    connection = await text_session(client)
    await connection.send({"type": "conversation.item.delete", "item_id": "item_nope"})
    missing = checked(await connection.recv_bytes())
    await connection.send({"type": "response.cancel"})
    idle = checked(await connection.recv_bytes())
    await connection.close()
    assert missing["error"]["code"] == "item_not_found"
    assert idle["error"]["code"] == "response_cancel_not_active"


def test_a_plain_get_is_told_to_upgrade(server: ServerProcess) -> None:
    with server.control() as http:
        answer = http.get("/v1/realtime?model=gpt-realtime")
    assert answer.status_code == 426
    assert answer.json()["error"]["code"] == "upgrade_required"


async def test_frames_that_cannot_be_read_get_error_events(server: ServerProcess) -> None:
    url = server.url.replace("http://", "ws://") + "/v1/realtime?model=gpt-realtime"
    async with websockets.connect(url, max_size=None) as socket:
        checked(await socket.recv())  # session.created
        await socket.send("{not json")
        await socket.send(b"\x00\x01binary")
        await socket.send(json.dumps({"type": "no.such.event"}))
        await socket.send("[" * 200 + "]" * 200)
        await socket.send(json.dumps(["not", "an", "object"]))
        codes = [checked(await socket.recv())["error"]["code"] for _ in range(5)]
        assert codes == [
            "invalid_json",
            "binary_frame",
            "invalid_value",
            "invalid_json",
            "missing_required_parameter",
        ]
        await socket.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        assert checked(await socket.recv())["type"] == "session.updated"
    with serving("--max-body-bytes", "65536") as small:
        small_url = small.url.replace("http://", "ws://") + "/v1/realtime?model=gpt-realtime"
        async with websockets.connect(small_url, max_size=None) as socket:
            await socket.recv()
            await socket.send("x" * 70000)  # over the server's body limit
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await socket.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_the_openai_sdk_rejects_nothing_we_send_in_a_long_session(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The same session as the sync client drives it."""
    sdk = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    with sdk.realtime.connect(model="gpt-realtime") as connection:
        assert connection.recv().type == "session.created"
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        assert connection.recv().type == "session.updated"
        for _ in range(3):
            connection.conversation.item.create(
                item={
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "hello again"}],
                }
            )
            connection.response.create()
            kinds = []
            for event in connection:
                kinds.append(event.type)
                if event.type == "rate_limits.updated":
                    break
            assert "response.done" in kinds
