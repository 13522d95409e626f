"""Gemini API and Vertex AI, driven by the official `google-genai` SDK against a real server.

Fixtures: tests/sdk/fixtures/gemini.yaml (every one scoped to a Gemini surface and a "gem-"
message). Besides what the SDK reads, every raw body and every raw stream chunk is checked
strictly against the SDK's own types (JSON mode, so enums, base64 bytes and timestamps are
read as the SDK's JSON would be), plus the fields the real API always sends although the
SDK declares them optional.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials
from pydantic import BaseModel, TypeAdapter

from tests.conftest import ServerProcess
from tests.sdk.helpers import CITY_PARAMETERS_REQUIRED, CITY_SCHEMA, WEATHER_DESCRIPTION
from tests.sdk.typecheck import assert_required_fields

MODEL = "gemini-2.5-flash"
EMBEDDING_MODEL = "gemini-embedding-001"
HELLO = "Hello from Gemini, in several slices."
GEMINI_PATH = "/v1beta/models/" + MODEL
VERTEX_PATH = "/v1beta1/projects/aimock/locations/us-central1/publishers/google/models/" + MODEL
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description=WEATHER_DESCRIPTION,
    parameters_json_schema=CITY_PARAMETERS_REQUIRED,
)
FORECAST = types.FunctionDeclaration(name="get_forecast", parameters_json_schema={"type": "object"})
TIME = types.FunctionDeclaration(name="get_time", parameters_json_schema={"type": "object"})

# Fields the real API always sends that the SDK types leave optional.
ALWAYS: dict[type[BaseModel], tuple[str, ...]] = {
    types.GenerateContentResponse: ("candidates", "usageMetadata", "modelVersion", "responseId"),
    types.Candidate: ("finishReason", "index"),
    types.GenerateContentResponseUsageMetadata: (
        "promptTokenCount",
        "candidatesTokenCount",
        "totalTokenCount",
    ),
    types.Content: ("role", "parts"),
}
# A chunk before the last has no finishReason and no usage yet.
CHUNK_ALWAYS: dict[type[BaseModel], tuple[str, ...]] = {
    types.GenerateContentResponse: ("candidates", "modelVersion", "responseId"),
    types.Candidate: ("index",),
    types.Content: ("role", "parts"),
}


# --------------------------------------------------------------------------- plumbing


def http_options(server: ServerProcess, **options: Any) -> types.HttpOptions:
    return types.HttpOptions(base_url=server.url, **options)


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[genai.Client]:
    with genai.Client(api_key="test", http_options=http_options(sdk_server)) as sdk:
        yield sdk


@asynccontextmanager
async def async_options(server: ServerProcess, transport: str) -> AsyncIterator[types.HttpOptions]:
    """Options for `client.aio` on either transport it has: aiohttp (its default when
    installed; given our own session, since the SDK's subclass of ClientSession raises a
    DeprecationWarning under aiohttp 3.14) or httpx."""
    if transport == "httpx":
        yield http_options(server, async_client_args={"transport": httpx.AsyncHTTPTransport()})
        return
    async with aiohttp.ClientSession() as session:
        yield http_options(server, aiohttp_client=session)


@pytest.fixture(params=["aiohttp", "httpx"])
async def aclient(
    request: pytest.FixtureRequest, sdk_server: ServerProcess
) -> AsyncIterator[genai.client.AsyncClient]:
    async with (
        async_options(sdk_server, request.param) as options,
        genai.Client(api_key="test", http_options=options).aio as aio,
    ):
        yield aio


def vertex_client(server: ServerProcess, options: types.HttpOptions | None = None) -> genai.Client:
    """Vertex with a project: a token that is already valid, so nothing asks Google."""
    return genai.Client(
        vertexai=True,
        project="aimock",
        location="us-central1",
        credentials=Credentials(token="test-token"),
        http_options=options or http_options(server),
    )


@pytest.fixture
def vertex(sdk_server: ServerProcess) -> Iterator[genai.Client]:
    with vertex_client(sdk_server) as sdk:
        yield sdk


def validate(model_cls: type[BaseModel], raw: Any) -> Any:
    """Strict validation the way the SDK's JSON would be read (base64 bytes, enum names).
    The SDK's before-validator hands pydantic Python values, so a timestamp (`createTime`)
    is checked as RFC 3339 here and left out of the strict pass."""
    if isinstance(raw, dict) and "createTime" in raw:
        stamp = raw["createTime"]
        assert isinstance(stamp, str) and stamp.endswith("Z"), stamp
        datetime.datetime.fromisoformat(stamp)
        raw = {key: item for key, item in raw.items() if key != "createTime"}
    return TypeAdapter(model_cls).validate_json(json.dumps(raw), strict=True)


def check_response(raw: dict[str, Any]) -> types.GenerateContentResponse:
    response: types.GenerateContentResponse = validate(types.GenerateContentResponse, raw)
    assert_required_fields(types.GenerateContentResponse, raw, ALWAYS)
    return response


def post(server: ServerProcess, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        server.url + path,
        content=content,
        headers={"x-goog-api-key": "test", "content-type": "application/json"},
        timeout=30,
        **kwargs,
    )


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def generate_raw(server: ServerProcess, body: dict[str, Any], path: str = GEMINI_PATH) -> Any:
    response = post(server, path + ":generateContent", body)
    assert response.status_code == 200, response.text
    raw = response.json()
    check_response(raw)
    return raw


def stream_raw(
    server: ServerProcess, body: dict[str, Any], path: str = GEMINI_PATH
) -> list[dict[str, Any]]:
    """The SSE chunks of a streamed call, each `data: ` line checked as a response."""
    response = post(server, path + ":streamGenerateContent", body, params={"alt": "sse"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = []
    blocks = [block for block in response.text.split("\n\n") if block.strip()]
    for index, block in enumerate(blocks):
        assert block.startswith("data: ") and "\n" not in block, block  # no event:, no [DONE]
        chunk = json.loads(block.removeprefix("data: "))
        validate(types.GenerateContentResponse, chunk)
        last = index == len(blocks) - 1
        assert_required_fields(
            types.GenerateContentResponse, chunk, ALWAYS if last else CHUNK_ALWAYS
        )
        chunks.append(chunk)
    return chunks


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "status"} <= set(body["error"])
    assert body["error"]["code"] == response.status_code
    return body["error"]  # type: ignore[no-any-return]


def answer_parts(response: types.GenerateContentResponse) -> list[types.Part]:
    assert response.candidates and response.candidates[0].content
    return list(response.candidates[0].content.parts or [])


# --------------------------------------------------------------------------- generate


def test_text_reply(client: genai.Client, sdk_server: ServerProcess) -> None:
    response = client.models.generate_content(model=MODEL, contents="gem-hello")
    assert response.text == HELLO
    assert response.model_version == "gemini-2.5-flash-001"
    assert response.response_id == "gem-response-id-1"
    [candidate] = response.candidates or []
    assert candidate.finish_reason == types.FinishReason.STOP
    usage = response.usage_metadata
    assert usage is not None and usage.prompt_token_count and usage.candidates_token_count
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert usage.thoughts_token_count is None
    raw = generate_raw(sdk_server, {"contents": [user("gem-hello")]})
    assert raw["candidates"][0]["content"] == {"role": "model", "parts": [{"text": HELLO}]}


async def test_text_reply_async(aclient: genai.client.AsyncClient) -> None:
    response = await aclient.models.generate_content(model=MODEL, contents="gem-hello")
    assert response.text == HELLO


@pytest.mark.parametrize("api_version", ["v1", "v1beta", "v1alpha"])
def test_every_gemini_api_version(sdk_server: ServerProcess, api_version: str) -> None:
    options = http_options(sdk_server, api_version=api_version)
    with genai.Client(api_key="test", http_options=options) as sdk:
        assert sdk.models.generate_content(model=MODEL, contents="gem-hello").text == HELLO
    assert str(sdk_server.journal(limit="1")[0]["path"]).startswith(
        f"/{api_version}/models/{MODEL}:generateContent"
    )


def test_escaped_colon_is_routed(sdk_server: ServerProcess) -> None:
    response = post(
        sdk_server, GEMINI_PATH + "%3AgenerateContent", {"contents": [user("gem-hello")]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == HELLO


def test_system_instruction(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL,
        contents="gem-greet",
        config=types.GenerateContentConfig(system_instruction="You are a gem-pirate."),
    )
    assert response.text == "Ahoy from the system instruction."


def test_image_part_carries_no_text(client: genai.Client) -> None:
    image = types.Part.from_bytes(data=b"\x89PNG\r\n", mime_type="image/png")
    response = client.models.generate_content(
        model=MODEL,
        contents=[types.Content(role="user", parts=[image, types.Part(text="gem-describe-image")])],
    )
    assert response.text == "A red square."


# --------------------------------------------------------------------------- stream


def test_stream_text(client: genai.Client, sdk_server: ServerProcess) -> None:
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="gem-hello"))
    pieces = [chunk.text for chunk in chunks]
    assert len(pieces) > 1 and "".join(p or "" for p in pieces) == HELLO
    assert all(chunk.response_id == "gem-response-id-1" for chunk in chunks)
    finishes = [chunk.candidates[0].finish_reason for chunk in chunks if chunk.candidates]
    assert finishes[:-1] == [None] * (len(chunks) - 1)
    assert finishes[-1] == types.FinishReason.STOP
    assert chunks[-1].usage_metadata is not None and chunks[-1].usage_metadata.total_token_count
    raw = stream_raw(sdk_server, {"contents": [user("gem-hello")]})
    assert [c["candidates"][0]["content"]["parts"][0]["text"] for c in raw] == [
        HELLO[i : i + 7] for i in range(0, len(HELLO), 7)
    ]
    assert "usageMetadata" not in raw[0] and "usageMetadata" in raw[-1]


async def test_stream_text_async(aclient: genai.client.AsyncClient) -> None:
    stream = await aclient.models.generate_content_stream(model=MODEL, contents="gem-hello")
    pieces = [chunk.text async for chunk in stream]
    assert len(pieces) > 1 and "".join(p or "" for p in pieces) == HELLO


def read_array(
    server: ServerProcess, text: str, path: str = GEMINI_PATH, **params: str
) -> tuple[list[bytes], httpx.HTTPError | None]:
    """The raw reads of a `:streamGenerateContent` call without `alt=sse`, as they arrived,
    and the error that ended the body (None when it completed)."""
    reads: list[bytes] = []
    with httpx.stream(
        "POST",
        server.url + path + ":streamGenerateContent",
        json={"contents": [user(text)]},
        params=params,
        headers={"x-goog-api-key": "test"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=UTF-8"
        try:
            reads.extend(response.iter_raw())
        except httpx.HTTPError as exc:
            return reads, exc
    return reads, None


def check_array(body: bytes) -> list[dict[str, Any]]:
    """Google's framing: `[` with the first element, `\n,\r\n` before each later one, `\n]`
    at the end; every element a GenerateContentResponse chunk, the last a complete one."""
    assert body.startswith(b"[{\n") and body.endswith(b"}\n]")
    chunks: list[dict[str, Any]] = json.loads(body)
    assert body[1:-2].split(b"\n,\r\n") == [
        json.dumps(chunk, indent=2, ensure_ascii=False).encode() for chunk in chunks
    ]
    for index, chunk in enumerate(chunks):
        validate(types.GenerateContentResponse, chunk)
        last = index == len(chunks) - 1
        assert_required_fields(
            types.GenerateContentResponse, chunk, ALWAYS if last else CHUNK_ALWAYS
        )
    return chunks


def chunk_text(chunk: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for part in chunk["candidates"][0]["content"]["parts"])


@pytest.mark.parametrize("params", [{}, {"alt": "json"}, {"$alt": "json;enum-encoding=int"}])
def test_stream_without_alt_sse_is_a_json_array(
    sdk_server: ServerProcess, params: dict[str, str]
) -> None:
    reads, error = read_array(sdk_server, "gem-hello", **params)
    assert error is None
    chunks = check_array(b"".join(reads))
    assert [chunk_text(c) for c in chunks] == [HELLO[i : i + 7] for i in range(0, len(HELLO), 7)]
    assert len({c["responseId"] for c in chunks}) == 1
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_json_array_arrives_element_by_element(sdk_server: ServerProcess) -> None:
    """A paced stream: the array is open while its first elements are already readable."""
    reads, error = read_array(sdk_server, "gem-array-paced", VERTEX_PATH)
    assert error is None
    assert len(reads) > 2
    first = reads[0]
    assert first.startswith(b"[") and json.loads(first[1:])["candidates"]  # one whole element
    chunks = check_array(b"".join(reads))
    assert "".join(chunk_text(c) for c in chunks) == "Sent as a JSON array."
    assert "createTime" in chunks[0]  # Vertex's chunks, in the same framing


def test_cut_json_array_never_closes(sdk_server: ServerProcess) -> None:
    reads, error = read_array(sdk_server, "gem-array-cut")
    assert isinstance(error, httpx.RemoteProtocolError)  # the connection dropped mid-body
    body = b"".join(reads)
    assert body.startswith(b"[{") and not body.rstrip().endswith(b"]")
    elements = body[1:].split(b"\n,\r\n")
    assert [chunk_text(json.loads(e)) for e in elements] == ["This", " arr"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    entry = sdk_server.journal(limit="1")[0]
    assert entry["response"]["interruptReason"] == "truncateAfterChunks"  # type: ignore[index]


# --------------------------------------------------------------------------- tools


def tools(*declarations: types.FunctionDeclaration) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(tools=[types.Tool(function_declarations=list(declarations))])


def test_function_call(client: genai.Client, sdk_server: ServerProcess) -> None:
    response = client.models.generate_content(
        model=MODEL, contents="gem-weather", config=tools(WEATHER)
    )
    [call] = response.function_calls or []
    assert (call.name, call.args, call.id) == ("get_weather", {"city": "Paris"}, None)
    assert response.candidates and response.candidates[0].finish_reason == types.FinishReason.STOP
    raw = generate_raw(
        sdk_server,
        {
            "contents": [user("gem-weather")],
            "tools": [{"functionDeclarations": [{"name": "get_weather"}]}],
        },
    )
    assert raw["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    ]


def test_text_and_two_calls(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL, contents="gem-two-tools", config=tools(WEATHER, TIME)
    )
    parts = answer_parts(response)
    assert parts[0].text == "Checking both."
    assert [(c.name, c.args) for c in response.function_calls or []] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "Europe/Paris"}),
    ]


def test_stream_function_calls_arrive_whole(client: genai.Client) -> None:
    chunks = list(
        client.models.generate_content_stream(
            model=MODEL, contents="gem-two-tools", config=tools(WEATHER, TIME)
        )
    )
    calls = [call for chunk in chunks for call in chunk.function_calls or []]
    assert [(c.name, c.args) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "Europe/Paris"}),
    ]
    assert chunks[-1].function_calls  # the calls ride the final chunk
    assert "".join(chunk.text or "" for chunk in chunks[:-1]) == "Checking both."


def test_function_response_without_ids(client: genai.Client) -> None:
    """Gemini 2.x pairs a response with its call by name: the fixture's toolCallId is the
    function name when neither side carries an id."""
    first = client.models.generate_content(
        model=MODEL, contents="gem-weather", config=tools(WEATHER)
    )
    assert first.candidates and first.candidates[0].content
    result = types.Part.from_function_response(
        name="get_weather", response={"output": "18C, sunny"}
    )
    history = [
        types.Content(role="user", parts=[types.Part(text="gem-weather")]),
        first.candidates[0].content,
        types.Content(role="user", parts=[result]),
    ]
    second = client.models.generate_content(model=MODEL, contents=history, config=tools(WEATHER))
    assert second.text == "It is 18 degrees and sunny in Paris."
    assert second.function_calls is None


@pytest.mark.parametrize("echo_id", [True, False], ids=["response-id", "no-response-id"])
async def test_function_response_with_ids(aclient: genai.client.AsyncClient, echo_id: bool) -> None:
    """A fixture's call id reaches the SDK; a response that omits it inherits it from the
    call of the same name, so `toolCallId` matches either way."""
    first = await aclient.models.generate_content(
        model=MODEL, contents="gem-forecast", config=tools(FORECAST)
    )
    [call] = first.function_calls or []
    assert (call.id, call.args) == ("gem_call_forecast_1", {"city": "Oslo", "days": 2})
    assert first.candidates and first.candidates[0].content
    response = types.FunctionResponse(
        name="get_forecast", response={"forecast": "snow"}, id=call.id if echo_id else None
    )
    history = [
        types.Content(role="user", parts=[types.Part(text="gem-forecast")]),
        first.candidates[0].content,
        types.Content(role="user", parts=[types.Part(function_response=response)]),
    ]
    second = await aclient.models.generate_content(
        model=MODEL, contents=history, config=tools(FORECAST)
    )
    assert second.text == "Two days of snow in Oslo."


# --------------------------------------------------------------------------- thinking

THINKING = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))


def test_thinking(client: genai.Client) -> None:
    response = client.models.generate_content(model=MODEL, contents="gem-think", config=THINKING)
    thought, answer = answer_parts(response)
    assert (thought.thought, thought.text) == (True, "The user asks for a sum: two plus two.")
    assert (answer.thought, answer.text) == (None, "4")
    assert answer.thought_signature == base64.b64decode("c2lnbmF0dXJlLWdlbQ==")
    assert response.text == "4"  # the SDK leaves thoughts out of .text
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count) == (11, 2)
    assert (usage.thoughts_token_count, usage.total_token_count) == (8, 21)


def test_thoughts_hidden_when_not_included(client: genai.Client, sdk_server: ServerProcess) -> None:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=False)
    )
    response = client.models.generate_content(model=MODEL, contents="gem-think", config=config)
    [answer] = answer_parts(response)
    assert answer.text == "4" and answer.thought_signature is not None
    assert response.usage_metadata and response.usage_metadata.thoughts_token_count == 8


async def test_stream_thinking(
    aclient: genai.client.AsyncClient, sdk_server: ServerProcess
) -> None:
    stream = await aclient.models.generate_content_stream(
        model=MODEL, contents="gem-think", config=THINKING
    )
    parts = [part async for chunk in stream for part in answer_parts(chunk)]
    thoughts = [p.text for p in parts if p.thought]
    assert "".join(t or "" for t in thoughts) == "The user asks for a sum: two plus two."
    assert len(thoughts) > 1
    assert [p.text for p in parts if not p.thought] == ["4"]
    assert parts[-1].thought_signature == b"signature-gem"
    raw = stream_raw(
        sdk_server,
        {
            "contents": [user("gem-think")],
            "generationConfig": {"thinkingConfig": {"includeThoughts": True}},
        },
    )
    thought_flags = [bool(c["candidates"][0]["content"]["parts"][0].get("thought")) for c in raw]
    assert thought_flags == [True] * (len(raw) - 1) + [False]


# --------------------------------------------------------------------------- JSON mode


class City(BaseModel):
    city: str
    temperature: int


def test_response_schema_parsed(client: genai.Client) -> None:
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=City
    )
    response = client.models.generate_content(model=MODEL, contents="gem-city", config=config)
    assert response.parsed == City(city="Paris", temperature=18)


async def test_response_json_schema(aclient: genai.client.AsyncClient) -> None:
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema=CITY_SCHEMA
    )
    response = await aclient.models.generate_content(
        model=MODEL, contents="gem-city", config=config
    )
    assert json.loads(response.text or "") == {"city": "Paris", "temperature": 18}


def test_stream_json_in_pieces(client: genai.Client) -> None:
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=City
    )
    chunks = list(
        client.models.generate_content_stream(model=MODEL, contents="gem-city", config=config)
    )
    assert len(chunks) > 1
    assert json.loads("".join(c.text or "" for c in chunks)) == {"city": "Paris", "temperature": 18}


def test_json_without_schema_is_json_object(client: genai.Client) -> None:
    config = types.GenerateContentConfig(response_mime_type="application/json")
    response = client.models.generate_content(model=MODEL, contents="gem-any-json", config=config)
    assert json.loads(response.text or "") == {"ok": True}


# --------------------------------------------------------------------------- finish reasons


def test_refusal_is_a_safety_block(client: genai.Client, sdk_server: ServerProcess) -> None:
    response = client.models.generate_content(model=MODEL, contents="gem-refuse")
    [candidate] = response.candidates or []
    assert candidate.finish_reason == types.FinishReason.SAFETY
    assert candidate.content is None and response.text is None
    assert candidate.safety_ratings and candidate.safety_ratings[0].blocked is True
    [chunk] = stream_raw(sdk_server, {"contents": [user("gem-refuse")]})
    assert chunk["candidates"][0]["finishReason"] == "SAFETY"
    assert "finishMessage" not in chunk["candidates"][0]  # a Vertex-only field


def test_vertex_refusal_explains_itself(vertex: genai.Client) -> None:
    [candidate] = (
        vertex.models.generate_content(model=MODEL, contents="gem-refuse").candidates or []
    )
    assert candidate.finish_reason == types.FinishReason.SAFETY
    assert candidate.finish_message == "I can't help with that."


def test_length_is_max_tokens(client: genai.Client) -> None:
    response = client.models.generate_content(model=MODEL, contents="gem-truncated")
    assert (
        response.candidates
        and response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    )


# --------------------------------------------------------------------------- errors


def test_rate_limit_is_client_error(client: genai.Client, sdk_server: ServerProcess) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="gem-rate-limit")
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
    assert caught.value.message == "Resource has been exhausted (e.g. check quota)."
    error = error_of(
        post(sdk_server, GEMINI_PATH + ":generateContent", {"contents": [user("gem-rate-limit")]})
    )
    assert error["details"] == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
    ]


async def test_unavailable_is_server_error(aclient: genai.client.AsyncClient) -> None:
    with pytest.raises(errors.ServerError) as caught:
        await aclient.models.generate_content(model=MODEL, contents="gem-unavailable")
    assert caught.value.code == 503 and caught.value.status == "UNAVAILABLE"


def test_stream_error_raises(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        list(client.models.generate_content_stream(model=MODEL, contents="gem-rate-limit"))
    assert caught.value.code == 429


def test_miss_is_not_found(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="gem-nothing-matches-this")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"


def test_strict_miss_is_server_error(sdk_server: ServerProcess) -> None:
    options = http_options(sdk_server, headers={"x-aimock-strict": "true"})
    with (
        genai.Client(api_key="test", http_options=options) as sdk,
        pytest.raises(errors.ServerError) as caught,
    ):
        sdk.models.generate_content(model=MODEL, contents="gem-nothing-matches-this")
    assert caught.value.code == 503 and caught.value.status == "UNAVAILABLE"


@pytest.mark.parametrize(
    "body",
    [
        b'{"contents": [',
        b"",
        b"[]",
        {},
        {"contents": []},
        {"contents": "gem-hello"},
        {"contents": ["gem-hello"]},
        {"contents": [{"role": "assistant", "parts": [{"text": "gem-hello"}]}]},
        {"contents": [{"role": "user", "parts": [{"text": 5}]}]},
        {"contents": [{"role": "user", "parts": "gem-hello"}]},
        {"contents": [{"role": "model", "parts": [{"functionCall": {"args": {}}}]}]},
        {"contents": [user("gem-hello")], "tools": [{"functionDeclarations": [{}]}]},
        {"contents": [user("gem-hello")], "generationConfig": []},
    ],
    ids=[
        "malformed-json",
        "empty-body",
        "not-an-object",
        "missing-contents",
        "empty-contents",
        "contents-string",
        "content-string",
        "bad-role",
        "text-not-string",
        "parts-not-array",
        "call-without-name",
        "declaration-without-name",
        "config-not-object",
    ],
)
def test_bad_requests_are_invalid_argument(sdk_server: ServerProcess, body: Any) -> None:
    for path in (GEMINI_PATH, VERTEX_PATH):
        for method in ("generateContent", "streamGenerateContent", "countTokens"):
            response = post(sdk_server, f"{path}:{method}", body)
            assert response.status_code == 400, (method, response.text)
            assert error_of(response)["status"] == "INVALID_ARGUMENT"


# --------------------------------------------------------------------------- embeddings


def test_embed_single(client: genai.Client) -> None:
    result = client.models.embed_content(model=EMBEDDING_MODEL, contents="gem-any-sentence")
    [embedding] = result.embeddings or []
    assert embedding.values is not None and len(embedding.values) == 3072
    assert all(-1 <= v <= 1 for v in embedding.values)


async def test_embed_batch_is_deterministic(aclient: genai.client.AsyncClient) -> None:
    config = types.EmbedContentConfig(output_dimensionality=16)
    first = await aclient.models.embed_content(
        model=EMBEDDING_MODEL, contents=["gem-a", "gem-b"], config=config
    )
    again = await aclient.models.embed_content(
        model=EMBEDDING_MODEL, contents=["gem-b"], config=config
    )
    vectors = [e.values for e in first.embeddings or []]
    assert [len(v or []) for v in vectors] == [16, 16] and vectors[0] != vectors[1]
    assert (again.embeddings or [])[0].values == vectors[1]


def test_embed_fixture_vector(client: genai.Client, sdk_server: ServerProcess) -> None:
    config = types.EmbedContentConfig(output_dimensionality=2)
    result = client.models.embed_content(
        model=EMBEDDING_MODEL, contents="gem-embed-fixed", config=config
    )
    assert [e.values for e in result.embeddings or []] == [[0.5, -0.25]]
    raw = post(
        sdk_server,
        f"/v1beta/models/{EMBEDDING_MODEL}:batchEmbedContents",
        {"requests": [{"content": user("gem-embed-fixed"), "model": f"models/{EMBEDDING_MODEL}"}]},
    ).json()
    validate(types.EmbedContentResponse, raw)
    assert raw == {"embeddings": [{"values": [0.5, -0.25, 0.125, 1.0]}]}


def test_embed_content_rest(sdk_server: ServerProcess) -> None:
    """`:embedContent`, which the REST docs (and LangChain) use for one text."""
    response = post(
        sdk_server,
        f"/v1beta/models/{EMBEDDING_MODEL}:embedContent",
        {"content": user("gem-embed-fixed"), "outputDimensionality": 3},
    )
    assert response.status_code == 200
    validate(types.ContentEmbedding, response.json()["embedding"])
    assert response.json() == {"embedding": {"values": [0.5, -0.25, 0.125]}}


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("embedContent", {}),
        ("batchEmbedContents", {"requests": []}),
        ("batchEmbedContents", {"requests": [{"content": user("x"), "outputDimensionality": 0}]}),
    ],
)
def test_embed_bad_requests(sdk_server: ServerProcess, method: str, body: Any) -> None:
    response = post(sdk_server, f"/v1beta/models/{EMBEDDING_MODEL}:{method}", body)
    assert response.status_code == 400
    assert error_of(response)["status"] == "INVALID_ARGUMENT"


# --------------------------------------------------------------------------- countTokens


def test_count_tokens_matches_usage(client: genai.Client) -> None:
    counted = client.models.count_tokens(model=MODEL, contents="gem-hello")
    usage = client.models.generate_content(model=MODEL, contents="gem-hello").usage_metadata
    assert usage is not None and counted.total_tokens == usage.prompt_token_count == 3


async def test_count_tokens_ignores_fixtures(aclient: genai.client.AsyncClient) -> None:
    counted = await aclient.models.count_tokens(model=MODEL, contents="gem-rate-limit")
    assert counted.total_tokens == 4


def test_count_tokens_wrapped_request(sdk_server: ServerProcess) -> None:
    body = {"generateContentRequest": {"model": f"models/{MODEL}", "contents": [user("abcdefgh")]}}
    response = post(sdk_server, GEMINI_PATH + ":countTokens", body)
    validate(types.CountTokensResponse, response.json())
    assert response.json() == {"totalTokens": 2}


# --------------------------------------------------------------------------- Vertex AI


def test_vertex_text(vertex: genai.Client, sdk_server: ServerProcess) -> None:
    response = vertex.models.generate_content(model=MODEL, contents="gem-vertex-hi")
    assert response.text == "Hello from Gemini on Vertex AI."
    assert response.create_time is not None
    [entry] = sdk_server.journal(limit="1")
    assert entry["provider"] == "vertex" and entry["surface"] == "gemini.generate"
    assert entry["path"] == (
        f"/v1beta1/projects/aimock/locations/us-central1/publishers/google/models/{MODEL}"
        ":generateContent"
    )
    raw = generate_raw(sdk_server, {"contents": [user("gem-vertex-hi")]}, VERTEX_PATH)
    assert raw["usageMetadata"]["trafficType"] == "ON_DEMAND" and "createTime" in raw


def test_provider_tells_vertex_from_gemini(vertex: genai.Client, client: genai.Client) -> None:
    asked = "gem-where-am-i"
    assert vertex.models.generate_content(model=MODEL, contents=asked).text == "On Vertex."
    assert client.models.generate_content(model=MODEL, contents=asked).text == "On the Gemini API."


async def test_vertex_async_stream(sdk_server: ServerProcess) -> None:
    async with (
        async_options(sdk_server, "aiohttp") as options,
        vertex_client(sdk_server, options).aio as aio,
    ):
        stream = await aio.models.generate_content_stream(model=MODEL, contents="gem-vertex-hi")
        pieces = [chunk.text async for chunk in stream]
    assert len(pieces) > 1 and "".join(p or "" for p in pieces) == "Hello from Gemini on Vertex AI."
    chunks = stream_raw(sdk_server, {"contents": [user("gem-vertex-hi")]}, VERTEX_PATH)
    assert len({c["responseId"] for c in chunks}) == 1


def test_vertex_express_mode(sdk_server: ServerProcess) -> None:
    """An API key and no project: the path has no projects/locations prefix."""
    with genai.Client(vertexai=True, api_key="test", http_options=http_options(sdk_server)) as sdk:
        assert (
            sdk.models.generate_content(model=MODEL, contents="gem-where-am-i").text == "On Vertex."
        )
    assert (
        sdk_server.journal()[-1]["path"]
        == f"/v1beta1/publishers/google/models/{MODEL}:generateContent"
    )


def test_vertex_function_calls(vertex: genai.Client) -> None:
    response = vertex.models.generate_content(
        model=MODEL, contents="gem-forecast", config=tools(FORECAST)
    )
    [call] = response.function_calls or []
    assert (call.name, call.id) == ("get_forecast", "gem_call_forecast_1")


def test_vertex_errors(vertex: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as client_error:
        vertex.models.generate_content(model=MODEL, contents="gem-rate-limit")
    assert client_error.value.code == 429
    with pytest.raises(errors.ServerError) as server_error:
        vertex.models.generate_content(model=MODEL, contents="gem-unavailable")
    assert server_error.value.code == 503


def test_vertex_embed_content_and_batch(vertex: genai.Client, sdk_server: ServerProcess) -> None:
    """gemini-* embedding models: one input goes to :embedContent, several to
    :batchEmbedContents."""
    config = types.EmbedContentConfig(output_dimensionality=8)
    single = vertex.models.embed_content(model=EMBEDDING_MODEL, contents="gem-v-one", config=config)
    [one] = single.embeddings or []
    assert len(one.values or []) == 8 and one.statistics and one.statistics.token_count
    batch = vertex.models.embed_content(
        model=EMBEDDING_MODEL, contents=["gem-v-one", "gem-v-two"], config=config
    )
    vectors = [e.values for e in batch.embeddings or []]
    assert vectors[0] == one.values and len(vectors) == 2
    paths = [str(e["path"]).rsplit(":", 1)[-1] for e in sdk_server.journal()[-2:]]
    assert paths == ["embedContent", "batchEmbedContents"]
    raw = post(
        sdk_server,
        VERTEX_PATH.replace(MODEL, EMBEDDING_MODEL) + ":embedContent",
        {"content": user("gem-v-one"), "embedContentConfig": {"outputDimensionality": 8}},
    ).json()
    validate(types.ContentEmbedding, raw["embedding"])
    assert set(raw) == {"embedding", "usageMetadata", "truncated"}


async def test_vertex_predict_embeddings(sdk_server: ServerProcess) -> None:
    """text-embedding-* models: google-genai calls :predict."""
    config = types.EmbedContentConfig(output_dimensionality=4)
    async with (
        async_options(sdk_server, "httpx") as options,
        vertex_client(sdk_server, options).aio as aio,
    ):
        result = await aio.models.embed_content(
            model="text-embedding-005", contents=["gem-p1", "gem-p2"], config=config
        )
    assert [len(e.values or []) for e in result.embeddings or []] == [4, 4]
    assert result.metadata and result.metadata.billable_character_count == 12
    assert sdk_server.journal()[-1]["path"] == (
        "/v1beta1/projects/aimock/locations/us-central1/publishers/google/models/"
        "text-embedding-005:predict"
    )


def test_vertex_count_tokens(vertex: genai.Client) -> None:
    assert vertex.models.count_tokens(model=MODEL, contents="gem-hello").total_tokens == 3


def express_client(server: ServerProcess) -> genai.Client:
    """Vertex AI express mode: an API key and no project."""
    return genai.Client(vertexai=True, api_key="test", http_options=http_options(server))


def test_vertex_express_stream_embed_and_count(sdk_server: ServerProcess) -> None:
    """Express mode drops the projects/locations prefix from every method; all are Vertex."""
    with express_client(sdk_server) as sdk:
        chunks = list(sdk.models.generate_content_stream(model=MODEL, contents="gem-express"))
        assert len(chunks) > 1 and "".join(c.text or "" for c in chunks) == "Express mode answers."
        assert chunks[0].create_time is not None  # a Vertex chunk
        config = types.EmbedContentConfig(output_dimensionality=4)
        single = sdk.models.embed_content(model=EMBEDDING_MODEL, contents="gem-x1", config=config)
        several = sdk.models.embed_content(
            model="text-embedding-005", contents=["gem-x1", "gem-x2"], config=config
        )
        assert sdk.models.count_tokens(model=MODEL, contents="gem-hello").total_tokens == 3
    assert [len(e.values or []) for e in single.embeddings or []] == [4]
    assert [len(e.values or []) for e in several.embeddings or []] == [4, 4]
    entries = sdk_server.journal()[-4:]
    assert [(e["surface"], e["provider"], e["path"]) for e in entries] == [
        (
            "gemini.generate",
            "vertex",
            f"/v1beta1/publishers/google/models/{MODEL}:streamGenerateContent?alt=sse",
        ),
        (
            "gemini.embed",
            "vertex",
            f"/v1beta1/publishers/google/models/{EMBEDDING_MODEL}:embedContent",
        ),
        ("gemini.embed", "vertex", "/v1beta1/publishers/google/models/text-embedding-005:predict"),
        ("gemini.count_tokens", "vertex", f"/v1beta1/publishers/google/models/{MODEL}:countTokens"),
    ]


async def test_vertex_express_async(sdk_server: ServerProcess) -> None:
    async with async_options(sdk_server, "httpx") as options:
        aio = genai.Client(vertexai=True, api_key="test", http_options=options).aio
        response = await aio.models.generate_content(model=MODEL, contents="gem-express")
    assert response.text == "Express mode answers."
    assert sdk_server.journal(limit="1")[0]["provider"] == "vertex"


# --------------------------------------------------------------------------- models

LISTED = {"models/gemini-2.5-pro", "models/gemini-2.0-flash-lite"}  # named by gemini.yaml


@pytest.mark.parametrize("api_version", ["v1", "v1beta"])
def test_list_models(sdk_server: ServerProcess, api_version: str) -> None:
    """`/v1/models` is OpenAI's listing too: the Gemini API's answers a Google client."""
    with genai.Client(
        api_key="test", http_options=http_options(sdk_server, api_version=api_version)
    ) as sdk:
        models = list(sdk.models.list())
    assert {m.name for m in models} >= LISTED
    assert all(str(m.name).startswith(("models/gemini", "models/gemma")) for m in models)
    pro = next(m for m in models if m.name == "models/gemini-2.5-pro")
    assert pro.display_name == "Gemini 2.5 Pro" and pro.thinking is True
    assert pro.supported_actions and "generateContent" in pro.supported_actions
    assert pro.input_token_limit == 1_048_576 and pro.output_token_limit == 65_536
    [entry] = sdk_server.journal(limit="1")
    assert (entry["surface"], entry["provider"]) == ("gemini.models", "gemini")
    assert str(entry["path"]).startswith(f"/{api_version}/models")


def test_list_models_pages(client: genai.Client, sdk_server: ServerProcess) -> None:
    pager = client.models.list(config=types.ListModelsConfig(page_size=1))
    assert len(pager.page) == 1
    names = [m.name for m in pager]
    assert len(names) >= 2 and set(names) >= LISTED
    assert "pageToken=1" in str(sdk_server.journal()[-len(names) + 1]["path"])


def test_get_model(client: genai.Client) -> None:
    model = client.models.get(model=MODEL)
    assert (model.name, model.version, model.display_name) == (
        f"models/{MODEL}",
        "001",
        "Gemini 2.5 Flash",
    )
    embedding = client.models.get(model=f"models/{EMBEDDING_MODEL}")
    assert embedding.supported_actions and "embedContent" in embedding.supported_actions
    assert embedding.thinking is None


def test_get_unknown_model_is_not_found(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.get(model="gpt-mock-1")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"


def test_model_routes_tell_google_from_openai(sdk_server: ServerProcess) -> None:
    """One path, two listings: Google's for a request with its key (header or `key=`) or its
    client header, OpenAI's otherwise."""
    google_requests: list[dict[str, Any]] = [
        {"headers": {"x-goog-api-key": "k"}},
        {"params": {"key": "k"}},
        {"headers": {"x-goog-api-client": "google-genai-sdk/3.6.1 gl-python/3.11"}},
    ]
    for request in google_requests:
        listing = httpx.get(sdk_server.url + "/v1/models", **request).json()
        assert set(listing) == {"models"}
        for card in listing["models"]:
            assert set(card) >= {
                "name",
                "version",
                "displayName",
                "description",
                "inputTokenLimit",
                "outputTokenLimit",
                "supportedGenerationMethods",
            }
        card = httpx.get(sdk_server.url + f"/v1/models/{MODEL}", **request).json()
        assert card["name"] == f"models/{MODEL}" and card["baseModelId"] == MODEL
    openai_listing = httpx.get(
        sdk_server.url + "/v1/models", headers={"authorization": "Bearer k"}
    ).json()
    assert openai_listing["object"] == "list" and "gpt-mock-1" in {
        m["id"] for m in openai_listing["data"]
    }
    openai_card = httpx.get(sdk_server.url + "/v1/models/gpt-mock-1").json()
    assert openai_card["object"] == "model"


def test_vertex_models(vertex: genai.Client, sdk_server: ServerProcess) -> None:
    model = vertex.models.get(model=MODEL)
    assert (model.name, model.version) == (f"publishers/google/models/{MODEL}", "default")
    assert sdk_server.journal(limit="1")[0]["path"] == f"/v1beta1/publishers/google/models/{MODEL}"
    names = {m.name for m in vertex.models.list()}
    assert {"publishers/google/models/gemini-2.5-pro"} <= names
    [entry] = sdk_server.journal(limit="1")
    assert (entry["provider"], str(entry["path"]).split("?")[0]) == (
        "vertex",
        "/v1beta1/publishers/google/models",
    )
    with express_client(sdk_server) as express:
        assert express.models.get(model=MODEL).name == f"publishers/google/models/{MODEL}"


# --------------------------------------------------------------------------- environment


def test_environment_variables(sdk_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the operator publishes (registry.environment) is enough for both clients."""
    from aimock.providers.registry import environment

    for name in ("GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment(sdk_server.url).items():
        if name.startswith(("GOOGLE_", "GEMINI_")):
            monkeypatch.setenv(name, value)
    with genai.Client() as sdk:
        assert sdk.models.generate_content(model=MODEL, contents="gem-hello").text == HELLO
    with genai.Client(
        vertexai=True, project="aimock", location="us-central1", credentials=Credentials(token="t")
    ) as sdk:
        assert (
            sdk.models.generate_content(model=MODEL, contents="gem-where-am-i").text == "On Vertex."
        )
