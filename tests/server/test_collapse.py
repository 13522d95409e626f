"""Every streamed surface can turn its own stream back into the answer it came from.

Record mode stores a live stream as a fixture through the surface's `collapse`; the renderer
and the collapser live in one module, and this round trip keeps them in step for every
surface in the registry (a new streaming surface without `collapse` fails here).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import orjson
import pytest

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply, ReplyToolCall
from aimock.providers.registry import PROVIDERS
from aimock.surface import RawBody, RenderOptions, Surface

STREAMING = [
    pytest.param(surface, id=f"{surface.provider}:{surface.name}:{surface.paths[0]}")
    for provider in PROVIDERS
    for surface in provider.surfaces
    if surface.stream is not None
]

REPLIES = {
    "text": Reply(kind="message", content="A streamed answer that spans several pieces."),
    "tools": Reply(
        kind="message",
        tool_calls=(
            ReplyToolCall("get_weather", '{"city": "Paris", "days": 3}', "call_a"),
            ReplyToolCall("get_time", '{"zone": "Europe/Paris"}', "call_b"),
        ),
    ),
    "thinking": Reply(
        kind="message",
        reasoning="First add two and two, then answer.",
        reasoning_signature="c2lnbmF0dXJl",
        content="4",
    ),
}

# What a wire cannot carry at all: legacy Completions answers text only (no tool calls, no
# reasoning), so those replies are not its to round-trip.
CANNOT_CARRY = {
    "openai.completions": {"tools", "thinking"},
    # Speech carries audio only (its collapse gives the audio back, not the text); a
    # transcript is text only.
    "openai.speech": {"text", "tools", "thinking"},
    "openai.transcriptions": {"tools", "thinking"},
    # ElevenLabs' timestamps stream carries audio and the text spoken, nothing else.
    "elevenlabs.tts": {"tools", "thinking"},
    # Music's detailed stream carries audio and its composition plan (test_elevenlabs
    # round-trips it).
    "elevenlabs.music": {"text", "tools", "thinking"},
    # Images are images: `test_media_streams_collapse_to_their_media` round-trips them.
    "openai.images": {"text", "tools", "thinking"},
    "openai.images.edits": {"text", "tools", "thinking"},
}


def _carried(surface: Surface, kind: str) -> None:
    if kind in CANNOT_CARRY.get(surface.name, ()):
        pytest.skip(f"{surface.name} has no wire form for {kind}")
    if surface.framing == "raw":  # bytes only: test_media_streams_collapse_to_their_media
        pytest.skip(f"{surface.paths[0]} streams raw bytes, no {kind}")


def _request(surface: Surface) -> CanonicalRequest:
    return CanonicalRequest(
        surface=surface.name,
        provider=surface.provider,
        endpoint=surface.endpoint,
        model="model-under-test",
        context=RequestContext(headers={}),
        messages=(Message("user", "hello"),),
        tools=("get_weather", "get_time"),
        stream=True,
    )


def _wire(data: Any) -> Any:
    """What a client decodes from one event's payload."""
    return data if isinstance(data, str) else orjson.loads(orjson.dumps(data))


def _essentials(reply: Reply) -> dict[str, Any]:
    return {
        "content": reply.content,
        "reasoning": reply.reasoning,
        "tools": [(call.name, json.loads(call.arguments or "{}")) for call in reply.tool_calls],
    }


@pytest.mark.parametrize("surface", STREAMING)
@pytest.mark.parametrize("kind", sorted(REPLIES))
def test_stream_collapses_to_its_reply(surface: Surface, kind: str) -> None:
    assert surface.collapse is not None, f"{surface.name} streams but cannot collapse"
    _carried(surface, kind)
    reply = REPLIES[kind]
    events = surface.stream(_request(surface), reply, RenderOptions(chunk_size=3))
    collapsed = surface.collapse([(event.name, _wire(event.data)) for event in events])
    assert _essentials(collapsed) == _essentials(reply)


CHAT = [
    pytest.param(surface, id=f"{surface.provider}:{surface.name}:{surface.paths[0]}")
    for provider in PROVIDERS
    for surface in provider.surfaces
    if surface.endpoint == "chat"
]


@pytest.mark.parametrize("surface", STREAMING)
@pytest.mark.parametrize("kind", sorted(REPLIES))
def test_stream_bytes_decode_and_collapse_to_its_reply(surface: Surface, kind: str) -> None:
    """What record mode does with a live stream: its bytes, in the surface's framing, decoded
    into events and collapsed."""
    from aimock.recording.proxy import DECODERS
    from aimock.streaming.pacing import DELIMITERS, FRAMERS

    _carried(surface, kind)
    request = _request(surface)
    framing = surface.framing_for(request) if surface.framing_for else surface.framing
    frame = FRAMERS[framing][0]
    frames = [frame(e.data, e.name) for e in surface.stream(request, REPLIES[kind], OPTIONS)]
    around = DELIMITERS.get(framing)
    data = (
        around.opening + around.separator.join(frames) + around.closing
        if around is not None
        else b"".join(frames)
    )
    assert surface.collapse is not None
    assert _essentials(surface.collapse(DECODERS[framing](data))) == _essentials(REPLIES[kind])


@pytest.mark.parametrize("surface", CHAT)
@pytest.mark.parametrize("kind", sorted(REPLIES))
def test_plain_answer_decodes_to_its_reply(surface: Surface, kind: str) -> None:
    """Record mode reads a non-streamed answer back with the surface's `decode`."""
    assert surface.decode is not None, f"{surface.name} answers but cannot be read back"
    _carried(surface, kind)
    body = surface.render(_request(surface), REPLIES[kind], OPTIONS)
    assert _essentials(surface.decode(_wire(body))) == _essentials(REPLIES[kind])


OPTIONS = RenderOptions(chunk_size=3)


def _media(reply: Reply) -> Any:
    from aimock.providers.audio import GivenAudio
    from aimock.providers.images_media import ImageReply

    audio = reply.extension(GivenAudio)
    images = reply.extension(ImageReply)
    return (audio.data if audio else None, [i.b64_json for i in images.images] if images else None)


@pytest.mark.parametrize(
    ("name", "extras"),
    [
        ("openai.speech", {"format": "wav"}),
        ("openai.speech", {"format": "mp3", "sse": True}),
        ("openai.images", {"n": 2, "partial_images": 2}),
        ("openai.images.edits", {"partial_images": 1}),
        ("elevenlabs.tts", {"codec": "pcm", "rate": 16000}),
        ("elevenlabs.music", {"codec": "mp3", "rate": 44100, "duration_ms": 3000}),
    ],
)
def test_media_streams_collapse_to_their_media(name: str, extras: dict[str, Any]) -> None:
    """Speech (raw bytes, or events) and images streamed, framed, decoded and collapsed give
    back the media a whole answer carries."""
    from aimock.recording.proxy import DECODERS
    from aimock.streaming.pacing import whole

    surface = next(
        s for p in PROVIDERS for s in p.surfaces if s.name == name and s.framing != "ndjson"
    )
    assert surface.stream is not None and surface.collapse is not None
    request = dataclasses.replace(_request(surface), model="gpt-image-1", extras=extras)
    reply = Reply(kind="audio" if name == "openai.speech" else "image")
    framing = surface.framing_for(request) if surface.framing_for else surface.framing
    events = list(surface.stream(request, reply, OPTIONS))
    collapsed = surface.collapse(DECODERS[framing](whole(events, framing)))
    rendered = surface.render(request, reply, OPTIONS)
    if isinstance(rendered, RawBody):  # speech: the same bytes
        assert _media(collapsed) == (rendered.data, None)
    else:  # images: the same images as the whole answer
        assert isinstance(rendered, dict)
        assert _media(collapsed) == (None, [item["b64_json"] for item in rendered["data"]])
