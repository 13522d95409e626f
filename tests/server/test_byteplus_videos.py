"""BytePlus Ark video tasks over HTTP against a real aimock process: submit, poll `queued` ->
`running` -> the finished task, from a `video` fixture (the video served by the mock) or from
AIMock's `json` Ark envelope served as it is; AIMock's match text with media parts; errors in
Ark's envelope."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerProcess, serving_fixtures

IMAGE = "https://img.example/first.png"
DIGEST = hashlib.sha256(IMAGE.encode()).hexdigest()[:12]
ENVELOPE = {
    "id": "cgt-recorded",
    "model": "seedance-1-0-pro",
    "status": "cancelled",
    "created_at": 1700000000,
    "updated_at": 1700000100,
}
FIXTURES = [
    {
        "match": {"userMessage": "a paper boat", "endpoint": "video"},
        "response": {"video": {"duration": 5}},
    },
    {
        "match": {
            "userMessage": f"animate\n[media: first_frame:{DIGEST}]",
            "endpoint": "video",
        },
        "response": {"json": ENVELOPE},
    },
    {
        "match": {"userMessage": "blocked", "endpoint": "video"},
        "response": {"video": {"status": "failed", "error": "Sensitive content."}},
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("ark"), FIXTURES) as started:
        yield started


def submit(server: ServerProcess, *content: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v3/contents/generations/tasks",
        json={"model": "seedance-1-0-pro", "content": list(content)},
        headers={"Authorization": "Bearer ark-test"},
    )


def polls(server: ServerProcess, task_id: str, count: int) -> list[dict[str, object]]:
    url = f"{server.url}/api/v3/contents/generations/tasks/{task_id}"
    return [httpx.get(url).json() for _ in range(count)]


def test_video_fixture(server: ServerProcess) -> None:
    made = submit(server, {"type": "text", "text": "a paper boat"})
    assert made.status_code == 200, made.text
    task_id = made.json()["id"]
    assert task_id.startswith("cgt-")
    states = polls(server, task_id, 2)
    assert [state["status"] for state in states] == ["running", "succeeded"]
    done = states[-1]
    assert done["model"] == "seedance-1-0-pro" and done["duration"] == 5
    content = done["content"]
    assert isinstance(content, dict)
    video = httpx.get(content["video_url"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


def test_json_envelope_with_media(server: ServerProcess) -> None:
    task_id = submit(
        server,
        {"type": "text", "text": "animate"},
        {"type": "image_url", "image_url": {"url": IMAGE}},
    ).json()["id"]
    states = polls(server, task_id, 3)
    assert states[0] == {
        "id": task_id,
        "model": "seedance-1-0-pro",
        "status": "running",
        "created_at": states[0]["created_at"],
    }
    assert states[1] == states[2] == {**ENVELOPE, "id": task_id}


def test_failed_task(server: ServerProcess) -> None:
    task_id = submit(server, {"type": "text", "text": "blocked"}).json()["id"]
    done = polls(server, task_id, 2)[-1]
    assert done["status"] == "failed"
    assert done["error"] == {"code": "InternalServiceError", "message": "Sensitive content."}


def test_errors(server: ServerProcess) -> None:
    url = f"{server.url}/api/v3/contents/generations/tasks"
    no_model = httpx.post(url, json={"content": [{"type": "text", "text": "x"}]})
    assert no_model.status_code == 400 and "model" in no_model.json()["error"]["message"]
    no_content = httpx.post(url, json={"model": "m", "content": []})
    assert no_content.status_code == 400
    miss = submit(server, {"type": "text", "text": "nothing matches"})
    assert miss.status_code == 404 and set(miss.json()["error"]) == {"code", "message"}
    unknown = httpx.get(f"{url}/cgt-unknown")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NotFound"
