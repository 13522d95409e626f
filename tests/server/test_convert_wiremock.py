"""WireMock stub mappings for AI endpoints: the sample (mappings/*.json and __files/, in the
format of wiremock.org's stubbing and request-matching docs), converted and served by a real
aimock process, answers what the stubs say WireMock answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from aimock.convert import convert
from tests.conftest import serving
from tests.server.convert_helpers import SAMPLES, WEATHER_TOOL, converted, user

ROOT = SAMPLES / "wiremock"


def test_the_converted_stubs_answer_as_wiremock_does(tmp_path: Path) -> None:
    out, notes = converted(ROOT, tmp_path / "out")
    with (
        serving("-f", str(out)) as server,
        openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as client,
    ):
        # chat.json mappings[0]: equalToJson on model and messages; the jsonBody's fields.
        paris = client.chat.completions.create(
            model="gpt-4o", messages=[user("What is the capital of France?")], temperature=0
        )
        assert paris.choices[0].message.content == "The capital of France is Paris."
        assert (paris.id, paris.created, paris.model) == ("chatcmpl-wm1", 1700000000, "gpt-4o")
        assert paris.usage is not None
        assert (paris.usage.prompt_tokens, paris.usage.completion_tokens) == (14, 7)
        # ... and not for another model (equalToJson names gpt-4o).
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[user("What is the capital of France?")]
            )
        # mappings[1]: matchesJsonPath on tools and on the last message: the tool call.
        weather = client.chat.completions.create(
            model="gpt-4o", messages=[user("what's the weather?")], tools=[WEATHER_TOOL]
        )
        (call,) = weather.choices[0].message.tool_calls or []
        assert (call.id, call.function.name) == ("call_wm_1", "get_weather")
        assert json.loads(call.function.arguments) == {"city": "Paris"}
        # mappings[2]: priority 1, 429 after fixedDelayMilliseconds 20.
        started = time.monotonic()
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(model="gpt-4o", messages=[user("overloaded?")])
        assert time.monotonic() - started >= 0.02
        assert limited.value.code == "rate_limit_exceeded"
        # mappings[3]: an SSE body from __files/, streamed or asked whole.
        stream = client.chat.completions.create(
            model="gpt-4o", messages=[user("please STREAM ME")], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "Streamed from WireMock."
        # scenario.json: Started -> 503, then recovered -> the answer, and it stays there.
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="gpt-4o", messages=[user("retry please")])
        for _ in range(2):
            again = client.chat.completions.create(model="gpt-4o", messages=[user("retry please")])
            assert again.choices[0].message.content == "Worked the second time."
        # embeddings.json: urlPathPattern.
        vector = client.embeddings.create(model="text-embedding-3-small", input="anything")
        assert vector.data[0].embedding == pytest.approx([0.1, 0.2, 0.3])  # float32 on the wire
        # anthropic.json: a header and the model, Anthropic's own envelope back (the stub asks
        # for anthropic-version 2023-06-01, which this SDK no longer sends by itself).
        with anthropic.Anthropic(
            base_url=server.url,
            api_key="test",
            max_retries=0,
            default_headers={"anthropic-version": "2023-06-01"},
        ) as claude:
            message = claude.messages.create(
                model="claude-sonnet-4-5", max_tokens=50, messages=[user("hi")]
            )
            assert [b.text for b in message.content if b.type == "text"] == [
                "Hello from a WireMock stub."
            ]
            assert message.id == "msg_wm1"
            with pytest.raises(anthropic.NotFoundError):
                claude.messages.create(
                    model="claude-haiku-4-5", max_tokens=50, messages=[user("hi")]
                )
    assert "chat.json: $.mappings[4].request.method: a GET stub" in notes
    assert "chat.json: $.mappings[5].request.bodyPatterns[0]: body matcher ['matchesXPath']" in (
        notes
    )


def test_priority_and_recency_order_the_fixtures() -> None:
    (conversion,) = convert([ROOT])
    first = conversion.fixtures[0].fixture
    assert first["match"]["userMessage"] == {"contains": "overloaded"}  # priority 1
    # Among equal priorities the stub added last wins in WireMock: scenario.json is read last.
    assert conversion.fixtures[1].origin.endswith("scenario.json#$.mappings[1]")


def test_a_fault_becomes_chaos(tmp_path: Path) -> None:
    stub = {
        "request": {"method": "POST", "urlPath": "/v1/chat/completions"},
        "response": {"fault": "CONNECTION_RESET_BY_PEER"},
    }
    (tmp_path / "fault.json").write_text(json.dumps(stub))
    (conversion,) = convert([tmp_path / "fault.json"], "wiremock")
    (fixture,) = conversion.fixtures
    assert fixture.fixture["chaos"] == {"disconnectRate": 1.0}
    assert any("fault" in n.where and n.kind == "approximated" for n in conversion.notes)


def test_a_proxy_and_a_templated_body_are_named(tmp_path: Path) -> None:
    stubs = {
        "mappings": [
            {
                "request": {"urlPath": "/v1/chat/completions"},
                "response": {"proxyBaseUrl": "https://api.openai.com"},
            },
            {
                "request": {"urlPath": "/v1/chat/completions"},
                "response": {
                    "transformers": ["response-template"],
                    "jsonBody": {
                        "choices": [{"message": {"content": "{{jsonPath request.body '$.model'}}"}}]
                    },
                },
            },
        ]
    }
    (tmp_path / "m.json").write_text(json.dumps(stubs))
    (conversion,) = convert([tmp_path / "m.json"], "wiremock")
    reasons = {n.where: n.reason for n in conversion.notes}
    assert "proxy stub is not converted" in reasons["$.mappings[0].response.proxyBaseUrl"]
    assert "templates are not run" in reasons["$.mappings[1].response.transformers"]


def test_a_gemini_stub_keeps_the_model_of_its_path(tmp_path: Path) -> None:
    stub = {
        "request": {"method": "POST", "urlPath": "/v1beta/models/gemini-2.0-flash:generateContent"},
        "response": {
            "status": 200,
            "jsonBody": {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": "Hello from Gemini."}]},
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4},
            },
        },
    }
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "gemini.json").write_text(json.dumps(stub))
    out, _notes = converted(tmp_path, tmp_path / "out")
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    with serving("-f", str(out)) as server, httpx.Client(base_url=server.url) as http:
        asked = http.post("/v1beta/models/gemini-2.0-flash:generateContent", json=body)
        other = http.post("/v1beta/models/gemini-2.5-pro:generateContent", json=body)
    assert asked.status_code == 200
    assert asked.json()["candidates"][0]["content"]["parts"][0]["text"] == "Hello from Gemini."
    assert other.status_code == 404  # WireMock's stub named that model only


def test_an_answer_that_fits_no_surface_of_the_path_is_named(tmp_path: Path) -> None:
    stubs = {
        "mappings": [
            {
                "request": {"urlPath": "/v1/chat/completions"},
                "response": {"jsonBody": {"object": "list", "data": [{"embedding": [0.5]}]}},
            },
            {
                "request": {"urlPathPattern": "/.*"},
                "response": {"jsonBody": {"choices": [{"message": {"content": "anything"}}]}},
            },
        ]
    }
    (tmp_path / "m.json").write_text(json.dumps(stubs))
    (conversion,) = convert([tmp_path / "m.json"], "wiremock")
    reasons = {(n.where, n.kind): n.reason for n in conversion.notes}
    assert "fits none of the surfaces" in reasons[("$.mappings[0].request", "dropped")]
    assert (
        "answers every surface its answer fits"
        in reasons[("$.mappings[1].request", "approximated")]
    )
    (fixture,) = conversion.fixtures
    assert "surface" not in fixture.fixture["match"]


def test_json_unit_placeholders_match_anything(tmp_path: Path) -> None:
    stub = {
        "request": {
            "urlPath": "/v1/chat/completions",
            "bodyPatterns": [
                {
                    "equalToJson": {
                        "model": "${json-unit.any-string}",
                        "messages": [
                            {"role": "system", "content": "${json-unit.ignore}"},
                            {"role": "user", "content": "Hi"},
                        ],
                    },
                    "ignoreExtraElements": True,
                }
            ],
        },
        "response": {"jsonBody": {"choices": [{"message": {"content": "Hello"}}]}},
    }
    (tmp_path / "s.json").write_text(json.dumps(stub))
    (conversion,) = convert([tmp_path / "s.json"], "wiremock")
    (fixture,) = conversion.fixtures
    assert fixture.fixture["match"] == {"surface": "openai.chat", "userMessage": {"equals": "Hi"}}
