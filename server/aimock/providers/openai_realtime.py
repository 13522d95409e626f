"""OpenAI Realtime, the GA protocol, over a WebSocket at `/v1/realtime?model=...`.

The socket opens with `session.created`. Client events keep a conversation (items created by
the client, committed audio, the assistant's answers); `response.create` matches the
conversation against the fixtures, as a chat request would be, and answers with the ordered
server events of one response: `response.created`, each output item (a message spoken as
audio with its transcript, or written as text, then the function calls), `response.done` with
usage, and `rate_limits.updated`. The audio is deterministic: a quiet tone of 24 kHz PCM16,
about as long as the transcript would take to say.

A request with the retired beta header (`OpenAI-Beta: realtime=v1`) is accepted and then
refused as the service refuses it: one `error` event (`beta_api_shape_disabled`), then close
4000. Every error on the socket is an `error` event, and the socket stays open.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from aimock.canonical import CanonicalRequest, Message, ToolCall
from aimock.fixtures.compiled import Reply
from aimock.providers import openai_base
from aimock.providers.audio import (
    PCM_RATE,
    SpokenAudio,
    Transcript,
    Turning,
    VoiceDetector,
    spoken,
    spoken_audio,
    transcript_of,
)
from aimock.providers.common import MAX_REPORTED_TOKENS, estimate_tokens, missing, new_id, slices
from aimock.providers.openai_base import ERRORS, error_body
from aimock.surface import (
    ErrorInfo,
    Event,
    Link,
    ProtocolError,
    Provider,
    RenderOptions,
    SocketSurface,
    bad_request,
)

SURFACE = "openai.realtime"
DEFAULT_MODEL = "gpt-realtime"
DEFAULT_VOICE = "alloy"
TRANSCRIPTION_MODEL = "gpt-4o-transcribe"
# The fixture endpoint kind of a transcription of committed audio (AIMock's name).
TRANSCRIPTION = "realtime-transcription"
BETA_HEADER = "realtime=v1"
# The most items a conversation keeps, and the most audio one buffer holds (15 minutes of
# 24 kHz PCM16): bounds against a client that never stops sending.
MAX_ITEMS = 4096
MAX_BUFFERED_AUDIO = 15 * 60 * PCM_RATE * 2
CLIENT_EVENTS = (
    "session.update",
    "conversation.item.create",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "output_audio_buffer.clear",
    "response.create",
    "response.cancel",
)
# The least audio a commit takes: 100 ms.
MIN_COMMIT_BYTES = PCM_RATE * 2 // 10
# How long after the audio stops arriving, beyond the silence the session waits for, speech
# under way is taken to have ended.
IDLE_GRACE_MS = 300


# Where an error carries the id of the client event at fault, for `report`.
CLIENT_EVENT = "client_event_id"


def _event_id() -> str:
    return new_id("event_", 20)


def error_event(info: ErrorInfo, client_event_id: str | None = None) -> dict[str, Any]:
    """An `error` server event: the HTTP envelope's fields, and the client event at fault."""
    error = error_body(info)["error"]
    error["event_id"] = client_event_id
    return {"type": "error", "event_id": _event_id(), "error": error}


async def report(link: Link, info: ErrorInfo) -> None:
    at_fault = (info.metadata or {}).get(CLIENT_EVENT)
    await link.send(error_event(info, at_fault if isinstance(at_fault, str) else None))


def default_session(model: str) -> dict[str, Any]:
    """The session the service describes in `session.created` for a new connection."""
    pcm = {"type": "audio/pcm", "rate": PCM_RATE}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess_", 20),
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": 0,
        "audio": {
            "input": {
                "format": pcm,
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"format": pcm, "voice": DEFAULT_VOICE, "speed": 1.0},
        },
        "include": None,
    }


def transcription_session() -> dict[str, Any]:
    """A transcription session (`?intent=transcription`) as `session.created` describes it."""
    return {
        "type": "transcription",
        "object": "realtime.transcription_session",
        "id": new_id("sess_", 20),
        "expires_at": 0,
        "include": None,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": PCM_RATE},
                "noise_reduction": None,
                "transcription": {"model": TRANSCRIPTION_MODEL, "language": None, "prompt": ""},
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 500,
                },
            }
        },
    }


def merged(into: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`update` laid over `into`, objects merged key by key (how `session.update` applies)."""
    result = dict(into)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


# -- the conversation, as the matcher reads it ------------------------------------------------


def _text_of(content: Any) -> str | None:
    """The text of a message's content parts: typed text, or an audio part's transcript."""
    if not isinstance(content, list):
        return None
    texts: list[str] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        for key in ("text", "transcript"):
            value = part.get(key)
            if isinstance(value, str) and value:
                texts.append(value)
                break
    return "\n".join(texts) if texts else None


def messages_of(items: list[dict[str, Any]], instructions: str | None) -> tuple[Message, ...]:
    """A conversation's items as the canonical messages a fixture matches."""
    messages: list[Message] = []
    if instructions:
        messages.append(Message("system", instructions))
    for item in items:
        kind = item.get("type")
        if kind == "message":
            role = item.get("role")
            role = role if role in ("system", "user", "assistant") else "user"
            messages.append(Message(role, _text_of(item.get("content"))))
        elif kind == "function_call":
            call = ToolCall(
                str(item.get("call_id") or item.get("id") or ""),
                str(item.get("name") or ""),
                str(item.get("arguments") or ""),
            )
            if messages and messages[-1].role == "assistant" and messages[-1].text is None:
                last = messages.pop()
                messages.append(Message("assistant", None, (*last.tool_calls, call)))
            else:
                messages.append(Message("assistant", None, (call,)))
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(
                Message(
                    "tool", output if isinstance(output, str) else None, (), item.get("call_id")
                )
            )
    return tuple(messages)


def _tool_names(tools: Any) -> tuple[str, ...]:
    if not isinstance(tools, list):
        return ()
    return tuple(t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str))


# -- a response's server events (pure) ---------------------------------------------------------


class ResponseIds:
    """The ids one response's events carry (drawn once, so a rendering can be checked)."""

    def __init__(self, previous_item: str | None) -> None:
        self.response = new_id("resp_", 20)
        self.conversation = new_id("conv_", 20)
        self.previous_item = previous_item

    def item(self) -> str:
        return new_id("item_", 20)


def _usage(request: CanonicalRequest, reply: Reply, audio: bool) -> dict[str, Any]:
    prompt = min(reply.input_tokens or estimate_tokens(_prompt(request)), MAX_REPORTED_TOKENS)
    spoken = reply.content or reply.refusal or ""
    written = sum(estimate_tokens(c.arguments) for c in reply.tool_calls)
    output = reply.output_tokens if reply.output_tokens is not None else None
    text_tokens = written + (0 if audio else estimate_tokens(spoken))
    audio_tokens = estimate_tokens(spoken) if audio else 0
    if output is None:
        output = text_tokens + audio_tokens
    output = min(output, MAX_REPORTED_TOKENS)
    cached = min(reply.cached_tokens or 0, prompt)
    return {
        "total_tokens": prompt + output,
        "input_tokens": prompt,
        "output_tokens": output,
        "input_token_details": {
            "text_tokens": prompt,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": cached,
            "cached_tokens_details": {"text_tokens": cached, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
    }


def _prompt(request: CanonicalRequest) -> str:
    return " ".join(m.text for m in request.messages if m.text)


class Rendered:
    """One response: its events in order, and the items it adds to the conversation."""

    def __init__(self, events: list[Event], items: list[dict[str, Any]]) -> None:
        self.events = events
        self.items = items


def render_response(
    request: CanonicalRequest,
    reply: Reply,
    options: RenderOptions,
    *,
    session: Mapping[str, Any],
    params: Mapping[str, Any],
    ids: ResponseIds,
) -> Rendered:
    """The server events answering `response.create` with `reply`."""
    modalities = params.get("output_modalities") or session.get("output_modalities") or ["audio"]
    audio = "audio" in modalities
    in_conversation = params.get("conversation") != "none"
    output_audio = session.get("audio", {}).get("output", {})
    shell: dict[str, Any] = {
        "id": ids.response,
        "object": "realtime.response",
        "status": "in_progress",
        "status_details": None,
        "output": [],
        "conversation_id": ids.conversation if in_conversation else None,
        "output_modalities": ["audio" if audio else "text"],
        "max_output_tokens": params.get("max_output_tokens", session.get("max_output_tokens")),
        "audio": {
            "output": {"format": output_audio.get("format"), "voice": output_audio.get("voice")}
        },
        "usage": None,
        "metadata": params.get("metadata"),
    }
    events = [Event({"type": "response.created", "event_id": _event_id(), "response": shell})]
    items: list[dict[str, Any]] = []
    previous = ids.previous_item
    text = reply.content if reply.content is not None else reply.refusal
    if text is not None or not reply.tool_calls:
        item: dict[str, Any] = {
            "id": ids.item(),
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        place = _Place(ids, len(items), previous, in_conversation)
        given = reply.extension(SpokenAudio)
        sound = given.pcm if given is not None else None
        events.extend(_message_events(place, item, text or "", audio, options, sound=sound))
        items.append(item)
        previous = item["id"]
    for call in reply.tool_calls:
        call_item: dict[str, Any] = {
            "id": ids.item(),
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": call.name,
            "call_id": call.id or new_id("call_", 16),
            "arguments": "",
        }
        place = _Place(ids, len(items), previous, in_conversation)
        events.extend(_call_events(place, call_item, call.arguments, options))
        items.append(call_item)
        previous = call_item["id"]
    done = {**shell, "status": "completed", "output": items, "usage": _usage(request, reply, audio)}
    events.append(Event({"type": "response.done", "event_id": _event_id(), "response": done}))
    events.append(Event(_rate_limits(done["usage"]["total_tokens"])))
    return Rendered(events, items if in_conversation else [])


def _rate_limits(spent: int) -> dict[str, Any]:
    return {
        "type": "rate_limits.updated",
        "event_id": _event_id(),
        "rate_limits": [
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {
                "name": "tokens",
                "limit": 400000,
                "remaining": max(0, 400000 - spent),
                "reset_seconds": 0.5,
            },
        ],
    }


@dataclasses.dataclass(frozen=True)
class _Place:
    """Where an output item sits: its response, its index, the item before it, and whether
    it joins the conversation (a response with `conversation: "none"` adds nothing)."""

    ids: ResponseIds
    index: int
    previous: str | None
    shared: bool

    def where(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {"response_id": self.ids.response, "item_id": item["id"], "output_index": self.index}


def _item_events(place: _Place, item: dict[str, Any], done: bool) -> Iterator[Event]:
    """An output item's opening (`done` False) or closing events."""
    if done:
        item["status"] = "completed"
    kinds = ("response.output_item.done", "conversation.item.done")
    if not done:
        kinds = ("response.output_item.added", "conversation.item.added")
    shown = {**item}
    yield Event(
        {
            "type": kinds[0],
            "event_id": _event_id(),
            "response_id": place.ids.response,
            "output_index": place.index,
            "item": shown,
        }
    )
    if place.shared:
        yield Event(
            {
                "type": kinds[1],
                "event_id": _event_id(),
                "previous_item_id": place.previous,
                "item": shown,
            }
        )


def _delta(kind: str, where: Mapping[str, Any], piece: str, tokens: int = 0) -> Event:
    return Event({"type": kind, "event_id": _event_id(), **where, "delta": piece}, tokens=tokens)


def _message_events(
    place: _Place,
    item: dict[str, Any],
    text: str,
    audio: bool,
    options: RenderOptions,
    *,
    sound: bytes | None = None,
) -> Iterator[Event]:
    """A message's events; `sound`: the fixture's own audio, else the tone is spoken."""
    yield from _item_events(place, item, done=False)
    where = {**place.where(item), "content_index": 0}
    empty = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
    yield Event(
        {"type": "response.content_part.added", "event_id": _event_id(), **where, "part": empty}
    )
    content: dict[str, Any]
    if audio:
        pieces = list(slices(text, options.chunk_size))
        for piece, pcm in zip(pieces, _spoken(pieces, sound), strict=True):
            yield _delta(
                "response.output_audio_transcript.delta", where, piece, estimate_tokens(piece)
            )
            yield _delta("response.output_audio.delta", where, base64.b64encode(pcm).decode())
        yield Event({"type": "response.output_audio.done", "event_id": _event_id(), **where})
        yield Event(
            {
                "type": "response.output_audio_transcript.done",
                "event_id": _event_id(),
                **where,
                "transcript": text,
            }
        )
        part: dict[str, Any] = {"type": "audio", "transcript": text}
        content = {"type": "output_audio", "transcript": text}
    else:
        for piece in slices(text, options.chunk_size):
            yield _delta("response.output_text.delta", where, piece, estimate_tokens(piece))
        yield Event(
            {"type": "response.output_text.done", "event_id": _event_id(), **where, "text": text}
        )
        part = {"type": "text", "text": text}
        content = {"type": "output_text", "text": text}
    yield Event(
        {"type": "response.content_part.done", "event_id": _event_id(), **where, "part": part}
    )
    item["content"] = [content]
    yield from _item_events(place, item, done=True)


def _spoken(pieces: list[str], sound: bytes | None) -> list[bytes]:
    """The audio sent with each transcript piece: the tone, as long as the piece takes to
    say, or the fixture's own audio shared out in order (whole samples each)."""
    if sound is None:
        return [spoken(piece) for piece in pieces]
    if not pieces:
        return []
    share = len(sound) // len(pieces) // 2 * 2
    cuts = [share * i for i in range(len(pieces))] + [len(sound)]
    return [sound[cuts[i] : cuts[i + 1]] for i in range(len(pieces))]


def _call_events(
    place: _Place, item: dict[str, Any], arguments: str, options: RenderOptions
) -> Iterator[Event]:
    yield from _item_events(place, item, done=False)
    where = {**place.where(item), "call_id": item["call_id"]}
    for piece in slices(arguments, options.chunk_size):
        yield _delta("response.function_call_arguments.delta", where, piece, estimate_tokens(piece))
    yield Event(
        {
            "type": "response.function_call_arguments.done",
            "event_id": _event_id(),
            **where,
            "name": item["name"],
            "arguments": arguments,
        }
    )
    item["arguments"] = arguments
    yield from _item_events(place, item, done=True)


# -- the session on one socket -------------------------------------------------------------------


# The text fields each kind of client item must carry (a message's role and content aside).
ITEM_FIELDS = {
    "message": (),
    "function_call": ("name", "arguments"),
    "function_call_output": ("call_id", "output"),
}


def _check_item(item: Any) -> dict[str, Any]:
    """A client's conversation item, checked as the service checks it."""
    if not isinstance(item, dict):
        raise missing("item")
    kind = item.get("type")
    if kind not in ITEM_FIELDS:
        raise bad_request(
            "Invalid value for 'item.type': expected one of 'message', 'function_call', "
            "'function_call_output'.",
            param="item.type",
            code="invalid_value",
        )
    if kind == "message":
        if item.get("role") not in ("user", "assistant", "system"):
            raise bad_request(
                "Invalid value for 'item.role': expected one of 'user', 'assistant', 'system'.",
                param="item.role",
                code="invalid_value",
            )
        if not isinstance(item.get("content"), list):
            raise missing("item.content")
    for key in ITEM_FIELDS[kind]:
        if not isinstance(item.get(key), str):
            raise missing(f"item.{key}")
    checked = {**item, "object": "realtime.item", "status": "completed"}
    checked["id"] = (
        item["id"] if isinstance(item.get("id"), str) and item["id"] else new_id("item_", 20)
    )
    return checked


class RealtimeSession:
    """The state of one Realtime socket: its session, its conversation, its audio buffer."""

    def __init__(self, link: Link) -> None:
        self.link = link
        query = link.request.query
        self.transcribing = query.get("intent") == "transcription"
        self.session = (
            transcription_session()
            if self.transcribing
            else default_session(query.get("model") or DEFAULT_MODEL)
        )
        self.items: list[dict[str, Any]] = []
        self.buffered = 0  # bytes of audio appended since the last commit or clear
        self.responding: asyncio.Task[None] | None = None
        self.response_ids: ResponseIds | None = None
        self.detector: VoiceDetector | None = None
        self.idle: asyncio.Task[None] | None = None  # ends speech when audio stops arriving
        self.speech_item: str | None = None  # the item the speech under way will become
        self.retired = BETA_HEADER in (link.context.header("openai-beta") or "")

    async def opened(self) -> None:
        if self.retired:
            info = ErrorInfo(
                400,
                "The Realtime Beta API is no longer supported. Please use /v1/realtime for the "
                "GA API.",
                type="invalid_request_error",
                code="beta_api_shape_disabled",
            )
            await self.link.send(error_event(info))
            await self.link.close(4000, "invalid_request_error.beta_api_shape_disabled")
            return
        await self.link.send(
            {"type": "session.created", "event_id": _event_id(), "session": self.session}
        )

    async def closed(self) -> None:
        if self.responding is not None:
            self.responding.cancel()

    async def received(self, message: Any) -> None:
        if self.retired:
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise missing("type")
        kind = message["type"]
        client_id = message.get("event_id") if isinstance(message.get("event_id"), str) else None
        handler = _HANDLERS.get(kind)
        if handler is None:
            supported = ", ".join(f"'{name}'" for name in CLIENT_EVENTS)
            raise bad_request(
                f"Invalid value: '{kind[:64]}'. Supported values are: {supported}.",
                param="type",
                code="invalid_value",
            )
        try:
            await handler(self, message)
        except ProtocolError as refused:
            if client_id is None:
                raise
            named = dataclasses.replace(refused.info, metadata={CLIENT_EVENT: client_id})
            raise ProtocolError(named) from None

    async def _session_update(self, message: dict[str, Any]) -> None:
        update = message.get("session")
        if not isinstance(update, dict):
            raise missing("session")
        own = self.session["type"]
        if update.get("type", own) != own:
            raise _refused(
                f"Invalid value: 'session.type'. A {own} session cannot become "
                f"'{str(update.get('type'))[:32]}'.",
                "session.type",
                "invalid_value",
            )
        modalities = update.get("output_modalities")
        if modalities is not None and (
            not isinstance(modalities, list)
            or len(modalities) != 1
            or modalities[0] not in ("text", "audio")
        ):
            raise _refused(
                "Invalid 'session.output_modalities': give ['text'] or ['audio'].",
                "session.output_modalities",
                "invalid_value",
            )
        kept = {k: v for k, v in update.items() if k not in ("id", "object", "model")}
        self.session = merged(self.session, kept)
        self.detector = None  # turn detection may have changed
        await self.link.send(
            {"type": "session.updated", "event_id": _event_id(), "session": self.session}
        )

    def _previous(self) -> str | None:
        return self.items[-1]["id"] if self.items else None

    def _add(self, item: dict[str, Any], after: Any = None) -> str | None:
        if len(self.items) >= MAX_ITEMS:
            raise _refused(
                f"The conversation holds {MAX_ITEMS} items, the most it may.",
                "item",
                "too_many_items",
            )
        if isinstance(after, str) and after != "root":
            position = next((i for i, it in enumerate(self.items) if it["id"] == after), None)
            if position is None:
                raise _refused(
                    f"Item with id '{after[:64]}' not found.", "previous_item_id", "item_not_found"
                )
            self.items.insert(position + 1, item)
            return after
        if after == "root":
            self.items.insert(0, item)
            return None
        previous = self._previous()
        self.items.append(item)
        return previous

    async def _added(self, item: dict[str, Any], previous: str | None) -> None:
        for kind in ("conversation.item.added", "conversation.item.done"):
            await self.link.send(
                {"type": kind, "event_id": _event_id(), "previous_item_id": previous, "item": item}
            )

    async def _item_create(self, message: dict[str, Any]) -> None:
        item = _check_item(message.get("item"))
        previous = self._add(item, message.get("previous_item_id"))
        await self._added(item, previous)

    def _find(self, message: dict[str, Any]) -> dict[str, Any]:
        wanted = message.get("item_id")
        for item in self.items:
            if item["id"] == wanted:
                return item
        shown = str(wanted)[:64]
        raise _refused(f"Item with item_id '{shown}' not found.", "item_id", "item_not_found")

    async def _item_delete(self, message: dict[str, Any]) -> None:
        item = self._find(message)
        self.items.remove(item)
        await self.link.send(
            {"type": "conversation.item.deleted", "event_id": _event_id(), "item_id": item["id"]}
        )

    async def _item_retrieve(self, message: dict[str, Any]) -> None:
        item = self._find(message)
        await self.link.send(
            {"type": "conversation.item.retrieved", "event_id": _event_id(), "item": item}
        )

    async def _item_truncate(self, message: dict[str, Any]) -> None:
        item = self._find(message)
        end = message.get("audio_end_ms")
        if isinstance(end, bool) or not isinstance(end, int) or end < 0:
            raise _refused(
                "Invalid 'audio_end_ms': expected a non-negative integer.", "audio_end_ms"
            )
        content = message.get("content_index", 0)
        await self.link.send(
            {
                "type": "conversation.item.truncated",
                "event_id": _event_id(),
                "item_id": item["id"],
                "content_index": content if isinstance(content, int) else 0,
                "audio_end_ms": end,
            }
        )

    async def _audio_append(self, message: dict[str, Any]) -> None:
        data = message.get("audio")
        if not isinstance(data, str):
            raise missing("audio")
        try:
            pcm = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise _refused("Invalid 'audio': not base64-encoded audio.", "audio") from None
        if self.buffered + len(pcm) > MAX_BUFFERED_AUDIO:
            raise _refused(
                "The input audio buffer is full: commit or clear it.", "audio", "buffer_full"
            )
        self.buffered += len(pcm)
        detector = self._detector()
        if detector is not None:
            for turning in detector.feed(pcm):
                await self._turned(turning)
            if detector.speaking:
                self._arm_idle(detector)

    def _turn_detection(self) -> dict[str, Any] | None:
        found = self.session.get("audio", {}).get("input", {}).get("turn_detection")
        return found if isinstance(found, dict) else None

    def _detector(self) -> VoiceDetector | None:
        """Server VAD, when the session has turn detection on (its default)."""
        settings = self._turn_detection()
        if settings is None:
            self.detector = None
            return None
        if self.detector is None:
            silence = settings.get("silence_duration_ms")
            padding = settings.get("prefix_padding_ms")
            self.detector = VoiceDetector(
                silence if isinstance(silence, int) else 500,
                padding if isinstance(padding, int) else 300,
            )
        return self.detector

    def _arm_idle(self, detector: VoiceDetector) -> None:
        """Audio that stops arriving mid-speech ends the speech, as silence would."""
        if self.idle is not None:
            self.idle.cancel()

        async def wait_then_end() -> None:
            await asyncio.sleep((detector.silence_ms + IDLE_GRACE_MS) / 1000)
            turning = detector.end()
            if turning is not None:
                await self._turned(turning)

        self.idle = self.link.spawn(wait_then_end())

    async def _turned(self, turning: Turning) -> None:
        """Speech started or stopped in the input audio (server VAD)."""
        settings = self._turn_detection() or {}
        if turning.started:
            self.speech_item = new_id("item_", 20)
            await self.link.send(
                {
                    "type": "input_audio_buffer.speech_started",
                    "event_id": _event_id(),
                    "audio_start_ms": turning.at_ms,
                    "item_id": self.speech_item,
                }
            )
            active = self.responding is not None and not self.responding.done()
            if active and settings.get("interrupt_response", True):
                await self._cancel("turn_detected")
            return
        if self.idle is not None and self.idle is not asyncio.current_task():
            self.idle.cancel()
        item_id = self.speech_item or new_id("item_", 20)
        await self.link.send(
            {
                "type": "input_audio_buffer.speech_stopped",
                "event_id": _event_id(),
                "audio_end_ms": turning.at_ms,
                "item_id": item_id,
            }
        )
        if self.buffered < MIN_COMMIT_BYTES:
            return
        await self._commit(item_id)
        if settings.get("create_response", True) and not self.transcribing:
            await self._response_create({"type": "response.create"})

    async def _audio_commit(self, message: dict[str, Any]) -> None:
        await self._commit(new_id("item_", 20))

    async def _commit(self, item_id: str) -> None:
        if self.buffered < MIN_COMMIT_BYTES:  # the service wants 100 ms at least
            raise _refused(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"100ms of audio, but buffer only has {self.buffered / (PCM_RATE * 2 / 1000):.2f}"
                "ms of audio.",
                None,
                "input_audio_buffer_commit_empty",
            )
        self.buffered = 0
        if self.detector is not None:
            self.detector.reset()
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        previous = self._add(item)
        await self.link.send(
            {
                "type": "input_audio_buffer.committed",
                "event_id": _event_id(),
                "previous_item_id": previous,
                "item_id": item["id"],
            }
        )
        await self._added(item, previous)
        model = self._transcription_model()
        if model is not None:
            await self._transcribe(item, model)

    def _transcription_model(self) -> str | None:
        """The model transcribing committed audio, when the session asks for transcripts."""
        given = self.session.get("audio", {}).get("input", {}).get("transcription")
        if not isinstance(given, dict):
            return None
        model = given.get("model")
        return model if isinstance(model, str) and model else TRANSCRIPTION_MODEL

    async def _transcribe(self, item: dict[str, Any], model: str) -> None:
        """Committed audio's transcript, from a `realtime-transcription` fixture: its
        deltas, then `completed`; the transcript becomes the user item's text, which the
        next response is matched on."""
        request = CanonicalRequest(
            surface=SURFACE,
            provider="openai",
            endpoint=TRANSCRIPTION,
            model=model,
            context=self.link.context,
            messages=messages_of(self.items, None),
            stream=True,
        )
        async with self.link.turn(
            {"type": "input_audio_buffer.commit", "item_id": item["id"]}
        ) as turn:
            answer = await turn.select(request)
            found = answer.reply.extension(Transcript)
            text = found.text if found is not None else answer.reply.content or ""
            where = {"item_id": item["id"], "content_index": 0}
            events = [
                Event(
                    {
                        "type": "conversation.item.input_audio_transcription.delta",
                        "event_id": _event_id(),
                        **where,
                        "delta": piece,
                    },
                    tokens=estimate_tokens(piece),
                )
                for piece in slices(text, answer.options.chunk_size)
            ]
            tokens = estimate_tokens(text)
            events.append(
                Event(
                    {
                        "type": "conversation.item.input_audio_transcription.completed",
                        "event_id": _event_id(),
                        **where,
                        "transcript": text,
                        "usage": {
                            "type": "tokens",
                            "input_tokens": tokens,
                            "output_tokens": tokens,
                            "total_tokens": 2 * tokens,
                            "input_token_details": {"audio_tokens": tokens, "text_tokens": 0},
                        },
                    }
                )
            )
            if await turn.stream(events, answer.physics):
                item["content"][0]["transcript"] = text

    async def _audio_clear(self, message: dict[str, Any]) -> None:
        self.buffered = 0
        if self.detector is not None:
            self.detector.reset()
        await self.link.send({"type": "input_audio_buffer.cleared", "event_id": _event_id()})

    async def _output_clear(self, message: dict[str, Any]) -> None:
        await self.link.send({"type": "output_audio_buffer.cleared", "event_id": _event_id()})

    async def _response_create(self, message: dict[str, Any]) -> None:
        if self.transcribing:
            raise _refused(
                "Responses are not supported in a transcription session.",
                "type",
                "invalid_request_error",
            )
        if self.responding is not None and not self.responding.done():
            raise _refused(
                "Conversation already has an active response in progress. Wait until the "
                "response is finished before creating a new one.",
                None,
                "conversation_already_has_active_response",
            )
        params = message.get("response") or {}
        if not isinstance(params, dict):
            raise _refused("Invalid 'response': expected an object.", "response")
        self.response_ids = ResponseIds(self._previous())
        self.responding = self.link.spawn(self._respond(message, params, self.response_ids))

    async def _respond(
        self, message: dict[str, Any], params: dict[str, Any], ids: ResponseIds
    ) -> None:
        session = self.session
        instructions = params.get("instructions", session.get("instructions"))
        conversation = self.items if params.get("conversation") != "none" else []
        extra = params.get("input")
        if isinstance(extra, list):
            conversation = [*conversation, *(i for i in extra if isinstance(i, dict))]
        request = CanonicalRequest(
            surface=SURFACE,
            provider="openai",
            endpoint="realtime",
            model=str(session.get("model") or DEFAULT_MODEL),
            context=self.link.context,
            messages=messages_of(
                conversation, instructions if isinstance(instructions, str) else None
            ),
            tools=_tool_names(params.get("tools", session.get("tools"))),
            stream=True,
        )
        async with self.link.turn(message) as turn:
            answer = await turn.select(request)
            rendered = render_response(
                request,
                answer.reply,
                answer.options,
                session=session,
                params=params,
                ids=ids,
            )
            if await turn.stream(rendered.events, answer.physics):
                self.items.extend(rendered.items)

    async def _response_cancel(self, message: dict[str, Any]) -> None:
        task = self.responding
        if task is None or task.done():
            raise _refused(
                "Cancellation failed: no active response found.", None, "response_cancel_not_active"
            )
        await self._cancel("client_cancelled")

    async def _cancel(self, reason: str) -> None:
        """Stop the response under way; its `response.done` says it was cancelled."""
        task = self.responding
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task])
        ids = self.response_ids
        await self.link.send(
            {
                "type": "response.done",
                "event_id": _event_id(),
                "response": {
                    "object": "realtime.response",
                    "id": ids.response if ids is not None else new_id("resp_", 20),
                    "status": "cancelled",
                    "status_details": {"type": "cancelled", "reason": reason},
                    "output": [],
                    "usage": None,
                },
            }
        )


def _refused(message: str, param: str | None, code: str = "invalid_value") -> ProtocolError:
    return bad_request(message, param=param, code=code)


_HANDLERS = {
    "session.update": RealtimeSession._session_update,
    "conversation.item.create": RealtimeSession._item_create,
    "conversation.item.delete": RealtimeSession._item_delete,
    "conversation.item.retrieve": RealtimeSession._item_retrieve,
    "conversation.item.truncate": RealtimeSession._item_truncate,
    "input_audio_buffer.append": RealtimeSession._audio_append,
    "input_audio_buffer.commit": RealtimeSession._audio_commit,
    "input_audio_buffer.clear": RealtimeSession._audio_clear,
    "output_audio_buffer.clear": RealtimeSession._output_clear,
    "response.create": RealtimeSession._response_create,
    "response.cancel": RealtimeSession._response_cancel,
}

SOCKET = SocketSurface(
    name=SURFACE,
    provider="openai",
    paths=openai_base.paths("/realtime"),
    session=RealtimeSession,
    errors=ERRORS,
    report=report,
)

PROVIDER = Provider(
    name="openai.realtime", sockets=(SOCKET,), extensions=(spoken_audio, transcript_of)
)
