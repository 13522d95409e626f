"""mock-llm (dwmkerr/mock-llm) configs: the sample in its README's format, converted and
served by a real aimock process, answers what the config says mock-llm answers."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from tests.conftest import serving
from tests.server.convert_helpers import SAMPLES, WEATHER_TOOL, converted, user

CONFIG = SAMPLES / "mockllm" / "mock-llm.yaml"


def test_the_converted_rules_answer_as_mock_llm_does(tmp_path: Path) -> None:
    out, notes = converted(CONFIG, tmp_path / "out", "--from", "mockllm")
    with (
        serving("-f", str(out)) as server,
        openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as client,
    ):
        # rules[6] and [7], `sequence: 0` and `1`: the first request is a tool call (the last
        # rule that matches wins in mock-llm, and these come last), the second the answer.
        first = client.chat.completions.create(
            model="gpt-4o", messages=[user("What's the weather in London?")], tools=[WEATHER_TOOL]
        )
        (call,) = first.choices[0].message.tool_calls or []
        assert (call.id, call.function.name) == ("call_1", "get_weather")
        assert json.loads(call.function.arguments) == {"city": "London"}
        assert first.choices[0].finish_reason == "tool_calls"
        second = client.chat.completions.create(
            model="gpt-4o",
            messages=[
                user("What's the weather in London?"),
                {"role": "assistant", "tool_calls": [call.model_dump()]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
            tools=[WEATHER_TOOL],
        )
        assert second.choices[0].message.content == "The weather is 72°F"
        # rules[1]: contains(body.messages[-1].content, 'hello'), streamed or not.
        hello = client.chat.completions.create(model="gpt-4o", messages=[user("hello there")])
        assert hello.choices[0].message.content == "Hi there! How can I help you today?"
        stream = client.chat.completions.create(
            model="gpt-4o", messages=[user("hello there")], stream=True
        )
        deltas = [c.choices[0].delta.content for c in stream if c.choices]
        assert "".join(d or "" for d in deltas) == "Hi there! How can I help you today?"
        # streaming.chunkSize: 10 carried onto every fixture.
        assert max(len(d or "") for d in deltas) == 10
        # rules[2]: the realistic 401.
        with pytest.raises(openai.AuthenticationError) as refused:
            client.chat.completions.create(model="gpt-4o", messages=[user("error-401 now")])
        assert refused.value.status_code == 401
        assert refused.value.code == "invalid_api_key"
        assert refused.value.body["message"] == "Incorrect API key provided."  # type: ignore[index]
        # rules[3]: body.model == 'gpt-4o-mini' && contains(..., 'cheap').
        cheap = client.chat.completions.create(model="gpt-4o-mini", messages=[user("cheap one")])
        assert cheap.choices[0].message.content == "The small model answers."
        # With gpt-4o only the echo rule (rules[0]) matches in mock-llm: no fixture can echo,
        # so it was dropped, said so, and aimock answers its miss.
        with pytest.raises(openai.NotFoundError) as missed:
            client.chat.completions.create(model="gpt-4o", messages=[user("cheap one")])
        assert missed.value.code == "no_fixture_match"
    assert "dropped: " in notes and "$.rules[0].response.content: its content echoes" in notes
    assert "$.rules[4].match: JMESPath 'length(body.messages) > `5`'" in notes
    assert "$.rules[5].method: a GET rule" in notes
