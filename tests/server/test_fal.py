"""fal.ai's queue and sync runs over HTTP against a real aimock process: submit, status
`IN_QUEUE` -> `IN_PROGRESS` -> `COMPLETED`, the result (AIMock's `json` fixture, with
`x-fal-billable-units`), cancel, a sync run (AIMock's `/fal/run/...` and the
`x-fal-target-host: fal.run` convention), and the errors in fal's `{detail}` envelope.

AIMock's audio queue: its `fal-audio` fixtures (`audio` as base64 with `format`, or
`{b64Json, contentType}`; or `json`) on `/fal/queue/submit/...` and `/fal/run/...`, answered
as a fal File whose URL the mock serves with the fixture's bytes; its
`/fal/queue/requests/{id}[/status|/cancel]` routes. The official `fal-client` against the
mock over TLS: tests/sdk/test_fal_client.py."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from aimock.providers.audio import flac_silence, mp3_silence, spoken, wav
from tests.conftest import ServerProcess, serving_fixtures

MODEL = "fal-ai/veo3"
RESULT = {"video": {"url": "https://v3.fal.media/files/cat.mp4", "content_type": "video/mp4"}}
AUDIO_MODEL = "fal-ai/stable-audio"
JINGLE = wav(spoken("a jingle"))
CHIME = flac_silence(200)
VOICE = mp3_silence(100)
RECORDED = {"audio": {"url": "https://v3.fal.media/files/rec.mp3", "content_type": "audio/mpeg"}}
FIXTURES = [
    {
        "match": {"userMessage": "a cat surfing", "model": MODEL, "endpoint": "fal"},
        "response": {"json": RESULT, "billableUnits": 8},
    },
    {"match": {"userMessage": "a slow one"}, "response": {"json": {"images": []}}},
    # A chat fixture never answers fal, and a fal fixture never answers chat.
    {"match": {"userMessage": "hello"}, "response": {"content": "Hi!"}},
    # AIMock's fal-audio shapes (`onFalAudio`): base64 with `format`, `{b64Json, contentType}`,
    # and the `json` its recorder writes.
    {
        "match": {"userMessage": "a jingle", "endpoint": "fal-audio", "model": AUDIO_MODEL},
        "response": {"audio": base64.b64encode(JINGLE).decode(), "format": "wav"},
    },
    {
        "match": {"userMessage": "a chime", "endpoint": "fal-audio"},
        "response": {
            "audio": {"b64Json": base64.b64encode(CHIME).decode(), "contentType": "audio/x-flac"}
        },
    },
    {"match": {"userMessage": "recorded", "endpoint": "fal-audio"}, "response": {"json": RECORDED}},
    # An `audio` fixture without `endpoint`: AIMock offers it to its fal audio paths too.
    {"match": {"userMessage": "a bell"}, "response": {"audio": base64.b64encode(VOICE).decode()}},
    # An `audio` answer of the `fal` kind (AIMock's general fal handler answers it too).
    {
        "match": {"userMessage": "a voice", "endpoint": "fal"},
        "response": {"audio": base64.b64encode(VOICE).decode()},
    },
    # A fixture of neither shape for fal.
    {"match": {"userMessage": "just words", "endpoint": "fal"}, "response": {"content": "no"}},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("fal"), FIXTURES) as started:
        yield started


def test_queue_lifecycle(server: ServerProcess) -> None:
    submitted = httpx.post(
        f"{server.url}/fal/{MODEL}",
        json={"prompt": "a cat surfing"},
        headers={"Authorization": "Key test", "x-fal-target-host": "queue.fal.run"},
    )
    assert submitted.status_code == 200, submitted.text
    job = submitted.json()
    request_id = job["request_id"]
    assert job["status_url"] == f"{server.url}/fal/{MODEL}/requests/{request_id}/status"
    early = httpx.get(job["response_url"])
    assert early.status_code == 400 and "detail" in early.json()
    states = [httpx.get(job["status_url"]).json()["status"] for _ in range(2)]
    assert states == ["IN_PROGRESS", "COMPLETED"]
    result = httpx.get(job["response_url"])
    assert result.json() == RESULT
    assert result.headers["x-fal-billable-units"] == "8"
    assert result.headers["x-fal-request-id"] == request_id
    cancel = httpx.put(job["cancel_url"])
    assert cancel.status_code == 400 and cancel.json() == {"status": "ALREADY_COMPLETED"}


def test_cancel_and_aimock_submit_path(server: ServerProcess) -> None:
    job = httpx.post(
        f"{server.url}/fal/queue/submit/fal-ai/flux/dev", json={"input": {"prompt": "a slow one"}}
    ).json()
    assert httpx.put(job["cancel_url"]).json() == {"status": "CANCELLED"}
    assert httpx.get(job["status_url"]).json()["status"] == "CANCELLED"
    assert httpx.get(job["response_url"]).status_code == 400


def test_sync_run(server: ServerProcess) -> None:
    run = httpx.post(f"{server.url}/fal/run/{MODEL}", json={"prompt": "a cat surfing"})
    assert run.status_code == 200 and run.json() == RESULT
    hosted = httpx.post(
        f"{server.url}/fal/{MODEL}",
        json={"prompt": "a cat surfing"},
        headers={"x-fal-target-host": "fal.run"},
    )
    assert hosted.json() == RESULT


def test_errors_and_isolation(server: ServerProcess) -> None:
    miss = httpx.post(f"{server.url}/fal/{MODEL}", json={"prompt": "nothing matches"})
    assert miss.status_code == 404 and set(miss.json()) == {"detail"}
    strict = httpx.post(
        f"{server.url}/fal/{MODEL}",
        json={"prompt": "nothing matches"},
        headers={"X-AIMock-Strict": "true"},
    )
    assert strict.status_code == 503
    chat_only = httpx.post(f"{server.url}/fal/{MODEL}", json={"prompt": "hello"})
    assert chat_only.status_code == 404
    unknown = httpx.get(f"{server.url}/fal/{MODEL}/requests/nope/status")
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    chat = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "a cat surfing"}]},
    )
    assert chat.status_code == 404  # the fal fixture is not a chat answer


# --------------------------------------------------------------------------- AIMock's audio


def _download(server: ServerProcess, file: dict[str, object], data: bytes, kind: str) -> None:
    """The File's URL is the mock's own, and serves the fixture's bytes as they are."""
    url = str(file["url"])
    assert url.startswith(f"{server.url}/fal/files/")
    assert url.endswith("/" + str(file["file_name"]))
    assert file["content_type"] == kind and file["file_size"] == len(data)
    got = httpx.get(url)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == kind


def test_audio_queue_on_aimock_paths(server: ServerProcess) -> None:
    submitted = httpx.post(
        f"{server.url}/fal/queue/submit/{AUDIO_MODEL}", json={"prompt": "a jingle"}
    )
    assert submitted.status_code == 200, submitted.text
    request_id = submitted.json()["request_id"]
    queue = f"{server.url}/fal/queue/requests/{request_id}"
    early = httpx.get(queue)
    assert early.status_code == 400 and "detail" in early.json()
    # AIMock takes its status route by GET, POST or PUT.
    states = [httpx.get(f"{queue}/status"), httpx.post(f"{queue}/status")]
    assert [state.json()["status"] for state in states] == ["IN_PROGRESS", "COMPLETED"]
    answer = httpx.post(queue)  # the result, by POST too
    assert answer.status_code == 200 and answer.headers["x-fal-request-id"] == request_id
    file = answer.json()["audio"]
    assert file["file_name"] == "generated_audio.wav"
    _download(server, file, JINGLE, "audio/wav")
    # The same job on fal's own paths.
    assert httpx.get(submitted.json()["response_url"]).json() == answer.json()
    assert httpx.put(f"{queue}/cancel").json() == {"status": "ALREADY_COMPLETED"}


def test_audio_sync_run(server: ServerProcess) -> None:
    run = httpx.post(f"{server.url}/fal/run/fal-ai/any", json={"text": "a chime"})
    assert run.status_code == 200, run.text
    file = run.json()["audio"]
    assert file["file_name"] == "generated_audio.mp3"  # AIMock's name for an unknown type
    _download(server, file, CHIME, "audio/x-flac")
    recorded = httpx.post(f"{server.url}/fal/run/fal-ai/any", json={"prompt": "recorded"})
    assert recorded.json() == RECORDED
    # A fal-audio fixture answers fal's own paths, and a fal one AIMock's audio paths.
    hosted = httpx.post(
        f"{server.url}/fal/fal-ai/any",
        json={"prompt": "a chime"},
        headers={"x-fal-target-host": "fal.run"},
    )
    _download(server, hosted.json()["audio"], CHIME, "audio/x-flac")
    voice = httpx.post(f"{server.url}/fal/run/fal-ai/any", json={"prompt": "a voice"})
    _download(server, voice.json()["audio"], VOICE, "audio/mpeg")
    bell = httpx.post(f"{server.url}/fal/run/fal-ai/any", json={"prompt": "a bell"})
    _download(server, bell.json()["audio"], VOICE, "audio/mpeg")
    # The model is matched: the jingle is stable-audio's.
    other = httpx.post(f"{server.url}/fal/run/fal-ai/other", json={"prompt": "a jingle"})
    assert other.status_code == 404 and set(other.json()) == {"detail"}
    neither = httpx.post(f"{server.url}/fal/run/fal-ai/any", json={"prompt": "just words"})
    assert neither.status_code == 500 and set(neither.json()) == {"detail"}


def test_queue_request_routes(server: ServerProcess) -> None:
    job = httpx.post(
        f"{server.url}/fal/queue/submit/fal-ai/flux/dev", json={"prompt": "a slow one"}
    ).json()
    queue = f"{server.url}/fal/queue/requests/{job['request_id']}"
    before = len(server.journal(limit="1000"))
    # A POST to cancel is a cancel, never a submission of a model named `queue/requests/...`.
    cancelled = httpx.post(f"{queue}/cancel")
    assert cancelled.status_code == 200 and cancelled.json() == {"status": "CANCELLED"}
    assert httpx.get(f"{queue}/cancel").json() == {"status": "CANCELLED"}
    assert httpx.get(f"{queue}/status").json()["status"] == "CANCELLED"
    entries = server.journal(limit="1000")[before:]
    assert [entry["path"] for entry in entries[:2]] == [
        f"/fal/queue/requests/{job['request_id']}/cancel"
    ] * 2
    assert all(entry["surface"] == "fal.queue" and not entry["matched"] for entry in entries)
    for method in ("GET", "POST", "PUT"):
        for tail in ("", "/status", "/cancel"):
            unknown = httpx.request(method, f"{server.url}/fal/queue/requests/nope{tail}")
            assert unknown.status_code == 404, (method, tail, unknown.text)
            assert set(unknown.json()) == {"detail"} and "nope" in unknown.json()["detail"]
    missing = httpx.get(f"{server.url}/fal/files/nope/generated_audio.mp3")
    assert missing.status_code == 404 and set(missing.json()) == {"detail"}


def test_audio_misses_strict_journal_and_bad_input(server: ServerProcess) -> None:
    submit = f"{server.url}/fal/queue/submit/{AUDIO_MODEL}"
    miss = httpx.post(submit, json={"prompt": "nothing matches"})
    assert miss.status_code == 404 and set(miss.json()) == {"detail"}
    strict = httpx.post(
        f"{server.url}/fal/run/{AUDIO_MODEL}",
        json={"prompt": "nothing matches"},
        headers={"X-AIMock-Strict": "true", "x-test-id": "fal-strict"},
    )
    assert strict.status_code == 503 and set(strict.json()) == {"detail"}
    (entry,) = server.journal(testId="fal-strict")
    assert entry["path"] == f"/fal/run/{AUDIO_MODEL}" and entry["surface"] == "fal.queue"
    assert entry["response"]["status"] == 503  # type: ignore[index]
    httpx.post(submit, json={"prompt": "a jingle"}, headers={"x-test-id": "fal-hit"})
    (hit,) = server.journal(testId="fal-hit")
    assert hit["matched"] and hit["response"]["status"] == 200  # type: ignore[index]
    for body in (b"{not json", b"[1, 2]", b'"a jingle"'):
        bad = httpx.post(submit, content=body, headers={"content-type": "application/json"})
        assert bad.status_code == 400 and set(bad.json()) == {"detail"}, bad.text
    huge = httpx.post(submit, json={"prompt": "x" * (11 * 1024 * 1024)})
    assert huge.status_code == 413 and set(huge.json()) == {"detail"}
