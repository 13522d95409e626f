"""The generated images: every PNG decodes (chunks parsed here, each CRC checked, the pixel
data inflated to exactly its rows), the same prompt gives the same bytes, and an image
fixture compiles to an image reply offered to the image endpoint only."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimock.fixtures.compiled import COMPATIBLE, compile_reply
from aimock.models.fixture import Fixture
from aimock.providers.images_media import (
    MAX_SIDE,
    GivenImage,
    ImageReply,
    dimensions,
    encode_png,
    image_reply,
    prompt_png,
)

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode(data: bytes) -> tuple[int, int, bytes]:
    """A PNG's width, height and RGB pixels; every chunk's CRC checked, IHDR first, IEND
    last, nothing after it."""
    assert data[:8] == SIGNATURE
    at, chunks = 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert len(body) == length
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        at += 12 + length
    assert at == len(data)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * 3 + 1
    assert len(raw) == stride * height
    rows = [raw[row * stride : (row + 1) * stride] for row in range(height)]
    assert all(row[0] == 0 for row in rows)  # filter type none
    return width, height, b"".join(row[1:] for row in rows)


@settings(max_examples=60, deadline=None)
@given(
    prompt=st.text(max_size=200),
    size=st.sampled_from(
        [
            None,
            "1024x1024",
            "1536x1024",
            "1024x1792",
            "256x256",
            "16:9",
            "3:4",
            "auto",
            "0x0",
            "bogus",
        ]
    ),
)
def test_every_png_decodes_and_is_deterministic(prompt: str, size: str | None) -> None:
    data = prompt_png(prompt, size)
    width, height, pixels = decode(data)
    assert (width, height) == dimensions(size)
    assert max(width, height) == MAX_SIDE and min(width, height) >= 1
    assert len(pixels) == width * height * 3
    assert prompt_png(prompt, size) == data


def test_prompts_give_different_images() -> None:
    assert prompt_png("a red fox") != prompt_png("a blue fox")


@pytest.mark.parametrize(
    ("size", "shape"),
    [("1024x1024", (64, 64)), ("1536x1024", (64, 43)), ("1024x1792", (37, 64)), ("9:16", (36, 64))],
)
def test_dimensions_keep_the_aspect(size: str, shape: tuple[int, int]) -> None:
    assert dimensions(size) == shape


def test_encoder_refuses_short_pixels() -> None:
    with pytest.raises(ValueError):
        encode_png(2, 2, b"\x00" * 11)


def test_image_fixture_compiles_to_an_image_reply() -> None:
    fixture = Fixture.model_validate(
        {"match": {}, "response": {"images": [{"url": "https://a/x.png"}, {"b64Json": "eA=="}]}}
    )
    assert fixture.response is not None
    reply = compile_reply(fixture.response, fixture, (image_reply,))
    assert reply.kind == "image"
    assert reply.extension(ImageReply) == ImageReply(
        (GivenImage(url="https://a/x.png"), GivenImage(b64_json="eA=="))
    )
    offered = {kind for kind, fits in COMPATIBLE.items() if {reply.kind} <= fits}
    assert offered == {"image"}


def test_search_images_stay_tavilys() -> None:
    fixture = Fixture.model_validate(
        {
            "match": {},
            "response": {
                "searchResults": [{"title": "t", "url": "https://a", "content": "c"}],
                "images": ["https://a/i.png"],
            },
        }
    )
    assert fixture.response is not None
    assert compile_reply(fixture.response, fixture, (image_reply,)).kind == "search"
    assert image_reply(fixture, fixture.response) is None


@pytest.mark.parametrize(
    "response",
    [
        {"image": 5},
        {"image": {"url": 1}},
        {"image": {"uri": "https://typo"}},
        {"images": {"url": "https://a"}},
        {"images": [{"b64Json": "eA=="}, ["nested"]]},
    ],
)
def test_a_malformed_image_is_refused_at_load(response: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="image"):
        Fixture.model_validate({"match": {}, "response": response})
