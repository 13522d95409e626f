"""xAI Grok Imagine video jobs over HTTP against a real aimock process (xAI ships no Python SDK
for them): submit, poll `pending` -> `done` with the video's URL (served by the mock) and
cost, a failed job, the errors in xAI's `{code, error}` envelope, and OpenAI's jobs on the
same `GET /v1/videos/{id}` path."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerProcess, serving_fixtures

FIXTURES = [
    {
        "match": {"userMessage": "a fox in snow", "endpoint": "video"},
        "response": {"video": {"cost": 0.5, "duration": 6}},
    },
    {
        "match": {"userMessage": "blocked"},
        "response": {"video": {"status": "failed", "error": "Content policy."}},
    },
    {
        "match": {"userMessage": "hosted"},
        "response": {"video": {"polls": 0, "url": "https://cdn.example/v.mp4"}},
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("grok"), FIXTURES) as started:
        yield started


def submit(server: ServerProcess, prompt: str, **fields: object) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/videos/generations",
        json={"prompt": prompt, "model": "grok-imagine-video", **fields},
        headers={"Authorization": "Bearer xai-test"},
    )


def test_submit_poll_and_download(server: ServerProcess) -> None:
    made = submit(server, "a fox in snow")
    assert made.status_code == 200, made.text
    request_id = made.json()["request_id"]
    assert set(made.json()) == {"request_id"}
    first = httpx.get(f"{server.url}/v1/videos/{request_id}").json()
    assert (first["status"], first["progress"]) == ("pending", 50)
    done = httpx.get(f"{server.url}/v1/videos/{request_id}").json()
    assert done["status"] == "done" and done["progress"] == 100
    assert done["video"]["duration"] == 6
    assert done["usage"] == {"cost_in_usd_ticks": 5_000_000_000}
    video = httpx.get(done["video"]["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


def test_failed_and_hosted(server: ServerProcess) -> None:
    request_id = submit(server, "blocked").json()["request_id"]
    states = [httpx.get(f"{server.url}/v1/videos/{request_id}").json() for _ in range(2)]
    assert states[-1]["status"] == "failed"
    assert (states[-1]["code"], states[-1]["error"]) == ("generation_failed", "Content policy.")
    hosted = submit(server, "hosted").json()["request_id"]
    body = httpx.get(f"{server.url}/v1/videos/{hosted}").json()
    assert body["video"]["url"] == "https://cdn.example/v.mp4"


def test_errors(server: ServerProcess) -> None:
    missing = httpx.post(f"{server.url}/v1/videos/generations", json={"model": "x"})
    assert missing.status_code == 400 and set(missing.json()) == {"code", "error"}
    miss = submit(server, "nothing matches")
    assert miss.status_code == 404 and miss.json()["code"] == "no_fixture_match"
    strict = httpx.post(
        f"{server.url}/v1/videos/generations",
        json={"prompt": "nothing matches"},
        headers={"X-AIMock-Strict": "true"},
    )
    assert strict.status_code == 503 and "error" in strict.json()
    unknown = httpx.get(f"{server.url}/v1/videos/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


def test_openai_ids_stay_openais(server: ServerProcess) -> None:
    """`GET /v1/videos/video_...` is OpenAI's route, with OpenAI's envelope."""
    unknown = httpx.get(f"{server.url}/v1/videos/video_unknown")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "invalid_request_error"
    made = httpx.post(f"{server.url}/v1/videos", files={"prompt": (None, "a fox in snow")})
    assert made.status_code == 200 and made.json()["object"] == "video"
    got = httpx.get(f"{server.url}/v1/videos/{made.json()['id']}").json()
    assert got["object"] == "video" and got["status"] == "in_progress"
