"""Record mode reads Mistral's reasoning back: a stream rendered for the mistralai client
(thinking content chunks, a transition delta, plain-string answer pieces, whole tool calls)
collapses to the reply it came from. The generic round trip in test_collapse.py sends no
User-Agent, so it never reaches the Mistral shapes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from aimock.canonical import RequestContext
from aimock.fixtures.compiled import Reply, ReplyToolCall
from aimock.providers import openai_chat
from aimock.surface import RenderOptions

MISTRAL = RequestContext(headers={"user-agent": "mistral-client-python/1.9.0"})
REPLIES = {
    "thinking": Reply(kind="message", reasoning="Two and two make four.", content="Four."),
    "thinking-then-tool": Reply(
        kind="message",
        reasoning="Look the weather up.",
        tool_calls=(ReplyToolCall("get_weather", '{"city": "Lyon"}', "call_m"),),
    ),
    "text": Reply(kind="message", content="No thinking here."),
}


def _mistral_request() -> Any:
    body = {"model": "magistral-medium-latest", "messages": [{"role": "user", "content": "hi"}]}
    return openai_chat.parse({**body, "stream": True}, MISTRAL, {})


@pytest.mark.parametrize("kind", sorted(REPLIES))
@pytest.mark.parametrize("chunk_size", [1, 4, 100])
def test_mistral_stream_collapses_to_its_reply(kind: str, chunk_size: int) -> None:
    reply = REPLIES[kind]
    events = openai_chat.stream(_mistral_request(), reply, RenderOptions(chunk_size=chunk_size))
    wire = [
        (e.name, e.data if isinstance(e.data, str) else orjson.loads(orjson.dumps(e.data)))
        for e in events
    ]
    if reply.reasoning is not None:  # the Mistral shape, not OpenAI's reasoning_content
        assert not any("reasoning_content" in orjson.dumps(data).decode() for _, data in wire)
    collapsed = openai_chat.collapse(wire)
    assert collapsed.content == reply.content
    assert collapsed.reasoning == reply.reasoning
    assert [(c.name, c.arguments) for c in collapsed.tool_calls] == [
        (c.name, c.arguments) for c in reply.tool_calls
    ]


def test_collapse_reads_a_whole_mistral_content_list() -> None:
    """A delta may carry several chunks at once (the transition delta does)."""
    delta = {
        "content": [
            {
                "type": "thinking",
                "thinking": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
            {"type": "text", "text": "c"},
        ]
    }
    chunk = {"id": "x", "model": "m", "choices": [{"index": 0, "delta": delta}]}
    collapsed = openai_chat.collapse([(None, chunk), (None, "[DONE]")])
    assert (collapsed.reasoning, collapsed.content) == ("ab", "c")
