"""Images through google-genai against a real `aimock serve`: Imagen's `generate_images`
(Vertex `:predict`, the only way this SDK calls it), Imagen `:predict` on the Gemini API's
paths, and image output of `generate_content` / `generate_content_stream` asking for the
IMAGE modality."""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import PIL.Image
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from tests.conftest import ServerProcess, serving_fixtures
from tests.sdk.test_openai_images import png_size

FIXTURES: list[dict[str, Any]] = [
    {
        "match": {"userMessage": "a red fox"},
        "response": {"images": [{"b64Json": "Zm94", "revisedPrompt": "A red fox in snow"}]},
    },
    {
        "match": {"userMessage": "draw a boat"},
        "response": {"content": "Here is your boat.", "image": {"b64Json": "Ym9hdA=="}},
    },
    {"match": {"userMessage": "just talk"}, "response": {"content": "words only"}},
    {
        "match": {"userMessage": "scoped", "surface": "gemini.images", "provider": "vertex"},
        "response": {"image": {"b64Json": "c2NvcGVk"}},
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("gemini-images"), FIXTURES) as running:
        yield running


@pytest.fixture
def vertex(server: ServerProcess) -> Iterator[genai.Client]:
    with genai.Client(
        vertexai=True,
        project="aimock",
        location="us-central1",
        credentials=Credentials(token="test-token"),
        http_options=types.HttpOptions(base_url=server.url),
    ) as sdk:
        yield sdk


@pytest.fixture
def gemini(server: ServerProcess) -> Iterator[genai.Client]:
    with genai.Client(api_key="test", http_options=types.HttpOptions(base_url=server.url)) as sdk:
        yield sdk


def generate_images(client: genai.Client, prompt: str, **config: Any) -> Any:
    with warnings.catch_warnings():  # the SDK marks Imagen deprecated (not before 2027)
        warnings.simplefilter("ignore")
        return client.models.generate_images(
            model="imagen-4.0-generate-001",
            prompt=prompt,
            config=types.GenerateImagesConfig(**config) if config else None,
        )


def test_imagen_fixture(vertex: genai.Client) -> None:
    result = generate_images(vertex, "a red fox")
    image = result.generated_images[0]
    assert image.image.image_bytes == b"fox"
    assert image.image.mime_type == "image/png"
    assert image.enhanced_prompt == "A red fox in snow"


def test_imagen_generated(vertex: genai.Client) -> None:
    result = generate_images(vertex, "a quiet lake", number_of_images=3, aspect_ratio="16:9")
    pictures = [generated.image.image_bytes for generated in result.generated_images]
    assert len(pictures) == 3 and len(set(pictures)) == 3
    assert all(png_size(picture) == (64, 36) for picture in pictures)
    again = generate_images(vertex, "a quiet lake", number_of_images=3, aspect_ratio="16:9")
    assert [generated.image.image_bytes for generated in again.generated_images] == pictures


def test_imagen_jpeg_on_request(vertex: genai.Client) -> None:
    result = generate_images(
        vertex, "a quiet lake", aspect_ratio="4:3", output_mime_type="image/jpeg"
    )
    image = result.generated_images[0].image
    assert image.mime_type == "image/jpeg"
    with PIL.Image.open(io.BytesIO(image.image_bytes)) as decoded:
        assert (decoded.format, decoded.size) == ("JPEG", (64, 48))
    rougher = generate_images(
        vertex,
        "a quiet lake",
        aspect_ratio="4:3",
        output_mime_type="image/jpeg",
        output_compression_quality=10,
    )
    assert len(rougher.generated_images[0].image.image_bytes) < len(image.image_bytes)


def test_imagen_bad_count(vertex: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        generate_images(vertex, "a quiet lake", number_of_images=9)
    assert caught.value.code == 400


def test_vertex_text_embeddings_still_predict(vertex: genai.Client) -> None:
    result = vertex.models.embed_content(model="text-embedding-005", contents="hello")
    assert result.embeddings and len(result.embeddings[0].values or []) == 768


def test_imagen_on_the_gemini_api_paths(server: ServerProcess) -> None:
    for version in ("v1beta", "v1"):
        answer = httpx.post(
            f"{server.url}/{version}/models/imagen-3.0-generate-002:predict",
            json={"instances": [{"prompt": "a red fox"}], "parameters": {"sampleCount": 1}},
            headers={"x-goog-api-key": "test"},
            timeout=10,
        )
        assert answer.status_code == 200
        prediction = answer.json()["predictions"][0]
        assert base64.b64decode(prediction["bytesBase64Encoded"]) == b"fox"
        assert prediction["mimeType"] == "image/png"


def test_generate_content_image_output(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
    result = gemini.models.generate_content(
        model="gemini-2.5-flash-image", contents="draw a boat", config=config
    )
    assert result.candidates and result.candidates[0].content
    parts = result.candidates[0].content.parts or []
    assert parts[0].text == "Here is your boat."
    assert parts[1].inline_data is not None
    assert parts[1].inline_data.mime_type == "image/png"
    assert parts[1].inline_data.data == b"boat"


def test_generate_content_text_fixture_answers_text_and_image(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
    result = gemini.models.generate_content(
        model="gemini-2.5-flash-image", contents="just talk", config=config
    )
    assert result.text == "words only"


def test_image_fixture_never_answers_text_only(gemini: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        gemini.models.generate_content(model="gemini-2.5-flash", contents="draw a boat")
    assert caught.value.code == 404


def test_stream_image_output(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(response_modalities=["IMAGE"])
    images = [
        part.inline_data.data
        for chunk in gemini.models.generate_content_stream(
            model="gemini-2.5-flash-image", contents="draw a boat", config=config
        )
        for part in (chunk.candidates[0].content.parts or [])  # type: ignore[index, union-attr]
        if part.inline_data is not None
    ]
    assert images == [b"boat"]


def test_imagen_surface_and_journal(vertex: genai.Client, server: ServerProcess) -> None:
    result = generate_images(vertex, "scoped")
    assert result.generated_images[0].image.image_bytes == b"scoped"
    entry = server.journal()[-1]
    body = entry["body"]
    assert isinstance(body, dict) and body["instances"] == [{"prompt": "scoped"}]
    assert entry["model"] == "imagen-4.0-generate-001"
