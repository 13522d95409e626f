"""OpenRouter video jobs over HTTP against a real aimock process: submit, poll `pending` ->
`in_progress` -> `completed` with `unsigned_urls` the mock serves, a failed job, the model
listing, and the errors in OpenRouter's envelope."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerProcess, serving_fixtures

FIXTURES = [
    {
        "match": {"userMessage": "a red kite", "endpoint": "video"},
        "response": {"video": {"cost": 0.25}},
    },
    {
        "match": {"userMessage": "blocked"},
        "response": {"video": {"status": "failed", "error": "Refused."}},
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("orvideo"), FIXTURES) as started:
        yield started


def submit(server: ServerProcess, prompt: str, **fields: object) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/videos",
        json={"prompt": prompt, **fields},
        headers={"Authorization": "Bearer sk-or-test"},
    )


def test_submit_poll_and_download(server: ServerProcess) -> None:
    made = submit(server, "a red kite", model="openai/sora-2")
    assert made.status_code == 200, made.text
    job = made.json()
    assert job["status"] == "pending"
    assert job["polling_url"] == f"{server.url}/api/v1/videos/{job['id']}"
    states = [httpx.get(job["polling_url"]).json() for _ in range(2)]
    assert [state["status"] for state in states] == ["in_progress", "completed"]
    done = states[-1]
    assert done["usage"] == {"cost": 0.25}
    (url,) = done["unsigned_urls"]
    video = httpx.get(url)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


def test_failed_job(server: ServerProcess) -> None:
    job = submit(server, "blocked").json()
    states = [httpx.get(job["polling_url"]).json() for _ in range(2)]
    assert states[-1] == {"id": job["id"], "status": "failed", "error": "Refused."}
    early = httpx.get(f"{server.url}/api/v1/videos/{job['id']}/content")
    assert early.status_code == 400 and early.json()["error"]["code"] == 400


def test_models(server: ServerProcess) -> None:
    listing = httpx.get(f"{server.url}/api/v1/videos/models").json()
    assert [entry["id"] for entry in listing["data"]] == ["bytedance/seedance-2.0", "openai/sora-2"]


def test_errors(server: ServerProcess) -> None:
    missing = httpx.post(f"{server.url}/api/v1/videos", json={"model": "x"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 400
    miss = submit(server, "nothing matches")
    assert miss.status_code == 404 and miss.json()["error"]["code"] == 404
    unknown = httpx.get(f"{server.url}/api/v1/videos/nope")
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]
