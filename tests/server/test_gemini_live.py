"""Gemini Live (`BidiGenerateContent` over a WebSocket) on the wire, in process: the handshake,
each client message kind in both spellings, text, audio and tool-call turns, interruptions,
and every error told as the service tells it (a close code and a reason). Every server
message is read as google-genai reads it (`_LiveServerMessage_from_mldev`, then
`LiveServerMessage`) and also validated strictly (unknown fields refused).

The last test fuzzes one socket of a real server process with arbitrary frames: it always
answers or closes with one of the service's codes, and its log holds no traceback."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import websockets
from aiohttp import WSMsgType
from google.genai import _live_converters as converters
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import Reply, ReplyToolCall
from aimock.providers import gemini_live
from aimock.providers.audio import MS_PER_CHARACTER, PCM_RATE
from aimock.providers.gemini_live import Modes, close_code, close_reason, render_turn
from aimock.surface import ErrorInfo, RenderOptions
from tests.conftest import ServerProcess, serving_fixtures
from tests.server.conftest import ClientFactory, state_of

PATH = "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent"
MODEL = "models/gemini-live-2.5-flash-preview"
SERVER_KEYS = {
    "setupComplete",
    "serverContent",
    "toolCall",
    "toolCallCancellation",
    "usageMetadata",
    "goAway",
    "sessionResumptionUpdate",
    "voiceActivityDetectionSignal",
    "voiceActivity",
}
CLOSE_CODES = {1007, 1008, 1009, 1011}
FIXTURES = """
fixtures:
  - match: { userMessage: "weather", hasToolResult: true }
    response: { content: "It is sunny in Paris." }
  - match: { userMessage: "weather" }
    response:
      toolCalls: [{ id: call_w1, name: get_weather, arguments: '{"city": "Paris"}' }]
  - match: { userMessage: "two calls", hasToolResult: true }
    response: { content: "Both done." }
  - match: { userMessage: "two calls" }
    response:
      toolCalls:
        - { name: get_weather, arguments: '{"city": "Paris"}' }
        - { name: get_time, arguments: '{}' }
  - match: { userMessage: "hello" }
    response: { content: "Hello there, how can I help you today?" }
  - match: { userMessage: "think" }
    response: { reasoning: "A greeting.", content: "Hi." }
  - match: { userMessage: "slowly" }
    response: { content: "one two three four five six seven eight nine ten" }
    chunkSize: 4
    streamingProfile: { ttft: 5, tps: 40 }
  - match: { userMessage: "refuse" }
    response: { refusal: "I cannot help with that." }
  - match: { userMessage: "quota" }
    response:
      error: { message: "You exceeded your current quota.", type: RESOURCE_EXHAUSTED }
      status: 429
  - match: { userMessage: "denied" }
    response:
      error: { message: "Permission denied on the model.", type: PERMISSION_DENIED }
      status: 403
  - match: { model: audio-model }
    response: { content: "I heard you." }
"""


def sdk_read(raw: str | bytes) -> dict[str, Any]:
    """A server message as google-genai reads it, and strictly against its types."""
    message: dict[str, Any] = json.loads(raw)
    assert set(message) <= SERVER_KEYS, message
    converted = converters._LiveServerMessage_from_mldev(message)
    assert converted, message  # the SDK would raise for a message it cannot read
    types.LiveServerMessage._from_response(response=dict(converted), kwargs={})
    types.LiveServerMessage.model_validate(converted)  # extra fields forbidden at every level
    return message


def setup(**config: Any) -> dict[str, Any]:
    return {"setup": {"model": MODEL, **config}}


TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}
TOOLS = {"tools": [{"functionDeclarations": [{"name": "get_weather"}, {"name": "get_time"}]}]}


def say(text: str, key: str = "client_content", complete: bool = True) -> dict[str, Any]:
    return {key: {"turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": complete}}


async def opened(
    client: Any,
    config: dict[str, Any] | None = None,
    path: str = PATH,
    headers: dict[str, str] | None = None,
) -> aiohttp.ClientWebSocketResponse:
    ws: aiohttp.ClientWebSocketResponse = await client.ws_connect(path, headers=headers or {})
    await ws.send_json(setup(**(TEXT if config is None else config)))
    assert sdk_read(await ws.receive_str()) == {"setupComplete": {}}
    return ws


async def turn(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Server messages up to the one that completes a turn or calls functions."""
    received = []
    while True:
        message = sdk_read(await asyncio.wait_for(ws.receive_str(), timeout=10))
        received.append(message)
        if "toolCall" in message or message.get("serverContent", {}).get("turnComplete"):
            return received


async def closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str, list[Any]]:
    """What came before the close, then the close code and reason."""
    before = []
    while True:
        message = await asyncio.wait_for(ws.receive(), timeout=10)
        if message.type == WSMsgType.TEXT:
            before.append(message.data)
            continue
        if message.type == WSMsgType.CLOSE:
            return message.data, message.extra or "", before
        return ws.close_code, "", before


def texts(messages: list[dict[str, Any]]) -> str:
    return "".join(
        part.get("text", "")
        for m in messages
        for part in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
        if not part.get("thought")
    )


async def journaled(client: Any, count: int) -> list[Any]:
    for _ in range(200):
        turns = [e for e in state_of(client).journal if e.method == "WS"]
        if len(turns) >= count:
            return turns
        await asyncio.sleep(0.01)
    return turns


# --------------------------------------------------------------------------- turns


@pytest.mark.parametrize("path", gemini_live.PATHS)
async def test_a_text_turn_on_every_version_and_method(
    make_client: ClientFactory, path: str
) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client, path=path)
    await ws.send_json(say("hello"))
    messages = await turn(ws)
    await ws.close()
    assert texts(messages) == "Hello there, how can I help you today?"
    assert len(messages) == 4  # two chunks of 20 characters, generationComplete, turnComplete
    assert messages[-2] == {"serverContent": {"generationComplete": True}}
    last = messages[-1]
    assert last["serverContent"] == {"turnComplete": True}
    usage = last["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["responseTokenCount"]
    assert usage["responseTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": usage["responseTokenCount"]}
    ]
    [entry] = await journaled(client, 1)
    assert entry.status == 200 and entry.fixture is not None
    assert entry.model == "gemini-live-2.5-flash-preview"
    assert entry.path == path
    await client.close()


async def test_camel_case_turns_gather_until_turn_complete(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client)
    await ws.send_json(say("something else", key="clientContent", complete=False))
    await ws.send_json(say("hello", key="clientContent", complete=False))
    await ws.send_json({"clientContent": {"turnComplete": True}})
    messages = await turn(ws)
    await ws.send_json({"realtimeInput": {"text": "say hello again"}})
    again = await turn(ws)
    await ws.close()
    assert texts(messages) == texts(again) == "Hello there, how can I help you today?"
    first, second = await journaled(client, 2)
    assert first.body == {"clientContent": {"turnComplete": True}}
    assert second.body == {"realtimeInput": {"text": "say hello again"}}
    await client.close()


async def test_thoughts_are_parts_marked_thought(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client)
    await ws.send_json(say("think"))
    messages = await turn(ws)
    await ws.close()
    parts = [
        p
        for m in messages
        for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    ]
    assert parts == [{"text": "A greeting.", "thought": True}, {"text": "Hi."}]
    assert messages[-1]["usageMetadata"]["thoughtsTokenCount"] > 0
    await client.close()


async def test_a_refusal_is_an_empty_rejected_turn(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client)
    await ws.send_json(say("please refuse"))
    messages = await turn(ws)
    await ws.close()
    assert texts(messages) == ""
    assert messages[-1]["serverContent"] == {
        "turnComplete": True,
        "turnCompleteReason": "RESPONSE_REJECTED",
    }
    await client.close()


@pytest.mark.parametrize("transcribe", [False, True])
async def test_an_audio_turn_is_pcm_with_a_transcript_when_asked(
    make_client: ClientFactory, transcribe: bool
) -> None:
    client = await make_client(FIXTURES)
    config: dict[str, Any] = {"model": "models/audio-model"}
    if transcribe:
        config["outputAudioTranscription"] = {}
    ws = await client.ws_connect(PATH)
    await ws.send_json({"setup": config})  # no responseModalities: AUDIO
    assert sdk_read(await ws.receive_str()) == {"setupComplete": {}}
    speech = base64.b64encode(bytes(3200)).decode()
    blob = {"data": speech, "mime_type": "audio/pcm;rate=16000"}
    await ws.send_json({"realtime_input": {"audio": blob}})
    await ws.send_json({"realtime_input": {"mediaChunks": [{**blob, "mimeType": "audio/pcm"}]}})
    await ws.send_json({"realtime_input": {"audioStreamEnd": True}})
    messages = await turn(ws)
    await ws.close()
    parts = [
        p
        for m in messages
        for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    ]
    assert parts and all(p["inlineData"]["mimeType"] == f"audio/pcm;rate={PCM_RATE}" for p in parts)
    pcm = b"".join(base64.b64decode(p["inlineData"]["data"]) for p in parts)
    assert len(pcm) == len("I heard you.") * MS_PER_CHARACTER * PCM_RATE // 1000 * 2
    said = [
        m["serverContent"]["outputTranscription"]["text"]
        for m in messages
        if "outputTranscription" in m.get("serverContent", {})
    ]
    assert "".join(said) == ("I heard you." if transcribe else "")
    assert messages[-1]["usageMetadata"]["responseTokensDetails"][0]["modality"] == "AUDIO"
    [entry] = await journaled(client, 1)
    assert entry.body == {"realtime_input": {"audioStreamEnd": True}}
    await client.close()


async def test_an_audio_stream_end_without_audio_asks_nothing(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client)
    await ws.send_json({"realtimeInput": {"audioStreamEnd": True}})
    await ws.send_json({"realtimeInput": {"video": {"data": "AAAA", "mimeType": "image/jpeg"}}})
    await ws.send_json({"realtimeInput": {"activityEnd": {}}})
    await ws.send_json(say("hello"))
    assert texts(await turn(ws)) == "Hello there, how can I help you today?"
    await ws.close()
    assert len(await journaled(client, 1)) == 1
    await client.close()


async def test_a_tool_call_waits_for_its_response_then_the_turn_completes(
    make_client: ClientFactory,
) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client, {**TEXT, **TOOLS})
    await ws.send_json(say("weather in Paris?"))
    called = await turn(ws)
    assert len(called) == 1  # no turnComplete: the model waits for the response
    [call] = called[0]["toolCall"]["functionCalls"]
    assert call == {"id": "call_w1", "name": "get_weather", "args": {"city": "Paris"}}
    assert called[0]["usageMetadata"]["responseTokenCount"] > 0
    response = {"id": "call_w1", "name": "get_weather", "response": {"output": "sunny"}}
    await ws.send_json({"tool_response": {"functionResponses": [response]}})
    answered = await turn(ws)
    await ws.close()
    assert texts(answered) == "It is sunny in Paris."
    assert answered[-1]["serverContent"] == {"turnComplete": True}
    await client.close()


async def test_every_call_is_answered_before_the_model_goes_on(
    make_client: ClientFactory,
) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client, {**TEXT, **TOOLS})
    await ws.send_json(say("two calls"))
    [called] = await turn(ws)
    first, second = called["toolCall"]["functionCalls"]
    assert first["id"] != second["id"] and first["id"].startswith("function-call-")
    # A response may leave its name out: the call's id says which function it answers.
    await ws.send_json(
        {"toolResponse": {"functionResponses": [{"id": first["id"], "response": {}}]}}
    )
    await ws.send_json(
        {"toolResponse": {"functionResponses": [{"id": second["id"], "response": {"output": "9"}}]}}
    )
    answered = await turn(ws)
    await ws.close()
    assert texts(answered) == "Both done."
    _first, second_turn = await journaled(client, 2)  # one turn for both responses
    assert second_turn.body["toolResponse"]["functionResponses"][0]["id"] == second["id"]
    await client.close()


async def test_new_input_interrupts_the_model_and_withdraws_its_calls(
    make_client: ClientFactory,
) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client, {**TEXT, **TOOLS})
    await ws.send_json(say("say it slowly"))
    first = sdk_read(await ws.receive_str())
    assert texts([first]) == "one "
    await ws.send_json(say("weather in Paris?"))
    seen = await turn(ws)
    kinds = [next(iter(m)) for m in seen]
    interrupted = seen.index({"serverContent": {"interrupted": True}})
    assert kinds[-1] == "toolCall" and interrupted < len(seen) - 1
    assert len(texts(seen[:interrupted])) < len("one two three four five six seven eight nine ten")
    await ws.send_json({"realtimeInput": {"text": "hello"}})
    after = await turn(ws)
    await ws.close()
    assert after[0] == {"toolCallCancellation": {"ids": ["call_w1"]}}
    assert texts(after) == "Hello there, how can I help you today?"
    await client.close()


async def test_a_context_update_changes_the_tools_and_instruction(
    make_client: ClientFactory,
) -> None:
    client = await make_client(
        """
fixtures:
  - match: { toolName: lookup, systemMessage: "be terse" }
    response: { content: "updated" }
  - match: { userMessage: "hi" }
    response: { content: "as set up" }
"""
    )
    ws = await opened(client)
    await ws.send_json(say("hi"))
    assert texts(await turn(ws)) == "as set up"
    update = {
        "systemInstruction": {"parts": [{"text": "be terse"}]},
        "tools": [{"functionDeclarations": [{"name": "lookup"}]}],
    }
    await ws.send_json({"context_update": update})
    await ws.send_json(say("hi"))
    assert texts(await turn(ws)) == "updated"
    await ws.close()
    await client.close()


async def test_a_binary_frame_carries_json_as_a_text_frame_does(
    make_client: ClientFactory,
) -> None:
    client = await make_client(FIXTURES)
    ws = await client.ws_connect(PATH)
    await ws.send_bytes(json.dumps(setup(**TEXT)).encode())
    assert sdk_read(await ws.receive_str()) == {"setupComplete": {}}
    await ws.send_bytes(json.dumps(say("hello")).encode())
    assert texts(await turn(ws)) == "Hello there, how can I help you today?"
    await ws.close()
    await client.close()


async def test_activity_start_interrupts_and_activity_end_answers_the_audio(
    make_client: ClientFactory,
) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client, {**TEXT, "model": "models/audio-model"})
    await ws.send_json(say("say it slowly"))
    assert texts([sdk_read(await ws.receive_str())]) == "one "
    await ws.send_json({"realtimeInput": {"activityStart": {}}})
    speech = {"data": base64.b64encode(bytes(640)).decode(), "mimeType": "audio/pcm"}
    await ws.send_json({"realtimeInput": {"audio": speech}})
    await ws.send_json({"realtimeInput": {"activityEnd": {}}})
    seen = await turn(ws)
    await ws.close()
    interrupted = seen.index({"serverContent": {"interrupted": True}})
    # The spoken turn has no text: the last user text is still the first turn's, so the
    # same fixture answers the audio in full.
    assert texts(seen[interrupted:]) == "one two three four five six seven eight nine ten"
    _first, second = await journaled(client, 2)
    assert second.body == {"realtimeInput": {"activityEnd": {}}}
    await client.close()


async def test_a_conversation_past_its_bound_is_refused(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gemini_live, "MAX_CONTENTS", 3)
    client = await make_client(FIXTURES)
    ws = await opened(client)
    await ws.send_json(say("hello"))
    await turn(ws)  # a user turn and a model turn
    await ws.send_json(say("hello"))
    code, reason, _ = await closed(ws)
    assert (code, "the most one session keeps" in reason) == (1007, True)
    await client.close()


# --------------------------------------------------------------------------- errors


def too_deep() -> str:
    return '{"clientContent": ' + "[" * 200 + "]" * 200 + "}"


@pytest.mark.parametrize(
    ("frames", "code", "reason"),
    [
        ([say("hello")], 1007, "the first message must be setup, not clientContent"),
        ([setup(), setup()], 1007, "setup may be sent once"),
        ([{"setup": {}}], 1007, "setup.model is required"),
        ([setup(generationConfig={"responseModalities": ["TEXT", "AUDIO"]})], 1007, "one response"),
        ([setup(generationConfig={"responseModalities": ["text"]})], 1007, "Invalid value at"),
        ([{"hello": {}}], 1007, 'Unknown name "hello": Cannot find field.'),
        ([setup(), {"clientContent": {"turn": []}}], 1007, 'Unknown name "turn" at'),
        ([setup(), {**say("a"), "realtimeInput": {"text": "b"}}], 1007, "Oneof field"),
        ([{}], 1007, "sets none of"),
        ([[1, 2]], 1007, "Expected an object"),
        ("{not json", 1007, "The frame is not JSON"),
        (b"\xff\xfe", 1007, "Invalid JSON payload received"),
        (too_deep(), 1007, "nested deeper"),
        ([setup(), {"clientContent": {"turns": [{"role": "robot"}]}}], 1007, "valid role"),
        (
            [setup(), {"realtimeInput": {"audio": {"data": "!!", "mimeType": "audio/pcm"}}}],
            1007,
            "Base64",
        ),
        ([setup(), {"toolResponse": {"functionResponses": []}}], 1007, "is empty"),
        (
            [setup(), {"toolResponse": {"functionResponses": [{"id": "x"}]}}],
            1007,
            "names no function",
        ),
        ([setup(**TEXT), say("what is this")], 1008, "No fixture matched"),
        ([setup(**TEXT), say("quota please")], 1011, "You exceeded your current quota."),
        ([setup(**TEXT), say("access denied")], 1008, "Permission denied on the model."),
    ],
)
async def test_an_error_closes_the_socket_with_the_service_code_and_reason(
    make_client: ClientFactory, frames: Any, code: int, reason: str
) -> None:
    client = await make_client(FIXTURES)
    ws = await client.ws_connect(PATH)
    for frame in frames if isinstance(frames, list) else [frames]:
        if isinstance(frame, str):
            await ws.send_str(frame)
        elif isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_json(frame)
    got, said, before = await closed(ws)
    assert (got, reason in said) == (code, True), (got, said)
    for message in before:
        sdk_read(message)
    turns = await journaled(client, 1)
    assert turns[-1].status is not None and turns[-1].status >= 400
    await client.close()


async def test_strict_mode_closes_a_miss_with_1011(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client, headers={"X-AIMock-Strict": "true"})
    await ws.send_json(say("nothing matches this"))
    code, reason, _ = await closed(ws)
    assert (code, reason.startswith("Strict mode: no fixture matched")) == (1011, True)
    [entry] = await journaled(client, 1)
    assert entry.status == 503
    await client.close()


async def test_an_oversized_frame_closes_with_1009(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES, max_body_bytes=64 * 1024)
    ws = await opened(client)
    await ws.send_str(json.dumps(say("x" * 100_000)))
    code, _reason, _ = await closed(ws)
    assert code == 1009
    await client.close()


@pytest.mark.parametrize(
    ("action", "code"),
    [("drop", 1011), ("ratelimit", 1011), ("malformed", None), ("disconnect", None)],
)
async def test_chaos_strikes_a_turn_as_the_sdk_sees_it(
    make_client: ClientFactory, action: str, code: int | None
) -> None:
    client = await make_client(FIXTURES)
    ws = await opened(client, headers={f"x-aimock-chaos-{action}": "1"})
    await ws.send_json(say("hello"))
    if action == "malformed":  # a frame google-genai cannot parse; the socket stays open
        broken = await asyncio.wait_for(ws.receive_str(), timeout=10)
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken)
    got, reason, before = (None, "", []) if action == "malformed" else await closed(ws)
    if action == "disconnect":
        assert before == [] and got in (None, 1006)
    elif action != "malformed":
        assert (got, reason) == (
            code,
            {"drop": "Chaos: request dropped", "ratelimit": "Chaos: rate limited"}[action],
        )
    turns = await journaled(client, 1)
    assert turns[0].chaos_action == action
    await ws.close()
    await client.close()


def test_close_codes_follow_the_google_status() -> None:
    assert close_code(ErrorInfo(400, "x")) == 1007
    assert close_code(ErrorInfo(400, "x", code="FAILED_PRECONDITION")) == 1007
    assert close_code(ErrorInfo(401, "x")) == 1008
    assert close_code(ErrorInfo(404, "x")) == 1008
    assert close_code(ErrorInfo(413, "x")) == 1009
    assert close_code(ErrorInfo(429, "x")) == 1011
    assert close_code(ErrorInfo(500, "x")) == 1011
    assert close_code(ErrorInfo(503, "x")) == 1011
    assert close_code(ErrorInfo(418, "x", type="UNAVAILABLE")) == 1011
    cut = close_reason("é" * 100)
    assert len(cut.encode()) <= 123 and cut == "é" * 61


@pytest.mark.parametrize("audio", [False, True])
def test_every_rendering_reads_as_the_sdk_reads_it(audio: bool) -> None:
    request = CanonicalRequest(
        surface="gemini.live",
        provider="gemini",
        endpoint="realtime",
        model="m",
        context=RequestContext(headers={}),
    )
    reply = Reply(
        kind="message",
        content="Hello, world, this is a longer answer.",
        reasoning="thinking",
        tool_calls=(ReplyToolCall(id=None, name="f", arguments="not json"),),
        input_tokens=7,
        cached_tokens=3,
    )
    rendered = render_turn(request, reply, RenderOptions(chunk_size=7), Modes(audio, audio))
    for event in rendered.events:
        sdk_read(json.dumps(event.data))
    [call] = rendered.calls.items()
    assert rendered.content["parts"][-1] == {
        "functionCall": {"id": call[0], "name": "f", "args": {}}
    }


# --------------------------------------------------------------------------- fuzz


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    fixtures = [
        {
            "match": {"userMessage": "weather"},
            "response": {"toolCalls": [{"name": "get_weather", "arguments": "{}"}]},
        },
        {
            "match": {"userMessage": "quota"},
            "response": {"error": {"message": "quota"}, "status": 429},
        },
        {"match": {}, "response": {"content": "Anything goes.", "reasoning": "Hmm."}},
    ]
    with serving_fixtures(tmp_path_factory.mktemp("gemini-live"), fixtures) as running:
        yield running


json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=10,
)
blob = st.fixed_dictionaries(
    {
        "data": st.sampled_from(["", "AAAA", base64.b64encode(bytes(640)).decode(), "!!"]),
        "mimeType": st.sampled_from(["audio/pcm;rate=16000", "image/jpeg", "", "audio/wav"]),
    }
)
parts = st.lists(
    st.one_of(
        st.fixed_dictionaries({"text": st.sampled_from(["hello", "weather", "quota", ""])}),
        st.fixed_dictionaries(
            {"functionCall": st.fixed_dictionaries({"name": st.text(max_size=5)})}
        ),
        st.fixed_dictionaries({"inlineData": blob}),
        st.dictionaries(st.text(max_size=8), json_values, max_size=2),
    ),
    max_size=3,
)
turns_ = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "model", "function", "x"]), "parts": parts}
    ),
    max_size=3,
)
valid_setup = st.fixed_dictionaries(
    {"model": st.sampled_from([MODEL, "x", ""])},
    optional={
        "generationConfig": st.fixed_dictionaries(
            {
                "responseModalities": st.lists(
                    st.sampled_from(["TEXT", "AUDIO", "IMAGE"]), max_size=2
                )
            }
        ),
        "tools": st.just(TOOLS["tools"]),
        "outputAudioTranscription": st.just({}),
        "systemInstruction": st.one_of(st.text(max_size=10), st.just({"parts": [{"text": "s"}]})),
    },
)
spellings = st.sampled_from(
    [
        ("clientContent", "client_content"),
        ("realtimeInput", "realtime_input"),
        ("toolResponse", "tool_response"),
    ]
)
messages = st.one_of(
    st.builds(lambda s: {"setup": s}, valid_setup),
    st.builds(
        lambda key, turns, done: {key: {"turns": turns, "turnComplete": done}},
        st.sampled_from(["clientContent", "client_content"]),
        turns_,
        st.one_of(st.booleans(), st.none(), st.integers()),
    ),
    st.builds(
        lambda key, body: {key: body},
        st.sampled_from(["realtimeInput", "realtime_input"]),
        st.one_of(
            st.fixed_dictionaries({"text": st.sampled_from(["hello", "weather", ""])}),
            st.fixed_dictionaries({"audio": blob}),
            st.fixed_dictionaries({"mediaChunks": st.lists(blob, max_size=2)}),
            st.fixed_dictionaries({"audioStreamEnd": st.one_of(st.booleans(), json_values)}),
            st.fixed_dictionaries({"activityStart": json_values}),
            st.fixed_dictionaries({"activityEnd": st.just({})}),
        ),
    ),
    st.builds(
        lambda key, responses: {key: {"functionResponses": responses}},
        st.sampled_from(["toolResponse", "tool_response"]),
        st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": st.text(max_size=8),
                    "name": st.sampled_from(["get_weather", "", "other"]),
                    "response": json_values,
                },
            ),
            max_size=2,
        ),
    ),
    st.builds(lambda pair, value: {pair[0]: value}, spellings, json_values),
    st.dictionaries(st.text(max_size=10), json_values, max_size=2),
    json_values,
)
frames = st.one_of(
    messages.map(json.dumps),
    messages.map(lambda m: json.dumps(m).encode()),
    st.text(max_size=30),
    st.binary(max_size=30),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(opening=st.booleans(), sent=st.lists(frames, min_size=1, max_size=6))
def test_whatever_a_client_sends_the_socket_answers_or_closes_the_service_way(
    server: ServerProcess, opening: bool, sent: list[str | bytes]
) -> None:
    url = server.url.replace("http://", "ws://") + PATH
    with connect(url, max_size=None, open_timeout=10) as socket:
        if opening:
            socket.send(json.dumps(setup(**TEXT, **TOOLS)))
        try:
            for frame in sent:
                socket.send(frame)
            while True:
                sdk_read(socket.recv(timeout=0.3))
        except TimeoutError:
            return  # quiet: every frame was read, and what was answered parsed
        except websockets.ConnectionClosed as ended:
            assert ended.rcvd is not None, "dropped without a close frame"
            assert ended.rcvd.code in CLOSE_CODES | {1000}, ended.rcvd
            assert ended.rcvd.code == 1000 or ended.rcvd.reason


def test_the_fuzzed_server_logged_no_traceback(server: ServerProcess) -> None:
    assert "Traceback" not in "".join(server.output)
