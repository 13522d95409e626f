"""Gemini's Veo driven by the official `google-genai` SDK against a real aimock process:
`generate_videos`, `operations.get` polled to done, `files.download` of each generated video
(an MP4, or the fixture's own bytes), a failed operation, and the errors in Google's envelope."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator

import aiohttp
import httpx
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from tests.conftest import ServerProcess, serving_fixtures

# The SDK warns that the Sora-era `prompt=` argument is deprecated.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODEL = "veo-3.0-generate-001"
CLIP = b"\x00\x00\x00\x08free"
FIXTURES = [
    {"match": {"userMessage": "a cat surfing", "endpoint": "video"}, "response": {"video": {}}},
    {
        "match": {"userMessage": "a broken dream"},
        "response": {"video": {"status": "failed", "error": "The prompt was blocked."}},
    },
    {
        "match": {"userMessage": "given clip", "model": MODEL},
        "response": {
            "video": {
                "polls": 0,
                "url": "data:video/mp4;base64," + base64.b64encode(CLIP).decode(),
            }
        },
    },
    {
        "match": {"userMessage": "elsewhere"},
        "response": {"video": {"polls": 1, "url": "https://example.com/v.mp4"}},
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("veo"), FIXTURES) as started:
        yield started


@pytest.fixture
def client(server: ServerProcess) -> Iterator[genai.Client]:
    options = types.HttpOptions(base_url=server.url)
    with genai.Client(api_key="test", http_options=options) as sdk:
        yield sdk


def start(
    server: ServerProcess, prompt: str, **parameters: object
) -> types.GenerateVideosOperation:
    """A Gemini API job, started over HTTP: google-genai runs `generate_videos` only on Vertex
    (it raises in Gemini Developer API mode), but polls and downloads on both."""
    answer = httpx.post(
        f"{server.url}/v1beta/models/{MODEL}:predictLongRunning",
        json={"instances": [{"prompt": prompt}], "parameters": parameters},
        headers={"x-goog-api-key": "test"},
    )
    assert answer.status_code == 200, answer.text
    return types.GenerateVideosOperation(name=answer.json()["name"])


def poll(
    client: genai.Client, operation: types.GenerateVideosOperation
) -> tuple[types.GenerateVideosOperation, int]:
    polls = 0
    while not operation.done:
        operation = client.operations.get(operation)
        polls += 1
        assert polls < 10
    return operation, polls


def test_generate_poll_and_download(client: genai.Client, server: ServerProcess) -> None:
    operation = start(server, "a cat surfing", sampleCount=2, durationSeconds=6)
    assert operation.name is not None
    assert operation.name.startswith(f"models/{MODEL}/operations/")
    operation, polls = poll(client, operation)
    assert polls == 2
    assert operation.error is None
    assert operation.response is not None and operation.response.generated_videos
    videos = operation.response.generated_videos
    assert len(videos) == 2
    first = client.files.download(file=videos[0])
    assert first[4:8] == b"ftyp"
    size = struct.unpack(">I", first[:4])[0]
    assert first[size + 4 : size + 8] == b"moov"
    assert client.files.download(file=videos[0]) == first  # deterministic
    second = client.files.download(file=videos[1])
    assert second[4:8] == b"ftyp" and second != first
    assert videos[0].video is not None and videos[0].video.uri is not None
    # The URI itself is fetchable over plain HTTP.
    assert httpx.get(videos[0].video.uri).content == first


def test_failed_operation(client: genai.Client, server: ServerProcess) -> None:
    operation, _ = poll(client, start(server, "a broken dream"))
    assert operation.error is not None
    assert operation.error["message"] == "The prompt was blocked."
    assert operation.response is None


def test_fixture_bytes_and_url(client: genai.Client, server: ServerProcess) -> None:
    operation, polls = poll(client, start(server, "given clip"))
    assert polls == 1  # `polls: 0`: done at its first look
    assert operation.response is not None and operation.response.generated_videos
    assert client.files.download(file=operation.response.generated_videos[0]) == CLIP
    elsewhere, _ = poll(client, start(server, "elsewhere"))
    assert elsewhere.response is not None and elsewhere.response.generated_videos
    video = elsewhere.response.generated_videos[0].video
    assert video is not None and video.uri == "https://example.com/v.mp4"


async def test_async_client(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as session:
        options = types.HttpOptions(base_url=server.url, aiohttp_client=session)
        client = genai.Client(api_key="test", http_options=options)
        operation = start(server, "a cat surfing")
        while not operation.done:
            operation = await client.aio.operations.get(operation)
        assert operation.response is not None and operation.response.generated_videos
        data = await client.aio.files.download(file=operation.response.generated_videos[0])
        assert data[4:8] == b"ftyp"


@pytest.mark.parametrize("project", [True, False], ids=["project", "express"])
def test_vertex_generate_videos(server: ServerProcess, project: bool) -> None:
    """On Vertex, `generate_videos` itself runs, polled with `:fetchPredictOperation`; the
    videos come back as bytes."""
    options = types.HttpOptions(base_url=server.url)
    if project:
        client = genai.Client(
            vertexai=True,
            project="aimock",
            location="us-central1",
            credentials=Credentials(token="test-token"),
            http_options=options,
        )
    else:
        client = genai.Client(vertexai=True, api_key="test", http_options=options)
    with client:
        operation = client.models.generate_videos(
            model=MODEL,
            source=types.GenerateVideosSource(prompt="a cat surfing"),
            config=types.GenerateVideosConfig(number_of_videos=2),
        )
        assert operation.name is not None and "/operations/" in operation.name
        assert ("projects/aimock/locations/us-central1/" in operation.name) is project
        operation, polls = poll(client, operation)
        assert polls == 2
        assert operation.response is not None and operation.response.generated_videos
        videos = [generated.video for generated in operation.response.generated_videos]
        assert all(video is not None and video.video_bytes for video in videos)
        assert videos[0] is not None and videos[0].video_bytes is not None
        assert videos[0].video_bytes[4:8] == b"ftyp"
        assert videos[0].mime_type == "video/mp4"
        failed = client.models.generate_videos(
            model=MODEL, source=types.GenerateVideosSource(prompt="a broken dream")
        )
        failed, _ = poll(client, failed)
        assert failed.error is not None and failed.error["message"] == "The prompt was blocked."


def test_errors(client: genai.Client, server: ServerProcess) -> None:
    url = f"{server.url}/v1beta/models/{MODEL}:predictLongRunning"
    miss = httpx.post(url, json={"instances": [{"prompt": "nothing matches"}]})
    assert miss.status_code == 404 and miss.json()["error"]["status"] == "NOT_FOUND"
    bad = httpx.post(
        url, json={"instances": [{"prompt": "a cat surfing"}], "parameters": {"sampleCount": 9}}
    )
    assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"
    with pytest.raises(errors.ClientError) as unknown_op:
        client.operations.get(types.GenerateVideosOperation(name="models/x/operations/abc"))
    assert unknown_op.value.code == 404
    unknown = httpx.get(f"{server.url}/v1beta/models/{MODEL}/operations/0123abcd")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["status"] == "NOT_FOUND"
    missing = httpx.get(f"{server.url}/v1beta/files/0123abcdn0:download?alt=media")
    assert missing.status_code == 404
    strict = httpx.post(
        f"{server.url}/v1beta/models/{MODEL}:predictLongRunning",
        json={"instances": [{"prompt": "nothing matches"}]},
        headers={"X-AIMock-Strict": "true"},
    )
    assert strict.status_code == 503 and strict.json()["error"]["status"] == "UNAVAILABLE"
    empty = httpx.post(f"{server.url}/v1beta/models/{MODEL}:predictLongRunning", json={})
    assert empty.status_code == 400


def test_aimock_operation_path(server: ServerProcess) -> None:
    """AIMock's `GET /v1beta/operations/{id}` polls the same job."""
    made = httpx.post(
        f"{server.url}/v1beta/models/{MODEL}:predictLongRunning",
        json={"instances": [{"prompt": "a cat surfing"}]},
    ).json()
    job_id = made["name"].rsplit("/", 1)[-1]
    states = [
        httpx.get(f"{server.url}/v1beta/operations/{job_id}").json()["done"] for _ in range(2)
    ]
    assert states == [False, True]
