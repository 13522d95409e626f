"""The AWS event-stream framer, decoded by botocore's own parser.

botocore's `EventStreamBuffer` checks the prelude CRC and the message CRC of every message it
yields (and raises on a mismatch), so a frame it accepts is one boto3 accepts on the wire.
"""

from __future__ import annotations

import base64
import zlib

import orjson
import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer, EventStreamMessage
from botocore.parsers import EventStreamJSONParser
from botocore.session import get_session

from aimock.streaming import eventstream, pacing


def decode(data: bytes, feed: int | None = None) -> list[EventStreamMessage]:
    """Every message in `data`, fed to botocore in pieces of `feed` bytes (all at once by
    default), as a socket would deliver them."""
    buffer = EventStreamBuffer()
    messages: list[EventStreamMessage] = []
    step = feed or len(data)
    for start in range(0, len(data), step):
        buffer.add_data(data[start : start + step])
        messages.extend(buffer)
    return messages


def test_frame_headers_payload_and_crcs_verify() -> None:
    payload = {"role": "assistant", "text": "héllo"}
    [message] = decode(eventstream.frame(payload, "messageStart"))
    assert message.headers == {
        ":event-type": "messageStart",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert orjson.loads(message.payload) == payload
    assert message.prelude.total_length == len(eventstream.frame(payload, "messageStart"))


def test_crcs_cover_prelude_and_whole_message() -> None:
    frame = eventstream.frame({"a": 1}, "chunk")
    assert int.from_bytes(frame[8:12], "big") == zlib.crc32(frame[:8])
    assert int.from_bytes(frame[-4:], "big") == zlib.crc32(frame[:-4])


def test_corrupted_payload_is_refused_by_botocore() -> None:
    frame = bytearray(eventstream.frame({"text": "abc"}, "chunk"))
    frame[-6] ^= 0xFF  # a payload byte
    with pytest.raises(ChecksumMismatch):
        decode(bytes(frame))


def test_many_frames_split_at_odd_boundaries() -> None:
    frames = [eventstream.frame({"i": i, "pad": "x" * i}, f"event{i}") for i in range(20)]
    messages = decode(b"".join(frames), feed=7)
    assert [m.headers[":event-type"] for m in messages] == [f"event{i}" for i in range(20)]
    assert [orjson.loads(m.payload)["i"] for m in messages] == list(range(20))


def test_string_data_is_sent_verbatim() -> None:
    [message] = decode(eventstream.frame('{"raw": true}', "chunk"))
    assert message.payload == b'{"raw": true}'


def test_invoke_chunk_parses_as_bedrock_response_stream() -> None:
    """A `chunk` event as boto3 reads it: `{"chunk": {"bytes": <decoded bytes>}}`."""
    inner = b'{"type":"message_stop"}'
    frame = eventstream.frame({"bytes": base64.b64encode(inner).decode()}, "chunk")
    [message] = decode(frame)
    shape = get_session().get_service_model("bedrock-runtime").shape_for("ResponseStream")
    parsed = EventStreamJSONParser().parse(message.to_response_dict(), shape)
    assert parsed == {"chunk": {"bytes": inner}}


def test_registered_as_a_framer() -> None:
    frame, content_type = pacing.FRAMERS["eventstream"]
    assert content_type == "application/vnd.amazon.eventstream"
    assert frame is eventstream.frame
