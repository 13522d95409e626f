"""Gemini Live: `BidiGenerateContent` over a WebSocket, as google-genai's `client.aio.live`
speaks it.

Paths: `/ws/google.ai.generativelanguage.{v1,v1beta,v1alpha}.GenerativeService.
BidiGenerateContent` (and `...BidiGenerateContentConstrained`, which ephemeral tokens dial).

The client speaks first: its first message must be `setup` (the model, `generationConfig.
responseModalities` TEXT or AUDIO, `systemInstruction`, `tools`, `outputAudioTranscription`),
answered with `{"setupComplete": {}}`. Each later message holds one of `clientContent`,
`realtimeInput`, `toolResponse` or `contextUpdate` (the top-level key in camelCase or, as the
Python SDK sends it, snake_case; proto JSON reads both spellings everywhere).

- `clientContent.turns` join the conversation; `turnComplete: true` asks for a model turn.
- `realtimeInput.text` is a user turn answered at once. Audio (`audio`, or `mediaChunks` of an
  audio type) is gathered until the speech ends, then answered as one user turn without text
  (a fixture matches it by anything but the text). Speech ends with `audioStreamEnd`, with
  `activityEnd`, or, under automatic activity detection (the default), with enough quiet
  after loud audio (`providers.audio.VoiceDetector`). Video and images are
  accepted and ignored. `activityStart` interrupts a model turn under way.
- `toolResponse.functionResponses` answer the model's calls; once none is left unanswered the
  model takes its next turn.

A model turn matches the conversation against the fixtures as a chat request would (endpoint
kind `realtime`) and answers with server messages, each one JSON text frame:

    {"serverContent": {"modelTurn": {"parts": [{"text": piece, "thought": true}]}}}   xN
    {"serverContent": {"modelTurn": {"parts": [{"text": piece}]}}}                     xN (TEXT)
    {"serverContent": {"modelTurn": {"parts": [{"inlineData": {mimeType, data}}]}}}    xN (AUDIO)
      each followed by {"serverContent": {"outputTranscription": {"text": piece}}} when the
      setup asked for outputAudioTranscription
    {"serverContent": {"generationComplete": true}}
    {"serverContent": {"turnComplete": true}, "usageMetadata": {...}}

A turn that calls functions ends with `{"toolCall": {"functionCalls": [{id, name, args}]}}`
(with its usageMetadata) instead: the model waits for the toolResponse, and the turn completes
after the answer to it. New user input interrupts the model: a turn still streaming stops with
`{"serverContent": {"interrupted": true}}`, and calls still unanswered are withdrawn with
`{"toolCallCancellation": {"ids": [...]}}`.

The audio is deterministic: a quiet tone of 24 kHz PCM16, about as long as the text would take
to say. A refusal is an empty turn whose `turnComplete` says `turnCompleteReason:
RESPONSE_REJECTED`.

Errors: the protocol has no error message. The service closes the socket with a code and a
reason (1007 for an invalid argument, 1008 for a missing model or a denied request, 1011 for
quota, overload and internal errors; 1009 for a frame too large), and google-genai raises
`APIError(code, reason)` for it. Everything wrong here (a bad frame, a message before `setup`,
an error fixture, a miss, chaos) is told that way.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from aimock.canonical import CanonicalRequest, Message
from aimock.fixtures.compiled import Reply
from aimock.providers.audio import PCM_RATE, Turning, VoiceDetector, spoken
from aimock.providers.common import (
    check_type,
    estimate_tokens,
    json_object_of,
    new_id,
    slices,
    token_counts,
)
from aimock.providers.gemini_base import (
    ERRORS,
    shows_thoughts,
    status_name,
    system_text,
    tool_names,
    typed,
    value,
    wire_messages,
)
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
from aimock.wire import MAX_JSON_DEPTH, too_deep

SURFACE = "gemini.live"
GEMINI = "gemini"
VERSIONS = ("v1", "v1beta", "v1alpha")  # google-genai dials v1 unless told otherwise
METHODS = ("BidiGenerateContent", "BidiGenerateContentConstrained")
PATHS = tuple(
    f"/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"
    for version in VERSIONS
    for method in METHODS
)
MODALITIES = ("TEXT", "AUDIO")
# Automatic activity detection: the quiet that ends speech unless the setup says otherwise, and
# how long after the audio stops arriving speech under way is taken to have ended.
DEFAULT_SILENCE_MS = 500
IDLE_GRACE_MS = 300
# What a setup without responseModalities gets: the Live models answer in speech.
DEFAULT_MODALITY = "AUDIO"
OUTPUT_AUDIO = f"audio/pcm;rate={PCM_RATE}"
# Bounds against a client that never stops sending: the turns one conversation keeps, their
# JSON's bytes in all, and the input audio gathered for one turn (15 minutes of 16 kHz PCM16).
MAX_CONTENTS = 4096
MAX_CONVERSATION_BYTES = 64 * 1024 * 1024
MAX_BUFFERED_AUDIO = 15 * 60 * 16000 * 2

# The close codes the service ends a session with, and the longest reason a close frame holds.
INVALID_ARGUMENT = 1007
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011
MAX_REASON_BYTES = 123
_INVALID = frozenset({"INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE"})
_DENIED = frozenset({"NOT_FOUND", "PERMISSION_DENIED", "UNAUTHENTICATED", "UNIMPLEMENTED"})

# The client message kinds (a oneof) and the fields of each, in camelCase.
_KINDS = {
    "setup": None,  # read field by field: its config grows with every model release
    "clientContent": frozenset({"turns", "turnComplete"}),
    "realtimeInput": frozenset(
        {
            "mediaChunks",
            "audio",
            "video",
            "text",
            "audioStreamEnd",
            "activityStart",
            "activityEnd",
        }
    ),
    "toolResponse": frozenset({"functionResponses"}),
    "contextUpdate": frozenset({"systemInstruction", "tools"}),
}


# --------------------------------------------------------------------------- errors


def close_code(info: ErrorInfo) -> int:
    """The close code the service ends a session with for `info`."""
    if info.status == 413:
        return MESSAGE_TOO_BIG
    name = status_name(info)
    if name in _INVALID:
        return INVALID_ARGUMENT
    if name in _DENIED:
        return POLICY_VIOLATION
    return INTERNAL_ERROR


def close_reason(message: str) -> str:
    """`message` cut to what a close frame holds, never inside a UTF-8 sequence."""
    return message.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


async def report(link: Link, info: ErrorInfo) -> None:
    await link.close(close_code(info), close_reason(info.message))


# --------------------------------------------------------------------------- reading


@lru_cache(maxsize=512)  # bounded: the names come from clients
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _unknown(name: str, where: str | None) -> ProtocolError:
    at = f" at '{where}'" if where else ""
    shown = name[:64]
    return bad_request(
        f'Invalid JSON payload received. Unknown name "{shown}"{at}: Cannot find field.'
    )


def _checked_fields(body: Any, known: frozenset[str], where: str) -> dict[str, Any]:
    """`body` as an object of `known` fields (keys in camelCase, whichever way spelt)."""
    check_type(body, where, dict, "an object")
    fields: dict[str, Any] = {}
    for key, item in body.items():
        name = _camel(key)
        if name not in known:
            raise _unknown(key, where)
        fields[name] = item
    return fields


def _list(fields: dict[str, Any], name: str, where: str) -> list[Any]:
    """A repeated field: a list, or empty when absent or null."""
    found = fields.get(name)
    return [] if found is None else list(check_type(found, f"{where}.{name}", list, "an array"))


def _parsed(raw: bytes) -> Any:
    """A binary frame's JSON (the service reads a binary frame's bytes as a text frame's)."""
    try:
        found = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"Invalid JSON payload received. {exc}") from None
    if too_deep(raw, found):
        raise bad_request(
            f"Invalid JSON payload received. Nested deeper than {MAX_JSON_DEPTH} levels."
        )
    return found


def _blob(body: Any, where: str) -> tuple[str, bytes]:
    """A Blob's (mimeType, decoded bytes)."""
    check_type(body, where, dict, "an object")
    mime = typed(body, "mimeType", str, "a string", where) or ""
    data = typed(body, "data", str, "a string", where) or ""
    standard = data.rstrip("=").replace("-", "+").replace("_", "/")  # web-safe too
    try:
        data_bytes = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(
            f"Invalid value at '{where}.data' (TYPE_BYTES), Base64 decoding failed."
        ) from None
    return mime, data_bytes


def _rate_of(mime: str) -> int:
    """The sample rate an `audio/pcm;rate=N` type names (16 kHz, the input default)."""
    for parameter in mime.split(";")[1:]:
        name, _, given = parameter.partition("=")
        if name.strip() == "rate" and given.strip().isdigit():
            return max(1000, min(int(given), 192000))
    return 16000


def _slim(content: dict[str, Any]) -> dict[str, Any]:
    """A turn as the conversation keeps it: the parts a fixture can match (text, calls and
    their responses), media as their type alone."""
    parts: list[dict[str, Any]] = []
    for part in value(content, "parts") or ():
        kept = {
            name: part[key]
            for key in part
            if (name := _camel(key)) in ("text", "thought", "functionCall", "functionResponse")
        }
        media = value(part, "inlineData")
        if isinstance(media, dict):
            kept["inlineData"] = {"mimeType": value(media, "mimeType") or ""}
        parts.append(kept)
    return {"role": content.get("role") or "user", "parts": parts}


# --------------------------------------------------------------------------- a model turn


@dataclass(frozen=True)
class Modes:
    """What the setup asked of every model turn."""

    audio: bool = True
    transcribe: bool = False  # outputAudioTranscription: the spoken text beside the audio


@dataclass(frozen=True)
class Rendered:
    """One model turn: its server messages, the content it adds to the conversation, and the
    calls it leaves waiting for a toolResponse (id -> name)."""

    events: list[Event]
    content: dict[str, Any]
    calls: dict[str, str]


def _server(content: dict[str, Any], tokens: int = 0) -> Event:
    return Event({"serverContent": content}, tokens=tokens)


def usage(request: CanonicalRequest, reply: Reply, audio: bool) -> dict[str, Any]:
    """usageMetadata: fixture numbers win, else estimates; thoughts apart, as Gemini counts."""
    prompt, visible, reasoning = token_counts(request, reply)
    metadata: dict[str, Any] = {
        "promptTokenCount": prompt,
        "responseTokenCount": visible,
        "totalTokenCount": prompt + visible + reasoning,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        "responseTokensDetails": [
            {"modality": "AUDIO" if audio else "TEXT", "tokenCount": visible}
        ],
    }
    if reasoning:
        metadata["thoughtsTokenCount"] = reasoning
    if reply.cached_tokens:
        metadata["cachedContentTokenCount"] = min(reply.cached_tokens, prompt)
    return metadata


def render_turn(
    request: CanonicalRequest, reply: Reply, options: RenderOptions, modes: Modes
) -> Rendered:
    """The server messages of one model turn answering `request` with `reply`."""
    size = options.chunk_size or 20
    events: list[Event] = []
    parts: list[dict[str, Any]] = []
    if reply.reasoning and shows_thoughts(request):
        for piece in slices(reply.reasoning, size):
            thought = {"text": piece, "thought": True}
            events.append(_server({"modelTurn": {"parts": [thought]}}, estimate_tokens(piece)))
        parts.append({"text": reply.reasoning, "thought": True})
    text = reply.content if reply.refusal is None else None
    if text:
        events.extend(_spoken(text, size, modes))
        parts.append({"text": text})
    calls: dict[str, str] = {}
    if reply.tool_calls:
        made = []
        for call in reply.tool_calls:
            call_id = call.id or new_id("function-call-", 20)
            calls[call_id] = call.name
            made.append({"id": call_id, "name": call.name, "args": json_object_of(call.arguments)})
        parts.extend({"functionCall": made_call} for made_call in made)
        tokens = sum(
            estimate_tokens(c.name) + estimate_tokens(c.arguments) for c in reply.tool_calls
        )
        events.append(
            Event(
                {
                    "toolCall": {"functionCalls": made},
                    "usageMetadata": usage(request, reply, modes.audio),
                },
                tokens=tokens,
            )
        )
    else:
        events.append(_server({"generationComplete": True}))
        done: dict[str, Any] = {"turnComplete": True}
        if reply.refusal is not None:
            done["turnCompleteReason"] = "RESPONSE_REJECTED"
        events.append(
            Event({"serverContent": done, "usageMetadata": usage(request, reply, modes.audio)})
        )
    return Rendered(events, {"role": "model", "parts": parts}, calls)


def _spoken(text: str, size: int, modes: Modes) -> Iterator[Event]:
    """The answer in slices: as text, or as audio (one tone cut where the text is cut, so it
    plays without a click) with its transcript when the setup asked for one."""
    if not modes.audio:
        for piece in slices(text, size):
            yield _server({"modelTurn": {"parts": [{"text": piece}]}}, estimate_tokens(piece))
        return
    sound = spoken(text)
    per_character = len(sound) / len(text)
    said = 0
    for piece in slices(text, size):
        start = int(said * per_character) & ~1  # whole 16-bit samples
        said += len(piece)
        end = len(sound) if said == len(text) else int(said * per_character) & ~1
        data = base64.b64encode(sound[start:end]).decode()
        audio = {"inlineData": {"mimeType": OUTPUT_AUDIO, "data": data}}
        yield _server({"modelTurn": {"parts": [audio]}}, estimate_tokens(piece))
        if modes.transcribe:
            yield _server({"outputTranscription": {"text": piece}})


# --------------------------------------------------------------------------- the session


class LiveSession:
    """One Live socket: its setup, its conversation, its audio, the model turn under way."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.ready = False  # setup received
        self.model = ""
        self.system: str | None = None
        self.tools: tuple[str, ...] = ()
        self.modes = Modes()
        self.include_thoughts: bool | None = None
        self.contents: list[dict[str, Any]] = []
        self.conversation_bytes = 0
        self.pending: dict[str, str] = {}  # calls waiting for their response: id -> name
        self.audio_bytes = 0  # input audio gathered since the last audio turn
        self.audio_mime = ""
        self.responding: asyncio.Task[None] | None = None
        self.generating = False  # the model turn has not sent its last message yet
        # Automatic activity detection (on unless the setup turns it off): the end of speech
        # in the input audio is a turn, as audioStreamEnd is.
        self.detecting = True
        self.silence_ms = DEFAULT_SILENCE_MS
        self.padding_ms = 0
        self.detector: VoiceDetector | None = None
        self.idle: asyncio.Task[None] | None = None

    async def opened(self) -> None:
        """The client speaks first (`setup`)."""

    async def closed(self) -> None:
        if self.responding is not None:
            self.responding.cancel()

    async def received(self, message: Any) -> None:
        if isinstance(message, bytes | bytearray):
            message = _parsed(bytes(message))
        if not isinstance(message, dict):
            raise bad_request(
                "Invalid JSON payload received. Expected an object "
                "(BidiGenerateContentClientMessage)."
            )
        kinds = []
        for key in message:
            kind = _camel(key)
            if kind not in _KINDS:
                raise _unknown(key, None)
            if message[key] is not None:
                kinds.append((kind, message[key]))
        if len(kinds) != 1:
            if kinds:
                raise bad_request(
                    "Invalid JSON payload received. Oneof field 'message_type' is already set. "
                    f"Cannot set '{kinds[1][0]}'"
                )
            raise bad_request(
                "Invalid request: the message sets none of setup, clientContent, "
                "realtimeInput, toolResponse."
            )
        [(kind, body)] = kinds
        if kind == "setup":
            await self._setup(body)
            return
        if not self.ready:
            raise bad_request(f"Invalid request: the first message must be setup, not {kind}.")
        fields = _checked_fields(body, _KINDS[kind] or frozenset(), kind)
        if kind == "clientContent":
            await self._client_content(message, fields)
        elif kind == "realtimeInput":
            await self._realtime_input(message, fields)
        elif kind == "toolResponse":
            await self._tool_response(message, fields)
        else:
            self._context_update(fields)

    # -- the messages

    async def _setup(self, body: Any) -> None:
        if self.ready:
            raise bad_request("Invalid request: setup may be sent once, as the first message.")
        check_type(body, "setup", dict, "an object")
        model = typed(body, "model", str, "a string", "setup")
        if not model:
            raise bad_request("Invalid request: setup.model is required.", param="setup.model")
        config = typed(body, "generationConfig", dict, "an object", "setup") or {}
        modalities = typed(config, "responseModalities", list, "an array", "generationConfig")
        modalities = modalities or [DEFAULT_MODALITY]
        for i, modality in enumerate(modalities):
            if modality not in MODALITIES:
                shown = orjson.dumps(modality).decode()[:64]
                raise bad_request(
                    f"Invalid value at 'setup.generation_config.response_modalities[{i}]' "
                    f"(type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig"
                    f".Modality), {shown}"
                )
        if len(set(modalities)) > 1:
            raise bad_request(
                "Invalid request: a Live session answers in one response modality, TEXT or AUDIO."
            )
        thinking = typed(config, "thinkingConfig", dict, "an object", "generationConfig") or {}
        include = typed(thinking, "includeThoughts", bool, "a boolean", "thinkingConfig")
        transcription = typed(body, "outputAudioTranscription", dict, "an object", "setup")
        system = system_text(typed(body, "systemInstruction", (dict, str), "an object", "setup"))
        tools = tool_names(typed(body, "tools", list, "an array", "setup") or [])
        input_config = typed(body, "realtimeInputConfig", dict, "an object", "setup") or {}
        detection = (
            typed(
                input_config,
                "automaticActivityDetection",
                dict,
                "an object",
                "realtimeInputConfig",
            )
            or {}
        )
        where = "automaticActivityDetection"
        self.detecting = not typed(detection, "disabled", bool, "a boolean", where)
        silence = typed(detection, "silenceDurationMs", int, "an integer", where)
        padding = typed(detection, "prefixPaddingMs", int, "an integer", where)
        self.silence_ms = min(max(silence or DEFAULT_SILENCE_MS, 1), 60_000)
        self.padding_ms = min(max(padding or 0, 0), 60_000)
        self.model = model.removeprefix("models/")
        self.system, self.tools, self.include_thoughts = system, tools, include
        audio = modalities[0] == "AUDIO"
        self.modes = Modes(audio=audio, transcribe=audio and transcription is not None)
        self.ready = True
        await self.link.send({"setupComplete": {}})

    async def _client_content(self, message: dict[str, Any], fields: dict[str, Any]) -> None:
        turns = _list(fields, "turns", "clientContent")
        complete = fields.get("turnComplete")
        if complete is not None:
            check_type(complete, "clientContent.turnComplete", bool, "a boolean")
        wire_messages(turns)  # the same checks as generateContent's contents
        if turns:
            await self._user_input()
            self._add(*(_slim(turn) for turn in turns))
        if complete:
            await self._start(message)

    async def _realtime_input(self, message: dict[str, Any], fields: dict[str, Any]) -> None:
        chunks = _list(fields, "mediaChunks", "realtimeInput")
        heard: list[Turning] = []
        for i, chunk in enumerate(chunks):
            heard += self._media(chunk, f"realtimeInput.mediaChunks[{i}]")
        if fields.get("audio") is not None:
            heard += self._media(fields["audio"], "realtimeInput.audio")
        if fields.get("video") is not None:
            _blob(fields["video"], "realtimeInput.video")
        for name in ("activityStart", "activityEnd"):
            if fields.get(name) is not None:
                check_type(fields[name], f"realtimeInput.{name}", dict, "an object")
        ended = fields.get("audioStreamEnd")
        if ended is not None:
            check_type(ended, "realtimeInput.audioStreamEnd", bool, "a boolean")
        text = fields.get("text")
        if text is not None:
            check_type(text, "realtimeInput.text", str, "a string")
        if fields.get("activityStart") is not None:
            await self._user_input()
        if text:
            await self._user_input()
            self._add({"role": "user", "parts": [*self._audio_parts(), {"text": text}]})
            await self._start(message)
        elif self.audio_bytes and (ended or fields.get("activityEnd") is not None):
            await self._speech_ended(message)
        for turning in heard:
            await self._heard(turning, message)
        if self.detector is not None and self.detector.speaking:
            self._arm_idle(message)

    async def _speech_ended(self, message: dict[str, Any]) -> None:
        """The user's audio is a turn: the model answers it."""
        if self.detector is not None:
            self.detector.reset()
        await self._user_input()
        self._add({"role": "user", "parts": self._audio_parts()})
        await self._start(message)

    async def _heard(self, turning: Turning, message: dict[str, Any]) -> None:
        """Automatic activity detection: speech interrupts the model; its end is a turn."""
        if turning.started:
            await self._user_input()
        elif self.audio_bytes:
            await self._speech_ended(message)

    def _arm_idle(self, message: dict[str, Any]) -> None:
        """Audio that stops arriving mid-speech ends the speech, as silence would."""
        if self.idle is not None:
            self.idle.cancel()
        detector = self.detector

        async def wait_then_end() -> None:
            assert detector is not None
            await asyncio.sleep((detector.silence_ms + IDLE_GRACE_MS) / 1000)
            turning = detector.end()
            if turning is not None:
                await self._heard(turning, message)

        self.idle = self.link.spawn(wait_then_end())

    async def _tool_response(self, message: dict[str, Any], fields: dict[str, Any]) -> None:
        responses = _list(fields, "functionResponses", "toolResponse")
        if not responses:
            raise bad_request(
                "Invalid request: toolResponse.functionResponses is empty.",
                param="toolResponse.functionResponses",
            )
        await self._interrupt()
        parts = []
        for i, response in enumerate(responses):
            where = f"toolResponse.functionResponses[{i}]"
            check_type(response, where, dict, "an object")
            call_id = typed(response, "id", str, "a string", where) or ""
            name = typed(response, "name", str, "a string", where) or self.pending.get(call_id)
            if not name:
                raise bad_request(
                    f"Invalid request: {where} names no function and answers no call.",
                    param=f"{where}.name",
                )
            result = typed(response, "response", dict, "an object", where) or {}
            answer: dict[str, Any] = {"name": name, "response": result}
            if call_id:
                answer["id"] = call_id
            parts.append({"functionResponse": answer})
            self.pending.pop(call_id, None)
        self._add({"role": "user", "parts": parts})
        if not self.pending:
            await self._start(message)

    def _context_update(self, fields: dict[str, Any]) -> None:
        if "systemInstruction" in fields:
            self.system = system_text(
                check_type(
                    fields["systemInstruction"],
                    "contextUpdate.systemInstruction",
                    (dict, str),
                    "an object",
                )
            )
        if "tools" in fields:
            self.tools = tool_names(_list(fields, "tools", "contextUpdate"))

    # -- the conversation

    def _media(self, chunk: Any, where: str) -> list[Turning]:
        """Keep an audio chunk (images and video frames are seen, not kept); what automatic
        activity detection heard in it."""
        mime, data = _blob(chunk, where)
        if not mime.startswith("audio/"):
            return []
        if self.audio_bytes + len(data) > MAX_BUFFERED_AUDIO:
            raise bad_request(
                "Invalid request: too much audio in one turn; end it with audioStreamEnd or "
                "activityEnd."
            )
        self.audio_bytes += len(data)
        self.audio_mime = mime
        if not self.detecting or not mime.startswith("audio/pcm"):
            return []
        if self.detector is None:
            self.detector = VoiceDetector(self.silence_ms, self.padding_ms, _rate_of(mime))
        return self.detector.feed(data)

    def _audio_parts(self) -> list[dict[str, Any]]:
        if not self.audio_bytes:
            return []
        self.audio_bytes = 0
        return [{"inlineData": {"mimeType": self.audio_mime}}]

    def _add(self, *contents: dict[str, Any]) -> None:
        size = self.conversation_bytes + sum(len(orjson.dumps(c)) for c in contents)
        if len(self.contents) + len(contents) > MAX_CONTENTS or size > MAX_CONVERSATION_BYTES:
            raise bad_request(
                f"Invalid request: the conversation would pass {MAX_CONTENTS} turns or "
                f"{MAX_CONVERSATION_BYTES // 2**20} MiB, the most one session keeps."
            )
        self.contents.extend(contents)
        self.conversation_bytes = size

    def _request(self) -> CanonicalRequest:
        messages: list[Message] = []
        if self.system is not None:
            messages.append(Message("system", self.system))
        messages.extend(wire_messages(self.contents))
        extras = (
            {} if self.include_thoughts is None else {"include_thoughts": self.include_thoughts}
        )
        return CanonicalRequest(
            surface=SURFACE,
            provider=GEMINI,
            endpoint="realtime",
            model=self.model,
            context=self.link.context,
            messages=tuple(messages),
            tools=self.tools,
            stream=True,
            extras=extras,
        )

    # -- model turns

    async def _interrupt(self) -> None:
        """New input stops a model turn still streaming (`interrupted`); one that has sent
        its last message is let finish."""
        task = self.responding
        if task is None or task.done():
            return
        if self.generating:
            task.cancel()
            await asyncio.wait([task])
            await self.link.send({"serverContent": {"interrupted": True}})
        else:
            await asyncio.wait([task])

    async def _user_input(self) -> None:
        """The user speaks: the model stops, and calls not yet answered are withdrawn."""
        await self._interrupt()
        if self.pending:
            ids = list(self.pending)
            self.pending = {}
            await self.link.send({"toolCallCancellation": {"ids": ids}})

    async def _start(self, message: dict[str, Any]) -> None:
        await self._interrupt()
        self.generating = True
        self.responding = self.link.spawn(self._respond(message))

    async def _respond(self, message: dict[str, Any]) -> None:
        try:
            async with self.link.turn(message) as turn:
                request = self._request()
                answer = await turn.select(request)
                rendered = render_turn(request, answer.reply, answer.options, self.modes)
                *leading, last = rendered.events
                if leading and not await turn.stream(leading, answer.physics):
                    return
                # Before the last message goes out the turn is over: input from now on does
                # not interrupt it, and the client may answer its calls as soon as it sees
                # them.
                self.generating = False
                self._add(rendered.content)
                self.pending = dict(rendered.calls)
                if leading:
                    await turn.send(last.data)
                else:  # a turn of calls alone: paced as a stream of one message
                    await turn.stream([last], answer.physics)
        finally:
            self.generating = False


SOCKET = SocketSurface(
    name=SURFACE,
    provider=GEMINI,
    paths=PATHS,
    session=LiveSession,
    errors=ERRORS,
    report=report,
    binary=True,
)

PROVIDER = Provider(name="gemini.live", sockets=(SOCKET,))
