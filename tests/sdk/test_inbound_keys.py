"""Inbound API keys (`aimock serve --api-key`, `AIMOCK_API_KEYS`, aimock.json's `auth`, the
stack's `apiKeys`): each official SDK raises its own authentication error on a missing or
wrong key, in its provider's own status and body, and works with the right one; the control
API and the probes stay open; no key reaches the journal, the log or a recording."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import boto3
import cohere
import httpx
import httpx2
import ollama
import openai
import pytest
import websockets
from botocore.config import Config
from botocore.exceptions import ClientError
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mistralai.client import Mistral

from tests.conftest import ROOT, ServerProcess, serving, serving_fixtures

KEY, OTHER = "aimock-test-key-7f3a9c", "aimock-second-key-51e0"
WRONG = "not-a-configured-key-2b8d"
FIXTURES: list[dict[str, Any]] = [
    {"match": {"userMessage": "hello"}, "response": {"content": "Hi, authenticated."}},
    {"match": {"endpoint": "elevenlabs-tts"}, "response": {"audio": "SUQz", "format": "mp3"}},
]
MCP_STACK = Path(__file__).resolve().parent / "fixtures_mcp"
NO_RETRIES = Config(retries={"max_attempts": 1})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("keys")
    (folder / "mcp-stack.yaml").symlink_to(MCP_STACK / "stack.yaml")
    with serving_fixtures(folder, FIXTURES, "--api-key", KEY, "--api-key", OTHER) as running:
        yield running


def _chat(client: openai.OpenAI) -> str | None:
    with client:
        reply = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hello"}]
        )
    return reply.choices[0].message.content


def test_openai_refuses_a_wrong_key_and_none(server: ServerProcess) -> None:
    with pytest.raises(openai.AuthenticationError) as wrong:
        _chat(openai.OpenAI(base_url=server.base_url, api_key=WRONG, max_retries=0))
    assert wrong.value.status_code == 401 and wrong.value.code == "invalid_api_key"
    none = httpx.post(f"{server.base_url}/chat/completions", json={"model": "gpt-4o"})
    assert none.status_code == 401
    assert none.json()["error"]["message"].startswith("You didn't provide an API key")
    for key in (KEY, OTHER):
        sdk = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
        assert _chat(sdk) == "Hi, authenticated."
    # Streamed through the same check.
    sdk = openai.OpenAI(base_url=server.base_url, api_key=WRONG, max_retries=0)
    with sdk, pytest.raises(openai.AuthenticationError):
        sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hello"}], stream=True
        )


def test_azure_openai(server: ServerProcess) -> None:
    def azure(key: str) -> openai.AzureOpenAI:
        return openai.AzureOpenAI(
            azure_endpoint=server.url, api_key=key, api_version="2024-10-21", max_retries=0
        )

    with pytest.raises(openai.AuthenticationError) as wrong:
        _chat(azure(WRONG))
    assert wrong.value.code == "401" and "subscription key" in wrong.value.message
    assert _chat(azure(KEY)) == "Hi, authenticated."


def test_anthropic(server: ServerProcess) -> None:
    def ask(key: str) -> Any:
        with anthropic.Anthropic(base_url=server.url, api_key=key, max_retries=0) as client:
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=64,
                messages=[{"role": "user", "content": "hello"}],
            )

    with pytest.raises(anthropic.AuthenticationError) as wrong:
        ask(WRONG)
    assert wrong.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    assert ask(KEY).content[0].text == "Hi, authenticated."


def test_gemini_answers_as_google_does(server: ServerProcess) -> None:
    def ask(key: str) -> Any:
        options = genai_types.HttpOptions(base_url=server.url)
        with genai.Client(api_key=key, http_options=options) as client:
            return client.models.generate_content(model="gemini-2.5-flash", contents="hello")

    with pytest.raises(genai_errors.ClientError) as wrong:
        ask(WRONG)
    assert (wrong.value.code, wrong.value.status) == (400, "INVALID_ARGUMENT")
    assert wrong.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert ask(KEY).text == "Hi, authenticated."
    # The key as the `key` query parameter, as REST callers send it.
    path = "/v1beta/models/gemini-2.5-flash:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
    assert httpx.post(f"{server.url}{path}?key={KEY}", json=body).status_code == 200
    missing = httpx.post(f"{server.url}{path}", json=body)
    assert (missing.status_code, missing.json()["error"]["status"]) == (403, "PERMISSION_DENIED")


def test_bedrock_checks_the_access_key_id(server: ServerProcess) -> None:
    def ask(access_key: str) -> Any:
        client = boto3.client(
            "bedrock-runtime",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key="any-secret",
            config=NO_RETRIES,
        )
        try:
            return client.converse(
                modelId="anthropic.claude-3-haiku-20240307-v1:0",
                messages=[{"role": "user", "content": [{"text": "hello"}]}],
            )
        finally:
            client.close()

    with pytest.raises(ClientError) as wrong:
        ask("AKIAWRONG")
    assert wrong.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert wrong.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert ask(KEY)["output"]["message"]["content"][0]["text"] == "Hi, authenticated."


def test_cohere_mistral_and_ollama(server: ServerProcess) -> None:
    chat: Any = [{"role": "user", "content": "hello"}]
    with httpx.Client() as http:
        wrong = cohere.ClientV2(api_key=WRONG, base_url=server.url, httpx_client=http)
        with pytest.raises(cohere.UnauthorizedError):
            wrong.chat(model="command-r", messages=chat)
        right = cohere.ClientV2(api_key=KEY, base_url=server.url, httpx_client=http)
        answer = right.chat(model="command-r", messages=chat).message.content
        assert answer is not None and answer[0].text == "Hi, authenticated."  # type: ignore[union-attr]

    with Mistral(api_key=WRONG, server_url=server.url) as client:
        with pytest.raises(Exception) as refused:
            client.chat.complete(model="mistral-small-latest", messages=chat)
        assert getattr(refused.value, "status_code", None) == 401
    with Mistral(api_key=KEY, server_url=server.url) as client:
        reply = client.chat.complete(model="mistral-small-latest", messages=chat)
        assert reply.choices[0].message.content == "Hi, authenticated."

    with ollama.Client(host=server.url) as bare, pytest.raises(ollama.ResponseError) as unsigned:
        bare.chat(model="llama3.2", messages=chat)
    assert unsigned.value.status_code == 401 and unsigned.value.error == "unauthorized"
    signed = {"Authorization": f"Bearer {KEY}"}
    with ollama.Client(host=server.url, headers=signed) as keyed:
        assert keyed.chat(model="llama3.2", messages=chat).message.content == "Hi, authenticated."


def test_elevenlabs(server: ServerProcess) -> None:
    def speak(key: str) -> bytes:
        with httpx.Client() as http:
            client = ElevenLabs(api_key=key, base_url=server.url, httpx_client=http)
            return b"".join(client.text_to_speech.convert("JBFqnCBsd6RMkjVDRZzb", text="hi"))

    with pytest.raises(ApiError) as wrong:
        speak(WRONG)
    assert wrong.value.status_code == 401
    assert wrong.value.body == {
        "detail": {"status": "invalid_api_key", "message": "Invalid API key"}
    }
    assert speak(KEY).startswith(b"ID3")


async def test_mcp_asks_for_a_bearer_token(server: ServerProcess) -> None:
    refused = httpx.post(f"{server.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    headers = {"Authorization": f"Bearer {KEY}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        streamable_http_client(f"{server.url}/mcp/weather", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert "get_weather" in [tool.name for tool in (await session.list_tools()).tools]


def test_control_api_and_probes_stay_open(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/health").status_code == 200
    assert httpx.get(f"{server.url}/metrics").status_code == 200
    assert isinstance(server.journal(), list)
    # An unknown path is refused like any other without a key: it tells nothing.
    assert httpx.get(f"{server.url}/v1/no/such/route").status_code == 401


def test_no_key_reaches_the_journal_or_the_log(server: ServerProcess) -> None:
    httpx.post(
        f"{server.url}/v1beta/models/gemini-2.5-flash:generateContent?key={KEY}",
        json={"contents": [{"role": "user", "parts": [{"text": "hello"}]}]},
        headers={
            "x-goog-api-key": OTHER,
            "Sec-WebSocket-Protocol": f"openai-insecure-api-key.{KEY}",
        },
    )
    journal = json.dumps(server.journal())
    assert server.journal()[-1]["response"]["status"] == 200  # type: ignore[index]
    for secret in (KEY, OTHER, WRONG):
        assert secret not in journal
        assert not any(secret in line for line in server.output)


def _serving_line(server: ServerProcess) -> str:
    """The second ready line (what is served): printed just after the first."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [line for line in server.output if line.startswith("[aimock] serving")]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("".join(server.output))


def test_the_other_sources_of_keys(tmp_path: Path) -> None:
    (tmp_path / "fixtures.json").write_text(json.dumps({"fixtures": FIXTURES}))
    config = tmp_path / "aimock.json"
    config.write_text(
        json.dumps({"llm": {"fixtures": "fixtures.json"}, "auth": {"apiKeys": [KEY]}})
    )
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "stack.yaml").write_text(
        "apiVersion: aimock.dev/v1alpha1\nkind: MockStack\nmetadata: {name: keyed}\n"
        f"spec:\n  apiKeys: [{KEY}]\n  fixtures:\n"
        "    - match: {userMessage: hello}\n      response: {content: 'Hi, authenticated.'}\n"
    )
    environment = {"AIMOCK_API_KEYS": f" {OTHER} ,{KEY}"}
    for args, env, key in (
        (["-c", str(config)], None, KEY),  # aimock.json's auth (AIMock's format)
        (["-f", str(stack)], None, KEY),  # the stack's apiKeys
        (["-f", str(tmp_path / "fixtures.json")], environment, OTHER),  # AIMOCK_API_KEYS
    ):
        with serving(*args, env=env) as running:
            assert "inbound API keys (" in _serving_line(running)
            good = openai.OpenAI(base_url=running.base_url, api_key=key, max_retries=0)
            assert _chat(good) == "Hi, authenticated."
            with pytest.raises(openai.AuthenticationError):
                _chat(openai.OpenAI(base_url=running.base_url, api_key=WRONG, max_retries=0))


def test_a_bad_key_configuration_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "fixtures.json").write_text(json.dumps({"fixtures": FIXTURES}))
    for env, words in (
        ({"AIMOCK_API_KEYS": ""}, "AIMOCK_API_KEYS[0]: an API key must not be empty"),
        ({"AIMOCK_API_KEYS": "a,a"}, "the same API key is given twice"),
    ):
        ran = subprocess.run(
            [sys.executable, "-m", "aimock", "serve", "-f", str(tmp_path), "--port", "0"],
            env={**os.environ, **env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ran.returncode == 2 and words in ran.stderr, ran.stderr


def test_record_mode_keeps_the_mocks_key_from_the_provider(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("keyed-record")
    with (
        serving_fixtures(tmp_path_factory.mktemp("upstream"), FIXTURES) as upstream,
        serving(
            "-f", str(folder), "--record", "--provider-openai", upstream.url, "--api-key", KEY
        ) as recorder,
    ):
        assert _chat(openai.OpenAI(base_url=recorder.base_url, api_key=KEY)) == "Hi, authenticated."
        relayed = upstream.journal()[-1]
        assert "authorization" not in relayed["headers"]  # type: ignore[operator]
    recorded = "".join(path.read_text() for path in (folder / "recorded").rglob("*.json"))
    assert "Hi, authenticated." in recorded and KEY not in recorded


async def test_a_realtime_socket_needs_a_key_too(server: ServerProcess) -> None:
    wrong = openai.AsyncOpenAI(base_url=server.base_url, api_key=WRONG, max_retries=0)
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with wrong.realtime.connect(model="gpt-realtime"):
            pass
    assert refused.value.response.status_code == 401
    await wrong.close()
    right = openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
    async with right.realtime.connect(model="gpt-realtime") as connection:
        assert json.loads(await connection.recv_bytes())["type"] == "session.created"
    await right.close()
    # A browser cannot set headers: it offers the key as a subprotocol.
    url = server.url.replace("http", "ws") + "/v1/realtime?model=gpt-realtime"
    protocols: Any = ["realtime", f"openai-insecure-api-key.{KEY}"]
    async with websockets.connect(url, subprotocols=protocols) as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"


async def test_a2a_asks_for_a_bearer_token() -> None:
    from a2a.client import ClientConfig, ClientFactory
    from a2a.client.errors import AgentCardResolutionError
    from a2a.helpers.proto_helpers import get_message_text, new_text_message
    from a2a.types.a2a_pb2 import Role, SendMessageRequest

    stack = Path(__file__).resolve().parent / "fixtures_a2a"
    with serving("-f", str(stack), "--api-key", KEY) as a2a:
        agent = f"{a2a.url}/a2a/travel"
        async with httpx.AsyncClient(timeout=10) as anonymous:
            # The agent card is behind the key too: the SDK cannot resolve it.
            with pytest.raises(AgentCardResolutionError) as refused:
                await ClientFactory(ClientConfig(httpx_client=anonymous)).create_from_url(agent)
            assert "401" in str(refused.value)
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx.AsyncClient(timeout=10, headers=headers) as keyed:
            config = ClientConfig(httpx_client=keyed, streaming=False)
            client = await ClientFactory(config).create_from_url(agent)
            message = new_text_message("please a2a-itinerary", role=Role.ROLE_USER)
            [event] = [e async for e in client.send_message(SendMessageRequest(message=message))]
            assert get_message_text(event.task.status.message) == "Here is your itinerary"


def test_hostile_credentials_are_refused_in_the_envelope(server: ServerProcess) -> None:
    """A credential that is not UTF-8 is a wrong key (401 in OpenAI's envelope), never a 500."""
    address = httpx.URL(server.url)
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]})
    for header in (b"Authorization: Bearer \xff\xfe", b"x-api-key: \xc3\x28"):
        request = (
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\n" + header + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body.encode()
        )
        with socket.create_connection((address.host, address.port)) as sock:
            sock.sendall(request)
            answer = b"".join(iter(lambda: sock.recv(65536), b""))
        head, _, rest = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 401"), head
        assert json.loads(rest)["error"]["code"] == "invalid_api_key"
