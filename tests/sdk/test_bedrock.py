"""AWS Bedrock Runtime (InvokeModel with the Claude body, Converse), driven by boto3's
`bedrock-runtime` client against a real server; InvokeModel also by anthropic's AnthropicBedrock.

Fixtures: tests/sdk/fixtures/bedrock.yaml (every one scoped to a Bedrock surface or provider and
a "bed-" message). Besides what boto3 parses, raw Converse bodies and stream events are checked
against botocore's service model (tests/sdk/botocore_shapes.py), and raw InvokeModel bodies and
chunks against anthropic's own Message / stream event types.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from anthropic import AnthropicBedrock, RateLimitError
from anthropic.types import Message, RawMessageStreamEvent
from botocore.config import Config
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from aimock.providers.registry import environment
from tests.conftest import ServerProcess
from tests.sdk import botocore_shapes
from tests.sdk.helpers import CITY_PARAMETERS, CITY_SCHEMA, WEATHER_DESCRIPTION, post
from tests.sdk.typecheck import validate_strict

CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"
VERSION = "bedrock-2023-05-31"
# total_max_attempts counts the first try: 1 means no retry (max_attempts counts retries).
NO_RETRIES = Config(retries={"total_max_attempts": 1})
EVENTS: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)

INVOKE_HELLO = "Hello from Claude on Bedrock, in several slices."
CONVERSE_HELLO = "Hello from Converse, streamed in pieces."
WEATHER_SPEC: dict[str, Any] = {
    "toolSpec": {
        "name": "get_weather",
        "description": WEATHER_DESCRIPTION,
        "inputSchema": {"json": CITY_PARAMETERS},
    }
}
TIME_SPEC: dict[str, Any] = {
    "toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object"}}}
}
CLAUDE_WEATHER_TOOL: dict[str, Any] = {"name": "get_weather", "input_schema": CITY_PARAMETERS}


# --------------------------------------------------------------------------- plumbing


@pytest.fixture
def client(sdk_server: ServerProcess) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=sdk_server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=NO_RETRIES,
    )


class RawBodies:
    """The raw JSON body of every response botocore parses (registered as a hook)."""

    def __init__(self, client: Any) -> None:
        self.bodies: list[Any] = []
        client.meta.events.register("before-parse.bedrock-runtime.*", self._keep)

    def _keep(self, response_dict: dict[str, Any], **_: Any) -> None:
        body = response_dict.get("body")
        if isinstance(body, bytes) and body:
            self.bodies.append(json.loads(body))

    @property
    def last(self) -> Any:
        return self.bodies[-1]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def converse(client: Any, text: str, **kwargs: Any) -> dict[str, Any]:
    """Converse through boto3; the raw body is checked against botocore's output shape."""
    raw = RawBodies(client)
    kwargs.setdefault("messages", [user(text)])
    response: dict[str, Any] = client.converse(modelId=kwargs.pop("modelId", NOVA), **kwargs)
    botocore_shapes.check(botocore_shapes.output_shape("Converse"), raw.last)
    assert response["ResponseMetadata"]["RequestId"], "every answer names its request"
    return response


def converse_events(client: Any, text: str, **kwargs: Any) -> list[dict[str, Any]]:
    """ConverseStream through boto3: every event as `{name: members}`, in order."""
    kwargs.setdefault("messages", [user(text)])
    response = client.converse_stream(modelId=kwargs.pop("modelId", NOVA), **kwargs)
    assert response["ResponseMetadata"]["RequestId"]
    return list(response["stream"])


def names(events: list[dict[str, Any]]) -> list[str]:
    """Event names, each run of contentBlockDelta written once."""
    out: list[str] = []
    for event in events:
        [name] = event
        if not (out and out[-1] == name == "contentBlockDelta"):
            out.append(name)
    return out


def raw_events(server: ServerProcess, path: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """POST (unsigned: the mock checks no signature) and decode the event stream with
    botocore's own parser: (event type, payload JSON) pairs, the CRCs verified on the way."""
    response = post(server, path, body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    buffer = EventStreamBuffer()
    buffer.add_data(response.content)
    out = []
    for message in buffer:
        assert message.headers[":message-type"] == "event"
        assert message.headers[":content-type"] == "application/json"
        out.append((message.headers[":event-type"], json.loads(message.payload)))
    return out


def claude_body(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "anthropic_version": VERSION,
        "max_tokens": 512,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def invoke(client: Any, body: dict[str, Any], model: str = CLAUDE) -> dict[str, Any]:
    """InvokeModel with a Claude body; the reply checked as an Anthropic Message."""
    response = client.invoke_model(modelId=model, body=json.dumps(body))
    assert response["contentType"] == "application/json"
    assert response["ResponseMetadata"]["RequestId"], "every answer names its request"
    raw: dict[str, Any] = json.loads(response["body"].read())
    validate_strict(Message, raw)
    return raw


def invoke_chunks(client: Any, body: dict[str, Any], model: str = CLAUDE) -> list[dict[str, Any]]:
    """InvokeModelWithResponseStream: each chunk's decoded Anthropic event, type-checked."""
    response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    assert response["contentType"] == "application/json"  # X-Amzn-Bedrock-Content-Type
    assert response["ResponseMetadata"]["RequestId"]
    events = []
    for part in response["body"]:
        event = json.loads(part["chunk"]["bytes"])
        EVENTS.validate_python(event, strict=True)
        events.append(event)
    return events


def client_error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    """(Error.Code, HTTP status, request id) of a ClientError."""
    response: Any = caught.value.response
    metadata = response["ResponseMetadata"]
    return response["Error"]["Code"], metadata["HTTPStatusCode"], metadata.get("RequestId", "")


# --------------------------------------------------------------------------- InvokeModel


def test_invoke_text(client: Any) -> None:
    raw = invoke(client, claude_body("bed-invoke-hello"))
    assert raw["content"] == [{"type": "text", "text": INVOKE_HELLO}]
    assert raw["id"].startswith("msg_bdrk_")
    assert raw["model"] == CLAUDE
    assert raw["stop_reason"] == "end_turn"
    assert raw["usage"]["input_tokens"] > 0 and raw["usage"]["output_tokens"] > 0


def test_invoke_system_prompt(client: Any) -> None:
    raw = invoke(client, claude_body("bed-invoke-greet", system="You are a bed-pirate."))
    assert raw["content"][0]["text"] == "Ahoy from the Bedrock system prompt."


def test_invoke_tool_loop(client: Any) -> None:
    first = invoke(client, claude_body("bed-invoke-weather", tools=[CLAUDE_WEATHER_TOOL]))
    [call] = first["content"]
    assert call == {
        "type": "tool_use",
        "id": "toolu_bed_weather_1",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert first["stop_reason"] == "tool_use"
    result = {"type": "tool_result", "tool_use_id": call["id"], "content": '{"temp": 18}'}
    messages = [
        {"role": "user", "content": "bed-invoke-weather"},
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [result]},
    ]
    second = invoke(client, {**claude_body(""), "messages": messages})
    assert second["content"] == [{"type": "text", "text": "Invoke: 18 degrees and sunny in Paris."}]


def test_invoke_thinking(client: Any) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    raw = invoke(client, claude_body("bed-invoke-think", thinking=thinking))
    assert raw["content"] == [
        {
            "type": "thinking",
            "thinking": "The user asks for a sum: two plus two.",
            "signature": "c2lnbmF0dXJlLWJlZA==",
        },
        {"type": "text", "text": "4"},
    ]
    assert raw["usage"]["input_tokens"] == 12 and raw["usage"]["output_tokens"] == 10


def test_invoke_structured_output(client: Any) -> None:
    output_config = {"format": {"type": "json_schema", "schema": CITY_SCHEMA}}
    raw = invoke(client, claude_body("bed-invoke-city", output_config=output_config))
    assert json.loads(raw["content"][0]["text"]) == {"city": "Paris", "temperature": 18}


@pytest.mark.parametrize(
    "model",
    [
        CLAUDE,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
    ],
    ids=["model-id", "profile-id", "profile-arn", "application-profile-arn"],
)
def test_invoke_model_id_forms(client: Any, sdk_server: ServerProcess, model: str) -> None:
    """boto3 percent-encodes `:` and `/` in {modelId}; routing matches before decoding, so an
    ARN stays one path segment and arrives whole."""
    raw = invoke(client, claude_body("bed-invoke-hello"), model=model)
    assert raw["model"] == model
    [entry] = [e for e in sdk_server.journal() if e.get("model") == model][-1:]
    assert "%2F" in str(entry["path"]) or "/" not in model


def test_invoke_stream_text(client: Any) -> None:
    events = invoke_chunks(client, claude_body("bed-invoke-hello"))
    kinds = [event["type"] for event in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds[1] == "content_block_start" and kinds[-2] == "message_delta"
    pieces = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert len(pieces) > 1 and max(len(p) for p in pieces) <= 7
    assert "".join(pieces) == INVOKE_HELLO
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert set(metrics) == {
        "inputTokenCount",
        "outputTokenCount",
        "invocationLatency",
        "firstByteLatency",
    }
    assert all(isinstance(value, int) for value in metrics.values())
    assert metrics["outputTokenCount"] == events[-2]["usage"]["output_tokens"]


def test_invoke_stream_thinking_and_tool(client: Any) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    think = invoke_chunks(client, claude_body("bed-invoke-think", thinking=thinking))
    deltas = [e["delta"] for e in think if e["type"] == "content_block_delta"]
    reasoning = "".join(d["thinking"] for d in deltas if d["type"] == "thinking_delta")
    assert reasoning == "The user asks for a sum: two plus two."
    assert [d["signature"] for d in deltas if d["type"] == "signature_delta"] == [
        "c2lnbmF0dXJlLWJlZA=="
    ]
    tool = invoke_chunks(client, claude_body("bed-invoke-weather", tools=[CLAUDE_WEATHER_TOOL]))
    partial = "".join(
        e["delta"]["partial_json"] for e in tool if e["type"] == "content_block_delta"
    )
    assert json.loads(partial) == {"city": "Paris"}
    assert tool[-2]["delta"]["stop_reason"] == "tool_use"


def test_invoke_raw_stream_frames(sdk_server: ServerProcess) -> None:
    """Every frame is `:event-type: chunk` holding `{"bytes": <base64>}`, per ResponseStream."""
    path = f"/model/{CLAUDE}/invoke-with-response-stream"
    events = raw_events(sdk_server, path, claude_body("bed-invoke-hello"))
    shape = botocore_shapes.event_shape("InvokeModelWithResponseStream", "chunk")
    for name, payload in events:
        assert name == "chunk" and set(payload) == {"bytes"}
        botocore_shapes.check(shape, payload)
    last = json.loads(base64.b64decode(events[-1][1]["bytes"]))
    assert last["type"] == "message_stop"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "Malformed JSON"),
        (b'["a list"]', "JSON object"),
        (
            json.dumps({"max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}),
            "anthropic_version",
        ),
        (json.dumps({**claude_body("bed-invoke-hello"), "model": CLAUDE}), "[model]"),
        (json.dumps({**claude_body("bed-invoke-hello"), "stream": True}), "[stream]"),
        (json.dumps({"anthropic_version": VERSION, "max_tokens": 8}), "messages"),
        (json.dumps({"anthropic_version": VERSION, "messages": []}), "max_tokens"),
    ],
    ids=[
        "malformed",
        "not-object",
        "no-version",
        "model-key",
        "stream-key",
        "no-messages",
        "no-max",
    ],
)
def test_invoke_bad_requests_are_validation_errors(
    client: Any, body: str | bytes, fragment: str
) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.invoke_model(modelId=CLAUDE, body=body)
    code, status, request_id = client_error(caught)
    assert (code, status) == ("ValidationException", 400)
    assert request_id
    assert fragment in caught.value.response["Error"]["Message"]


def test_invoke_other_model_family_is_refused_clearly(client: Any) -> None:
    titan = {"inputText": "bed-invoke-hello", "textGenerationConfig": {"maxTokenCount": 64}}
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.invoke_model(modelId="amazon.titan-text-express-v1", body=json.dumps(titan))
    assert "Converse" in caught.value.response["Error"]["Message"]


def test_anthropic_bedrock_sdk(sdk_server: ServerProcess) -> None:
    """anthropic's AnthropicBedrock signs with SigV4 and posts the same Claude body."""
    sdk = AnthropicBedrock(
        base_url=sdk_server.url,
        aws_access_key="test",
        aws_secret_key="test",
        aws_region="us-east-1",
        max_retries=0,
    )
    with sdk:
        message = sdk.messages.create(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "bed-invoke-hello"}]
        )
        assert message.content[0].type == "text" and message.content[0].text == INVOKE_HELLO
        with sdk.messages.stream(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "bed-invoke-hello"}]
        ) as stream:
            pieces = list(stream.text_stream)
        assert len(pieces) > 1 and "".join(pieces) == INVOKE_HELLO
        with pytest.raises(RateLimitError):
            sdk.messages.create(
                model=CLAUDE,
                max_tokens=64,
                messages=[{"role": "user", "content": "bed-error-throttling"}],
            )


# --------------------------------------------------------------------------- Converse


def test_converse_text(client: Any) -> None:
    response = converse(client, "bed-converse-hello")
    assert response["output"]["message"] == {
        "role": "assistant",
        "content": [{"text": CONVERSE_HELLO}],
    }
    assert response["stopReason"] == "end_turn"
    usage = response["usage"]
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert isinstance(response["metrics"]["latencyMs"], int)


def test_converse_system_prompt(client: Any) -> None:
    response = converse(
        client, "bed-converse-greet", system=[{"text": "You are a"}, {"text": "bed-pirate."}]
    )
    assert response["output"]["message"]["content"] == [
        {"text": "Ahoy from the Converse system prompt."}
    ]


@pytest.mark.parametrize(
    "result_content",
    [[{"text": '{"temp": 18}'}], [{"json": {"temp": 18}}]],
    ids=["text", "json"],
)
def test_converse_tool_loop(client: Any, result_content: list[dict[str, Any]]) -> None:
    tool_config = {"tools": [WEATHER_SPEC]}
    first = converse(client, "bed-converse-weather", toolConfig=tool_config)
    assert first["stopReason"] == "tool_use"
    text, tool = first["output"]["message"]["content"]
    assert text == {"text": "Let me check."}
    assert tool == {
        "toolUse": {
            "toolUseId": "tooluse_bed_weather_1",
            "name": "get_weather",
            "input": {"city": "Paris", "days": 3},
        }
    }
    result = {"toolResult": {"toolUseId": "tooluse_bed_weather_1", "content": result_content}}
    messages = [
        user("bed-converse-weather"),
        first["output"]["message"],
        {"role": "user", "content": [result]},
    ]
    second = converse(client, "", messages=messages, toolConfig=tool_config)
    assert second["output"]["message"]["content"] == [
        {"text": "Converse: 18 degrees and sunny in Paris."}
    ]
    assert second["stopReason"] == "end_turn"


def test_converse_two_tools_get_distinct_ids(client: Any) -> None:
    response = converse(
        client, "bed-converse-two-tools", toolConfig={"tools": [WEATHER_SPEC, TIME_SPEC]}
    )
    uses = [block["toolUse"] for block in response["output"]["message"]["content"]]
    assert [(u["name"], u["input"]) for u in uses] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "Europe/Paris"}),
    ]
    assert all(u["toolUseId"].startswith("tooluse_") for u in uses)
    assert len({u["toolUseId"] for u in uses}) == 2


def test_converse_thinking(client: Any) -> None:
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    response = converse(
        client, "bed-converse-think", modelId=CLAUDE, additionalModelRequestFields=thinking
    )
    assert response["output"]["message"]["content"] == [
        {
            "reasoningContent": {
                "reasoningText": {
                    "text": "Two plus two: count on from two.",
                    "signature": "c2lnbmF0dXJlLWNvbnY=",
                }
            }
        },
        {"text": "4"},
    ]
    assert response["usage"] == {"inputTokens": 9, "outputTokens": 14, "totalTokens": 23}


def test_converse_redacted_reasoning_is_bytes(client: Any) -> None:
    content = converse(client, "bed-converse-redacted")["output"]["message"]["content"]
    assert content[1] == {"reasoningContent": {"redactedContent": b"opaque-redacted-blob"}}


def test_converse_structured_output(client: Any) -> None:
    output_config = {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": json.dumps(CITY_SCHEMA), "name": "city"}},
        }
    }
    response = converse(client, "bed-converse-city", outputConfig=output_config)
    [block] = response["output"]["message"]["content"]
    assert json.loads(block["text"]) == {"city": "Paris", "temperature": 18}


def test_converse_json_text(client: Any) -> None:
    [block] = converse(client, "bed-converse-json-text")["output"]["message"]["content"]
    assert json.loads(block["text"]) == {"answer": 42}


@pytest.mark.parametrize(
    ("text", "reason"),
    [("bed-converse-truncated", "max_tokens"), ("bed-converse-refuse", "content_filtered")],
)
def test_converse_stop_reasons(client: Any, text: str, reason: str) -> None:
    assert converse(client, text)["stopReason"] == reason


def test_converse_cached_usage(client: Any) -> None:
    usage = converse(client, "bed-converse-cached")["usage"]
    assert usage["inputTokens"] == 100 and usage["cacheReadInputTokens"] == 80


def test_converse_stream_text(client: Any) -> None:
    events = converse_events(client, "bed-converse-hello")
    assert names(events) == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert events[0] == {"messageStart": {"role": "assistant"}}
    pieces = [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]
    assert len(pieces) > 1 and "".join(pieces) == CONVERSE_HELLO
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    usage = events[-1]["metadata"]["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert "latencyMs" in events[-1]["metadata"]["metrics"]


def test_converse_stream_tool_use(client: Any) -> None:
    events = converse_events(
        client, "bed-converse-two-tools", toolConfig={"tools": [WEATHER_SPEC, TIME_SPEC]}
    )
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert [(s["contentBlockIndex"], s["start"]["toolUse"]["name"]) for s in starts] == [
        (0, "get_weather"),
        (1, "get_time"),
    ]
    inputs: dict[int, str] = {}
    for event in events:
        if "contentBlockDelta" in event:
            delta = event["contentBlockDelta"]
            inputs.setdefault(delta["contentBlockIndex"], "")
            inputs[delta["contentBlockIndex"]] += delta["delta"]["toolUse"]["input"]
    assert json.loads(inputs[0]) == {"city": "Paris"}
    assert json.loads(inputs[1]) == {"zone": "Europe/Paris"}
    assert events[-2] == {"messageStop": {"stopReason": "tool_use"}}


def test_converse_stream_reasoning_then_text(client: Any) -> None:
    events = converse_events(client, "bed-converse-think", modelId=CLAUDE)
    reasoning = [
        e["contentBlockDelta"]["delta"]["reasoningContent"]
        for e in events
        if "contentBlockDelta" in e and e["contentBlockDelta"]["contentBlockIndex"] == 0
    ]
    assert "".join(r.get("text", "") for r in reasoning) == "Two plus two: count on from two."
    assert reasoning[-1] == {"signature": "c2lnbmF0dXJlLWNvbnY="}
    assert [r for r in reasoning if "signature" in r] == [reasoning[-1]]
    text = [
        e["contentBlockDelta"]["delta"]["text"]
        for e in events
        if "contentBlockDelta" in e and e["contentBlockDelta"]["contentBlockIndex"] == 1
    ]
    assert text == ["4"]


@pytest.mark.parametrize(
    "text", ["bed-converse-hello", "bed-converse-two-tools", "bed-converse-think"]
)
def test_converse_raw_stream_matches_botocore_shapes(sdk_server: ServerProcess, text: str) -> None:
    body = {"messages": [user(text)], "toolConfig": {"tools": [WEATHER_SPEC, TIME_SPEC]}}
    events = raw_events(sdk_server, f"/model/{NOVA}/converse-stream", body)
    for name, payload in events:
        botocore_shapes.check(botocore_shapes.event_shape("ConverseStream", name), payload)
    assert [name for name, _ in events][-2:] == ["messageStop", "metadata"]


@pytest.mark.parametrize(
    "broken",
    [
        {"output": {"message": {"role": "assistant", "content": []}}, "stopReason": "end_turn"},
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "a", "toolUse": {}}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        },
        {
            "output": {"message": {"role": "assistant", "content": []}},
            "stopReason": "finished",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        },
        {
            "output": {"message": {"role": "assistant", "content": []}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1.0, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        },
    ],
    ids=["missing-usage", "two-member-union", "bad-enum", "float-for-int"],
)
def test_shape_walker_is_strict(broken: dict[str, Any]) -> None:
    """The walker the Converse checks rely on refuses what botocore would let slip."""
    with pytest.raises(AssertionError):
        botocore_shapes.check(botocore_shapes.output_shape("Converse"), broken)


# --------------------------------------------------------------------------- errors

ERRORS = [
    ("bed-error-throttling", "ThrottlingException", 429),
    ("bed-error-not-ready", "ModelNotReadyException", 429),
    ("bed-error-unavailable", "ServiceUnavailableException", 503),
    ("bed-error-internal", "InternalServerException", 500),
    ("bed-error-access-denied", "AccessDeniedException", 403),
    ("bed-error-not-found", "ResourceNotFoundException", 404),
    ("bed-error-timeout", "ModelTimeoutException", 408),
    ("bed-error-validation", "ValidationException", 400),
    ("bed-error-model-error", "ModelErrorException", 424),
]


def _call(client: Any, operation: str, text: str) -> Any:
    if operation == "converse":
        return client.converse(modelId=NOVA, messages=[user(text)])
    if operation == "converse_stream":
        return client.converse_stream(modelId=NOVA, messages=[user(text)])
    body = json.dumps(claude_body(text))
    if operation == "invoke_model":
        return client.invoke_model(modelId=CLAUDE, body=body)
    return client.invoke_model_with_response_stream(modelId=CLAUDE, body=body)


@pytest.mark.parametrize(
    "operation",
    ["converse", "converse_stream", "invoke_model", "invoke_model_with_response_stream"],
)
@pytest.mark.parametrize(("text", "code", "status"), ERRORS, ids=[e[1] for e in ERRORS])
def test_error_fixtures_raise_their_exception(
    client: Any, operation: str, text: str, code: str, status: int
) -> None:
    """An error fixture answers before any stream starts, so a stream operation raises at
    the call, as for a plain one; botocore picks the modeled exception class by the code."""
    with pytest.raises(ClientError) as caught:
        _call(client, operation, text)
    got_code, got_status, request_id = client_error(caught)
    assert (got_code, got_status) == (code, status)
    assert len(request_id) == 36  # a UUID, from x-amzn-RequestId
    assert isinstance(caught.value, getattr(client.exceptions, code))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "messages"),
        ({"messages": [{"role": "system", "content": [{"text": "x"}]}]}, "role"),
        (
            {"messages": [{"role": "user", "content": [{"toolResult": {"content": []}}]}]},
            "toolUseId",
        ),
        ({"messages": [user("x")], "toolConfig": {"tools": [{"toolSpec": {}}]}}, "name"),
    ],
    ids=["no-messages", "bad-role", "result-without-id", "nameless-tool"],
)
def test_converse_bad_requests_are_validation_errors(
    client: Any, kwargs: dict[str, Any], fragment: str
) -> None:
    """botocore validates types and required members client-side; what it lets through (the
    model does not require `messages`, nor check enums) the mock refuses as Bedrock does."""
    no_validation = boto3.client(
        "bedrock-runtime",
        endpoint_url=client.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
    )
    with pytest.raises(no_validation.exceptions.ValidationException) as caught:
        no_validation.converse(modelId=NOVA, **kwargs)
    assert client_error(caught)[:2] == ("ValidationException", 400)
    assert fragment in caught.value.response["Error"]["Message"]


def test_miss_is_resource_not_found(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.converse(modelId=NOVA, messages=[user("bed-nothing-matches-this")])
    assert client_error(caught)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- environment


@pytest.fixture
def aws_environment(sdk_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The variables the registry publishes for a mock at this origin, and nothing else AWS."""
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    for name, value in environment(sdk_server.url).items():
        if name.startswith(("AWS_", "ANTHROPIC_BEDROCK")):
            monkeypatch.setenv(name, value)
    yield


@pytest.mark.usefixtures("aws_environment")
def test_environment_points_boto3_at_the_mock(sdk_server: ServerProcess) -> None:
    session = boto3.session.Session()
    bedrock = session.client("bedrock-runtime", config=NO_RETRIES)
    assert bedrock.meta.endpoint_url == sdk_server.url
    assert bedrock.meta.region_name == "us-east-1"
    response = bedrock.converse(modelId=NOVA, messages=[user("bed-converse-hello")])
    assert response["output"]["message"]["content"] == [{"text": CONVERSE_HELLO}]


@pytest.mark.usefixtures("aws_environment")
def test_environment_points_anthropic_bedrock_at_the_mock() -> None:
    with AnthropicBedrock(max_retries=0) as sdk:
        message = sdk.messages.create(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "bed-invoke-hello"}]
        )
    assert message.content[0].type == "text" and message.content[0].text == INVOKE_HELLO
