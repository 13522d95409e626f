"""fal.ai's queue and sync runs over HTTP against a real aimock process: submit, status
`IN_QUEUE` -> `IN_PROGRESS` -> `COMPLETED`, the result (AIMock's `json` fixture, with
`x-fal-billable-units`), cancel, a sync run (AIMock's `/fal/run/...` and the
`x-fal-target-host: fal.run` convention), and the errors in fal's `{detail}` envelope."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerProcess, serving_fixtures

MODEL = "fal-ai/veo3"
RESULT = {"video": {"url": "https://v3.fal.media/files/cat.mp4", "content_type": "video/mp4"}}
FIXTURES = [
    {
        "match": {"userMessage": "a cat surfing", "model": MODEL, "endpoint": "fal"},
        "response": {"json": RESULT, "billableUnits": 8},
    },
    {"match": {"userMessage": "a slow one"}, "response": {"json": {"images": []}}},
    # A chat fixture never answers fal, and a fal fixture never answers chat.
    {"match": {"userMessage": "hello"}, "response": {"content": "Hi!"}},
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
