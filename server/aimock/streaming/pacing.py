"""The one pacing loop: decides when each event of a stream goes out.

The rule is AIMock's, so a fixture written for it streams here at the rate its author saw.
The delay before event i (milliseconds), divided by the replay speed:
  - a streaming profile: `ttft` before the first event (when set); before every other event
    `1000 / tps` (`tps` counts events a second, as AIMock's does), or, with
    `tokensPerSecond` instead, the event's estimated tokens / that rate (structural events
    weigh one token); with neither, the flat `latency`. `jitter` spreads the profile's delays
    (not the latency) by up to that fraction either way;
  - else recorded timings: `ttftMs`, then the recorded gaps (their mean past the end);
  - else the flat `latency` before every event.
Events are due on one timeline from the stream's start, so a late wake-up is caught up on the
next event instead of slowing the whole stream. A `trailer` event (OpenAI's usage chunk and
`[DONE]`) goes out with the event before it: it is not a chunk.
A stream may be cut after N events (`truncate_after_chunks`) or N ms (`disconnect_after_ms`):
the connection is dropped without a terminator, as a failing upstream would.

A framing may also have delimiters (`DELIMITERS`): an opening written with the first event, a
separator before each later one, and a closing once the stream is complete (a JSON array's
`[`, `,` and `]`). A cut stream never gets its closing.

Instant physics (the default) skips the loop: all frames go out in one write.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from aimock.fixtures.compiled import Physics
from aimock.streaming import eventstream, jsonarray, ndjson, raw, sse

Framer = Callable[[Any, str | None], bytes]
FRAMERS: dict[str, tuple[Framer, str]] = {
    "sse": (sse.frame, sse.CONTENT_TYPE),
    "ndjson": (ndjson.frame, ndjson.CONTENT_TYPE),
    "eventstream": (eventstream.frame, eventstream.CONTENT_TYPE),
    "json-array": (jsonarray.frame, jsonarray.CONTENT_TYPE),
    "raw": (raw.frame, raw.CONTENT_TYPE),
}


@dataclass(frozen=True)
class Delimiters:
    """What a framing writes around its frames, for a stream that is one document."""

    opening: bytes = b""  # with the first event
    separator: bytes = b""  # before every later event
    closing: bytes = b""  # after the last event, only when the stream completes


# Framings not listed here write their frames back to back.
DELIMITERS: dict[str, Delimiters] = {
    "json-array": Delimiters(jsonarray.OPENING, jsonarray.SEPARATOR, jsonarray.CLOSING),
}

Outcome = Literal["complete", "truncated", "disconnected", "client_gone"]


def delay_ms(physics: Physics, index: int, tokens: int, rng: random.Random) -> float:
    """How long event `index` (weighing `tokens`) waits after the one before it."""
    if physics.profiled:
        if index == 0 and physics.ttft is not None:
            paced = physics.ttft
        elif physics.tps:
            paced = 1000.0 / physics.tps
        elif physics.tokens_per_second:
            paced = 1000.0 * max(tokens, 1) / physics.tokens_per_second
        else:
            return physics.latency / physics.replay_speed
        if physics.jitter:
            paced = max(0.0, paced * (1 + rng.uniform(-1, 1) * physics.jitter))
        return paced / physics.replay_speed
    if physics.recorded_ttft is not None or physics.recorded_gaps:
        if index == 0:
            return (physics.recorded_ttft or 0.0) / physics.replay_speed
        gaps = physics.recorded_gaps
        if not gaps:
            return 0.0
        gap = gaps[index - 1] if index - 1 < len(gaps) else sum(gaps) / len(gaps)
        return gap / physics.replay_speed
    return physics.latency / physics.replay_speed


def first_byte_ms(physics: Physics) -> float:
    """The wait before a whole (not streamed) answer: what its first event would wait,
    without jitter."""
    if physics.profiled and physics.ttft is not None:
        wait = physics.ttft
    elif not physics.profiled and physics.recorded_ttft is not None:
        wait = physics.recorded_ttft
    else:
        wait = physics.latency
    return wait / physics.replay_speed


async def wait_first_byte(physics: Physics) -> None:
    wait = first_byte_ms(physics)
    if wait > 0:
        await asyncio.sleep(wait / 1000)


def abort(request: web.Request) -> None:
    """Drop the connection mid-response, as a dying upstream would."""
    transport = request.transport
    if transport is not None:
        transport.abort()


def _document(frames: list[bytes], around: Delimiters | None, complete: bool) -> bytes:
    """Frames as written in one go: joined by the framing's delimiters, if it has any."""
    if around is None:
        return b"".join(frames)
    body = around.opening + around.separator.join(frames)
    return body + around.closing if complete else body


def _preambles(events: Sequence[Any]) -> int:
    """How many events open the stream as its preamble."""
    count = 0
    while count < len(events) and events[count].preamble:
        count += 1
    return count


def whole(events: Sequence[Any], framing: str) -> bytes:
    """A complete stream with instant physics as the bytes `stream` writes for it."""
    frame = FRAMERS[framing][0]
    frames = [frame(e.data, e.name) for e in events]
    opening = _preambles(events)
    around = DELIMITERS.get(framing)
    return b"".join(frames[:opening]) + _document(frames[opening:], around, complete=True)


async def stream(
    request: web.Request,
    response: web.StreamResponse,
    events: Iterable[Any],
    physics: Physics,
    *,
    framing: str,
    rng: random.Random | None = None,
    record: bytearray | None = None,
) -> Outcome:
    """Write `events` (objects with `data`, `name`, `tokens`, `preamble`) to an aiohttp
    response, paced by `physics`; `record` receives a copy of every byte written (for the
    journal)."""
    return await send_paced(
        response.write,
        lambda: abort(request),
        events,
        physics,
        framing=framing,
        rng=rng,
        record=record,
    )


async def send_paced(
    send: Callable[[bytes], Awaitable[None]],
    cut: Callable[[], None],
    events: Iterable[Any],
    physics: Physics,
    *,
    framing: str,
    rng: random.Random | None = None,
    record: bytearray | None = None,
) -> Outcome:
    """`stream` over any connection: `send` writes bytes (raising ConnectionError once the
    client is gone), `cut` drops the connection."""
    frame = FRAMERS[framing][0]

    async def write(data: bytes) -> None:
        if record is not None:
            record.extend(data)
        await send(data)

    around = DELIMITERS.get(framing)
    pending = events if isinstance(events, list) else list(events)
    truncate = physics.truncate_after_chunks
    deadline = physics.disconnect_after_ms
    try:
        # Preamble events go out at once, before the first-token wait they announce, and are
        # not chunks.
        opening = _preambles(pending)
        if opening:
            await write(b"".join(frame(e.data, e.name) for e in pending[:opening]))
            pending = pending[opening:]
        if physics.is_instant and deadline is None:
            cut_short = truncate is not None and truncate < len(pending)
            shown = pending[:truncate] if cut_short else pending
            frames = [frame(e.data, e.name) for e in shown]
            await write(_document(frames, around, complete=not cut_short))
            if cut_short:
                cut()
                return "truncated"
            return "complete"

        async def emit(index: int, event: Any) -> None:
            joint = b"" if around is None else around.opening if index == 0 else around.separator
            await write(joint + frame(event.data, event.name))

        outcome = await pace(pending, physics, emit, cut, rng=rng)
        if outcome == "complete" and around is not None:
            # An empty stream still opens the document it closes.
            await write(around.closing if pending else around.opening + around.closing)
        return outcome
    except ConnectionError:
        return "client_gone"


@dataclass(frozen=True, slots=True)
class Clock:
    """When it is now (seconds) and how to wait: the running loop's, or a test's."""

    now: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


def loop_clock() -> Clock:
    # Bound once a stream: asyncio.get_running_loop() costs a getpid() call per use.
    return Clock(asyncio.get_running_loop().time, asyncio.sleep)


async def pace(
    events: Sequence[Any],
    physics: Physics,
    emit: Callable[[int, Any], Awaitable[None]],
    cut: Callable[[], None],
    *,
    rng: random.Random | None = None,
    clock: Clock | None = None,
) -> Outcome:
    """The timing loop every framing shares: wait each event's delay, then `emit(index,
    event)`; `cut()` drops the connection where `physics` ends the stream early."""
    truncate = physics.truncate_after_chunks
    deadline = physics.disconnect_after_ms
    rng = rng or random.Random()
    clock = clock or loop_clock()
    now, sleep = clock.now, clock.sleep
    started = now()
    due = 0.0  # ms after `started` when the next event goes out
    try:
        for index, event in enumerate(events):
            if truncate is not None and index >= truncate:
                cut()
                return "truncated"
            if not event.trailer:
                due += delay_ms(physics, index, event.tokens, rng)
            if deadline is not None and due >= deadline:
                wait = started + deadline / 1000 - now()
                if wait > 0:
                    await sleep(wait)
                cut()
                return "disconnected"
            wait = started + due / 1000 - now()
            if wait > 0:
                await sleep(wait)
            await emit(index, event)
    except ConnectionError:
        return "client_gone"
    return "complete"
