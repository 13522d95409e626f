"""Property: whatever a batch's input file holds, every non-blank line gives exactly one output
or error line, in order, and the runner never faults (no 500 line, nothing logged).

Lines are drawn from a valid chat, Responses or embeddings request changed by one of: bytes
that are no JSON, JSON that is no object, a field removed or given a hostile value (the wrong
type, a huge number, deep nesting, odd unicode), an unknown field, a repeated `custom_id`.
The runner is called the way `POST /v1/batches` calls it (`openai_batches.run_lines`), on an
app built by `create_app`, so the surfaces come from the real route table."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.app import create_app
from aimock.canonical import RequestContext
from aimock.fixtures.loading import load_text
from aimock.providers import openai_batches
from aimock.state import ServeOptions

FIXTURES = json.dumps(
    {
        "fixtures": [
            {"match": {"userMessage": "hello"}, "response": {"content": "Hi."}},
            {"match": {"inputText": "embed me"}, "response": {"embedding": [0.1, 0.2]}},
        ]
    }
)
EXAMPLES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]},
    "/v1/responses": {"model": "gpt-4o", "input": "hello"},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "embed me"},
    "/v1/completions": {"model": "gpt-3.5-turbo-instruct", "prompt": "hello"},
}
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.recursive(st.just(1), lambda inner: st.lists(inner, max_size=1), max_leaves=60),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@st.composite
def lines(draw: st.DrawFn, endpoint: str) -> bytes:
    kind = draw(st.sampled_from(["valid", "garbage", "scalar", "field", "body-field", "extra"]))
    line: dict[str, Any] = {
        "custom_id": draw(st.sampled_from(["a", "b", "c", "d"])),
        "method": "POST",
        "url": endpoint,
        "body": json.loads(json.dumps(EXAMPLES[endpoint])),
    }
    if kind == "garbage":
        return draw(st.binary(max_size=40)).replace(b"\n", b" ")
    if kind == "scalar":
        return json.dumps(draw(HOSTILE)).encode()
    if kind == "field":
        key = draw(st.sampled_from(["custom_id", "method", "url", "body"]))
        if draw(st.booleans()):
            del line[key]
        else:
            line[key] = draw(HOSTILE)
    elif kind == "body-field":
        key = draw(st.sampled_from([*line["body"], "stream", "n", "temperature"]))
        if draw(st.booleans()) and key in line["body"]:
            del line["body"][key]
        else:
            line["body"][key] = draw(HOSTILE)
    elif kind == "extra":
        line[draw(st.text(min_size=1, max_size=8))] = draw(HOSTILE)
    return json.dumps(line).encode()  # integers past 64 bits too


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, bytes]:
    endpoint = draw(st.sampled_from(sorted(EXAMPLES)))
    drawn = draw(st.lists(lines(endpoint), min_size=1, max_size=8))
    return endpoint, b"\n".join(drawn) + b"\n"


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(ServeOptions(), load_text(FIXTURES))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=batches())
def test_every_line_gives_one_answer_and_never_a_fault(
    app: Any, batch: tuple[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    endpoint, content = batch
    context = RequestContext(headers={})
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="aimock.offline"):
        outputs, failures = asyncio.run(openai_batches.run_lines(app, endpoint, content, context))
    assert not caplog.records, caplog.text
    expected = sum(1 for line in content.split(b"\n") if line.strip())
    assert len(outputs) + len(failures) == expected
    for line in outputs:
        assert line["response"]["status_code"] == 200 and line["error"] is None
    for line in failures:
        if line["response"] is None:
            assert set(line["error"]) == {"code", "message"}
        else:
            assert 400 <= line["response"]["status_code"] < 500
            assert "error" in line["response"]["body"]
        orjson.dumps(line)  # each line is writable JSON
