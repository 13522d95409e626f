"""Deterministic images, and the image part of a reply, for every provider that answers with
images (OpenAI's `/v1/images/*`, Imagen's `:predict`, Gemini's IMAGE output).

A mock cannot draw what a prompt asks for, but it can send a real image: a small valid PNG
(or JPEG, or WebP, when the request asks for one) whose pixels follow from the prompt (a
SHA-256 of it), so a client's decoder, storage and display code runs, and the same prompt
always gives the same bytes. A fixture's `image` /
`images` (AIMock's shapes: `{url?, b64Json?, revisedPrompt?}`) gives the images instead.

Not a surface: the image providers import it, never each other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from aimock.models.fixture import Fixture, Response

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_TYPE = "image/png"
# The encodings a generated image comes in, by name (OpenAI's `output_format`).
IMAGE_TYPES = {"png": PNG_TYPE, "jpeg": "image/jpeg", "webp": "image/webp"}
# The lossy encodings' quality when the request gives none (OpenAI's `output_compression`
# defaults to 100); WebP without one is lossless.
DEFAULT_QUALITY = 100
# The longest side of a generated image: small enough to cost nothing, large enough to look at.
MAX_SIDE = 64
DEFAULT_SIDE = 64
# The PNG's compression level: fixed, so the bytes never depend on zlib's default.
_LEVEL = 6
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", binascii.crc32(kind + data) & 0xFFFFFFFF)
    )


def encode_png(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG of `width` x `height` pixels (`rgb`: rows top to bottom, 3 bytes a
    pixel), every row filter 0 (none)."""
    stride = width * 3
    if width < 1 or height < 1 or len(rgb) != stride * height:
        raise ValueError("the pixels do not fill the image")
    raw = b"".join(b"\x00" + rgb[row * stride : (row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, _LEVEL))
        + _chunk(b"IEND", b"")
    )


def digest(prompt: str) -> str:
    """The hex SHA-256 of a prompt: what a generated image's pixels derive from (and what its
    URL carries)."""
    return hashlib.sha256(prompt.encode()).hexdigest()


def dimensions(size: str | None) -> tuple[int, int]:
    """The generated image's pixels for a requested `WxH` size (or an aspect ratio `W:H`):
    the same shape, its longest side `MAX_SIDE`. Anything else gives a square."""
    width = height = 0
    if size:
        found = _SIZE.match(size) or re.match(r"^(\d{1,3}):(\d{1,3})$", size)
        if found:
            width, height = int(found.group(1)), int(found.group(2))
    if width < 1 or height < 1:
        return DEFAULT_SIDE, DEFAULT_SIDE
    longest = max(width, height)
    return (
        max(1, round(width * MAX_SIDE / longest)),
        max(1, round(height * MAX_SIDE / longest)),
    )


def pixels(seed: str, width: int, height: int) -> bytes:
    """RGB pixels from a hex digest: a diagonal blend of two colours the digest picks, with a
    band of a third, so two prompts give images that differ at a glance."""
    key = bytes.fromhex(seed) if len(seed) == 64 else hashlib.sha256(seed.encode()).digest()
    start, end, band = key[0:3], key[3:6], key[6:9]
    period = 4 + key[9] % 12
    span = max(1, width + height - 2)
    out = bytearray()
    for y in range(height):
        for x in range(width):
            if (x + 2 * y) // period % 5 == 0:
                out += band
                continue
            t = (x + y) / span
            out += bytes(round(a + (b - a) * t) for a, b in zip(start, end, strict=True))
    return bytes(out)


def generated_png(seed: str, size: str | None = None) -> bytes:
    """The PNG answered for a prompt's digest `seed` (see `digest`) at a requested size."""
    return generated_image(seed, size)


def generated_image(
    seed: str, size: str | None = None, fmt: str = "png", quality: int | None = None
) -> bytes:
    """The image answered for a prompt's digest `seed` at a requested size, encoded as `fmt`
    (`IMAGE_TYPES`); `quality` (0-100) for JPEG and WebP."""
    width, height = dimensions(size)
    rgb = pixels(seed, width, height)
    if fmt == "png":
        return encode_png(width, height, rgb)
    # Pillow is imported here: only a request for JPEG or WebP pays for it.
    from PIL import Image

    out = io.BytesIO()
    image = Image.frombytes("RGB", (width, height), rgb)
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=DEFAULT_QUALITY if quality is None else quality)
    elif fmt == "webp":
        lossless = quality is None
        image.save(out, "WEBP", lossless=lossless, quality=100 if lossless else quality)
    else:
        raise ValueError(f"no encoder for {fmt!r}")
    return out.getvalue()


def prompt_png(prompt: str, size: str | None = None) -> bytes:
    """The PNG answered for `prompt` when no fixture gives one."""
    return generated_png(digest(prompt), size)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- images a fixture gives ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GivenImage:
    """One image of a fixture: a URL, base64 bytes, or both; and the prompt the model says it
    drew (DALL-E 3's `revised_prompt`)."""

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None
    mime_type: str = PNG_TYPE


@dataclass(frozen=True, slots=True)
class ImageReply:
    """A reply's images (a fixture's `image` or `images`), in order."""

    images: tuple[GivenImage, ...]

    def fixture_fields(self) -> dict[str, Any]:
        """The fixture's `images` again (record mode writes a recorded answer's images)."""
        fields = (("url", "url"), ("b64Json", "b64_json"), ("revisedPrompt", "revised_prompt"))
        return {
            "images": [
                {key: getattr(image, name) for key, name in fields if getattr(image, name)}
                for image in self.images
            ]
        }


def _given(item: Any) -> GivenImage | None:
    if isinstance(item, str):  # a bare URL
        return GivenImage(url=item)
    if not isinstance(item, dict):
        return None

    def text(*names: str) -> str | None:
        for name in names:
            found = item.get(name)
            if isinstance(found, str) and found:
                return found
        return None

    return GivenImage(
        url=text("url"),
        b64_json=text("b64Json", "b64_json"),
        revised_prompt=text("revisedPrompt", "revised_prompt"),
        mime_type=text("mimeType", "mime_type") or PNG_TYPE,
    )


def image_items(response: Response) -> list[Any] | None:
    """The raw image entries of a response (`images`, else `image`), or None when it has no
    image answer. `images` beside `searchResults` is Tavily's list of URLs, not an answer."""
    if response.search_results is not None:
        return None
    if isinstance(response.images, list):
        return list(response.images)
    if response.image is not None:
        return [response.image]
    return None


def image_reply(fixture: Fixture | None, response: Response) -> ImageReply | None:
    """The `Extend` builder of the image providers (see `fixtures.compiled`)."""
    del fixture
    items = image_items(response)
    if items is None:
        return None
    found = tuple(given for given in map(_given, items) if given is not None)
    return ImageReply(found)


def image_bytes(
    given: GivenImage, seed: str, size: str | None, fmt: str = "png", quality: int | None = None
) -> str:
    """A fixture image's base64 bytes: its own, else the image generated for `seed` in `fmt`
    (a fixture that gives only a URL still answers a request for bytes)."""
    return given.b64_json or b64(generated_image(seed, size, fmt, quality))
