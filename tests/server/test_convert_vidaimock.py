"""VidaiMock configs: the sample folder (providers/*.yaml and Tera templates, in the format
of VidaiMock's src/provider.rs and its docs), converted and served by a real aimock process,
answers what its templates say VidaiMock answers."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import openai
import pytest

from tests.conftest import serving
from tests.server.convert_helpers import SAMPLES, WEATHER_TOOL, converted, user

CONFIG = SAMPLES / "vidaimock" / "config"


def test_the_converted_providers_answer_as_vidaimock_does(tmp_path: Path) -> None:
    out, notes = converted(CONFIG, tmp_path / "out")
    with (
        serving("-f", str(out)) as server,
        openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as client,
    ):
        # `{% elif has_tools %}`: the template's tool call.
        asked = client.chat.completions.create(
            model="gpt-4o", messages=[user("Weather in London?")], tools=[WEATHER_TOOL]
        )
        (call,) = asked.choices[0].message.tool_calls or []
        assert (call.id, call.function.name) == ("call_mock_1", "get_weather")
        assert json.loads(call.function.arguments) == {"city": "London"}
        # `{% if has_tools and has_tool_result(...) %}`: the synthesis ends the loop.
        done = client.chat.completions.create(
            model="gpt-4o",
            messages=[
                user("Weather in London?"),
                {"role": "assistant", "tool_calls": [call.model_dump()]},
                {"role": "tool", "tool_call_id": "call_mock_1", "content": "15C cloudy"},
            ],
            tools=[WEATHER_TOOL],
        )
        assert done.choices[0].message.content == "Based on the tool results, here is the answer."
        assert done.usage is not None and done.usage.prompt_tokens == 72
        # `{% elif ... | lower is containing('refund') %}`: any case.
        refund = client.chat.completions.create(model="gpt-4o", messages=[user("A REFUND?")])
        assert refund.choices[0].message.content == "Refunds take 5 days."
        # The echo branch could not carry: said so, and a miss here.
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="gpt-4o", messages=[user("echo me")])
        # providers/embeddings-down.yaml: status_code "503" through its error_template.
        with pytest.raises(openai.InternalServerError) as down:
            client.embeddings.create(model="text-embedding-3-small", input="hello")
        assert down.value.status_code == 503
        assert down.value.code == "model_overloaded"
        # providers/anthropic.yaml: an inline response_body.
        with anthropic.Anthropic(base_url=server.url, api_key="test", max_retries=0) as claude:
            message = claude.messages.create(
                model="claude-sonnet-4-5", max_tokens=100, messages=[user("hi")]
            )
        assert [b.text for b in message.content if b.type == "text"] == [
            "Hello from the Anthropic provider."
        ]
        assert message.stop_reason == "end_turn" and message.usage.output_tokens == 7
    assert "{% if %} branch 3: its content is rendered from the request" in notes
    assert "legacy.yaml: $.matcher: '^/legacy/chat$' is no AI surface aimock serves" in notes
    assert "mock-server.toml: $.latency" in notes


def test_a_template_outside_the_folder_is_named(tmp_path: Path) -> None:
    root = tmp_path / "config"
    (root / "providers").mkdir(parents=True)
    (root / "providers" / "openai.yaml").write_text(
        'name: openai\nmatcher: "^/v1/chat/completions$"\n'
        'response_template: "openai/chat_completion.json.j2"\n'
    )
    _, notes = converted(root, tmp_path / "out")
    assert "openai/chat_completion.json.j2 is not in this folder" in notes
