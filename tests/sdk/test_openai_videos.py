"""OpenAI videos driven by the official `openai` SDK against a real aimock process: create
(multipart), the status progression `poll` and `create_and_poll` follow (with
`openai-poll-after-ms`), `download_content` (an MP4 a box parser reads, a PNG thumbnail, or the
fixture's own bytes), list, delete, a failed job, and the errors in OpenAI's envelope."""

from __future__ import annotations

import base64
import struct
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.conftest import ServerProcess, serving_fixtures
from tests.sdk.clients import Client, resolve

# The SDK marks the Sora API deprecated (it shuts down in September 2026).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CLIP = b"\x00\x00\x00\x08free"  # what a fixture's data: URL gives as the video
FIXTURES = [
    {"match": {"userMessage": "a cat surfing", "endpoint": "video"}, "response": {"video": {}}},
    {
        "match": {"userMessage": "a broken dream"},
        "response": {"video": {"status": "failed", "error": "The model refused the prompt."}},
    },
    {"match": {"userMessage": "forever"}, "response": {"video": {"status": "processing"}}},
    {
        "match": {"userMessage": "given clip"},
        "response": {
            "video": {
                "id": "video_given",
                "polls": 0,
                "url": "data:video/mp4;base64," + base64.b64encode(CLIP).decode(),
            }
        },
    },
    {"match": {"userMessage": "on the clock"}, "response": {"video": {"afterMs": 300}}},
    {
        "match": {"userMessage": "too busy"},
        "response": {"error": {"message": "Slow down", "type": "rate_limit_error"}, "status": 429},
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("videos"), FIXTURES) as started:
        yield started


@pytest.fixture(params=["sync", "async"])
async def client(request: pytest.FixtureRequest, server: ServerProcess) -> AsyncIterator[Client]:
    if request.param == "sync":
        sync = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        yield sync
        sync.close()
    else:
        async_client = AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        yield async_client
        await async_client.close()


def boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """The top-level ISO BMFF boxes of `data` as (type, payload), as an MP4 parser reads them."""
    found = []
    at = 0
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        assert size >= 8 and at + size <= len(data)
        found.append((kind, data[at + 8 : at + size]))
        at += size
    return found


async def test_create_poll_and_download(client: Client) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        video = await resolve(client.videos.create(prompt="a cat surfing", seconds="8"))
    assert video.id.startswith("video_")
    assert (video.status, video.progress, video.model) == ("queued", 0, "sora-2")
    assert (video.seconds, video.size, video.prompt) == ("8", "720x1280", "a cat surfing")

    raw = await resolve(client.videos.with_raw_response.retrieve(video.id))
    assert raw.headers["openai-poll-after-ms"] == "10"
    step = raw.parse()
    assert (step.status, step.progress) == ("in_progress", 50)

    done = await resolve(client.videos.poll(video.id))
    assert (done.status, done.progress) == ("completed", 100)
    assert done.completed_at is not None and done.expires_at is not None

    content = await resolve(client.videos.download_content(video.id))
    data = content.content
    kinds = [kind for kind, _ in boxes(data)]
    assert kinds[:2] == [b"ftyp", b"moov"]
    ftyp = dict(boxes(data))[b"ftyp"]
    assert ftyp[:4] == b"isom"
    mvhd = boxes(dict(boxes(data))[b"moov"])[0]
    assert mvhd[0] == b"mvhd"
    timescale, duration = struct.unpack(">II", mvhd[1][12:20])
    assert duration / timescale == 8.0
    again = await resolve(client.videos.download_content(video.id))
    assert again.content == data  # deterministic

    thumbnail = await resolve(client.videos.download_content(video.id, variant="thumbnail"))
    assert thumbnail.content.startswith(b"\x89PNG\r\n\x1a\n")


async def test_create_and_poll(client: Client) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        video = await resolve(
            client.videos.create_and_poll(prompt="a cat surfing", model="sora-2-pro")
        )
    assert (video.status, video.model) == ("completed", "sora-2-pro")


async def test_failed_job(client: Client) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        video = await resolve(client.videos.create_and_poll(prompt="a broken dream"))
    assert video.status == "failed"
    assert video.error is not None
    assert video.error.message == "The model refused the prompt."
    with pytest.raises(openai.NotFoundError):
        await resolve(client.videos.download_content(video.id))


def test_processing_job_never_finishes(server: ServerProcess) -> None:
    client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    video = client.videos.create(prompt="forever")
    for _ in range(4):
        video = client.videos.retrieve(video.id)
    assert video.status == "in_progress" and video.progress < 100


def test_fixture_bytes_and_id(server: ServerProcess) -> None:
    client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    video = client.videos.create(prompt="given clip")
    assert (video.id, video.status) == ("video_given", "completed")
    assert client.videos.download_content(video.id).content == CLIP


def test_job_on_the_clock(server: ServerProcess) -> None:
    client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    started = time.monotonic()
    video = client.videos.create_and_poll(prompt="on the clock")
    assert video.status == "completed"
    assert time.monotonic() - started >= 0.3


async def test_list_and_delete(client: Client) -> None:
    made = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for _ in range(3):
            made.append(await resolve(client.videos.create(prompt="a cat surfing")))
    ids = [video.id for video in made]
    page = await resolve(client.videos.list(order="asc", limit=100))
    listed = [video.id for video in page.data]
    assert [i for i in listed if i in ids] == ids
    newest = await resolve(client.videos.list(limit=1))
    assert [video.id for video in newest.data] == [ids[-1]]
    after = await resolve(client.videos.list(order="asc", after=ids[0], limit=1))
    assert [video.id for video in after.data] == [ids[1]]
    deleted = await resolve(client.videos.delete(ids[0]))
    assert (deleted.id, deleted.deleted, deleted.object) == (ids[0], True, "video.deleted")
    with pytest.raises(openai.NotFoundError):
        await resolve(client.videos.retrieve(ids[0]))


def test_errors(server: ServerProcess) -> None:
    client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    with pytest.raises(openai.BadRequestError) as bad:
        client.videos.create(prompt="a cat surfing", seconds="5")  # type: ignore[arg-type]
    assert bad.value.code == "invalid_value" and bad.value.param == "seconds"
    with pytest.raises(openai.BadRequestError) as bad:
        client.videos.create(prompt="a cat surfing", size="1x1")  # type: ignore[arg-type]
    assert bad.value.param == "size"
    with pytest.raises(openai.NotFoundError) as miss:
        client.videos.create(prompt="nothing matches this")
    assert miss.value.code == "no_fixture_match"
    with pytest.raises(openai.RateLimitError):
        client.videos.create(prompt="too busy")
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve("video_unknown")
    with pytest.raises(openai.NotFoundError):
        client.videos.delete("video_unknown")
    # Strict mode: a miss is 503.
    strict = client.with_options(default_headers={"X-AIMock-Strict": "true"})
    with pytest.raises(openai.InternalServerError) as unavailable:
        strict.videos.create(prompt="nothing matches this")
    assert unavailable.value.status_code == 503


def test_http_details(server: ServerProcess) -> None:
    """A JSON body is refused in OpenAI's envelope; the bare and /openai/v1 prefixes serve the
    same jobs; a bad variant is 400; the journal records the creation."""
    base = server.base_url.removesuffix("/v1")
    refused = httpx.post(f"{base}/v1/videos", json={"prompt": "a cat surfing"})
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "invalid_request_error"
    made = httpx.post(f"{base}/videos", files={"prompt": (None, "given clip")})
    assert made.status_code == 200, made.text
    got = httpx.get(f"{base}/openai/v1/videos/{made.json()['id']}")
    assert got.json()["status"] == "completed"
    variant = httpx.get(f"{base}/v1/videos/video_given/content", params={"variant": "gif"})
    assert variant.status_code == 400 and variant.json()["error"]["param"] == "variant"
    journal = httpx.get(f"{base}/__aimock/journal").json()
    entries = journal if isinstance(journal, list) else journal.get("entries", [])
    assert any(
        entry.get("path") == "/videos" and entry.get("body", {}).get("prompt") == "given clip"
        for entry in entries
    )


def test_reset_forgets_jobs(tmp_path: Path) -> None:
    with serving_fixtures(tmp_path, FIXTURES) as server:
        client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        video = client.videos.create(prompt="a cat surfing")
        httpx.post(server.base_url.removesuffix("/v1") + "/__aimock/reset")
        with pytest.raises(openai.NotFoundError):
            client.videos.retrieve(video.id)
