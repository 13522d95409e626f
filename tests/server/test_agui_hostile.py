"""The AG-UI route under hostile input: whatever a client sends to an agent's endpoint, the
answer is a JSON error envelope (400, 404, 405, 413) or a run whose every event the official
`ag_ui.core` models read, never a traceback or a fault of ours, quickly, with one journal entry
a request.

The generic request-path fuzz (test_request_path_fuzz.py) walks the providers' routes and a
few service mounts with arbitrary bytes; this one walks the AG-UI endpoints with bodies shaped
like a RunAgentInput, so the matching and the stream are reached too.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from ag_ui.core import Event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from aimock.testing import MockServer

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "tests" / "sdk" / "fixtures_agui"
EVENTS: TypeAdapter[Any] = TypeAdapter(Event)
PATHS = ("/agui", "/agui/", "/agui/planner", "/agents/ops", "/agui/nobody")


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer([STACK]) as mock:
        yield mock


def check_answer(response: httpx.Response) -> None:
    """A run whose events ag_ui.core reads, or a JSON error envelope."""
    assert response.headers["x-request-id"].startswith("req_")
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("text/event-stream")
        blocks = [b for b in response.text.split("\n\n") if b.strip()]
        events = [EVENTS.validate_python(orjson.loads(b.removeprefix("data: "))) for b in blocks]
        assert events[0].type.value == "RUN_STARTED"
        assert events[-1].type.value in ("RUN_FINISHED", "RUN_ERROR")
    else:
        assert response.status_code in (400, 404, 405, 413), response.text
        body = response.json()
        assert isinstance(body["error"], str) and "internal error" not in body["error"]


def post(server: MockServer, content: bytes, path: str = "/agui", **headers: str) -> httpx.Response:
    return httpx.post(server.url + path, content=content, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "Malformed JSON"),
        (b"", "empty"),
        (b"[1, 2]", "expected a JSON object"),
        (b'"a string"', "expected a JSON object"),
        (b'{"messages": {"role": "user"}}', "'messages' must be a list of objects"),
        (b'{"messages": ["hello"]}', "'messages' must be a list of objects"),
        (b'{"messages": [{"content": "no role"}]}', "messages[0] needs a role"),
        (b'{"threadId": 7, "messages": []}', "'threadId' must be a string"),
        (b'{"runId": ["r"], "messages": []}', "'runId' must be a string"),
        (b'{"tools": "get_weather"}', "'tools' must be a list of objects"),
        (b'{"messages": [], "x": "\xff\xfe"}', "Malformed JSON"),  # not UTF-8
        ('{"messages": []}'.encode("utf-16"), "Malformed JSON"),
        (b'{"threadId": "\\ud800"}', "Malformed JSON"),  # a lone surrogate
        (b"[" * 100_000 + b"]" * 100_000, "depth limit exceeded"),  # orjson's own limit
        (b'{"state": ' + b'{"a": ' * 200 + b"1" + b"}" * 200 + b"}", "nested deeper"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(server: MockServer, body: bytes, words: str) -> None:
    response = post(server, body, **{"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]
    check_answer(response)


def test_an_undecodable_body_is_a_400(server: MockServer) -> None:
    response = post(server, b"not gzip at all", **{"Content-Encoding": "gzip"})
    assert response.status_code == 400
    check_answer(response)


def test_a_gzipped_run_is_read(server: MockServer) -> None:
    body = {"messages": [{"id": "1", "role": "user", "content": "agui-hello"}]}
    response = post(
        server, gzip.compress(json.dumps(body).encode()), **{"Content-Encoding": "gzip"}
    )
    assert response.status_code == 200
    check_answer(response)


def test_a_body_past_the_limit_is_a_413(server: MockServer) -> None:
    response = post(server, b'{"messages": [], "pad": "' + b"x" * (11 * 1024 * 1024) + b'"}')
    assert response.status_code == 413
    check_answer(response)


def test_a_huge_conversation_is_answered(server: MockServer) -> None:
    """Ten thousand messages and a megabyte of text: matched in one walk, no regex blow-up (a
    blow-up would hold the request past the client's timeout; speed itself is bench/'s)."""
    messages = [{"id": str(i), "role": "assistant", "content": "x" * 50} for i in range(10_000)]
    messages.append({"id": "last", "role": "user", "content": "a" * 1_000_000 + " agui-raw-1"})
    response = post(server, orjson.dumps({"messages": messages}))
    assert response.status_code == 404  # the regex is anchored: the text is not `agui-raw-N`
    check_answer(response)


def test_other_methods_are_405_with_allow(server: MockServer) -> None:
    response = httpx.get(server.url + "/agui")
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    check_answer(response)


def test_an_unknown_agent_is_a_404(server: MockServer) -> None:
    response = post(server, b'{"messages": []}', "/agui/nobody")
    assert response.status_code == 404 and response.json()["code"] == "agent_not_found"


# --- property -----------------------------------------------------------------------------------

texts = st.text(max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=10,
)
content = st.one_of(
    texts,
    st.sampled_from(["agui-hello", "agui-raw-7", "plan", "agui-fail", "agui-history"]),
    st.lists(
        st.fixed_dictionaries({"type": st.sampled_from(["text", "image", 3]), "text": json_values}),
        max_size=3,
    ),
    json_values,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "tool", "system", 5])},
        optional={
            "id": texts,
            "content": content,
            "toolCallId": st.sampled_from(["call-weather-1", "other"]) | json_values,
        },
    ),
    max_size=5,
)
run_inputs = st.fixed_dictionaries(
    {},
    optional={
        "threadId": texts | json_values,
        "runId": texts | json_values,
        "parentRunId": texts,
        "messages": messages | json_values,
        "tools": st.lists(
            st.fixed_dictionaries({"name": st.sampled_from(["get_weather", "x"]) | json_values}),
            max_size=3,
        )
        | json_values,
        "state": json_values | st.just({"counter": 1}),
        "context": json_values,
        "forwardedProps": json_values,
    },
)
headers = st.dictionaries(
    st.sampled_from(["x-aimock-strict", "content-type", "accept", "x-test-id"]),
    st.sampled_from(["true", "false", "application/json", "text/event-stream", "t-1", ""]),
    max_size=2,
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=st.sampled_from(PATHS), body=run_inputs | json_values, headers=headers)
def test_any_run_input_gets_a_run_or_an_envelope(
    server: MockServer,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: Any,
    headers: dict[str, str],
) -> None:
    caplog.clear()
    before = len(server.journal)
    response = httpx.post(
        server.url + path, content=json.dumps(body).encode(), headers=headers, timeout=30
    )
    faults = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert faults == [], faults[0].getMessage()
    check_answer(response)
    assert len(server.journal) == before + 1
