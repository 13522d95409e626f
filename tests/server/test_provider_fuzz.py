"""Property: whatever values a provider request holds, the answer is never a 5xx, an error
is in the family's own envelope, the journal stays readable and the log holds no traceback.

Bodies are drawn per family (OpenAI chat, Responses, embeddings, moderation; Anthropic;
Gemini and Vertex; Bedrock Converse and InvokeModel; Ollama; Cohere chat, embed, rerank;
Tavily) from a valid example by changing one or two of its fields: a hostile value put in
(huge or negative integers, 1e308, -0.0, the wrong type, nesting up to the depth limit, long
strings, odd unicode), a field deleted, or an unknown one added. Most bodies so stay valid in
shape and reach the renderers, whose answers (plain and streamed) are built from a fixture
that answers every chat with text, reasoning and a tool call.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.wire import MAX_JSON_DEPTH
from tests import mutation
from tests.conftest import ServerProcess, serving_fixtures
from tests.server.test_provider_limits import ENVELOPES

FIXTURES = [
    {
        "match": {"endpoint": "chat"},
        "response": {
            "content": "Paris is sunny.",
            "reasoning": "The user asks about the weather.",
            "toolCalls": [{"name": "get_weather", "arguments": '{"city": "Paris"}'}],
        },
    },
    {"match": {"endpoint": "image"}, "response": {"image": {"revisedPrompt": "A fox."}}},
]


@dataclass(frozen=True)
class Example:
    family: str  # the key of its error envelope in ENVELOPES
    path: str
    body: dict[str, Any]


OPENAI_CHAT = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    "response_format": {"type": "json_object"},
    "n": 1,
    "max_tokens": 100,
    "stream": False,
    "stream_options": {"include_usage": True},
}
RESPONSES = {
    "model": "gpt-4o",
    "instructions": "Be brief.",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
    ],
    "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
    "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}},
    "include": ["reasoning.encrypted_content"],
    "max_output_tokens": 100,
    "top_logprobs": 0,
    "stream": False,
}
ANTHROPIC = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 100,
    "system": [{"type": "text", "text": "Be brief."}],
    "messages": [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
        },
    ],
    "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "stream": False,
}
GEMINI = {
    "contents": [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"a": 1}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {}}}]},
    ],
    "systemInstruction": {"parts": [{"text": "Be brief."}]},
    "tools": [{"functionDeclarations": [{"name": "get_weather"}]}],
    "generationConfig": {
        "responseMimeType": "application/json",
        "maxOutputTokens": 100,
        "candidateCount": 1,
        "thinkingConfig": {"includeThoughts": True},
    },
}
CONVERSE = {
    "messages": [
        {"role": "user", "content": [{"text": "weather?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "ok"}, {"json": {}}]}}
            ],
        },
    ],
    "system": [{"text": "Be brief."}],
    "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {}}}}]},
    "inferenceConfig": {"maxTokens": 100},
    "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
}
INVOKE = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "weather?"}],
}
OLLAMA_CHAT = {
    "model": "llama3.2",
    "messages": [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "x"}}}],
        },
        {"role": "tool", "tool_name": "get_weather", "content": "sunny"},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather"}}],
    "format": "json",
    "think": True,
    "options": {"num_predict": 100},
    "stream": False,
}
COHERE_CHAT = {
    "model": "command-a-03-2025",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
        {
            "role": "assistant",
            "tool_plan": "look it up",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "c1",
            "content": [{"type": "document", "document": {"data": {"t": 1}}}],
        },
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather"}}],
    "response_format": {"type": "json_object"},
    "thinking": {"type": "enabled"},
    "stream": False,
}
VERTEX = "/v1beta1/projects/p/locations/l/publishers/google/models"
EXAMPLES = {
    "openai-chat": [
        Example("openai", "/v1/chat/completions", OPENAI_CHAT),
        Example("openai", "/v1/chat/completions", {**OPENAI_CHAT, "stream": True}),
        Example("openrouter", "/api/v1/chat/completions", {**OPENAI_CHAT, "models": ["a/b"]}),
        Example(
            "openai",
            "/openai/deployments/gpt/chat/completions?api-version=2024-10-21",
            {**OPENAI_CHAT, "stream": True},
        ),
    ],
    "openai-responses": [
        Example("openai", "/v1/responses", RESPONSES),
        Example("openai", "/v1/responses", {**RESPONSES, "stream": True}),
    ],
    "openai-embeddings": [
        Example(
            "openai",
            "/v1/embeddings",
            {"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 8},
        ),
        Example(
            "openai",
            "/v1/embeddings",
            {"model": "m", "input": [[1, 2], [3]], "dimensions": 4, "encoding_format": "base64"},
        ),
    ],
    "openai-images": [
        Example(
            "openai",
            "/v1/images/generations",
            {
                "model": "dall-e-3",
                "prompt": "a fox",
                "n": 1,
                "size": "1024x1792",
                "quality": "hd",
                "response_format": "url",
            },
        ),
        Example(
            "openai",
            "/v1/images/generations",
            {
                "model": "gpt-image-1",
                "prompt": "a fox",
                "n": 2,
                "size": "1536x1024",
                "quality": "low",
                "background": "opaque",
                "output_format": "png",
            },
        ),
    ],
    "openai-moderations": [
        Example(
            "openai",
            "/v1/moderations",
            {"model": "omni-moderation-latest", "input": ["hi", {"type": "text", "text": "x"}]},
        )
    ],
    "anthropic": [
        Example("anthropic", "/v1/messages", ANTHROPIC),
        Example("anthropic", "/v1/messages", {**ANTHROPIC, "stream": True}),
        Example("anthropic", "/v1/messages/count_tokens", ANTHROPIC),
    ],
    "gemini": [
        Example("gemini", "/v1beta/models/gemini-2.5-flash:generateContent", GEMINI),
        Example("gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", GEMINI),
        Example("gemini", f"{VERTEX}/gemini-2.5-flash:streamGenerateContent", GEMINI),
        Example("gemini", "/v1beta/models/gemini-2.5-flash:countTokens", GEMINI),
        Example(
            "gemini",
            "/v1beta/models/gemini-embedding-001:batchEmbedContents",
            {"requests": [{"content": {"parts": [{"text": "a"}]}, "outputDimensionality": 8}]},
        ),
        Example(
            "gemini",
            f"{VERTEX}/text-embedding-005:embedContent",
            {
                "content": {"parts": [{"text": "a"}]},
                "embedContentConfig": {"outputDimensionality": 8},
            },
        ),
        Example(
            "gemini",
            "/v1beta/models/imagen-3.0-generate-002:predict",
            {"instances": [{"prompt": "a fox"}], "parameters": {"sampleCount": 2}},
        ),
        Example(
            "gemini",
            f"{VERTEX}/imagen-4.0-generate-001:predict",
            {
                "instances": [{"prompt": "a fox"}],
                "parameters": {
                    "sampleCount": 1,
                    "aspectRatio": "16:9",
                    "outputOptions": {"mimeType": "image/png"},
                },
            },
        ),
        Example(
            "gemini",
            "/v1beta/models/gemini-2.5-flash-image:generateContent",
            {**GEMINI, "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}},
        ),
        Example(
            "gemini",
            f"{VERTEX}/text-embedding-005:predict",
            {"instances": [{"content": "a"}], "parameters": {"outputDimensionality": 8}},
        ),
    ],
    "bedrock": [
        Example("bedrock", "/model/m/converse", CONVERSE),
        Example("bedrock", "/model/m/converse-stream", CONVERSE),
        Example("bedrock", "/model/anthropic.claude/invoke", INVOKE),
        Example("bedrock", "/model/anthropic.claude/invoke-with-response-stream", INVOKE),
    ],
    "ollama": [
        Example("ollama", "/api/chat", OLLAMA_CHAT),
        Example("ollama", "/api/chat", {**OLLAMA_CHAT, "stream": True}),
        Example(
            "ollama",
            "/api/generate",
            {"model": "llama3.2", "prompt": "hi", "system": "s", "context": [1], "stream": False},
        ),
        Example(
            "ollama", "/api/embed", {"model": "nomic-embed-text", "input": ["a"], "dimensions": 8}
        ),
        Example("ollama", "/api/embeddings", {"model": "nomic-embed-text", "prompt": "a"}),
        Example("ollama", "/api/show", {"model": "llama3.2"}),
    ],
    "cohere": [
        Example("cohere", "/v2/chat", COHERE_CHAT),
        Example("cohere", "/v2/chat", {**COHERE_CHAT, "stream": True}),
        Example(
            "cohere",
            "/v2/embed",
            {
                "model": "embed-v4.0",
                "texts": ["a"],
                "input_type": "search_document",
                "embedding_types": ["float", "int8", "uint8", "binary", "ubinary", "base64"],
                "output_dimension": 256,
            },
        ),
        Example("cohere", "/v1/embed", {"texts": ["a"], "input_type": "clustering"}),
        Example(
            "cohere",
            "/v2/rerank",
            {"model": "rerank-v3.5", "query": "capital", "documents": ["a", "b"], "top_n": 1},
        ),
        Example(
            "cohere",
            "/v1/rerank",
            {
                "query": "q",
                "documents": [{"text": "a", "title": "t"}, "b"],
                "rank_fields": ["text", "title"],
                "return_documents": True,
                "top_n": 2,
            },
        ),
    ],
    "tavily": [
        Example(
            "tavily",
            "/search",
            {
                "query": "weather in Paris",
                "max_results": 3,
                "search_depth": "advanced",
                "topic": "news",
                "time_range": "week",
                "include_answer": True,
                "include_raw_content": "markdown",
                "include_images": True,
                "include_image_descriptions": True,
                "include_domains": ["a.example"],
                "include_favicon": True,
                "include_usage": True,
            },
        ),
        Example(
            "tavily",
            "/extract",
            {"urls": ["https://a.example/x"], "extract_depth": "advanced", "format": "text"},
        ),
    ],
}

# --------------------------------------------------------------------------- values

INT64 = 2**63 - 1
# Values known to break things: integer and float extremes, JSON-looking strings, controls,
# bidirectional marks, astral characters, long text.
EDGES: list[Any] = [
    0,
    -1,
    1,
    2**31,
    2**53 + 1,
    INT64,
    -INT64 - 1,
    2**64,
    10**30,
    1e308,
    -1e308,
    -0.0,
    5e-324,
    0.5,
    True,
    False,
    None,
    "",
    " ",
    "null",
    "[]",
    "{}",
    "\u0000\u001f",
    "\u202e\u200b\ufeff",
    "\U0001f600" * 40,
    "x" * 20_000,
    "a/../../etc",
]
scalars = st.one_of(
    st.sampled_from(EDGES),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)


def _nest(depth: int, leaf: Any, as_object: bool) -> Any:
    for _ in range(depth):
        leaf = {"k": leaf} if as_object else [leaf]
    return leaf


# Nesting from shallow to past the depth limit, so both sides of the limit are drawn.
deep = st.builds(
    _nest, st.integers(1, MAX_JSON_DEPTH + 20), st.sampled_from(["x", 1, None, {}]), st.booleans()
)
strings = st.one_of(st.sampled_from([e for e in EDGES if isinstance(e, str)]), st.text())
integers = st.one_of(
    st.sampled_from([e for e in EDGES if isinstance(e, int) and not isinstance(e, bool)]),
    st.integers(),
)
# A value of the same JSON type as the one it replaces: the shape stays valid, the value not.
SAME_TYPE = {
    str: strings,
    int: integers,
    float: st.one_of(
        st.sampled_from([1e308, -1e308, -0.0, 5e-324]),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    bool: st.booleans(),
}
hostile = st.one_of(
    scalars,
    deep,
    st.lists(scalars, max_size=5),
    st.dictionaries(st.text(max_size=6), scalars, max_size=4),
)

# --------------------------------------------------------------------------- mutations


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


@st.composite
def mutated(draw: st.DrawFn, example: Example) -> Any:
    """The example's body with one or two fields changed: a value of the same type but
    extreme, any hostile value, a field deleted, or one added (a key or an array item)."""
    body = _copy(example.body)

    def fresh(strategy: st.SearchStrategy[Any]) -> Any:
        # A copy: a drawn value may be one Hypothesis hands out again (a sampled constant),
        # and the next mutation may change it in place; the same draws must give the same body.
        return copy.deepcopy(draw(strategy))

    for _ in range(draw(st.integers(1, 2))):
        places = mutation.places(body)[1:]  # not the body itself: test_request_path_fuzz's
        if not places:
            break
        path = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["same-type", "replace", "replace", "delete", "add"]))
        kind = type(mutation.at(body, path))
        if action == "same-type" and kind in SAME_TYPE:
            body = mutation.set_at(body, path, fresh(SAME_TYPE[kind]))
        elif action == "delete":
            body = mutation.delete_at(body, path)
        elif action == "add" and isinstance(mutation.at(body, path), dict):
            key = draw(st.sampled_from(["n", "top_k", "limit", "dimensions", "extra", "id"]))
            mutation.at(body, path)[key] = fresh(hostile)
        elif action == "add" and isinstance(mutation.at(body, path), list):
            mutation.at(body, path).append(fresh(hostile))
        else:
            body = mutation.set_at(body, path, fresh(hostile))
    return body


# --------------------------------------------------------------------------- the property


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("fuzz"), FIXTURES) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    """One keep-alive connection for the whole run (it reconnects after an answer that closes
    it)."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def send(client: httpx.Client, example: Example, body: Any) -> httpx.Response:
    # The stdlib writes what orjson would refuse (integers past 64 bits); no value drawn is a
    # float JSON cannot hold (NaN, infinity).
    content = json.dumps(body, allow_nan=False).encode()
    headers = {"content-type": "application/json", "x-goog-api-key": "fuzz"}
    return client.post(example.path, content=content, headers=headers)


def check(
    server: ServerProcess, client: httpx.Client, example: Example, response: httpx.Response
) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        ENVELOPES[example.family](response)
    journal = client.get("/__aimock/journal", params={"limit": "1"})
    assert journal.status_code == 200 and isinstance(journal.json(), list), journal.text[:300]


ALL = [example for examples in EXAMPLES.values() for example in examples]
NAMES = [f"{family}-{i}" for family, examples in EXAMPLES.items() for i in range(len(examples))]


@pytest.mark.parametrize("example", ALL, ids=NAMES)
def test_every_example_is_served(client: httpx.Client, example: Example) -> None:
    """The examples are valid: what the mutations change is what the answers show."""
    response = send(client, example, example.body)
    assert response.status_code == 200, response.text[:500]


@pytest.mark.parametrize("example", ALL, ids=NAMES)
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_values_get_an_answer_in_the_envelope(
    server: ServerProcess, client: httpx.Client, example: Example, data: st.DataObject
) -> None:
    body = data.draw(mutated(example), label="body")
    logged = len(server.output)
    check(server, client, example, send(client, example, body))
    # A traceback logged after this check is still caught by the last test.
    assert "Traceback" not in "".join(server.output[logged:])


def test_afterwards_the_journal_reads_and_every_example_is_still_served(
    server: ServerProcess, client: httpx.Client
) -> None:
    assert server.journal()
    for example in ALL:
        assert send(client, example, example.body).status_code == 200
    assert "Traceback" not in "".join(server.output)


def test_a_falsy_call_id_of_the_wrong_type_is_refused(
    server: ServerProcess, client: httpx.Client
) -> None:
    """Found by the property above under the compiled build: a functionCall `id` of 0 or {}
    passed the check (`id or ""`) and reached code typed for a string."""
    for bad in (0.0, {}, []):
        call = {"functionCall": {"name": "get_weather", "args": {}, "id": bad}}
        body = {
            "contents": [
                {"role": "user", "parts": [{"text": "hello"}]},
                {"role": "model", "parts": [call]},
            ]
        }
        answer = client.post("/v1beta/models/gemini-2.5-flash:generateContent", json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"
