"""AWS event-stream framing (`application/vnd.amazon.eventstream`), as Bedrock Runtime streams.

Each event is one binary message, big-endian throughout:

    prelude   total length u32 (the whole message, both CRCs included), headers length u32,
              prelude CRC u32 (CRC32 of the first 8 bytes)
    headers   per header: name length u8, name, value type u8 (7 = string), length u16, value
    payload   the event's JSON
    CRC       u32: CRC32 of everything before it, the prelude and its CRC included
              (botocore seeds its running CRC with the prelude CRC; zlib.crc32 is that CRC32)

Headers: `:event-type` (the event's name: `chunk` for InvokeModel, `messageStart`... for
Converse), `:content-type: application/json`, `:message-type: event`.
"""

from __future__ import annotations

import functools
import struct
import zlib
from typing import Any

import orjson

CONTENT_TYPE = "application/vnd.amazon.eventstream"

_STRING = 7  # header value type: UTF-8 string with a u16 length
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_CRC_LENGTH = 4


def _header(name: str, value: str) -> bytes:
    key, text = name.encode(), value.encode()
    return bytes([len(key)]) + key + bytes([_STRING]) + struct.pack(">H", len(text)) + text


@functools.lru_cache(maxsize=64)
def _event_headers(name: str) -> bytes:
    """The encoded headers of an `event` message; a stream repeats a handful of names."""
    return b"".join(
        _header(key, value)
        for key, value in (
            (":event-type", name),
            (":content-type", "application/json"),
            (":message-type", "event"),
        )
    )


def _message(encoded_headers: bytes, payload: bytes) -> bytes:
    total = _PRELUDE.size + _CRC_LENGTH + len(encoded_headers) + len(payload) + _CRC_LENGTH
    prelude = _PRELUDE.pack(total, len(encoded_headers))
    body = prelude + _CRC.pack(zlib.crc32(prelude)) + encoded_headers + payload
    return body + _CRC.pack(zlib.crc32(body))


def encode(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message holding `payload` under string `headers`."""
    return _message(b"".join(_header(name, value) for name, value in headers.items()), payload)


def frame(data: Any, name: str | None = None) -> bytes:
    """An `event` message named `name` carrying `data` as JSON (a string is sent as is)."""
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    return _message(_event_headers(name or "chunk"), payload)


def decode(data: bytes) -> list[tuple[str | None, Any]]:
    """A recorded event stream as (`:event-type`, JSON payload) pairs, in order. A message
    whose CRCs do not check, or a cut one at the end, ends the decoding there."""
    events: list[tuple[str | None, Any]] = []
    offset = 0
    while offset + _PRELUDE.size + _CRC_LENGTH <= len(data):
        total, headers_length = _PRELUDE.unpack_from(data, offset)
        message = data[offset : offset + total]
        if total < 16 or len(message) < total:
            break
        (prelude_crc,) = _CRC.unpack_from(message, _PRELUDE.size)
        (message_crc,) = _CRC.unpack_from(message, total - _CRC_LENGTH)
        if zlib.crc32(message[: _PRELUDE.size]) != prelude_crc:
            break
        if zlib.crc32(message[: total - _CRC_LENGTH]) != message_crc:
            break
        start = _PRELUDE.size + _CRC_LENGTH
        headers = _headers(message[start : start + headers_length])
        payload = message[start + headers_length : total - _CRC_LENGTH]
        try:
            events.append((headers.get(":event-type"), orjson.loads(payload)))
        except orjson.JSONDecodeError:
            events.append((headers.get(":event-type"), payload.decode(errors="replace")))
        offset += total
    return events


def _headers(raw: bytes) -> dict[str, str]:
    """String headers of one message (other value types are skipped by their lengths)."""
    headers: dict[str, str] = {}
    at = 0
    while at < len(raw):
        name_length = raw[at]
        name = raw[at + 1 : at + 1 + name_length].decode(errors="replace")
        at += 1 + name_length
        kind = raw[at]
        at += 1
        if kind in (6, _STRING):  # byte array, string: u16 length
            (length,) = struct.unpack_from(">H", raw, at)
            value = raw[at + 2 : at + 2 + length]
            at += 2 + length
            if kind == _STRING:
                headers[name] = value.decode(errors="replace")
        else:  # fixed-size values: bool (0), byte, short, int, long, timestamp, uuid
            at += {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}.get(kind, len(raw))
    return headers
