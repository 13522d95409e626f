"""A fixture's run as AG-UI events (its shorthands built in protocol order, or its `events` as
written), and its pacing."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import orjson

from aimock import ids
from aimock.fixtures.compiled import Physics
from aimock.models.services.agui import AguiFixture
from aimock.services.agui.run import Json, RunInput
from aimock.surface import Event


def now_ms() -> int:
    return int(time.time() * 1000)


def started(run: RunInput) -> Json:
    event: Json = {"type": "RUN_STARTED", "threadId": run.thread_id, "runId": run.run_id}
    if run.parent_run_id is not None:
        event["parentRunId"] = run.parent_run_id
    return event


def _finished(run: RunInput) -> Json:
    return {"type": "RUN_FINISHED", "threadId": run.thread_id, "runId": run.run_id}


def _slices(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _arguments(arguments: str | dict[str, Any]) -> str:
    return arguments if isinstance(arguments, str) else orjson.dumps(arguments).decode()


def shorthand_events(fixture: AguiFixture, run: RunInput, chunk_size: int) -> Iterator[Json]:
    """The run a fixture's shorthands describe, in protocol order: RUN_STARTED, (STEP_STARTED),
    reasoning, text, tool calls (and results), state snapshot, state delta, messages
    snapshot, (STEP_FINISHED), then RUN_FINISHED or RUN_ERROR."""
    yield started(run)
    if fixture.step is not None:
        yield {"type": "STEP_STARTED", "stepName": fixture.step}
    if fixture.reasoning is not None:
        mid = ids.uuid4()
        yield {"type": "REASONING_START", "messageId": mid}
        yield {"type": "REASONING_MESSAGE_START", "messageId": mid, "role": "reasoning"}
        for piece in _slices(fixture.reasoning, chunk_size):
            yield {"type": "REASONING_MESSAGE_CONTENT", "messageId": mid, "delta": piece}
        yield {"type": "REASONING_MESSAGE_END", "messageId": mid}
        yield {"type": "REASONING_END", "messageId": mid}
    message_id: str | None = None
    if fixture.text is not None:
        message_id = ids.uuid4()
        yield {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"}
        for piece in _slices(fixture.text, chunk_size):
            if piece:  # the protocol refuses an empty delta
                yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": piece}
        yield {"type": "TEXT_MESSAGE_END", "messageId": message_id}
    for call in fixture.tool_calls:
        call_id = call.id or ids.uuid4()
        start: Json = {"type": "TOOL_CALL_START", "toolCallId": call_id, "toolCallName": call.name}
        if message_id is not None:
            start["parentMessageId"] = message_id
        yield start
        for piece in _slices(_arguments(call.arguments), chunk_size):
            yield {"type": "TOOL_CALL_ARGS", "toolCallId": call_id, "delta": piece}
        yield {"type": "TOOL_CALL_END", "toolCallId": call_id}
        if call.result is not None:
            yield {
                "type": "TOOL_CALL_RESULT",
                "messageId": ids.uuid4(),
                "toolCallId": call_id,
                "content": call.result,
                "role": "tool",
            }
    if fixture.state is not None:
        yield {"type": "STATE_SNAPSHOT", "snapshot": fixture.state}
    if fixture.state_delta is not None:
        yield {"type": "STATE_DELTA", "delta": list(fixture.state_delta)}
    if fixture.messages is not None:
        yield {"type": "MESSAGES_SNAPSHOT", "messages": list(fixture.messages)}
    if fixture.step is not None:
        yield {"type": "STEP_FINISHED", "stepName": fixture.step}
    if fixture.error is not None:
        error: Json = {"type": "RUN_ERROR", "message": fixture.error.message}
        if fixture.error.code is not None:
            error["code"] = fixture.error.code
        yield error
    else:
        yield _finished(run)


def written_events(events: list[Json], run: RunInput) -> Iterator[Json]:
    """A fixture's `events` as written; a RUN_STARTED or RUN_FINISHED lacking the run's ids
    gets them."""
    for event in events:
        if event["type"] in ("RUN_STARTED", "RUN_FINISHED") and not (
            "threadId" in event and "runId" in event
        ):
            yield {"threadId": run.thread_id, "runId": run.run_id, **event}
        else:
            yield event


def run_events(fixture: AguiFixture, run: RunInput, chunk_size: int) -> list[Event]:
    """The fixture's run as stream events, each stamped with a timestamp (as AIMock does)
    unless it has one, and weighed for tokens-per-second pacing by its text."""
    raw = (
        written_events(fixture.events, run)
        if fixture.events is not None
        else shorthand_events(fixture, run, chunk_size)
    )
    now = now_ms()
    out: list[Event] = []
    for event in raw:
        stamped = event if "timestamp" in event else {**event, "timestamp": now}
        delta = event.get("delta")
        tokens = max(1, len(delta) // 4) if isinstance(delta, str) else 0
        out.append(Event(stamped, tokens=tokens))
    return out


def strict_miss_events(run: RunInput, message: str) -> list[Event]:
    now = now_ms()
    failed = {"type": "RUN_ERROR", "message": message, "code": "no_fixture_match"}
    return [Event({**started(run), "timestamp": now}), Event({**failed, "timestamp": now})]


def physics_for(fixture: AguiFixture | None, base: Physics) -> Physics:
    """The server's pacing, with a fixture's own delay, slice size and cuts."""
    if fixture is None:
        return base
    changes: dict[str, Any] = {}
    if fixture.delay_ms is not None:
        changes["latency"] = fixture.delay_ms
    if fixture.chunk_size is not None:
        changes["chunk_size"] = fixture.chunk_size
    if fixture.truncate_after_chunks is not None:
        changes["truncate_after_chunks"] = fixture.truncate_after_chunks
    if fixture.disconnect_after_ms is not None:
        changes["disconnect_after_ms"] = fixture.disconnect_after_ms
    return dataclasses.replace(base, **changes) if changes else base
