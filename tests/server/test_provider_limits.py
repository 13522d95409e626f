"""Regression tests for issue 12 on the LLM provider surfaces, against a real server process:
every size-like field is bounded by the real API's limit and refused with a 400 in the
provider's own envelope, naming the field; wrong types nested in a body are 400s naming the
field, never a crash; a fixture's extreme floats or deeply nested tool-call arguments never
crash a renderer. After all of it the journal still reads and the log holds no traceback.

The error envelopes of each family live here, shared with test_provider_fuzz.py.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from aimock.fixtures.loading import LoadError, load_text
from aimock.providers.common import FLOAT32_MAX, deterministic_vector
from aimock.wire import MAX_JSON_DEPTH
from tests.conftest import ServerProcess, serving_fixtures

INT64_MAX = 2**63 - 1
HUGE_VECTOR = [1e308, -1e308, 0.5, 3.5e38, -3.5e38]
# Deeper than any request may be (see `deep_arguments`), and past what orjson can write once
# a renderer wraps it.
ARGUMENT_DEPTH = 250

# --------------------------------------------------------------------------- envelopes


def _object(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict), body
    return body


def _openai(response: httpx.Response) -> str:
    body = _object(response)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"message", "type", "param", "code"} <= set(error), body
    return str(error["message"])


def _openrouter(response: httpx.Response) -> str:
    error = _object(response)["error"]
    assert error["code"] == response.status_code, error
    return str(error["message"])


def _anthropic(response: httpx.Response) -> str:
    body = _object(response)
    assert body["type"] == "error" and isinstance(body["error"]["type"], str), body
    assert response.headers["request-id"], response.headers
    return str(body["error"]["message"])


def _gemini(response: httpx.Response) -> str:
    body = _object(response)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == response.status_code and isinstance(error["status"], str), body
    return str(error["message"])


def _bedrock(response: httpx.Response) -> str:
    body = _object(response)
    assert set(body) == {"message"}, body
    assert response.headers["x-amzn-ErrorType"], response.headers
    return str(body["message"])


def _ollama(response: httpx.Response) -> str:
    body = _object(response)
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    return str(body["error"])


def _cohere(response: httpx.Response) -> str:
    body = _object(response)
    assert set(body) == {"id", "message"}, body
    return str(body["message"])


def _tavily(response: httpx.Response) -> str:
    body = _object(response)
    assert set(body) == {"detail"} and set(body["detail"]) == {"error"}, body
    return str(body["detail"]["error"])


# Each family's error envelope: checks a non-2xx answer's shape and returns its message.
Envelope = Callable[[httpx.Response], str]
ENVELOPES: dict[str, Envelope] = {
    "openai": _openai,
    "openrouter": _openrouter,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "bedrock": _bedrock,
    "ollama": _ollama,
    "cohere": _cohere,
    "tavily": _tavily,
}

# --------------------------------------------------------------------------- server


def nested(depth: int, leaf: Any = "x") -> Any:
    """`leaf` inside `depth` arrays."""
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def deep_arguments() -> str:
    """Tool-call arguments holding a JSON object nested `ARGUMENT_DEPTH` deep."""
    return '{"a":' * ARGUMENT_DEPTH + "1" + "}" * ARGUMENT_DEPTH


FIXTURES = [
    {"match": {"inputText": "huge-vector"}, "response": {"embedding": HUGE_VECTOR}},
    {
        "match": {"userMessage": "deep-arguments"},
        "response": {"toolCalls": [{"name": "lookup", "arguments": deep_arguments()}]},
    },
    {
        "match": {"userMessage": "huge-usage"},
        "response": {
            "content": "ok",
            "usage": {"input_tokens": 2**31 - 1, "output_tokens": 2**31 - 1},
        },
    },
    {"match": {"endpoint": "chat"}, "response": {"content": "hello"}},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("limits"), FIXTURES) as running:
        yield running


def post(server: ServerProcess, path: str, body: Any) -> httpx.Response:
    # The stdlib writes integers past 64 bits too (orjson would refuse them).
    return httpx.post(
        server.url + path,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        timeout=60,
    )


# --------------------------------------------------------------------------- requests

GEMINI = "/v1beta/models/gemini-embedding-001"
VERTEX = "/v1beta1/projects/p/locations/l/publishers/google/models/text-embedding-005"


def _texts(count: int) -> list[str]:
    return [f"t{i}" for i in range(count)]


def _gemini_requests(count: int, dimensions: int = 8) -> list[dict[str, Any]]:
    return [
        {"content": {"parts": [{"text": t}]}, "outputDimensionality": dimensions}
        for t in _texts(count)
    ]


def _chat(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **fields}


def _rerank(**fields: Any) -> dict[str, Any]:
    return {"model": "rerank-v3.5", "query": "q", "documents": ["a", "b"], **fields}


@dataclass(frozen=True)
class Refused:
    """A request the real API refuses with a 400 naming `param` (in `error.param` on OpenAI's
    wire, in the message on the others)."""

    family: str
    path: str
    body: Any
    param: str


OPENAI_EMBED = {"model": "text-embedding-3-large", "input": "x"}
COHERE_EMBED = {"model": "embed-v4.0", "texts": ["x"], "embedding_types": ["float"]}
DIMENSION = "output_dimension"
REFUSED = [
    # Finding 1: the size-like fields.
    Refused("openai", "/v1/embeddings", {**OPENAI_EMBED, "dimensions": INT64_MAX}, "dimensions"),
    Refused("openai", "/v1/embeddings", {**OPENAI_EMBED, "dimensions": 3073}, "dimensions"),
    Refused("openai", "/v1/embeddings", {**OPENAI_EMBED, "dimensions": 0}, "dimensions"),
    Refused("openai", "/v1/embeddings", {**OPENAI_EMBED, "dimensions": 2**70}, "dimensions"),
    Refused("openai", "/v1/embeddings", {**OPENAI_EMBED, "input": _texts(2049)}, "input"),
    Refused(
        "openai",
        "/openai/deployments/d/embeddings?api-version=2024-10-21",
        {**OPENAI_EMBED, "dimensions": 3073},
        "dimensions",
    ),
    Refused("openrouter", "/api/v1/embeddings", {**OPENAI_EMBED, "dimensions": -1}, "dimensions"),
    Refused("openai", "/v1/chat/completions", _chat(n=129), "n"),
    Refused("openai", "/v1/chat/completions", _chat(n=0), "n"),
    Refused("openai", "/v1/chat/completions", _chat(n="2"), "n"),
    Refused("openai", "/v1/moderations", {"input": _texts(2049)}, "input"),
    Refused(
        "openai",
        "/v1/moderations",
        {"input": [{"type": "image_url", "image_url": {"url": "data:,"}}] * 2},
        "input",
    ),
    Refused("cohere", "/v2/embed", {**COHERE_EMBED, "output_dimension": INT64_MAX}, DIMENSION),
    Refused("cohere", "/v2/embed", {**COHERE_EMBED, "output_dimension": 300}, DIMENSION),
    Refused("cohere", "/v2/embed", {**COHERE_EMBED, "texts": _texts(97)}, "texts"),
    Refused("cohere", "/v1/embed", {"texts": _texts(97)}, "texts"),
    Refused("cohere", "/v2/embed", {"model": "embed-v4.0", "images": ["data:,"] * 97}, "images"),
    Refused(
        "cohere",
        "/v2/embed",
        {"model": "embed-v4.0", "inputs": [{"content": [{"type": "text", "text": "x"}]}] * 97},
        "inputs",
    ),
    Refused("cohere", "/v2/rerank", _rerank(top_n=INT64_MAX), "top_n"),
    Refused("cohere", "/v2/rerank", _rerank(top_n=0), "top_n"),
    Refused("cohere", "/v1/rerank", _rerank(top_n=10_001), "top_n"),
    Refused("cohere", "/v2/rerank", _rerank(documents=_texts(10_001)), "documents"),
    Refused(
        "gemini",
        f"{GEMINI}:embedContent",
        {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": INT64_MAX},
        "outputDimensionality",
    ),
    Refused(
        "gemini",
        f"{GEMINI}:batchEmbedContents",
        {"requests": _gemini_requests(1, dimensions=3073)},
        "outputDimensionality",
    ),
    Refused(
        "gemini",
        f"{GEMINI}:batchEmbedContents",
        {"requests": _gemini_requests(101)},
        "requests",
    ),
    Refused(
        "gemini",
        f"{VERTEX}:embedContent",
        {"content": {"parts": [{"text": "x"}]}, "embedContentConfig": {"outputDimensionality": 0}},
        "outputDimensionality",
    ),
    Refused(
        "gemini",
        f"{VERTEX}:predict",
        {"instances": [{"content": "x"}], "parameters": {"outputDimensionality": 10**6}},
        "outputDimensionality",
    ),
    Refused(
        "gemini",
        f"{VERTEX}:predict",
        {"instances": [{"content": t} for t in _texts(251)]},
        "instances",
    ),
    Refused("tavily", "/search", {"query": "q", "max_results": 21}, "max_results"),
    Refused("tavily", "/search", {"query": "q", "max_results": INT64_MAX}, "max_results"),
    Refused("ollama", "/api/embed", {"model": "nomic-embed-text", "input": _texts(2049)}, "input"),
    # Finding 6: one request, a 500 before.
    Refused(
        "cohere",
        "/v1/rerank",
        {"query": "q", "documents": [{"text": "a"}], "rank_fields": [["text"]]},
        "rank_fields[0]",
    ),
    # Wrong types nested deep inside fields: a 400 naming the field.
    Refused(
        "openai",
        "/v1/responses",
        {
            "model": "gpt-4o",
            "input": "hi",
            "tools": [{"type": "function", "name": "f", "parameters": nested(120)}],
        },
        "tools[0].parameters",
    ),
    Refused(
        "openai",
        "/v1/chat/completions",
        {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [{"id": nested(120), "function": {"name": "f"}}],
                },
                {"role": "user", "content": "hi"},
            ],
        },
        "messages[0].tool_calls[0].id",
    ),
    Refused("openai", "/v1/embeddings", {"model": "m", "input": [nested(120)]}, "input[0][0]"),
    Refused(
        "gemini",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        {
            "contents": [
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": nested(120)}}]},
                {"role": "user", "parts": [{"text": "hi"}]},
            ]
        },
        "contents[0].parts[0].functionCall.args",
    ),
    Refused(
        "ollama",
        "/api/chat",
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "think": nested(120)},
        "think",
    ),
    Refused(
        "ollama",
        "/api/chat",
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "format": nested(120)},
        "format",
    ),
    Refused(
        "cohere",
        "/v2/embed",
        {**COHERE_EMBED, "embedding_types": [nested(120)]},
        "embedding_types[0]",
    ),
    Refused(
        "anthropic",
        "/v1/messages",
        {
            "model": "claude",
            "max_tokens": 10,
            "messages": [
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t", "name": "f", "input": nested(120)}],
                },
                {"role": "user", "content": "hi"},
            ],
        },
        "messages.0.content.0.input",
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: f"{case.path}:{case.param}")
def test_a_bad_value_is_a_400_in_the_envelope_naming_the_field(
    server: ServerProcess, case: Refused
) -> None:
    response = post(server, case.path, case.body)
    assert response.status_code == 400, response.text
    message = ENVELOPES[case.family](response)
    if case.family == "openai":  # the wire that has a field for it
        assert response.json()["error"]["param"] == case.param
    else:
        assert case.param in message, message


DEEP_FIELDS = [
    (
        "bedrock",
        "/model/m/converse",
        {"messages": [{"role": "user", "content": [{"toolUse": {"input": "DEEP"}}]}]},
    ),
    (
        "gemini",
        "/v1beta/models/g:generateContent",
        {"contents": [{"parts": [{"functionCall": {"name": "f", "args": "DEEP"}}]}]},
    ),
    (
        "ollama",
        "/api/chat",
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "think": "DEEP"},
    ),
    ("cohere", "/v2/embed", {**COHERE_EMBED, "embedding_types": "DEEP"}),
    ("openai", "/v1/embeddings", {"model": "m", "input": "DEEP"}),
]


@pytest.mark.parametrize(("family", "path", "body"), DEEP_FIELDS, ids=lambda x: str(x)[:30])
def test_a_body_deeper_than_the_limit_is_a_400_in_the_envelope(
    server: ServerProcess, family: str, path: str, body: dict[str, Any]
) -> None:
    """The fields that crashed at 255-1000 levels: past `MAX_JSON_DEPTH` the body is refused
    whole, and just under it (above) a wrong type is named, a right one served."""
    raw = json.dumps(body).replace('"DEEP"', json.dumps(nested(MAX_JSON_DEPTH + 50)))
    response = httpx.post(
        server.url + path, content=raw, headers={"content-type": "application/json"}, timeout=60
    )
    assert response.status_code == 400, response.text[:300]
    assert str(MAX_JSON_DEPTH) in ENVELOPES[family](response)


def test_a_deep_document_is_a_fine_bedrock_tool_input(server: ServerProcess) -> None:
    """Bedrock takes any JSON document as a toolUse input: nested 120 deep, it is served."""
    tool_use = {"toolUseId": "t", "name": "f", "input": {"a": nested(120)}}
    body = {
        "messages": [
            {"role": "assistant", "content": [{"toolUse": tool_use}]},
            {"role": "user", "content": [{"text": "hi"}]},
        ]
    }
    assert post(server, "/model/m/converse", body).status_code == 200


def test_the_freezing_request_is_refused_and_the_server_answers_the_next(
    server: ServerProcess,
) -> None:
    """The issue's reproduction: this request used to stop every other one."""
    body = {"model": "m", "input": "x", "dimensions": INT64_MAX}
    assert post(server, "/v1/embeddings", body).status_code == 400
    after = post(server, "/v1/embeddings", {"model": "m", "input": "x", "dimensions": 4})
    assert after.status_code == 200
    assert after.json()["data"][0]["embedding"] == deterministic_vector("x", 4)


# --------------------------------------------------------------------------- the bounds


def _vector_lengths(body: dict[str, Any]) -> list[int]:
    """The length of every vector in an embeddings answer of any provider."""
    if "data" in body:
        return [len(item["embedding"]) for item in body["data"]]
    if "predictions" in body:
        return [len(p["embeddings"]["values"]) for p in body["predictions"]]
    if "embedding" in body:
        return [len(body["embedding"]["values"])]
    embeddings = body["embeddings"]
    if isinstance(embeddings, dict):
        embeddings = embeddings["float"]
    return [len(v["values"]) if isinstance(v, dict) else len(v) for v in embeddings]


ACCEPTED = [
    ("/v1/embeddings", {**OPENAI_EMBED, "dimensions": 3072}, [3072]),
    ("/v1/embeddings", {"model": "m", "input": _texts(2048), "dimensions": 1}, [1] * 2048),
    ("/v2/embed", {**COHERE_EMBED, "output_dimension": 1536}, [1536]),
    ("/v2/embed", {**COHERE_EMBED, "texts": _texts(96), "output_dimension": 256}, [256] * 96),
    (f"{GEMINI}:batchEmbedContents", {"requests": _gemini_requests(100, 3072)}, [3072] * 100),
    (
        f"{VERTEX}:predict",
        {"instances": [{"content": t} for t in _texts(250)], "parameters": {}},
        [768] * 250,
    ),
    # Ollama truncates only when the model's vector is longer: a larger width is no error.
    ("/api/embed", {"model": "m", "input": "x", "dimensions": INT64_MAX}, [4096]),
]


@pytest.mark.parametrize(("path", "body", "lengths"), ACCEPTED, ids=lambda x: str(x)[:40])
def test_the_limits_themselves_are_served(
    server: ServerProcess, path: str, body: Any, lengths: list[int]
) -> None:
    response = post(server, path, body)
    assert response.status_code == 200, response.text[:300]
    assert _vector_lengths(response.json()) == lengths


def test_n_up_to_128_and_top_n_past_the_documents_are_served(server: ServerProcess) -> None:
    assert post(server, "/v1/chat/completions", _chat(n=128)).status_code == 200
    ranked = post(server, "/v2/rerank", _rerank(top_n=10_000))
    assert ranked.status_code == 200
    assert len(ranked.json()["results"]) == 2
    searched = post(server, "/search", {"query": "q", "max_results": 20})
    assert len(searched.json()["results"]) == 20


def test_a_token_count_past_32_bits_is_refused_where_the_fixture_is_read() -> None:
    text = '{"fixtures": [{"match": {"userMessage": "x"}, "response": {"content": "y", '
    text += '"usage": {"cached_tokens": 1000000000000000}}}]}'
    with pytest.raises(LoadError) as refused:
        load_text(text, "huge.json")
    assert "usage.cached_tokens" in str(refused.value) and "2147483647" in str(refused.value)


def test_a_huge_token_count_does_not_grow_ollama_context(server: ServerProcess) -> None:
    body = {"model": "m", "prompt": "huge-usage", "stream": False}
    response = post(server, "/api/generate", body)
    assert response.status_code == 200
    assert len(response.json()["context"]) == 262_144


# --------------------------------------------------------------------------- extreme floats


def test_cohere_quantises_a_huge_fixture_vector_without_overflow(server: ServerProcess) -> None:
    kinds = ["float", "int8", "uint8", "binary", "ubinary", "base64"]
    body = {"model": "embed-v4.0", "texts": ["huge-vector"], "embedding_types": kinds}
    response = post(server, "/v2/embed", body)
    assert response.status_code == 200, response.text
    embeddings = response.json()["embeddings"]
    assert embeddings["int8"] == [[127, -127, 64, 127, -127]]
    assert embeddings["uint8"] == [[255, 0, 191, 255, 0]]
    assert embeddings["ubinary"] == [[0b10110000]]
    assert embeddings["binary"] == [[0b10110000 - 128]]
    packed = struct.unpack("<5f", base64.b64decode(embeddings["base64"][0]))
    assert packed == (FLOAT32_MAX, -FLOAT32_MAX, 0.5, FLOAT32_MAX, -FLOAT32_MAX)


def test_openai_base64_saturates_a_huge_fixture_vector(server: ServerProcess) -> None:
    body = {"model": "m", "input": "huge-vector", "encoding_format": "base64"}
    response = post(server, "/v1/embeddings", body)
    assert response.status_code == 200, response.text
    packed = struct.unpack("<5f", base64.b64decode(response.json()["data"][0]["embedding"]))
    assert packed == (FLOAT32_MAX, -FLOAT32_MAX, 0.5, FLOAT32_MAX, -FLOAT32_MAX)


# --------------------------------------------------------------------------- deep arguments

ASK = "deep-arguments"
ASKED = [{"role": "user", "content": ASK}]
DEEP_ARGUMENT_ROUTES = [
    ("/v1/chat/completions", {"model": "m", "messages": ASKED}),
    ("/v1/responses", {"model": "m", "input": ASK}),
    ("/v1/messages", {"model": "m", "max_tokens": 9, "messages": ASKED}),
    (
        "/model/anthropic.claude/invoke",
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 9,
            "messages": ASKED,
        },
    ),
    ("/model/m/converse", {"messages": [{"role": "user", "content": [{"text": ASK}]}]}),
    ("/v1beta/models/g:generateContent", {"contents": [{"parts": [{"text": ASK}]}]}),
    ("/api/chat", {"model": "m", "messages": ASKED}),
    ("/api/generate", {"model": "m", "prompt": ASK}),
    ("/v2/chat", {"model": "m", "messages": ASKED}),
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("path", "body"), DEEP_ARGUMENT_ROUTES, ids=lambda x: str(x)[:30])
def test_deeply_nested_tool_call_arguments_never_crash_a_renderer(
    server: ServerProcess, path: str, body: dict[str, Any], stream: bool
) -> None:
    """Wires that carry arguments as an object get {} for JSON nested deeper than a request
    may be; wires that carry text send it as it is."""
    if path.startswith("/model/"):  # Bedrock streams on its own path
        path += ("-stream" if path.endswith("converse") else "-with-response-stream") * stream
    elif ":generate" in path:
        path = path.replace(":generate", ":streamGenerate") + "?alt=sse" if stream else path
    else:
        body = {**body, "stream": stream}
    response = post(server, path, body)
    assert response.status_code == 200, response.text[:300]
    assert response.content


# --------------------------------------------------------------------------- afterwards


def test_the_journal_still_reads_and_a_normal_request_is_served(server: ServerProcess) -> None:
    assert server.journal(limit="1000")
    assert post(server, "/v1/chat/completions", _chat()).status_code == 200
    assert "Traceback" not in "".join(server.output)
