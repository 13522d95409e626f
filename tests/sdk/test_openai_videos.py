"""OpenAI videos driven by the official `openai` SDK against a real aimock process: create
(multipart), the status progression `poll` and `create_and_poll` follow (with
`openai-poll-after-ms`), `download_content` (an MP4 a box parser reads, a PNG thumbnail, or the
fixture's own bytes), list, delete, a failed job, remix, edit and extend (new jobs matched by
their prompt, from a completed video), characters, and the errors in OpenAI's envelope."""

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
    # What remixes, edits and extensions are answered with: the prompt picks the fixture, and
    # the model is the source video's.
    {"match": {"userMessage": "night remix", "model": "sora-2-pro"}, "response": {"video": {}}},
    {"match": {"userMessage": "night remix"}, "response": {"video": {"polls": 1}}},
    {"match": {"userMessage": "edit in sepia"}, "response": {"video": {"polls": 1}}},
    {"match": {"userMessage": "extend the wave"}, "response": {"video": {}}},
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
        character = client.videos.create_character(name="Mossy", video=("m.mp4", CLIP))
        httpx.post(server.base_url.removesuffix("/v1") + "/__aimock/reset")
        with pytest.raises(openai.NotFoundError):
            client.videos.retrieve(video.id)
        assert character.id is not None
        with pytest.raises(openai.NotFoundError):
            client.videos.get_character(character.id)


def mp4_seconds(data: bytes) -> float:
    """The duration an MP4's `mvhd` says."""
    mvhd = boxes(dict(boxes(data))[b"moov"])[0]
    assert mvhd[0] == b"mvhd"
    timescale, duration = struct.unpack(">II", mvhd[1][12:20])
    return float(duration / timescale)


async def test_remix_edit_and_extend(client: Client) -> None:
    """Each makes a new job, matched by its prompt, polled to done, downloadable and listed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        source = await resolve(
            client.videos.create_and_poll(prompt="a cat surfing", seconds="8", size="1280x720")
        )
        assert source.status == "completed"
        clip = (await resolve(client.videos.download_content(source.id))).content

        remix = await resolve(client.videos.remix(source.id, prompt="night remix"))
        assert remix.id != source.id
        assert (remix.status, remix.remixed_from_video_id) == ("queued", source.id)
        assert (remix.model, remix.seconds, remix.size) == ("sora-2", "8", "1280x720")
        assert remix.prompt == "night remix"
        done = await resolve(client.videos.poll(remix.id))
        assert (done.status, done.remixed_from_video_id) == ("completed", source.id)
        remixed = (await resolve(client.videos.download_content(remix.id))).content
        assert mp4_seconds(remixed) == 8.0 and remixed != clip

        # The SDK uploads `video` as a file for an edit or an extension.
        edit = await resolve(
            client.videos.edit(prompt="edit in sepia", video=("clip.mp4", clip, "video/mp4"))
        )
        assert (edit.status, edit.prompt, edit.remixed_from_video_id) == (
            "queued",
            "edit in sepia",
            None,
        )
        assert (await resolve(client.videos.poll(edit.id))).status == "completed"
        assert (await resolve(client.videos.download_content(edit.id))).content[4:8] == b"ftyp"

        # An extension's `seconds` is the stitched total: the uploaded clip's 8 and 4 more.
        extension = await resolve(
            client.videos.extend(
                prompt="extend the wave", seconds="4", video=("clip.mp4", clip, "video/mp4")
            )
        )
        assert extension.seconds == "12"
        assert (await resolve(client.videos.poll(extension.id))).status == "completed"
        extended = (await resolve(client.videos.download_content(extension.id))).content
        assert mp4_seconds(extended) == 12.0

        page = await resolve(client.videos.list(limit=100))
        listed = {video.id for video in page.data}
    assert {source.id, remix.id, edit.id, extension.id} <= listed


def test_derived_jobs_take_the_source_model(server: ServerProcess) -> None:
    """A remix is matched with its source's model: the `sora-2-pro` fixture answers it."""
    client = OpenAI(
        base_url=server.base_url,
        api_key="test",
        max_retries=0,
        default_headers={"x-test-id": "remix-model"},
    )
    source = client.videos.create_and_poll(prompt="a cat surfing", model="sora-2-pro")
    remix = client.videos.remix(source.id, prompt="night remix")
    assert remix.model == "sora-2-pro"
    # The journal names the model the remix was matched with, its source's.
    (entry,) = [e for e in server.journal(testId="remix-model") if e["path"].endswith("/remix")]
    assert entry["model"] == "sora-2-pro"
    # The sora-2-pro fixture takes the default two polls, the other one poll.
    assert client.videos.retrieve(remix.id).status == "in_progress"
    assert client.videos.retrieve(remix.id).status == "completed"


def test_edit_and_extend_by_id(server: ServerProcess) -> None:
    """`video` as `{"id": ...}`, in a form as `video[id]` (the SDK's own types take it, but
    its multipart encoder accepts only a file there, so this goes over plain HTTP)."""
    client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    source = client.videos.create_and_poll(prompt="a cat surfing", seconds="12")
    base = server.base_url
    edited = httpx.post(
        f"{base}/videos/edits",
        files={"prompt": (None, "edit in sepia"), "video[id]": (None, source.id)},
    )
    assert edited.status_code == 200, edited.text
    edit = edited.json()
    assert (edit["remixed_from_video_id"], edit["seconds"]) == (source.id, "12")
    extended = httpx.post(
        f"{base}/videos/extensions",
        files={
            "prompt": (None, "extend the wave"),
            "seconds": (None, "20"),
            "video[id]": (None, source.id),
        },
    )
    assert extended.status_code == 200, extended.text
    assert (extended.json()["seconds"], extended.json()["remixed_from_video_id"]) == (
        "32",
        source.id,
    )
    done = client.videos.poll(extended.json()["id"])
    assert done.status == "completed"
    assert mp4_seconds(client.videos.download_content(done.id).content) == 32.0


def test_derived_job_errors(server: ServerProcess) -> None:
    client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    base = server.base_url
    with pytest.raises(openai.NotFoundError) as unknown:
        client.videos.remix("video_unknown", prompt="night remix")
    assert unknown.value.param == "video_id"
    assert "video_unknown" in unknown.value.message
    pending = client.videos.create(prompt="forever")
    with pytest.raises(openai.BadRequestError) as not_done:
        client.videos.remix(pending.id, prompt="night remix")
    assert (not_done.value.code, not_done.value.param) == ("video_not_completed", "video_id")
    failed = client.videos.create_and_poll(prompt="a broken dream")
    with pytest.raises(openai.BadRequestError) as refused:
        client.videos.remix(failed.id, prompt="night remix")
    assert refused.value.code == "video_not_completed"
    done = client.videos.create_and_poll(prompt="a cat surfing")
    with pytest.raises(openai.NotFoundError) as miss:
        client.videos.remix(done.id, prompt="nothing matches this")
    assert miss.value.code == "no_fixture_match"
    with pytest.raises(openai.BadRequestError) as empty:
        client.videos.remix(done.id, prompt="")
    assert empty.value.param == "prompt"
    with pytest.raises(openai.BadRequestError) as seconds:
        client.videos.extend(
            prompt="extend the wave",
            seconds="5",  # type: ignore[arg-type]
            video=("clip.mp4", b"not an mp4", "video/mp4"),
        )
    assert (seconds.value.param, seconds.value.code) == ("seconds", "invalid_value")

    by_id = {"prompt": (None, "edit in sepia"), "video[id]": (None, "video_unknown")}
    answers = {
        "unknown id": httpx.post(f"{base}/videos/edits", files=by_id),
        "no video": httpx.post(f"{base}/videos/edits", files={"prompt": (None, "edit")}),
        "no seconds": httpx.post(
            f"{base}/videos/extensions",
            files={"prompt": (None, "extend the wave"), "video[id]": (None, done.id)},
        ),
        "video as text": httpx.post(
            f"{base}/videos/edits", files={"prompt": (None, "x"), "video": (None, done.id)}
        ),
        "JSON video not an object": httpx.post(
            f"{base}/videos/edits", json={"prompt": "x", "video": done.id}
        ),
        "JSON without video": httpx.post(f"{base}/videos/edits", json={"prompt": "x"}),
        "remix prompt not text": httpx.post(f"{base}/videos/{done.id}/remix", json={"prompt": 1}),
        "remix no body": httpx.post(f"{base}/videos/{done.id}/remix", json={}),
    }
    expected = {
        "unknown id": (404, "video"),
        "no video": (400, "video"),
        "no seconds": (400, "seconds"),
        "video as text": (400, "video"),
        "JSON video not an object": (400, "video"),
        "JSON without video": (400, "video"),
        "remix prompt not text": (400, "prompt"),
        "remix no body": (400, "prompt"),
    }
    for name, answer in answers.items():
        error = answer.json()["error"]
        assert (answer.status_code, error["param"]) == expected[name], name
        assert error["type"] == "invalid_request_error", name


def test_derived_jobs_as_the_api_takes_them_besides_the_sdk(server: ServerProcess) -> None:
    """The API takes a remix as a form too, and edits and extensions as JSON naming the
    video by id (`{"video": {"id": ...}}`): the SDK sends the other ways."""
    client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    done = client.videos.create_and_poll(prompt="a cat surfing", seconds="8")
    base = server.base_url
    remix = httpx.post(f"{base}/videos/{done.id}/remix", files={"prompt": (None, "night remix")})
    edit = httpx.post(
        f"{base}/videos/edits", json={"prompt": "edit in sepia", "video": {"id": done.id}}
    )
    extend = httpx.post(
        f"{base}/videos/extensions",
        json={"prompt": "extend the wave", "seconds": "4", "video": {"id": done.id}},
    )
    for answer in (remix, edit, extend):
        assert answer.status_code == 200, answer.text
        assert answer.json()["remixed_from_video_id"] == done.id
    assert extend.json()["seconds"] == "12"
    assert client.videos.poll(extend.json()["id"]).status == "completed"


def test_characters(server: ServerProcess) -> None:
    client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    made = client.videos.create_character(name="Mossy", video=("mossy.mp4", CLIP, "video/mp4"))
    assert made.id is not None and made.id.startswith("char_")
    assert made.name == "Mossy" and made.created_at > 0
    got = client.videos.get_character(made.id)
    assert (got.id, got.name, got.created_at) == (made.id, "Mossy", made.created_at)
    with pytest.raises(openai.NotFoundError):
        client.videos.get_character("char_unknown")
    base = server.base_url
    no_video = httpx.post(f"{base}/videos/characters", files={"name": (None, "Mossy")})
    assert (no_video.status_code, no_video.json()["error"]["param"]) == (400, "video")
    no_name = httpx.post(f"{base}/videos/characters", files={"video": ("m.mp4", CLIP)})
    assert (no_name.status_code, no_name.json()["error"]["param"]) == (400, "name")
    as_json = httpx.post(f"{base}/videos/characters", json={"name": "Mossy"})
    assert as_json.status_code == 400
    assert as_json.json()["error"]["type"] == "invalid_request_error"
