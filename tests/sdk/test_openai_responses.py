"""The OpenAI Responses surface, driven by the official `openai` SDK against a real server.

Fixtures: tests/sdk/fixtures/responses.yaml (every one scoped to `openai.responses` and a
"resp-" message). Besides what the SDK reads, every body and every stream event is checked on
the raw JSON against the SDK's own types, strictly, plus the fields the real API always sends
although the SDK declares them optional.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.responses import (
    FunctionTool,
    Response,
    ResponseFunctionToolCall,
    ResponseOutputText,
    ResponseStreamEvent,
    ResponseTextConfig,
)
from openai.types.shared import Reasoning
from pydantic import BaseModel, TypeAdapter

from tests.conftest import ServerProcess
from tests.sdk.helpers import CITY_PARAMETERS_REQUIRED, WEATHER_DESCRIPTION
from tests.sdk.typecheck import assert_required_fields, validate_strict

MODEL = "gpt-4.1"
HELLO = "Hello from the Responses API, in several slices."
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": WEATHER_DESCRIPTION,
    "parameters": {**CITY_PARAMETERS_REQUIRED, "additionalProperties": False},
    "strict": True,
}
TIME_TOOL: dict[str, Any] = {"type": "function", "name": "get_time", "parameters": {}}

# Fields the real API always sends that the SDK types leave optional.
ALWAYS: dict[type[BaseModel], tuple[str, ...]] = {
    Response: (
        "status",
        "usage",
        "text",
        "instructions",
        "metadata",
        "temperature",
        "top_p",
        "max_output_tokens",
        "previous_response_id",
        "reasoning",
        "service_tier",
        "store",
        "truncation",
        "background",
        "user",
        "completed_at",
        "incomplete_details",
        "error",
    ),
    ResponseOutputText: ("logprobs",),
    ResponseFunctionToolCall: ("id", "status"),
    FunctionTool: ("description", "parameters", "strict"),
    ResponseTextConfig: ("format", "verbosity"),
    Reasoning: ("effort", "summary"),
}
MISSING = "missing_required_parameter"
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)

TEXT_EVENTS = [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]


class City(BaseModel):
    city: str
    temperature: int


# --------------------------------------------------------------------------- plumbing


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=sdk_server.base_url, api_key="test", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def aclient(sdk_server: ServerProcess) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=sdk_server.base_url, api_key="test", max_retries=0) as sdk:
        yield sdk


def check_response(raw: dict[str, Any]) -> Response:
    """A response body as the real API sends it, by the SDK's own type."""
    response = validate_strict(Response, raw)
    assert_required_fields(Response, raw, ALWAYS)
    return response


def check_event(raw: dict[str, Any]) -> Any:
    event = EVENTS.validate_python(raw, strict=True)
    assert_required_fields(type(event), raw, ALWAYS)
    return event


def create_raw(client: OpenAI, **kwargs: Any) -> tuple[Response, dict[str, Any]]:
    """Create through the SDK; return what it parsed and the raw body, checked."""
    raw_response = client.responses.with_raw_response.create(**kwargs)
    raw: dict[str, Any] = raw_response.http_response.json()
    check_response(raw)
    return raw_response.parse(), raw


def sse_events(server: ServerProcess, **body: Any) -> list[dict[str, Any]]:
    """POST a streamed request and return its events, each checked against the SDK types."""
    with httpx.Client(timeout=30) as http:
        response = http.post(
            server.base_url + "/responses",
            json={"model": MODEL, **body, "stream": True},
            headers={"Authorization": "Bearer test"},
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        assert len(lines) == 2, block
        payload = json.loads(lines[1].removeprefix("data: "))
        assert payload["type"] == lines[0].removeprefix("event: ")
        check_event(payload)
        events.append(payload)
    return events


def types_of(events: list[Any]) -> list[str]:
    return [e["type"] if isinstance(e, dict) else e.type for e in events]


def collapse_deltas(kinds: list[str]) -> list[str]:
    """Event types with each run of one delta type written once, e.g. `...delta*`."""
    out: list[str] = []
    for kind in kinds:
        label = kind + "*" if kind.endswith(".delta") else kind
        if not out or out[-1] != label or not label.endswith("*"):
            out.append(label)
    return out


# --------------------------------------------------------------------------- plain bodies


def test_text_reply(client: OpenAI) -> None:
    response, raw = create_raw(client, model=MODEL, input="resp-hello")
    assert response.output_text == HELLO
    assert response.id.startswith("resp_")
    assert raw["object"] == "response"
    assert response.status == "completed"
    assert response.model == MODEL
    assert isinstance(raw["created_at"], int)
    assert raw["completed_at"] == raw["created_at"]
    [message] = response.output
    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert message.role == "assistant"
    assert message.status == "completed"
    assert raw["output"][0]["content"] == [
        {"type": "output_text", "text": HELLO, "annotations": [], "logprobs": []}
    ]
    assert raw["tools"] == []
    assert raw["tool_choice"] == "auto"
    assert raw["parallel_tool_calls"] is True
    assert raw["error"] is None and raw["incomplete_details"] is None
    assert raw["text"] == {"format": {"type": "text"}, "verbosity": "medium"}
    usage = response.usage
    assert usage is not None
    assert usage.output_tokens > 0 and usage.input_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


@pytest.mark.parametrize("suffix", ["", "/openai/v1"])
def test_alias_paths(sdk_server: ServerProcess, suffix: str) -> None:
    with OpenAI(base_url=sdk_server.url + suffix, api_key="test", max_retries=0) as sdk:
        response = sdk.responses.create(model=MODEL, input="resp-hello")
    assert response.output_text == HELLO


def test_instructions_are_the_system_message(client: OpenAI) -> None:
    instructions = "You are a resp-pirate."
    response, raw = create_raw(client, model=MODEL, instructions=instructions, input="resp-greet")
    assert response.output_text == "Ahoy from the instructions."
    assert raw["instructions"] == instructions


def test_developer_message_is_a_system_message(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL,
        input=[
            {"role": "developer", "content": "talk like a resp-pirate"},
            {"role": "user", "content": [{"type": "input_text", "text": "resp-greet"}]},
        ],
    )
    assert response.output_text == "Ahoy from the instructions."


def test_function_call(client: OpenAI) -> None:
    response, raw = create_raw(client, model=MODEL, input="resp-weather", tools=[WEATHER_TOOL])
    [call] = response.output
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert call.call_id == "call_resp_weather_1"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert call.id is not None and call.id.startswith("fc_")
    assert call.status == "completed"
    assert response.output_text == ""
    assert raw["tools"] == [WEATHER_TOOL]


def test_function_tool_defaults_are_echoed(client: OpenAI) -> None:
    _, raw = create_raw(
        client,
        model=MODEL,
        input="resp-weather",
        tools=[{"type": "function", "name": "get_weather"}],
    )
    assert raw["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": None,
            "parameters": None,
            "strict": True,
        }
    ]


def test_several_function_calls(client: OpenAI) -> None:
    response, _ = create_raw(
        client, model=MODEL, input="resp-two-tools", tools=[WEATHER_TOOL, TIME_TOOL]
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c.arguments) for c in calls] == [{"city": "Paris"}, {"zone": "Europe/Paris"}]
    assert all(c.call_id.startswith("call_") for c in calls)
    assert len({c.call_id for c in calls}) == 2
    assert len({c.id for c in calls}) == 2


def test_builtin_tools_are_named_by_type(client: OpenAI) -> None:
    response, raw = create_raw(
        client, model=MODEL, input="resp-search", tools=[{"type": "web_search"}]
    )
    assert response.output_text == "Built-in tools are offered by their type."
    assert raw["tools"] == [{"type": "web_search"}]


def test_reasoning_item_comes_first(client: OpenAI) -> None:
    response, raw = create_raw(client, model=MODEL, input="resp-think")
    reasoning, message = response.output
    assert reasoning.type == "reasoning"
    assert reasoning.id.startswith("rs_")
    assert [s.text for s in reasoning.summary] == ["The user asks for a sum: two plus two."]
    assert "encrypted_content" not in raw["output"][0]
    assert message.type == "message"
    assert response.output_text == "4"
    assert raw["usage"] == {
        "input_tokens": 11,
        "input_tokens_details": {"cached_tokens": 3, "cache_write_tokens": 0},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 9},
        "total_tokens": 21,
    }


def test_encrypted_reasoning_on_request(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL, input="resp-think", include=["reasoning.encrypted_content"], store=False
    )
    reasoning = response.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.encrypted_content


def test_structured_output_with_parse(client: OpenAI) -> None:
    response = client.responses.parse(model=MODEL, input="resp-structured", text_format=City)
    assert response.output_parsed == City(city="Paris", temperature=18)


def test_structured_output_format_is_echoed(client: OpenAI) -> None:
    fmt = {
        "type": "json_schema",
        "name": "city",
        "schema": City.model_json_schema(),
        "strict": True,
    }
    response, raw = create_raw(client, model=MODEL, input="resp-structured", text={"format": fmt})
    assert json.loads(response.output_text) == {"city": "Paris", "temperature": 18}
    assert raw["text"]["format"] == {**fmt, "description": None}


def test_structured_output_needs_the_format(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="resp-structured")


def test_refusal(client: OpenAI) -> None:
    response, raw = create_raw(client, model=MODEL, input="resp-refuse")
    [message] = response.output
    assert message.type == "message"
    assert raw["output"][0]["content"] == [
        {"type": "refusal", "refusal": "I can't help with that."}
    ]
    assert response.output_text == ""


def test_tool_loop_with_function_call_output(client: OpenAI) -> None:
    conversation: list[Any] = [{"role": "user", "content": "resp-weather"}]
    first = client.responses.create(model=MODEL, input=conversation, tools=[WEATHER_TOOL])
    [call] = first.output
    assert call.type == "function_call"
    conversation += first.output
    conversation.append(
        {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 18}'}
    )
    second, _ = create_raw(client, model=MODEL, input=conversation, tools=[WEATHER_TOOL])
    assert second.output_text == "It is 18 degrees and sunny in Paris."


def test_tool_output_alone_continues_a_stored_call(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="resp-stored-call", tools=[WEATHER_TOOL])
    response, raw = create_raw(
        client,
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "call_resp_prev", "output": "done"}],
    )
    assert response.output_text == "Continued after the stored call."
    assert raw["previous_response_id"] == first.id


def test_an_unknown_previous_response_is_not_found(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(
            model=MODEL,
            previous_response_id="resp_never_made",
            input=[{"type": "function_call_output", "call_id": "call_resp_prev", "output": "x"}],
        )
    assert caught.value.code == "previous_response_not_found"
    assert caught.value.param == "previous_response_id"


def test_one_assistant_turn_counts_once(client: OpenAI) -> None:
    """Reasoning, text and calls of one assistant turn are one turn (as in Chat Completions);
    item references and reasoning items are accepted and ignored."""
    assert client.responses.create(model=MODEL, input="resp-turns").output_text == "turn 0"
    history: list[Any] = [
        {"role": "user", "content": "resp-turns"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "role": "assistant",
            "id": "msg_1",
            "status": "completed",
            "content": [{"type": "output_text", "text": "checking", "annotations": []}],
        },
        {"type": "function_call", "call_id": "call_a", "name": "get_time", "arguments": "{}"},
        {"type": "function_call", "call_id": "call_b", "name": "get_time", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_a", "output": "noon"},
        {"type": "function_call_output", "call_id": "call_b", "output": "noon"},
        {"type": "item_reference", "id": "msg_0"},
        {"role": "user", "content": "resp-turns"},
    ]
    assert client.responses.create(model=MODEL, input=history).output_text == "turn 1"


@pytest.mark.parametrize(
    ("message", "reason"),
    [("resp-truncated", "max_output_tokens"), ("resp-filtered", "content_filter")],
)
def test_cut_short_is_incomplete(client: OpenAI, message: str, reason: str) -> None:
    response, raw = create_raw(client, model=MODEL, input=message)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == reason
    assert raw["output"][0]["status"] == "incomplete"
    assert raw["completed_at"] is None


def test_reply_overrides(client: OpenAI) -> None:
    response, raw = create_raw(client, model=MODEL, input="resp-override")
    assert response.id == "resp_fixed_id"
    assert raw["created_at"] == 1700000000
    assert response.model == "gpt-4.1-2025-04-14"


def test_request_settings_are_echoed(client: OpenAI) -> None:
    _, raw = create_raw(
        client,
        model=MODEL,
        input="resp-hello",
        temperature=0.2,
        top_p=0.5,
        metadata={"suite": "resp"},
        max_output_tokens=64,
        tool_choice="required",
        tools=[WEATHER_TOOL],
        parallel_tool_calls=False,
        store=False,
        truncation="auto",
        reasoning={"effort": "low"},
        text={"verbosity": "low"},
        service_tier="flex",
        user="resp-user",
    )
    assert raw["temperature"] == 0.2
    assert raw["top_p"] == 0.5
    assert raw["metadata"] == {"suite": "resp"}
    assert raw["max_output_tokens"] == 64
    assert raw["tool_choice"] == "required"
    assert raw["parallel_tool_calls"] is False
    assert raw["store"] is False
    assert raw["truncation"] == "auto"
    assert raw["reasoning"] == {"effort": "low", "summary": None}
    assert raw["text"] == {"format": {"type": "text"}, "verbosity": "low"}
    assert raw["service_tier"] == "flex"
    assert raw["user"] == "resp-user"


def test_journal_records_the_surface(client: OpenAI, sdk_server: ServerProcess) -> None:
    client.responses.create(
        model=MODEL, input="resp-hello", extra_headers={"X-Test-Id": "resp-journal"}
    )
    [entry] = sdk_server.journal(testId="resp-journal")
    assert entry["surface"] == "openai.responses"
    assert entry["model"] == MODEL


# --------------------------------------------------------------------------- errors


def test_rate_limit_fixture(client: OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model=MODEL, input="resp-rate-limit")
    error = caught.value
    assert error.status_code == 429
    assert error.response.headers["retry-after"] == "3"
    assert error.code == "rate_limit_exceeded"
    assert error.type == "rate_limit_error"
    assert error.message.endswith("Rate limit reached for requests")


def test_bad_request_fixture(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="resp-bad-fixture")
    assert caught.value.param == "input"
    assert caught.value.code == "string_above_max_length"


def test_server_error_fixture(client: OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model=MODEL, input="resp-boom")
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"


def test_error_fixture_while_streaming_is_an_http_error(client: OpenAI) -> None:
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model=MODEL, input="resp-rate-limit", stream=True)


def test_miss_is_not_found(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model=MODEL, input="resp-nothing-matches-this")
    assert caught.value.code == "no_fixture_match"
    assert "surface=openai.responses" in caught.value.message


def test_strict_miss_is_503(client: OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(
            model=MODEL,
            input="resp-nothing-matches-this",
            extra_headers={"X-AIMock-Strict": "true"},
        )
    assert caught.value.status_code == 503
    assert caught.value.code == "no_fixture_match"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"input": "resp-hello"}, "model", MISSING),
        ({"model": MODEL, "input": 42}, "input", "invalid_type"),
        ({"model": MODEL, "input": ["resp-hello"]}, "input[0]", "invalid_type"),
        ({"model": MODEL, "input": [{"content": "resp-hello"}]}, "input[0].type", MISSING),
        (
            {"model": MODEL, "input": [{"role": "robot", "content": "hi"}]},
            "input[0].role",
            "invalid_value",
        ),
        (
            {"model": MODEL, "input": [{"role": "user", "content": 7}]},
            "input[0].content",
            "invalid_type",
        ),
        (
            {"model": MODEL, "input": [{"type": "function_call_output", "output": "x"}]},
            "input[0].call_id",
            MISSING,
        ),
        (
            {"model": MODEL, "input": [{"type": "function_call", "call_id": "c", "name": "f"}]},
            "input[0].arguments",
            MISSING,
        ),
        ({"model": MODEL, "input": "x", "tools": [{"type": "function"}]}, "tools[0].name", MISSING),
        ({"model": MODEL, "input": "x", "tools": [{"name": "f"}]}, "tools[0].type", MISSING),
        ({"model": MODEL, "input": "x", "instructions": 3}, "instructions", "invalid_type"),
        (
            {"model": MODEL, "input": "x", "text": {"format": {"type": "yaml"}}},
            "text.format.type",
            "invalid_value",
        ),
        (
            {"model": MODEL, "input": "x", "text": {"format": {"type": "json_schema"}}},
            "text.format.name",
            MISSING,
        ),
        ({"model": MODEL, "input": "x", "stream": "yes"}, "stream", "invalid_type"),
        ({"model": MODEL, "input": "x", "temperature": "hot"}, "temperature", "invalid_type"),
    ],
)
def test_bad_requests(client: OpenAI, body: dict[str, Any], param: str, code: str | None) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/responses", cast_to=Response, body=body)
    error = caught.value
    assert error.param == param
    assert error.code == code
    assert error.type == "invalid_request_error"
    assert f"'{param}'" in error.message


def test_missing_model_through_create(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(input="resp-hello")
    assert caught.value.param == "model"
    assert caught.value.body == {
        "message": "Missing required parameter: 'model'.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "missing_required_parameter",
    }


def test_malformed_json(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post(
            "/responses",
            cast_to=Response,
            content=b'{"model": "gpt-4.1", "input": ',
            options={"headers": {"Content-Type": "application/json"}},
        )
    assert caught.value.code == "invalid_json"


# --------------------------------------------------------------------------- streaming


def test_stream_text_events(client: OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="resp-hello", stream=True))
    kinds = types_of(events)
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) == 7  # 48 characters in slices of 7
    assert kinds == [
        "response.created",
        "response.in_progress",
        *TEXT_EVENTS[:2],
        *["response.output_text.delta"] * 7,
        *TEXT_EVENTS[3:],
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(d.delta for d in deltas) == HELLO
    created, completed = events[0], events[-1]
    assert created.response.status == "in_progress"
    assert created.response.output == []
    assert completed.response.id == created.response.id
    assert completed.response.output_text == HELLO
    item_id = events[2].item.id
    assert {e.item_id for e in events[3:-2]} == {item_id}
    assert events[-2].item.id == item_id
    assert events[-2].item.status == "completed"
    assert events[2].item.status == "in_progress"
    assert events[2].item.content == []
    assert next(e for e in events if e.type == "response.output_text.done").text == HELLO


@pytest.mark.parametrize(
    ("body", "terminal"),
    [
        ({"input": "resp-hello"}, "response.completed"),
        ({"input": "resp-weather", "tools": [WEATHER_TOOL]}, "response.completed"),
        ({"input": "resp-two-tools", "tools": [WEATHER_TOOL, TIME_TOOL]}, "response.completed"),
        ({"input": "resp-think", "include": ["reasoning.encrypted_content"]}, "response.completed"),
        ({"input": "resp-refuse"}, "response.completed"),
        ({"input": "resp-truncated"}, "response.incomplete"),
        ({"input": "resp-filtered"}, "response.incomplete"),
    ],
)
def test_raw_stream_events_follow_the_sdk_types(
    sdk_server: ServerProcess, body: dict[str, Any], terminal: str
) -> None:
    events = sse_events(sdk_server, **body)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert types_of(events)[:2] == ["response.created", "response.in_progress"]
    assert events[-1]["type"] == terminal
    final = events[-1]["response"]
    check_response(final)
    # The items the stream finished are the final output, in order.
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert [e["output_index"] for e in done] == list(range(len(final["output"])))
    assert [e["item"] for e in done] == final["output"]
    for event in events:
        if "output_index" in event and "item_id" in event:
            assert event["item_id"] == final["output"][event["output_index"]]["id"]


def test_stream_function_calls(client: OpenAI) -> None:
    events = list(
        client.responses.create(
            model=MODEL, input="resp-two-tools", tools=[WEATHER_TOOL, TIME_TOOL], stream=True
        )
    )
    per_item = [
        "response.output_item.added",
        "response.function_call_arguments.delta*",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    assert collapse_deltas(types_of(events)) == [
        "response.created",
        "response.in_progress",
        *per_item,
        *per_item,
        "response.completed",
    ]
    added = [e for e in events if e.type == "response.output_item.added"]
    assert [a.output_index for a in added] == [0, 1]
    for index, name, arguments in [
        (0, "get_weather", {"city": "Paris"}),
        (1, "get_time", {"zone": "Europe/Paris"}),
    ]:
        opening = added[index].item
        assert opening.type == "function_call"
        assert opening.name == name and opening.arguments == "" and opening.status == "in_progress"
        deltas = [
            e.delta
            for e in events
            if e.type == "response.function_call_arguments.delta" and e.output_index == index
        ]
        assert len(deltas) > 1  # chunkSize 5
        assert json.loads("".join(deltas)) == arguments
        done = next(
            e
            for e in events
            if e.type == "response.function_call_arguments.done" and e.output_index == index
        )
        assert json.loads(done.arguments) == arguments
        assert done.item_id == opening.id
        assert done.model_extra == {"name": name}
    final = events[-1].response
    assert [o.call_id for o in final.output if o.type == "function_call"] == [
        a.item.call_id for a in added
    ]


def test_stream_reasoning_then_message(client: OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="resp-think", stream=True))
    assert collapse_deltas(types_of(events)) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta*",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta*",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert summary == "The user asks for a sum: two plus two."
    assert all(
        e.output_index == 0 and e.summary_index == 0
        for e in events
        if e.type.startswith("response.reasoning_summary")
    )
    final = events[-1].response
    assert [o.type for o in final.output] == ["reasoning", "message"]
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 9


def test_stream_refusal(client: OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="resp-refuse", stream=True))
    assert collapse_deltas(types_of(events)) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.refusal.delta*",
        "response.refusal.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    refusal = "".join(e.delta for e in events if e.type == "response.refusal.delta")
    assert refusal == "I can't help with that."
    part_added = next(e for e in events if e.type == "response.content_part.added")
    assert part_added.part.type == "refusal"


def test_stream_cut_short_ends_incomplete(client: OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="resp-truncated", stream=True))
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.status == "incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert not any(e.type == "response.completed" for e in events)


def test_stream_helper_final_response(client: OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="resp-hello") as stream:
        snapshots = [e.snapshot for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert snapshots[-1] == HELLO
    assert final.output_text == HELLO
    assert final.status == "completed"


def test_stream_helper_parses_text_format(client: OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="resp-structured", text_format=City) as stream:
        final = stream.get_final_response()
    assert final.output_parsed == City(city="Paris", temperature=18)


def test_stream_helper_function_calls(client: OpenAI) -> None:
    with client.responses.stream(
        model=MODEL, input="resp-two-tools", tools=[WEATHER_TOOL, TIME_TOOL]
    ) as stream:
        argument_snapshots = [
            e.snapshot for e in stream if e.type == "response.function_call_arguments.delta"
        ]
        final = stream.get_final_response()
    calls = [o for o in final.output if o.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(argument_snapshots[-1]) == {"zone": "Europe/Paris"}


# --------------------------------------------------------------------------- async client


async def test_async_text(aclient: AsyncOpenAI) -> None:
    response = await aclient.responses.create(model=MODEL, input="resp-hello")
    assert response.output_text == HELLO


async def test_async_stream_events(aclient: AsyncOpenAI) -> None:
    stream = await aclient.responses.create(model=MODEL, input="resp-hello", stream=True)
    events = [event async for event in stream]
    assert collapse_deltas(types_of(events)) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta*",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))


async def test_async_stream_helper(aclient: AsyncOpenAI) -> None:
    async with aclient.responses.stream(
        model=MODEL, input="resp-weather", tools=[WEATHER_TOOL]
    ) as stream:
        final = await stream.get_final_response()
    [call] = final.output
    assert call.type == "function_call"
    assert call.call_id == "call_resp_weather_1"


async def test_async_errors(aclient: AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError):
        await aclient.responses.create(model=MODEL, input="resp-rate-limit")
    with pytest.raises(openai.NotFoundError):
        await aclient.responses.create(model=MODEL, input="resp-nothing-matches-this")
