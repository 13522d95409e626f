"""Gemini Live through the official `google-genai` client: `client.aio.live.connect()` against
a real `aimock serve --tls` process (the SDK always dials `wss://` when it has an API key), the
client trusting the CA the server made through `HttpOptions(async_client_args={"ssl": ...})`.

Text, tool-call and audio turns, realtime input, the API versions and the ephemeral-token
method, and errors raised as the SDK raises the service's close codes (`APIError`)."""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from aimock.providers.audio import tone
from tests.conftest import ServerProcess, serving_fixtures

MODEL = "gemini-live-2.5-flash-preview"
WEATHER = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            parameters=types.Schema(
                type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}
            ),
        )
    ]
)
TEXT_ONLY = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])
FIXTURES: list[dict[str, Any]] = [
    {
        "match": {"userMessage": "weather", "hasToolResult": True},
        "response": {"content": "It is sunny in Paris."},
    },
    {
        "match": {"userMessage": "weather"},
        "response": {"toolCalls": [{"name": "get_weather", "arguments": '{"city":"Paris"}'}]},
    },
    {
        "match": {"userMessage": "hello"},
        "response": {"content": "Hello there, how can I help you today?"},
    },
    {
        "match": {"userMessage": "refused"},
        "response": {
            "error": {"message": "You exceeded your current quota.", "type": "RESOURCE_EXHAUSTED"},
            "status": 429,
        },
    },
    {"match": {"model": "gemini-audio-in"}, "response": {"content": "I heard you say hello."}},
]


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gemini-live-tls")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("gemini-live")
    with serving_fixtures(folder, FIXTURES, "--tls", "--tls-dir", str(tls_dir)) as running:
        assert running.url.startswith("https://")
        yield running


@pytest.fixture(scope="module")
def trust(tls_dir: Path, server: ServerProcess) -> ssl.SSLContext:
    """A client context trusting the CA `aimock serve --tls` made (and printed the path of)."""
    ca = tls_dir / "ca.crt"
    assert ca.is_file()
    return ssl.create_default_context(cafile=str(ca))


def sdk(
    server: ServerProcess,
    trust: ssl.SSLContext,
    *,
    api_key: str = "test-key",
    api_version: str | None = None,
    headers: dict[str, str] | None = None,
) -> genai.Client:
    options = types.HttpOptions(
        base_url=server.url,
        api_version=api_version,
        headers=headers,
        async_client_args={"ssl": trust},
    )
    return genai.Client(api_key=api_key, http_options=options)


def journal(server: ServerProcess, trust: ssl.SSLContext) -> list[dict[str, Any]]:
    with httpx.Client(base_url=server.url, verify=trust, timeout=10) as http:
        answer = http.get("/__aimock/journal", params={"surface": "gemini.live"})
        answer.raise_for_status()
        turns: list[dict[str, Any]] = answer.json()
        return turns


def user(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


def text_of(messages: list[types.LiveServerMessage]) -> str:
    return "".join(m.text or "" for m in messages)


async def test_a_text_turn(server: ServerProcess, trust: ssl.SSLContext) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT], system_instruction="Be kind."
    )
    async with sdk(server, trust).aio.live.connect(model=MODEL, config=config) as session:
        assert session.setup_complete is not None
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="hello")])
        )
        messages = [message async for message in session.receive()]

    assert text_of(messages) == "Hello there, how can I help you today?"
    assert messages[-2].server_content and messages[-2].server_content.generation_complete
    last = messages[-1]
    assert last.server_content and last.server_content.turn_complete
    assert last.usage_metadata is not None
    assert last.usage_metadata.total_token_count == (
        (last.usage_metadata.prompt_token_count or 0)
        + (last.usage_metadata.response_token_count or 0)
    )
    entry = journal(server, trust)[-1]
    assert entry["method"] == "WS"
    assert (
        entry["path"] == "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent"
    )
    assert isinstance(entry["response"], dict) and entry["response"]["status"] == 200
    assert entry["body"]["client_content"]["turnComplete"] is True


async def test_a_tool_call_then_its_response_then_the_answer(
    server: ServerProcess, trust: ssl.SSLContext
) -> None:
    """The service's order: the toolCall does not complete the turn; the answer to the tool
    response does, so one `receive()` loop sees the call and the answer."""
    config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT], tools=[WEATHER])
    seen: list[types.LiveServerMessage] = []
    async with sdk(server, trust).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns={"role": "user", "parts": [{"text": "weather?"}]})
        async for message in session.receive():
            seen.append(message)
            if message.tool_call and message.tool_call.function_calls:
                [call] = message.tool_call.function_calls
                assert call.name == "get_weather" and call.args == {"city": "Paris"}
                assert call.id
                await session.send_tool_response(
                    function_responses=types.FunctionResponse(
                        id=call.id, name=call.name, response={"output": "sunny, 21C"}
                    )
                )
    assert seen[0].tool_call is not None
    assert text_of(seen) == "It is sunny in Paris."
    tool_turn = journal(server, trust)[-1]
    assert tool_turn["body"]["tool_response"]["functionResponses"][0]["name"] == "get_weather"


async def test_an_audio_turn_speaks_pcm_with_its_transcript(
    server: ServerProcess, trust: ssl.SSLContext
) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        output_audio_transcription=types.AudioTranscriptionConfig(),
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore")
            )
        ),
    )
    async with sdk(server, trust).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(text="hello")
        messages = [message async for message in session.receive()]

    pcm = b"".join(m.data or b"" for m in messages)
    assert len(pcm) % 2 == 0 and len(pcm) > 24000  # over half a second of 24 kHz PCM16
    mimes = {
        part.inline_data.mime_type
        for m in messages
        if m.server_content and m.server_content.model_turn
        for part in m.server_content.model_turn.parts or []
        if part.inline_data
    }
    assert mimes == {"audio/pcm;rate=24000"}
    transcript = "".join(
        m.server_content.output_transcription.text or ""
        for m in messages
        if m.server_content and m.server_content.output_transcription
    )
    assert transcript == "Hello there, how can I help you today?"
    usage = messages[-1].usage_metadata
    assert usage and usage.response_tokens_details
    assert usage.response_tokens_details[0].modality == types.MediaModality.AUDIO


async def test_spoken_input_is_answered_at_the_end_of_the_audio_stream(
    server: ServerProcess, trust: ssl.SSLContext
) -> None:
    config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])
    client = sdk(server, trust)
    async with client.aio.live.connect(model="gemini-audio-in", config=config) as session:
        speech = types.Blob(data=bytes(3200), mime_type="audio/pcm;rate=16000")  # 100 ms
        for _ in range(3):
            await session.send_realtime_input(audio=speech)
        await session.send_realtime_input(audio_stream_end=True)
        messages = [message async for message in session.receive()]
    assert text_of(messages) == "I heard you say hello."


async def test_speech_then_silence_is_a_turn_by_automatic_activity_detection(
    server: ServerProcess, trust: ssl.SSLContext
) -> None:
    """The service's default: speech in the audio stream, then enough quiet, is the user's
    turn, with no audioStreamEnd or activityEnd from the client."""
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(silence_duration_ms=300)
        ),
    )
    client = sdk(server, trust)
    async with client.aio.live.connect(model="gemini-audio-in", config=config) as session:
        speech = tone(400, rate=16000)
        for chunk in (speech[:6400], speech[6400:], bytes(16000 * 2 // 2)):  # then 500 ms quiet
            await session.send_realtime_input(
                audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000")
            )
        messages = [message async for message in session.receive()]
    assert text_of(messages) == "I heard you say hello."


async def test_with_detection_off_manual_activity_signals_mark_the_turn(
    server: ServerProcess, trust: ssl.SSLContext
) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
        ),
    )
    client = sdk(server, trust)
    async with client.aio.live.connect(model="gemini-audio-in", config=config) as session:
        await session.send_realtime_input(activity_start=types.ActivityStart())
        await session.send_realtime_input(
            audio=types.Blob(
                data=tone(400, rate=16000) + bytes(32000), mime_type="audio/pcm;rate=16000"
            )
        )
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        messages = [message async for message in session.receive()]
    assert text_of(messages) == "I heard you say hello."


@pytest.mark.parametrize("version", ["v1beta", "v1alpha"])
async def test_every_api_version_and_ephemeral_tokens(
    server: ServerProcess, trust: ssl.SSLContext, version: str
) -> None:
    config = TEXT_ONLY
    for key in ("test-key", "auth_tokens/ephemeral-1"):  # the second dials ...Constrained
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", errors.ExperimentalWarning)
            client = sdk(server, trust, api_key=key, api_version=version)
            async with client.aio.live.connect(model=MODEL, config=config) as session:
                await session.send_client_content(turns=user("hello"))
                assert text_of([m async for m in session.receive()]).startswith("Hello there")
        path = journal(server, trust)[-1]["path"]
        method = (
            "BidiGenerateContentConstrained" if key.startswith("auth") else "BidiGenerateContent"
        )
        assert path == f"/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"


async def test_an_error_fixture_is_raised_as_the_close_code(
    server: ServerProcess, trust: ssl.SSLContext
) -> None:
    config = TEXT_ONLY
    async with sdk(server, trust).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=user("this will be refused"))
        with pytest.raises(errors.APIError) as raised:
            [m async for m in session.receive()]
    assert raised.value.code == 1011
    assert raised.value.details == "You exceeded your current quota."
    assert journal(server, trust)[-1]["response"]["status"] == 429


@pytest.mark.parametrize(("strict", "code"), [(False, 1008), (True, 1011)])
async def test_a_miss_is_raised_and_strict_mode_says_so(
    server: ServerProcess, trust: ssl.SSLContext, strict: bool, code: int
) -> None:
    headers = {"X-AIMock-Strict": "true"} if strict else None
    config = TEXT_ONLY
    client = sdk(server, trust, headers=headers)
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=user("nothing matches this"))
        with pytest.raises(errors.APIError) as raised:
            [m async for m in session.receive()]
    assert raised.value.code == code
    assert "no fixture matched" in str(raised.value.details).lower()


@pytest.mark.parametrize(("action", "code"), [("disconnect", 1006), ("ratelimit", 1011)])
async def test_chaos_is_raised_as_the_sdk_raises_a_failing_service(
    server: ServerProcess, trust: ssl.SSLContext, action: str, code: int
) -> None:
    client = sdk(server, trust, headers={f"x-aimock-chaos-{action}": "1"})
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as s:
        await s.send_client_content(turns=user("hello"))
        with pytest.raises(errors.APIError) as raised:
            [m async for m in s.receive()]
    assert raised.value.code == code


async def test_a_bad_setup_fails_the_connect(server: ServerProcess, trust: ssl.SSLContext) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT, types.Modality.AUDIO]
    )
    with pytest.raises(errors.APIError) as raised:
        async with sdk(server, trust).aio.live.connect(model=MODEL, config=config):
            pass
    assert raised.value.code == 1007
    assert "one response modality" in str(raised.value.details)
