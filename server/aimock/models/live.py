"""GPT-Live (`gpt-live-1`) transcripts: what a fixture's `response.live` holds, and the checks
AIMock 1.43 applies to one before it will replay it.

A Live fixture is not a generator: it is a recorded (or hand-written) two-way conversation over
`GET /v1/live/sessions`. `entries` alternate client commands and server events in the order they
happened; a server event carries a `barrier` saying how much client input (commands, then PCM
bytes of the current audio run) must have arrived before it may go out. `bindings` name the
identifiers of the conversation: the ones the server defines are minted afresh on every replay,
the ones the client defines are learned from what the client really sends.

The event shapes below are AIMock's (`live-fixture.js`), which follow OpenAI's Live reference:
unknown keys are allowed everywhere inside an event, as they are on the real wire. The same
shapes check every client message at run time (`check_client_event`).

This module validates; the replay engine lives in `aimock.providers.openai_live`.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from pydantic import Field, StrictBool, StrictInt, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from aimock.models.base import SpecModel

MODEL = "gpt-live-1"
SAMPLE_RATE = 24_000
PATH = "/v1/live/sessions"
# JavaScript's largest exact integer: AIMock's integers are "safe integers".
SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32  # JSON nesting inside a transcript, and inside a client message
MAX_ENTRIES = 5_000_000


@dataclass(frozen=True)
class LiveLimits:
    """AIMock's defaults for one Live session (milliseconds and bytes)."""

    max_sessions: int = 16
    max_message_bytes: int = 1024 * 1024
    max_write_bytes: int = 1024 * 1024
    max_decoded_audio_bytes: int = 16 * 1024 * 1024
    max_duration_ms: int = 120_000
    idle_timeout_ms: int = 30_000
    mismatch_timeout_ms: int = 30_000


LIMITS = LiveLimits()

# A location inside a transcript or a message: keys and list indices.
Path = tuple[str | int, ...]


def dotted(path: Path) -> str:
    """`("entries", 3, "event", "type")` as `entries[3].event.type`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class LiveShapeError(ValueError):
    """A transcript or a message is not what Live allows: where, and why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{dotted(path)}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


# --------------------------------------------------------------------------- JSON helpers


def json_kind(value: Any) -> str:
    """The JSON type of a parsed value: null, boolean, number, string, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "other"


def same_json(a: Any, b: Any) -> bool:
    """JSON equality: objects by key whatever their order, arrays in order, numbers by value,
    and `true` never equal to `1` (as Python's `==` would have it)."""
    kind = json_kind(a)
    if kind != json_kind(b):
        return False
    if kind == "object":
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if kind == "array":
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def too_deep_or_odd(value: Any, budget: int) -> str | None:
    """Why `value` is not plain, finite JSON nested at most `budget` levels, or None."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > budget:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float) and not math.isfinite(item):
            return "holds a number JSON cannot carry (NaN or infinity)"
        elif json_kind(item) == "other":
            return "holds a value that is not JSON"
    return None


_POINTER_ESCAPE = re.compile(r"~(?![01])")


def pointer_parts(pointer: str) -> list[str] | None:
    """The segments of a JSON Pointer (RFC 6901), or None when it is not one."""
    if not pointer.startswith("/") or _POINTER_ESCAPE.search(pointer):
        return None
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _child(container: Any, key: str) -> tuple[bool, Any]:
    if isinstance(container, dict):
        return (True, container[key]) if key in container else (False, None)
    if isinstance(container, list) and key.isdigit() and int(key) < len(container):
        return True, container[int(key)]
    return False, None


def at_pointer(document: Any, parts: list[str]) -> tuple[bool, Any]:
    """(found, value) at the pointer's segments."""
    current = document
    for part in parts:
        found, current = _child(current, part)
        if not found:
            return False, None
    return True, current


def put_at_pointer(document: Any, parts: list[str], value: Any) -> bool:
    """Replace the value at an existing location; False when there is none."""
    found, parent = at_pointer(document, parts[:-1])
    if not found:
        return False
    key = parts[-1]
    if isinstance(parent, dict) and key in parent:
        parent[key] = value
        return True
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        parent[int(key)] = value
        return True
    return False


# --------------------------------------------------------------------------- PCM audio

_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def pcm_size(value: Any, path: Path, room: int) -> int:
    """The decoded size of canonical base64 PCM16 (padded, no stray bits, whole samples),
    refused past `room` bytes."""
    if not isinstance(value, str) or len(value) % 4 or not _BASE64.fullmatch(value):
        raise LiveShapeError(path, "must be canonical base64 of PCM16 audio")
    size = len(value) // 4 * 3 - (2 if value.endswith("==") else 1 if value.endswith("=") else 0)
    if size > room:
        raise LiveShapeError(path, f"decodes to more audio than the {room} bytes allowed")
    if size % 2:
        raise LiveShapeError(path, "must hold whole 16-bit samples (an even number of bytes)")
    # Canonical: the bits past the data in the last character are zero.
    if value.endswith("==") and _ALPHABET.index(value[-3]) & 0b1111:
        raise LiveShapeError(path, "must be canonical base64 of PCM16 audio")
    if value.endswith("=") and not value.endswith("==") and _ALPHABET.index(value[-2]) & 0b11:
        raise LiveShapeError(path, "must be canonical base64 of PCM16 audio")
    return size


def pcm_bytes(value: Any, path: Path, room: int) -> bytes:
    """Canonical base64 PCM16 decoded (see `pcm_size`)."""
    pcm_size(value, path, room)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):  # pcm_size has ruled this out
        raise LiveShapeError(path, "must be canonical base64 of PCM16 audio") from None


# --------------------------------------------------------------------------- event shapes
#
# A small structural checker: enough of JSON Schema to say what AIMock's Live schemas say
# (a type, a constant, a set of values, an object's properties and required keys, an array's
# items, one of several forms). Keys a shape does not list are allowed.


class Shape:
    def check(self, value: Any, path: Path) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Kind(Shape):
    """One of these JSON types."""

    kinds: tuple[str, ...]

    def check(self, value: Any, path: Path) -> None:
        if json_kind(value) not in self.kinds:
            raise LiveShapeError(path, f"must be {' or '.join(self.kinds)}")


@dataclass(frozen=True)
class Const(Shape):
    value: Any

    def check(self, value: Any, path: Path) -> None:
        if not same_json(value, self.value):
            raise LiveShapeError(path, f"must be {_show(self.value)}")


@dataclass(frozen=True)
class OneOf(Shape):
    """One of these values (None standing for null)."""

    values: tuple[Any, ...]

    def check(self, value: Any, path: Path) -> None:
        if not any(same_json(value, allowed) for allowed in self.values):
            shown = ", ".join(_show(v) for v in self.values)
            raise LiveShapeError(path, f"must be one of {shown}")


@dataclass(frozen=True)
class Obj(Shape):
    """An object; the listed properties, when present, have their shapes."""

    properties: Mapping[str, Shape]
    required: tuple[str, ...] = ()

    def check(self, value: Any, path: Path) -> None:
        if not isinstance(value, dict):
            raise LiveShapeError(path, "must be an object")
        for key in self.required:
            if key not in value:
                raise LiveShapeError((*path, key), "is required")
        for key, shape in self.properties.items():
            if key in value:
                shape.check(value[key], (*path, key))


@dataclass(frozen=True)
class ListOf(Shape):
    item: Shape

    def check(self, value: Any, path: Path) -> None:
        if not isinstance(value, list):
            raise LiveShapeError(path, "must be array")
        for index, item in enumerate(value):
            self.item.check(item, (*path, index))


@dataclass(frozen=True)
class AnyOf(Shape):
    """The first of these forms that fits."""

    forms: tuple[Shape, ...]
    described: str

    def check(self, value: Any, path: Path) -> None:
        for form in self.forms:
            try:
                form.check(value, path)
                return
            except LiveShapeError:
                continue
        raise LiveShapeError(path, f"must be {self.described}")


def _show(value: Any) -> str:
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)


STRING = Kind(("string",))
NUMBER = Kind(("number",))
BOOLEAN = Kind(("boolean",))
OBJECT = Kind(("object",))
ARRAY = Kind(("array",))
NULL = Kind(("null",))
STRING_OR_NULL = Kind(("string", "null"))

PCM24 = Obj({"type": Const("audio/pcm"), "rate": Const(SAMPLE_RATE)}, ("type", "rate"))
VOICE = AnyOf((STRING, Obj({"id": STRING}, ("id",))), "a voice name or {id}")
AUDIO = Obj({"format": PCM24, "output": Obj({"voice": VOICE})})
FUNCTION_TOOL = Obj(
    {
        "type": Const("function"),
        "name": STRING,
        "description": STRING_OR_NULL,
        "parameters": Kind(("object", "null")),
        "strict": Kind(("boolean", "null")),
    },
    ("type", "name"),
)
_BACKEND_FIELDS: Mapping[str, Shape] = {
    "model": STRING,
    "instructions": STRING_OR_NULL,
    "max_output_tokens": Kind(("number", "null")),
    "parallel_tool_calls": Kind(("boolean", "null")),
    "reasoning": AnyOf(
        (
            NULL,
            Obj(
                {
                    "effort": OneOf(("none", "minimal", "low", "medium", "high", "xhigh", None)),
                    "summary": OneOf(("concise", "detailed", "auto", None)),
                }
            ),
        ),
        "null or {effort, summary}",
    ),
    "service_tier": OneOf(
        ("auto", "default", "fast_tier_temp_pilot", "flex", "priority", "ultrafast", None)
    ),
    "text": AnyOf(
        (NULL, Obj({"verbosity": OneOf(("low", "medium", "high", None))})), "null or {verbosity}"
    ),
    "tool_choice": AnyOf(
        (
            OneOf(("auto", "none", "required")),
            Obj({"type": Const("function"), "name": STRING}, ("type", "name")),
            Obj(
                {"type": Const("mcp"), "name": STRING, "server_label": STRING},
                ("type", "name", "server_label"),
            ),
        ),
        "auto, none, required, a function or an MCP tool",
    ),
    "tools": ListOf(
        AnyOf(
            (FUNCTION_TOOL, Obj({"type": Const("web_search")}, ("type",))),
            "a function tool or web_search",
        )
    ),
}
BACKEND = Obj(_BACKEND_FIELDS, ("model",))
BACKEND_PATCH = Obj(_BACKEND_FIELDS)
_CLIENT_DELEGATION = Obj({"type": Const("client")}, ("type",))
DELEGATION = AnyOf(
    (
        NULL,
        _CLIENT_DELEGATION,
        Obj({"type": Const("responses"), "responses": BACKEND}, ("type", "responses")),
    ),
    "null, {type: client} or {type: responses, responses}",
)
DELEGATION_PATCH = AnyOf(
    (
        NULL,
        _CLIENT_DELEGATION,
        Obj({"type": Const("responses"), "responses": BACKEND_PATCH}, ("type",)),
    ),
    "null, {type: client} or {type: responses}",
)
_SESSION_FIELDS: Mapping[str, Shape] = {
    "model": Const(MODEL),
    "audio": AUDIO,
    "delegation": DELEGATION,
    "instructions": STRING_OR_NULL,
    "store": BOOLEAN,
    "input": ListOf(OBJECT),
    "client": OBJECT,
}
SESSION_CONFIG = Obj(_SESSION_FIELDS, ("model",))
SESSION_RESOURCE = Obj(
    {**_SESSION_FIELDS, "id": STRING, "expires_at": NUMBER, "status": Const("active")},
    ("id", "expires_at", "model", "status"),
)
SESSION_PATCH = Obj({"delegation": DELEGATION_PATCH})
USAGE = Obj({"seconds": NUMBER}, ("seconds",))
DELEGATION_BODY = Obj(
    {
        "id": STRING,
        "type": Const("delegation"),
        "target": OneOf(("client", "responses")),
        "response_id": STRING,
    },
    ("id", "type", "target"),
)
ERROR_BODY = Obj(
    {
        "type": STRING,
        "code": STRING,
        "message": STRING,
        "param": STRING_OR_NULL,
        "client_event_id": STRING,
    },
    ("type", "code", "message"),
)
FUNCTION_OUTPUT = Obj(
    {
        "type": Const("function_call_output"),
        "call_id": STRING,
        "output": STRING,
        "id": STRING,
        "status": OneOf(("in_progress", "completed", "incomplete")),
    },
    ("type", "call_id", "output"),
)
NESTED_RESPONSE_EVENT = Obj(
    {
        "type": STRING,
        "sequence_number": NUMBER,
        "response": Obj(
            {
                "id": STRING,
                "previous_response_id": STRING_OR_NULL,
                "status": STRING,
                "usage": Kind(("object", "null")),
                "output": ARRAY,
                "instructions": STRING_OR_NULL,
                "tools": ARRAY,
            }
        ),
        "item": Obj(
            dict.fromkeys(("id", "type", "call_id", "arguments", "name", "status"), STRING)
        ),
        "item_id": STRING,
        "output_index": NUMBER,
        "delta": STRING,
        "arguments": STRING,
    }
)


def _client(type_: str, required: tuple[str, ...] = (), **fields: Shape) -> Obj:
    return Obj({"type": Const(type_), "event_id": STRING_OR_NULL, **fields}, ("type", *required))


def _server(type_: str, required: tuple[str, ...] = ("event_id",), **fields: Shape) -> Obj:
    return Obj(
        {"type": Const(type_), "event_id": STRING, "client_event_id": STRING, **fields},
        ("type", *required),
    )


_APPEND = {"content": STRING, "delegation_id": STRING_OR_NULL}
_SPAN = {"start_ms": NUMBER, "end_ms": NUMBER}
_SPAN_REQUIRED = ("event_id", "start_ms", "end_ms")

# Every command a client may send, by `type`.
CLIENT_EVENTS: Mapping[str, Shape] = {
    "session.start": _client("session.start", ("session",), session=SESSION_CONFIG),
    "session.update": _client("session.update", ("session",), session=SESSION_PATCH),
    "session.input_audio.append": _client("session.input_audio.append", ("audio",), audio=STRING),
    "response.item.create": _client("response.item.create", ("item",), item=FUNCTION_OUTPUT),
    "response.create": _client("response.create"),
    "session.close": _client("session.close"),
    **{
        name: _client(name, ("content", "delegation_id"), **_APPEND)
        for name in (
            "session.instructions.append",
            "session.thinking.append",
            "session.commentary.append",
        )
    },
    "session.input_audio.mute": _client("session.input_audio.mute"),
    "session.input_audio.unmute": _client("session.input_audio.unmute"),
}
# Commands OpenAI documents but a provider capture has not shown: only authored transcripts
# may hold them.
DOCUMENTED_ONLY = frozenset(
    {"session.instructions.append", "session.input_audio.mute", "session.input_audio.unmute"}
)
CLOSE_REASONS = ("close_requested", "expired", "content", "remote_hangup", "connection_lost")
# The server events AIMock knows the shape of; a transcript may hold others, unchecked.
SERVER_EVENTS: Mapping[str, Shape] = {
    "session.started": _server(
        "session.started", ("event_id", "session"), session=SESSION_RESOURCE
    ),
    "session.updated": _server(
        "session.updated", ("event_id", "session"), session=SESSION_RESOURCE
    ),
    "session.closed": _server(
        "session.closed",
        ("event_id", "session", "usage", "reason"),
        session=SESSION_RESOURCE,
        usage=USAGE,
        reason=OneOf(CLOSE_REASONS),
    ),
    "session.output_audio.delta": Obj(
        {"type": Const("session.output_audio.delta"), "delta": STRING, **_SPAN},
        ("type", "delta"),
    ),
    **{
        name: _server(name, (*_SPAN_REQUIRED, "delta"), delta=STRING, **_SPAN)
        for name in ("session.input_transcript.delta", "session.output_transcript.delta")
    },
    **{
        name: _server(name, _SPAN_REQUIRED, **_SPAN)
        for name in (
            "session.instructions.appended",
            "session.thinking.appended",
            "session.commentary.appended",
        )
    },
    "session.input_audio.muted": _server("session.input_audio.muted"),
    "session.input_audio.unmuted": _server("session.input_audio.unmuted"),
    "session.delegation.created": _server(
        "session.delegation.created",
        ("event_id", "delegation", "offset_ms"),
        delegation=DELEGATION_BODY,
        offset_ms=NUMBER,
    ),
    "session.usage.updated": _server(
        "session.usage.updated",
        ("event_id", "usage"),
        usage=USAGE,
        context_window=Obj({"usage_ratio": NUMBER}, ("usage_ratio",)),
    ),
    "response.event": _server(
        "response.event",
        ("event_id", "event"),
        event=NESTED_RESPONSE_EVENT,
        delegation_id=STRING_OR_NULL,
    ),
    "error": _server("error", ("event_id", "error"), error=ERROR_BODY),
}


def event_type(event: dict[str, Any], path: Path) -> str:
    kind = event.get("type")
    if not isinstance(kind, str) or not kind:
        raise LiveShapeError((*path, "type"), "must be a non-empty string")
    return kind


def check_client_shape(event: Any, path: Path = ()) -> str:
    """The command's type, once its shape is one Live documents."""
    if not isinstance(event, dict):
        raise LiveShapeError(path, "must be an object")
    kind = event_type(event, path)
    shape = CLIENT_EVENTS.get(kind)
    if shape is None:
        raise LiveShapeError((*path, "type"), f"{kind!r} is not a Live client command")
    shape.check(event, path)
    return kind


def check_client_event(event: Any, limits: LiveLimits = LIMITS) -> str:
    """One message a client sent, checked as AIMock checks it before replaying: plain JSON,
    a documented command, and canonical PCM16 in an audio append. Returns its type."""
    problem = too_deep_or_odd(event, MAX_DEPTH)
    if problem is not None:
        raise LiveShapeError((), problem)
    kind = check_client_shape(event)
    if kind == "session.input_audio.append":
        pcm_size(event["audio"], ("audio",), limits.max_decoded_audio_bytes)
    return kind


def check_instructions_update(event: dict[str, Any], path: Path) -> None:
    """`session.update` may only set the managed backend's instructions:
    `{"session": {"delegation": {"type"?: "responses", "responses": {"instructions": ...}}}}`."""
    patch = event.get("session")
    delegation = patch.get("delegation") if isinstance(patch, dict) else None
    backend = delegation.get("responses") if isinstance(delegation, dict) else None
    if (
        not isinstance(patch, dict)
        or not isinstance(delegation, dict)
        or not isinstance(backend, dict)
        or set(patch) != {"delegation"}
        or not set(delegation) <= {"type", "responses"}
        or ("type" in delegation and delegation["type"] != "responses")
        or set(backend) != {"instructions"}
    ):
        raise LiveShapeError(
            (*path, "session"),
            "only the managed backend's instructions may be updated "
            "(session.delegation.responses.instructions)",
        )


# --------------------------------------------------------------------------- identifiers


@dataclass(frozen=True)
class Site:
    """A place in an event where an identifier lives."""

    namespace: str  # ids of one namespace are told apart from each other, not from others
    owner: Literal["client", "server"]  # who makes the id up
    define: bool  # whether this event may introduce it
    imported: bool = False  # a server id from before the capture (previous_response_id)


_LIFECYCLE = frozenset({"response.created", "response.in_progress", "response.completed"})
_SESSION_RESOURCES = frozenset({"session.started", "session.updated", "session.closed"})
_APPENDS = frozenset(
    {"session.thinking.append", "session.commentary.append", "session.instructions.append"}
)


def binding_sites(event: dict[str, Any], direction: str) -> dict[str, Site]:
    """The identifier fields `event` holds (present, string-valued), by JSON Pointer."""
    server = direction == "server"
    kind = event.get("type")
    sites: dict[str, Site] = {}

    def add(pointer: str, site: Site) -> None:
        parts = pointer_parts(pointer)
        assert parts is not None
        found, value = at_pointer(event, parts)
        if found and isinstance(value, str):
            sites[pointer] = site

    add(
        "/event_id",
        Site("server-event" if server else "client-event", "server" if server else "client", True),
    )
    if server:
        add("/client_event_id", Site("client-event", "client", False))
        if kind == "error":
            add("/error/client_event_id", Site("client-event", "client", False))
        if kind in _SESSION_RESOURCES:
            add("/session/id", Site("session", "server", kind == "session.started"))
        if kind == "session.delegation.created":
            add("/delegation/id", Site("delegation", "server", True))
            add("/delegation/response_id", Site("response", "server", True))
    if (not server and kind in _APPENDS) or (server and kind == "response.event"):
        add("/delegation_id", Site("delegation", "server", False))
    if not server and kind == "response.item.create":
        add("/item/call_id", Site("tool-call", "server", False))
    if server and kind == "response.event":
        nested = event.get("event")
        nested_kind = nested.get("type") if isinstance(nested, dict) else None
        add("/event/response/id", Site("response", "server", nested_kind == "response.created"))
        add(
            "/event/response/previous_response_id",
            Site("response", "server", False, imported=nested_kind in _LIFECYCLE),
        )
        added = nested_kind == "response.output_item.added"
        add("/event/item/id", Site("response-item", "server", added))
        add("/event/item_id", Site("response-item", "server", False))
        add("/event/item/call_id", Site("tool-call", "server", added))
    return sites


# --------------------------------------------------------------------------- the transcript

# A count or an index: a whole number JSON writes without a fraction.
Count = Annotated[int, Field(strict=True, ge=0, le=SAFE_INTEGER)]


def _exactly(value: int, wanted: int) -> int:
    """A field with one allowed value (kept out of the schema's `enum`, which a Kubernetes
    structural schema takes for strings only)."""
    if value != wanted:
        raise ValueError(f"must be {wanted}")
    return value


class LiveAudio(SpecModel):
    """The audio of the conversation: GPT-Live speaks mono 16-bit PCM at 24 kHz only."""

    encoding: Literal["pcm16le"] = Field(description="Always pcm16le.")
    sample_rate_hz: StrictInt = Field(description="Always 24000.")
    channels: StrictInt = Field(description="Always 1 (mono).")

    @field_validator("sample_rate_hz")
    @classmethod
    def _rate(cls, value: int) -> int:
        return _exactly(value, SAMPLE_RATE)

    @field_validator("channels")
    @classmethod
    def _mono(cls, value: int) -> int:
        return _exactly(value, 1)


class LiveBarrier(SpecModel):
    """How much client input must have arrived before a server event may go out."""

    command: Count = Field(description="Client commands (audio appends aside) received.")
    audio_bytes: Count = Field(
        description="Decoded PCM bytes received since the last of those commands."
    )


class LiveEntry(SpecModel):
    """One event of the conversation, in the order it happened."""

    direction: Literal["client", "server"] = Field(description="Who sent it.")
    at_ms: Count = Field(
        description="Milliseconds from the start of the session (replayed with "
        "liveTiming: recorded)."
    )
    event: dict[str, Any] = Field(description="The event as it travelled (its `type` first).")
    barrier: LiveBarrier | None = Field(
        None, description="Server events only: the client input it waits for."
    )


class LiveBinding(SpecModel):
    """An identifier field of one entry: defined there, or a reference to an earlier one."""

    entry: Count = Field(description="The index of the entry in `entries`.")
    pointer: str = Field(description="The field, as a JSON Pointer into the event.")
    name: str = Field(min_length=1, description="The identifier's name in this transcript.")
    action: Literal["define", "reference"] = Field(
        description="define: the id first appears here; reference: it is one defined before."
    )
    owner: Literal["client", "server"] = Field(description="Who makes the id up.")
    origin: Literal["observed", "imported-context"] | None = Field(
        None, description="imported-context: a server id from before the capture."
    )


class LiveProvenance(SpecModel):
    """Where a provider capture was made."""

    host: str = Field(min_length=1, description="The provider's host.")
    path: Literal["/v1/live/sessions"] = Field(description="Always /v1/live/sessions.")
    observed_at: str = Field(min_length=1, description="When (an ISO 8601 timestamp).")
    reference_version: str = Field(min_length=1, description="The protocol version observed.")
    sanitation_version: StrictInt = Field(description="Always 1.")

    @field_validator("sanitation_version")
    @classmethod
    def _sanitation(cls, value: int) -> int:
        return _exactly(value, 1)


class LiveCapture(SpecModel):
    """How the transcript was made."""

    source: Literal["authored", "provider"] = Field(
        description="authored: written by hand; provider: recorded from OpenAI."
    )
    complete: StrictBool = Field(description="Always true: only complete captures load.")
    terminal_entry: Count = Field(
        description="The index of the final entry, the server's session.closed."
    )
    provenance: LiveProvenance | None = Field(None, description="Where a capture was made.")

    @field_validator("complete")
    @classmethod
    def _complete(cls, value: bool) -> bool:
        if not value:
            raise ValueError("must be true: only complete, successful captures load")
        return value


class LiveTranscript(SpecModel):
    """A GPT-Live conversation to replay on `GET /v1/live/sessions` (AIMock's `response.live`)."""

    version: StrictInt = Field(description="Always 1.")
    model: Literal["gpt-live-1"] = Field(description="Always gpt-live-1.")
    mode: Literal["client", "managed"] = Field(
        description="client: the client answers delegations; managed: a Responses backend does."
    )
    audio: LiveAudio = Field(description="Always mono PCM16LE at 24000 Hz.")
    configuration: dict[str, Any] = Field(
        description="The session configuration; the client's session.start must send exactly it."
    )
    entries: list[LiveEntry] = Field(
        min_length=1,
        max_length=MAX_ENTRIES,
        description="The events, starting with the client's session.start and ending with the "
        "server's session.closed.",
    )
    bindings: list[LiveBinding] = Field(description="Every identifier field of the entries.")
    capture: LiveCapture = Field(description="How the transcript was made.")

    @field_validator("version")
    @classmethod
    def _first_version(cls, value: int) -> int:
        return _exactly(value, 1)

    @model_validator(mode="after")
    def _replayable(self) -> LiveTranscript:
        try:
            check_transcript(self)
        except LiveShapeError as exc:
            error = PydanticCustomError("live_fixture", "{reason}", {"reason": exc.reason})
            raise ValidationError.from_exception_data(
                "LiveTranscript", [InitErrorDetails(type=error, loc=exc.path, input=None)]
            ) from None
        return self


def _object(value: Any, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LiveShapeError(path, "must be an object")
    return value


def _text(value: Any, path: Path) -> str:
    if not isinstance(value, str) or not value:
        raise LiveShapeError(path, "must be a non-empty string")
    return value


def _conforms(expected: Any, actual: Any, path: Path) -> None:
    """A server's session resource agrees with the accepted configuration: every value the
    configuration gives is there, the same (the resource adds its own keys)."""
    if isinstance(expected, dict):
        found = _object(actual, path)
        for key, value in expected.items():
            _conforms(value, found.get(key, _ABSENT), (*path, key))
    elif actual is _ABSENT or not same_json(expected, actual):
        raise LiveShapeError(path, "differs from the session configuration")


_ABSENT = object()


@dataclass
class _Identity:
    namespace: str
    owner: str
    value: str
    accepted_at: tuple[int, int] | None  # client ids: (commands, audio bytes) when defined


def check_transcript(live: LiveTranscript, limits: LiveLimits = LIMITS) -> None:
    """Everything AIMock checks of a transcript beyond the field types; raises
    `LiveShapeError` naming the field of the first problem."""
    config = live.configuration
    # Nesting counts from the transcript: the configuration is one level in, an event three.
    for where, value, depth in (
        (("configuration",), config, 1),
        *((("entries", i, "event"), entry.event, 3) for i, entry in enumerate(live.entries)),
    ):
        problem = too_deep_or_odd(value, MAX_DEPTH - depth)
        if problem is not None:
            raise LiveShapeError(where, problem)
    SESSION_CONFIG.check(config, ("configuration",))
    audio = _object(config.get("audio"), ("configuration", "audio"))
    PCM24.check(audio.get("format"), ("configuration", "audio", "format"))
    delegation = _object(config.get("delegation"), ("configuration", "delegation"))
    wanted = "responses" if live.mode == "managed" else "client"
    if delegation.get("type") != wanted:
        raise LiveShapeError(
            ("configuration", "delegation", "type"), f"must be {wanted!r} in {live.mode} mode"
        )
    entries, capture = live.entries, live.capture
    if capture.terminal_entry != len(entries) - 1:
        raise LiveShapeError(
            ("capture", "terminalEntry"), "must be the index of the last entry (session.closed)"
        )
    by_entry: dict[int, list[tuple[int, LiveBinding]]] = {}
    for index, binding in enumerate(live.bindings):
        if binding.entry >= len(entries):
            raise LiveShapeError(("bindings", index, "entry"), "is past the last entry")
        by_entry.setdefault(binding.entry, []).append((index, binding))
    _Walk(live, limits, by_entry).run()


class _Walk:
    """One pass over the entries, keeping what AIMock keeps: the client input so far (for
    barriers), the identifiers defined (for bindings), the configuration in force."""

    def __init__(
        self,
        live: LiveTranscript,
        limits: LiveLimits,
        by_entry: dict[int, list[tuple[int, LiveBinding]]],
    ) -> None:
        self.live, self.limits, self.by_entry = live, limits, by_entry
        self.commands = 0
        self.audio = 0  # PCM bytes since the last command
        self.run_bytes = {0: 0}  # the audio run's length after each command count
        self.last_time = -1
        self.barrier = (0, 0)  # the last server barrier
        self.audio_total = {"client": 0, "server": 0}
        self.identities: dict[tuple[str, str], str] = {}  # (namespace, value) -> name
        self.names: dict[str, _Identity] = {}
        self.config: dict[str, Any] = live.configuration

    def run(self) -> None:
        for index, entry in enumerate(self.live.entries):
            self.entry(index, entry)

    def entry(self, index: int, entry: LiveEntry) -> None:
        path: Path = ("entries", index)
        live, limits = self.live, self.limits
        if entry.at_ms < self.last_time or entry.at_ms > limits.max_duration_ms:
            raise LiveShapeError(
                (*path, "atMs"),
                f"must not go back in time, nor past {limits.max_duration_ms} ms",
            )
        self.last_time = entry.at_ms
        event, where = entry.event, (*path, "event")
        kind = event_type(event, where)
        client = entry.direction == "client"
        if client:
            check_client_shape(event, where)
            if live.capture.source == "provider" and kind in DOCUMENTED_ONLY:
                raise LiveShapeError(
                    (*where, "type"), "is not a command a provider capture can hold"
                )
        elif kind in SERVER_EVENTS:
            SERVER_EVENTS[kind].check(event, where)
        if len(_encoded(event)) > limits.max_message_bytes:
            raise LiveShapeError(where, f"is larger than {limits.max_message_bytes} bytes")
        if kind == "error":
            raise LiveShapeError(where, "an error event cannot be part of a successful session")
        if index == 0 and (not client or kind != "session.start"):
            raise LiveShapeError(path, "the first entry must be the client's session.start")
        if kind == "session.start":
            if not client or index != 0:
                raise LiveShapeError((*where, "type"), "session.start may only open the session")
            if not same_json(event.get("session"), live.configuration):
                raise LiveShapeError((*where, "session"), "must equal the configuration")
        if client and kind == "session.update":
            if live.mode != "managed":
                raise LiveShapeError((*where, "type"), "session.update needs managed mode")
            check_instructions_update(event, where)
            self._update_instructions(event["session"]["delegation"]["responses"])
        if not client and kind in _SESSION_RESOURCES:
            _conforms(self.config, event.get("session", _ABSENT), (*where, "session"))
        if not client and kind == "response.event":
            _check_response_event(event, where)
        decoded = 0
        if client and kind == "session.input_audio.append":
            decoded = self._audio(event["audio"], (*where, "audio"), "client")
        elif not client and kind == "session.output_audio.delta":
            decoded = self._audio(event["delta"], (*where, "delta"), "server")
        if client:
            if entry.barrier is not None:
                raise LiveShapeError((*path, "barrier"), "a client entry has no barrier")
            if kind == "session.input_audio.append":
                self.audio += decoded
            else:
                self.commands += 1
                self.audio = 0
            self.run_bytes[self.commands] = self.audio
        else:
            self._barrier(entry.barrier, path)
        terminal = live.capture.terminal_entry
        if index == terminal and (
            client or kind != "session.closed" or event.get("reason") not in _GOOD_ENDINGS
        ):
            raise LiveShapeError(
                ("capture", "terminalEntry"),
                "must point at the server's session.closed with reason close_requested or "
                "remote_hangup",
            )
        if index != terminal and kind == "session.closed":
            raise LiveShapeError((*where, "type"), "session.closed must be the last entry")
        self._bindings(index, event, entry.direction, path)

    def _update_instructions(self, backend: dict[str, Any]) -> None:
        delegation = _object(self.config.get("delegation"), ("configuration", "delegation"))
        responses = _object(
            delegation.get("responses"), ("configuration", "delegation", "responses")
        )
        self.config = {
            **self.config,
            "delegation": {
                **delegation,
                "responses": {**responses, "instructions": backend["instructions"]},
            },
        }

    def _audio(self, value: Any, path: Path, direction: str) -> int:
        room = self.limits.max_decoded_audio_bytes - self.audio_total[direction]
        size = pcm_size(value, path, room)
        self.audio_total[direction] += size
        return size

    def _barrier(self, barrier: LiveBarrier | None, path: Path) -> None:
        if barrier is None:
            raise LiveShapeError((*path, "barrier"), "a server entry needs a barrier")
        command, audio = barrier.command, barrier.audio_bytes
        if (
            audio % 2
            or command > self.commands
            or audio > self.run_bytes.get(command, -1)
            or (command, audio) < self.barrier
        ):
            raise LiveShapeError(
                (*path, "barrier"),
                "must not wait for more client input than came before it, must not go back "
                "from the previous barrier, and must count whole samples",
            )
        self.barrier = (command, audio)

    def _bindings(self, index: int, event: dict[str, Any], direction: str, path: Path) -> None:
        sites = binding_sites(event, direction)
        annotated: set[str] = set()

        def rank(item: tuple[int, LiveBinding]) -> int:
            binding = item[1]
            if binding.action == "reference":
                return 2
            return 1 if binding.origin == "imported-context" else 0

        for number, binding in sorted(self.by_entry.get(index, ()), key=rank):
            where: Path = ("bindings", number)
            parts = pointer_parts(binding.pointer)
            if parts is None:
                raise LiveShapeError((*where, "pointer"), "must be a JSON Pointer")
            found, value = at_pointer(event, parts)
            site = sites.get(binding.pointer)
            if site is None or not found or not isinstance(value, str) or not value:
                raise LiveShapeError(
                    (*where, "pointer"), "does not point at an identifier field of the event"
                )
            if binding.pointer in annotated:
                raise LiveShapeError(where, "a second binding of the same field")
            annotated.add(binding.pointer)
            if binding.owner != site.owner:
                raise LiveShapeError((*where, "owner"), f"must be {site.owner} for this field")
            imported = binding.origin == "imported-context"
            if imported and (
                binding.action != "define"
                or not site.imported
                or direction == "client"
                or site.owner != "server"
            ):
                raise LiveShapeError(
                    (*where, "origin"), "imported-context only defines a server's earlier id"
                )
            key = (site.namespace, value)
            known = self.identities.get(key)
            named = self.names.get(binding.name)
            if binding.action == "define":
                if (not site.define and not imported) or known is not None or named is not None:
                    raise LiveShapeError(
                        where, "defines an id this field cannot define, or one already defined"
                    )
                self.identities[key] = binding.name
                accepted = (self.commands, self.audio) if direction == "client" else None
                self.names[binding.name] = _Identity(site.namespace, site.owner, value, accepted)
                continue
            if (
                known != binding.name
                or named is None
                or named.namespace != site.namespace
                or named.owner != site.owner
                or named.value != value
            ):
                raise LiveShapeError(
                    where,
                    "refers to an id not defined before, or one id under two names",
                )
            if (
                direction == "server"
                and named.accepted_at is not None
                and self.barrier < named.accepted_at
            ):
                raise LiveShapeError(
                    (*path, "barrier"),
                    f"comes before the client input that defines {binding.pointer}",
                )
        for pointer in sites:
            if pointer not in annotated:
                raise LiveShapeError(
                    (*path, "event", *(pointer_parts(pointer) or [])), "has no binding"
                )


_GOOD_ENDINGS = ("close_requested", "remote_hangup")


def _check_response_event(event: dict[str, Any], where: Path) -> None:
    nested = _object(event.get("event"), (*where, "event"))
    kind = nested.get("type")
    at: Path = (*where, "event")
    if kind in _LIFECYCLE:
        response = _object(nested.get("response"), (*at, "response"))
        _text(response.get("id"), (*at, "response", "id"))
    if kind in ("response.output_item.added", "response.output_item.done"):
        item = _object(nested.get("item"), (*at, "item"))
        if item.get("type") == "function_call":
            for key in ("id", "call_id", "name"):
                _text(item.get(key), (*at, "item", key))
            if not isinstance(item.get("arguments"), str):
                raise LiveShapeError((*at, "item", "arguments"), "must be a string")
    if kind in ("response.function_call_arguments.delta", "response.function_call_arguments.done"):
        _text(nested.get("item_id"), (*at, "item_id"))


def _encoded(value: Any) -> bytes:
    return orjson.dumps(value)
