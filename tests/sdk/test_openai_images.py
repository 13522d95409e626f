"""OpenAI images through the official openai SDK against a real `aimock serve`:
`images.generate` (url and b64_json, fixture and generated images), `images.edit` with a real
PNG upload, `images.create_variation`, and errors in OpenAI's envelope."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import PIL.Image
import pytest
from openai import OpenAI

from tests.conftest import ServerProcess, serving_fixtures

FIXTURES: list[dict[str, Any]] = [
    {
        "match": {"userMessage": "a lighthouse"},
        "response": {
            "image": {"url": "https://img.example/lighthouse.png", "revisedPrompt": "A tall one"}
        },
    },
    {
        "match": {"userMessage": "two owls", "model": "gpt-image-1"},
        "response": {
            "images": [{"b64Json": "b3dsIDE="}, {"b64Json": "b3dsIDI="}],
            "usage": {"input_tokens": 7, "output_tokens": 99},
        },
    },
    {
        "match": {"userMessage": "refused art"},
        "response": {
            "error": {
                "message": "Your request was rejected by the safety system.",
                "type": "image_generation_user_error",
                "code": "moderation_blocked",
            },
            "status": 400,
        },
    },
    {
        "match": {"userMessage": "redraw the cat", "endpoint": "image"},
        "response": {"image": {"revisedPrompt": "the cat, redrawn"}},
    },
    # A chat fixture on the same words: never offered to the images endpoint.
    {"match": {"userMessage": "a lighthouse at dusk"}, "response": {"content": "chat text"}},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("images"), FIXTURES) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as sdk:
        yield sdk


def png_size(data: bytes) -> tuple[int, int]:
    """The size of a PNG, its every chunk's CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, size = 8, (0, 0)
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        at += 12 + length
    return size


def test_fixture_url_and_revised_prompt(client: OpenAI) -> None:
    result = client.images.generate(model="dall-e-3", prompt="a lighthouse")
    assert result.data is not None
    assert result.data[0].url == "https://img.example/lighthouse.png"
    assert result.data[0].revised_prompt == "A tall one"
    assert result.usage is None  # DALL-E answers carry no usage


def test_fixture_b64_images_with_usage(client: OpenAI) -> None:
    result = client.images.generate(model="gpt-image-1", prompt="two owls")
    assert result.data is not None
    assert [item.b64_json for item in result.data] == ["b3dsIDE=", "b3dsIDI="]
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (7, 99)
    assert result.output_format == "png" and result.size == "1024x1024"


def test_generated_url_is_fetchable_png(client: OpenAI) -> None:
    result = client.images.generate(
        model="dall-e-2", prompt="a green hill", n=2, size="512x512", response_format="url"
    )
    assert result.data is not None and len(result.data) == 2
    urls = [item.url for item in result.data]
    assert all(url is not None for url in urls)
    assert urls[0] != urls[1]  # two images of one answer differ
    fetched = httpx.get(str(urls[0]))
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/png"
    assert png_size(fetched.content) == (64, 64)
    again = client.images.generate(model="dall-e-2", prompt="a green hill", size="512x512")
    assert again.data is not None and again.data[0].url == urls[0]  # deterministic


def test_generated_b64_is_deterministic(client: OpenAI) -> None:
    first = client.images.generate(model="gpt-image-1", prompt="a red kite", size="1536x1024")
    second = client.images.generate(model="gpt-image-1", prompt="a red kite", size="1536x1024")
    other = client.images.generate(model="gpt-image-1", prompt="a blue kite", size="1536x1024")
    assert first.data and second.data and other.data
    data = base64.b64decode(str(first.data[0].b64_json))
    assert png_size(data) == (64, 43)
    assert first.data[0].b64_json == second.data[0].b64_json != other.data[0].b64_json
    assert first.usage is not None and first.usage.output_tokens > 0


@pytest.mark.parametrize(("fmt", "kind"), [("jpeg", "JPEG"), ("webp", "WEBP")])
def test_generated_image_in_the_asked_format(client: OpenAI, fmt: str, kind: str) -> None:
    def generate(**options: Any) -> bytes:
        result = client.images.generate(
            model="gpt-image-1", prompt="a red kite", size="1024x1536", **options
        )
        assert result.data is not None and result.output_format == fmt
        return base64.b64decode(str(result.data[0].b64_json))

    data = generate(output_format=fmt)
    with PIL.Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == (kind, (43, 64))
    assert generate(output_format=fmt) == data  # the same bytes for the same request
    rougher = generate(output_format=fmt, output_compression=5)
    assert len(rougher) < len(data)
    # Streamed, every partial and the image are in the format too.
    events = client.images.generate(
        model="gpt-image-1", prompt="a red kite", output_format=fmt, stream=True, partial_images=1
    )
    for event in events:
        with PIL.Image.open(io.BytesIO(base64.b64decode(event.b64_json))) as image:
            assert image.format == kind


def test_dall_e_b64_json_on_request(client: OpenAI) -> None:
    result = client.images.generate(model="dall-e-3", prompt="a dog", response_format="b64_json")
    assert result.data is not None and result.data[0].url is None
    assert png_size(base64.b64decode(str(result.data[0].b64_json))) == (64, 64)


def test_streamed_generation_sends_partials_then_the_image(client: OpenAI) -> None:
    whole = client.images.generate(model="gpt-image-1", prompt="a red kite", size="1024x1536")
    events = list(
        client.images.generate(
            model="gpt-image-1",
            prompt="a red kite",
            size="1024x1536",
            stream=True,
            partial_images=2,
        )
    )
    assert [event.type for event in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    partials, done = events[:2], events[2]
    assert [p.partial_image_index for p in partials] == [0, 1]  # type: ignore[union-attr]
    assert whole.data is not None and done.b64_json == whole.data[0].b64_json
    assert done.usage.output_tokens > 0  # type: ignore[union-attr]
    assert done.size == "1024x1536" and done.output_format == "png"
    drawn = [base64.b64decode(event.b64_json) for event in events]
    assert [png_size(image) for image in drawn] == [(43, 64)] * 3
    assert len({*drawn}) == 3  # each partial is a render of its own


def test_streamed_fixture_images_and_edits(client: OpenAI, tmp_path: Path) -> None:
    owls = list(client.images.generate(model="gpt-image-1", prompt="two owls", stream=True))
    assert [event.type for event in owls] == ["image_generation.completed"] * 2
    assert [event.b64_json for event in owls] == ["b3dsIDE=", "b3dsIDI="]
    edits = list(
        client.images.edit(
            model="gpt-image-1",
            image=("cat.png", b"\x89PNG cat", "image/png"),
            prompt="redraw the cat",
            stream=True,
            partial_images=1,
        )
    )
    assert [event.type for event in edits] == ["image_edit.partial_image", "image_edit.completed"]


def test_dall_e_does_not_stream(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="dall-e-3", prompt="a dog", stream=True)
    assert caught.value.param == "stream"


def test_image_fixture_never_answers_chat(client: OpenAI) -> None:
    reply = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "a lighthouse at dusk"}]
    )
    assert reply.choices[0].message.content == "chat text"


def test_edit_with_a_png_upload(client: OpenAI, tmp_path: Path) -> None:
    source = client.images.generate(model="gpt-image-1", prompt="a cat")
    assert source.data is not None
    picture = tmp_path / "cat.png"
    picture.write_bytes(base64.b64decode(str(source.data[0].b64_json)))
    with picture.open("rb") as upload:
        edited = client.images.edit(model="gpt-image-1", image=upload, prompt="redraw the cat")
    assert edited.data is not None
    assert edited.data[0].revised_prompt == "the cat, redrawn"
    assert png_size(base64.b64decode(str(edited.data[0].b64_json))) == (64, 64)
    # Several images and a mask.
    with picture.open("rb") as one, picture.open("rb") as two, picture.open("rb") as mask:
        several = client.images.edit(
            model="gpt-image-1", image=[one, two], mask=mask, prompt="merge them", n=2
        )
    assert several.data is not None and len(several.data) == 2
    assert several.usage is not None and several.usage.input_tokens_details.image_tokens > 0


def test_edit_journal_holds_no_bytes(client: OpenAI, server: ServerProcess) -> None:
    client.images.edit(
        model="gpt-image-1", image=("x.png", b"\x89PNG fake", "image/png"), prompt="journal it"
    )
    entry = server.journal()[-1]
    body = entry["body"]
    assert isinstance(body, dict)
    assert body["prompt"] == "journal it"
    assert body["image"]["filename"] == "x.png" and body["image"]["bytes"] == 9


def test_variation_is_gone(client: OpenAI) -> None:
    # The SDK itself marks variations deprecated (DALL-E 2 is gone).
    with pytest.raises(openai.NotFoundError) as caught, pytest.warns(DeprecationWarning):
        client.images.create_variation(image=("a.png", b"\x89PNG", "image/png"))
    assert caught.value.code == "model_not_found"


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"model": "dall-e-3", "n": 2}, "n"),
        ({"model": "gpt-image-1", "n": 11}, "n"),
        ({"model": "gpt-image-1", "size": "256x256"}, "size"),
        ({"model": "dall-e-3", "quality": "low"}, "quality"),
        ({"model": "dall-e-2", "response_format": "png"}, "response_format"),
        ({"model": "dall-e-2", "prompt": "x" * 1001}, "prompt"),
        ({"model": "gpt-image-1", "prompt": ""}, "prompt"),
        ({"model": "gpt-image-1", "stream": True, "partial_images": 4}, "partial_images"),
        (
            {"model": "gpt-image-1", "output_format": "jpeg", "output_compression": 101},
            "output_compression",
        ),
    ],
)
def test_invalid_requests(client: OpenAI, options: dict[str, Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(**{"prompt": "a tree", **options})
    assert caught.value.status_code == 400
    assert caught.value.param == param


def test_edit_without_image(server: ServerProcess) -> None:
    answer = httpx.post(
        server.base_url + "/images/edits", files={"prompt": (None, "no file")}, timeout=10
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "image"


def test_edit_as_json_is_refused(server: ServerProcess) -> None:
    answer = httpx.post(server.base_url + "/images/edits", json={"prompt": "x"}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_content_type"


def test_error_fixture(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="gpt-image-1", prompt="refused art")
    assert caught.value.code == "moderation_blocked"


def test_strict_miss(server: ServerProcess) -> None:
    with (
        OpenAI(
            base_url=server.base_url,
            api_key="test",
            max_retries=0,
            default_headers={"X-AIMock-Strict": "true"},
        ) as strict,
        pytest.raises(openai.APIStatusError) as caught,
    ):
        strict.images.generate(model="gpt-image-1", prompt="nothing matches this")
    assert caught.value.status_code == 503


def test_other_bases(server: ServerProcess) -> None:
    for base in (server.url, server.url + "/openai/v1"):
        with OpenAI(base_url=base, api_key="test", max_retries=0) as sdk:
            result = sdk.images.generate(model="dall-e-3", prompt="a lighthouse")
            assert result.data and result.data[0].url == "https://img.example/lighthouse.png"


def test_azure_deployment(server: ServerProcess) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=server.url, api_key="test", api_version="2025-04-01-preview", max_retries=0
    ) as azure:
        result = azure.images.generate(model="dall-e-3", prompt="a lighthouse")
    assert result.data and result.data[0].url == "https://img.example/lighthouse.png"
