"""Errors on the OpenAI surfaces, as the official `openai` SDK raises them.

Bad requests, oversized bodies, error fixtures, misses and strict mode must all answer with
the status OpenAI would use and its envelope `{"error": {message, type, param, code}}`:
never a traceback, never an HTML page. Fixtures: tests/sdk/fixtures/chat.yaml ("chat-err-").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletion

from tests.conftest import ROOT, ServerProcess
from tests.sdk.clients import Client, resolve

MODEL = "gpt-4o"
LIMIT = 10 * 1024 * 1024  # the server's request body limit
ENVELOPE_KEYS = {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def strict_server(server_factory: Any) -> ServerProcess:
    server: ServerProcess = server_factory.start(
        "--strict", "-f", str(ROOT / "tests" / "sdk" / "fixtures" / "chat.yaml")
    )
    return server


async def post_chat(client: Client, **kwargs: Any) -> Any:
    return await resolve(client.post("/chat/completions", cast_to=ChatCompletion, **kwargs))


async def chat(client: Client, text: str, **kwargs: Any) -> Any:
    messages = [{"role": "user", "content": text}]
    return await resolve(client.chat.completions.create(model=MODEL, messages=messages, **kwargs))


def assert_envelope(error: openai.APIStatusError) -> dict[str, Any]:
    """The body is exactly OpenAI's envelope, JSON, with a request id; returns `error`."""
    response = error.response
    assert response.headers["content-type"].startswith("application/json")
    text = response.text
    assert "Traceback" not in text and "<html" not in text.lower()
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ENVELOPE_KEYS
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert error.request_id is not None and error.request_id.startswith("req_")
    inner: dict[str, Any] = body["error"]
    return inner


# -- malformed and invalid requests -------------------------------------------------------


async def test_malformed_json(client: Client) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await post_chat(
            client, content=b'{"model": "gpt-4o", "messages": [', options={"headers": _json()}
        )
    error = assert_envelope(caught.value)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_json"
    assert error["param"] is None
    assert error["message"].startswith("Malformed JSON")


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


USER = [{"role": "user", "content": "chat-plain-hello"}]
BAD_BODIES = [
    pytest.param({"model": MODEL}, "messages", "missing_required_parameter", id="no-messages"),
    pytest.param({"messages": USER}, "model", "missing_required_parameter", id="no-model"),
    pytest.param({"model": MODEL, "messages": []}, "messages", "empty_array", id="empty-messages"),
    pytest.param(
        {"model": MODEL, "messages": "hello"}, "messages", "invalid_type", id="messages-string"
    ),
    pytest.param(
        {"model": MODEL, "messages": USER, "stream": "yes"}, "stream", "invalid_type", id="stream"
    ),
    pytest.param({"model": 4, "messages": USER}, "model", "invalid_type", id="model-number"),
    pytest.param(
        {"model": MODEL, "messages": [{"role": "wizard", "content": "hi"}]},
        "messages[0].role",
        "invalid_value",
        id="role-invalid",
    ),
    pytest.param(
        {"model": MODEL, "messages": [{"content": "hi"}]},
        "messages[0].role",
        "missing_required_parameter",
        id="role-missing",
    ),
    pytest.param(
        {"model": MODEL, "messages": [{"role": ["user"], "content": "hi"}]},
        "messages[0].role",
        "invalid_value",
        id="role-not-a-string",
    ),
    pytest.param(
        {"model": MODEL, "messages": ["hi"]}, "messages[0]", "invalid_type", id="message-string"
    ),
    pytest.param(
        {"model": MODEL, "messages": [{"role": "user", "content": 42}]},
        "messages[0].content",
        "invalid_type",
        id="content-number",
    ),
    pytest.param(
        {"model": MODEL, "messages": [*USER, {"role": "assistant", "tool_calls": 5}]},
        "messages[1].tool_calls",
        "invalid_type",
        id="tool-calls-number",
    ),
    pytest.param(
        {
            "model": MODEL,
            "messages": [*USER, {"role": "assistant", "tool_calls": [{"function": "f"}]}],
        },
        "messages[1].tool_calls[0].function",
        "invalid_type",
        id="tool-call-function-string",
    ),
    pytest.param(
        {"model": MODEL, "messages": [*USER, {"role": "tool", "tool_call_id": 7}]},
        "messages[1].tool_call_id",
        "invalid_type",
        id="tool-call-id-number",
    ),
    pytest.param(
        {"model": MODEL, "messages": USER, "tools": [{"type": "function", "function": {}}]},
        "tools[0].function.name",
        "missing_required_parameter",
        id="tool-without-name",
    ),
    pytest.param(
        {"model": MODEL, "messages": USER, "response_format": {"type": "yaml"}},
        "response_format.type",
        "invalid_value",
        id="response-format-unknown",
    ),
    pytest.param(
        {"model": MODEL, "messages": USER, "stream_options": []},
        "stream_options",
        "invalid_type",
        id="stream-options-array",
    ),
]


@pytest.mark.parametrize(("body", "param", "code"), BAD_BODIES)
async def test_invalid_request_is_a_400(
    client: Client, body: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await post_chat(client, body=body)
    error = assert_envelope(caught.value)
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert caught.value.param == param and caught.value.code == code


@pytest.mark.parametrize("raw", [b"", b"[1, 2]", b'"text"'], ids=["empty", "array", "string"])
async def test_body_that_is_not_an_object(client: Client, raw: bytes) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await post_chat(client, content=raw, options={"headers": _json()})
    assert assert_envelope(caught.value)["type"] == "invalid_request_error"


async def test_body_over_the_limit_is_a_413(client: Client) -> None:
    filler = "x" * (LIMIT + 1024)
    with pytest.raises(openai.APIStatusError) as caught:
        await chat(client, filler)
    assert caught.value.status_code == 413
    error = assert_envelope(caught.value)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "request_too_large"


def chunked_chat(server: ServerProcess, text_mib: int) -> httpx.Response:
    """POST a chat request without Content-Length (Transfer-Encoding: chunked), its user
    text padded with `text_mib` MiB sent one MiB per chunk."""

    def body() -> Iterator[bytes]:
        yield b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "chat-plain-hello '
        for _ in range(text_mib):
            yield b"x" * 1024 * 1024
        yield b'"}]}'

    return httpx.post(
        server.base_url + "/chat/completions", content=body(), headers=_json(), timeout=60
    )


def test_chunked_body_is_read_whole(sdk_server: ServerProcess) -> None:
    response = chunked_chat(sdk_server, 2)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello from the chat fixture."


def test_chunked_body_over_the_limit_is_a_413(sdk_server: ServerProcess) -> None:
    """Without a Content-Length the limit is enforced while reading."""
    response = chunked_chat(sdk_server, 11)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


async def test_unknown_route_answers_json(client: Client) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await resolve(client.get("/no/such/route", cast_to=ChatCompletion))
    assert assert_envelope(caught.value)["code"] == "unknown_route"


def test_wrong_method_answers_json(sdk_server: ServerProcess) -> None:
    response = httpx.get(sdk_server.base_url + "/chat/completions")
    assert response.status_code == 405
    assert set(response.json()["error"]) == ENVELOPE_KEYS


# -- error fixtures -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_rate_limit_fixture(client: Client, stream: bool) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await chat(client, "chat-err-ratelimit", stream=stream)
    error = assert_envelope(caught.value)
    assert error == {
        "message": "Rate limit reached for gpt-4o",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    headers = caught.value.response.headers
    assert headers["retry-after"] == "7"
    assert headers["x-ratelimit-remaining-requests"] == "0"


async def test_authentication_fixture(client: Client) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        await chat(client, "chat-err-auth")
    error = assert_envelope(caught.value)
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")
    assert caught.value.status_code == 401


@pytest.mark.parametrize("stream", [False, True])
async def test_server_error_fixture(client: Client, stream: bool) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await chat(client, "chat-err-server", stream=stream)
    assert caught.value.status_code == 500
    error = assert_envelope(caught.value)
    assert error["type"] == "server_error", "the default type of a 5xx"
    assert error["message"] == "The server had an error while processing your request"


# -- misses and strict mode ---------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_miss_is_a_404(client: Client, stream: bool) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await chat(client, "chat-nothing-matches-this", stream=stream)
    error = assert_envelope(caught.value)
    assert (error["type"], error["code"]) == ("invalid_request_error", "no_fixture_match")
    assert "No fixture matched" in error["message"]
    assert "chat-nothing-matches-this" in error["message"]


async def test_strict_server_miss_is_a_503(strict_server: ServerProcess) -> None:
    async with AsyncOpenAI(
        base_url=strict_server.base_url, api_key="test", max_retries=0
    ) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            await chat(client, "chat-nothing-matches-this")
        assert caught.value.status_code == 503
        error = assert_envelope(caught.value)
        assert error["code"] == "no_fixture_match"
        assert error["message"].startswith("Strict mode")
        hit = await chat(client, "chat-strict-known")
        assert hit.choices[0].message.content == "Strict servers still answer what they know."


def test_strict_server_header_false_relaxes_to_404(strict_server: ServerProcess) -> None:
    sync = OpenAI(base_url=strict_server.base_url, api_key="test", max_retries=0)
    with sync, pytest.raises(openai.NotFoundError):
        sync.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "chat-nothing-matches-this"}],
            extra_headers={"X-AIMock-Strict": "false"},
        )


@pytest.mark.parametrize("value", ["true", "1"])
async def test_strict_header_on_lenient_server_is_a_503(client: Client, value: str) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await chat(client, "chat-nothing-matches-this", extra_headers={"X-AIMock-Strict": value})
    assert caught.value.status_code == 503
    assert assert_envelope(caught.value)["code"] == "no_fixture_match"


async def test_strict_header_still_serves_matches(client: Client) -> None:
    completion = await chat(client, "chat-plain-hello", extra_headers={"X-AIMock-Strict": "true"})
    assert completion.choices[0].message.content == "Hello from the chat fixture."
