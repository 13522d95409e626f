"""OpenAI batches driven by the official `openai` SDK against a real aimock process: each line
of the input file runs through the fixtures, and each output line's body equals what the same
request answers over HTTP; bad lines land in the error file; cancel; the status progression."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types import Batch, FileObject
from openai.types.chat import ChatCompletion

from tests.conftest import ServerProcess, serving_fixtures
from tests.sdk.typecheck import assert_required_fields, validate_strict

FIXTURES = [
    {"match": {"userMessage": "batch-hello"}, "response": {"content": "Hello from a batch."}},
    {
        "match": {"userMessage": "batch-weather"},
        "response": {"toolCalls": [{"name": "get_weather", "arguments": '{"city":"Lisbon"}'}]},
    },
    {
        "match": {"userMessage": "batch-refused"},
        "response": {"status": 429, "error": {"message": "slow down"}},
    },
    {"match": {"inputText": "batch-embed"}, "response": {"embedding": [0.5, 0.25, 0.125]}},
]
# What differs between two answers to the same request: ids and clocks.
VOLATILE = {"id", "created", "created_at", "system_fingerprint"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder: Path = tmp_path_factory.mktemp("batches")
    with serving_fixtures(folder, FIXTURES) as started:
        yield started


@pytest.fixture
def client(server: ServerProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as sdk:
        yield sdk


def chat_line(custom_id: str, text: str) -> dict[str, Any]:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def upload(client: OpenAI, lines: list[Any]) -> str:
    raw = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    return client.files.create(file=("batch.jsonl", raw.encode()), purpose="batch").id


def stable(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: stable(v) for k, v in body.items() if k not in VOLATILE}
    if isinstance(body, list):
        return [stable(v) for v in body]
    return body


def read_jsonl(client: OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def test_every_output_line_is_what_chat_answers(client: OpenAI, server: ServerProcess) -> None:
    lines = [chat_line("a", "batch-hello"), chat_line("b", "batch-weather")]
    batch = client.batches.create(
        input_file_id=upload(client, lines),
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"suite": "sdk"},
    )
    assert batch.status == "validating"
    assert batch.metadata == {"suite": "sdk"}
    polled = client.batches.retrieve(batch.id)
    assert polled.status == "in_progress"
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (2, 2)
    assert done.error_file_id is None
    assert done.completed_at is not None and done.in_progress_at is not None
    output = read_jsonl(client, done.output_file_id)
    assert [line["custom_id"] for line in output] == ["a", "b"]
    for line in output:
        assert line["error"] is None
        assert line["id"].startswith("batch_req_")
        assert line["response"]["status_code"] == 200
        asked = next(item["body"] for item in lines if item["custom_id"] == line["custom_id"])
        direct = httpx.post(server.base_url + "/chat/completions", json=asked).json()
        assert stable(line["response"]["body"]) == stable(direct)
    assert output[1]["response"]["body"]["choices"][0]["message"]["tool_calls"]
    # Each line is journaled like a request, with the fixture that answered it.
    journal = httpx.get(server.url + "/__aimock/journal").json()
    entries = journal if isinstance(journal, list) else journal.get("entries", journal)
    assert any(e.get("method") == "BATCH" for e in entries)


def test_bad_lines_are_reported_in_the_error_file(client: OpenAI) -> None:
    lines = [
        chat_line("good", "batch-hello"),
        "{not json",
        {"method": "POST", "url": "/v1/chat/completions", "body": {}},
        {**chat_line("wrong-url", "batch-hello"), "url": "/v1/embeddings"},
        {"custom_id": "no-model", "method": "POST", "url": "/v1/chat/completions", "body": {}},
        chat_line("nothing-matches", "no fixture says this"),
        chat_line("refused", "batch-refused"),
        chat_line("good", "batch-hello"),
    ]
    batch = client.batches.create(
        input_file_id=upload(client, lines),
        endpoint="/v1/chat/completions",
        completion_window="24h",
        extra_headers={"X-AIMock-Batch-Polls": "0"},
    )
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 7)
    errors = read_jsonl(client, batch.error_file_id)
    by_code = [
        line["error"]["code"] if line["error"] else line["response"]["status_code"]
        for line in errors
    ]
    assert by_code == [
        "invalid_json_line",
        "missing_custom_id",
        "invalid_url",
        400,
        404,
        429,
        "duplicate_custom_id",
    ]
    refused = errors[5]["response"]["body"]["error"]
    assert refused["message"] == "slow down"
    assert len(read_jsonl(client, batch.output_file_id)) == 1


def test_embeddings_batch(client: OpenAI, server: ServerProcess) -> None:
    body = {"model": "text-embedding-3-small", "input": "batch-embed"}
    line = {"custom_id": "e", "method": "POST", "url": "/v1/embeddings", "body": body}
    batch = client.batches.create(
        input_file_id=upload(client, [line]),
        endpoint="/v1/embeddings",
        completion_window="24h",
        extra_headers={"X-AIMock-Batch-Polls": "1"},
    )
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed"
    [output] = read_jsonl(client, done.output_file_id)
    direct = httpx.post(server.base_url + "/embeddings", json=body).json()
    assert stable(output["response"]["body"]) == stable(direct)


def test_finalizing_shows_before_the_last_poll(client: OpenAI) -> None:
    batch = client.batches.create(
        input_file_id=upload(client, [chat_line("a", "batch-hello")]),
        endpoint="/v1/chat/completions",
        completion_window="24h",
        extra_headers={"X-AIMock-Batch-Polls": "3"},
    )
    seen = [client.batches.retrieve(batch.id).status for _ in range(4)]
    assert seen == ["in_progress", "finalizing", "completed", "completed"]


def test_cancel(client: OpenAI) -> None:
    batch = client.batches.create(
        input_file_id=upload(client, [chat_line("a", "batch-hello")]),
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling"
    assert client.batches.retrieve(batch.id).status == "cancelled"
    assert client.batches.retrieve(batch.id).output_file_id is None
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)


def test_list_and_validation(client: OpenAI) -> None:
    made = client.batches.create(
        input_file_id=upload(client, [chat_line("a", "batch-hello")]),
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    assert client.batches.list(limit=1).data[0].id == made.id
    assert made.id in [b.id for b in client.batches.list()]
    with pytest.raises(openai.NotFoundError):
        client.batches.create(
            input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
        )
    not_batch = client.files.create(file=("x.jsonl", b"{}\n"), purpose="fine-tune").id
    with pytest.raises(openai.BadRequestError) as wrong:
        client.batches.create(
            input_file_id=not_batch, endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert wrong.value.param == "input_file_id"
    with pytest.raises(openai.BadRequestError) as endpoint:
        client.batches.create(
            input_file_id=made.input_file_id,
            endpoint="/v1/nowhere",  # type: ignore[arg-type]
            completion_window="24h",
        )
    assert endpoint.value.param == "endpoint"
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")


@pytest.mark.parametrize("outcome", ["failed", "expired", "cancelled"])
def test_aimock_outcome_header(client: OpenAI, outcome: str) -> None:
    batch = client.batches.create(
        input_file_id=upload(client, [chat_line("a", "batch-hello")]),
        endpoint="/v1/chat/completions",
        completion_window="24h",
        extra_headers={"X-AIMock-Batch-Outcome": outcome},
    )
    assert client.batches.retrieve(batch.id).status == "in_progress"
    landed = client.batches.retrieve(batch.id)
    assert landed.status == outcome
    assert landed.output_file_id is None
    if outcome == "failed":
        assert landed.errors is not None and landed.errors.data
        assert landed.errors.data[0].code == "mock_failure"
        [line] = read_jsonl(client, landed.error_file_id)
        assert (line["custom_id"], line["error"]["code"]) == ("a", "mock_failure")
    with pytest.raises(openai.BadRequestError):
        client.batches.create(
            input_file_id=batch.input_file_id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            extra_headers={"X-AIMock-Batch-Outcome": "sideways"},
        )


def test_wire_shapes_are_the_sdks_strictly(client: OpenAI, server: ServerProcess) -> None:
    """Every object as sent validates strictly against the SDK's type, required fields and
    all: the file, the batch in each state, the output line's chat body, the lists."""
    base = server.base_url
    file_id = upload(client, [chat_line("a", "batch-hello")])
    raw_file = httpx.get(f"{base}/files/{file_id}").json()
    validate_strict(FileObject, raw_file)
    assert_required_fields(FileObject, raw_file)
    created = httpx.post(
        f"{base}/batches",
        json={
            "input_file_id": file_id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        },
    ).json()
    for raw in (created, *(httpx.get(f"{base}/batches/{created['id']}").json() for _ in range(2))):
        validate_strict(Batch, raw)
        assert_required_fields(Batch, raw)
    done = httpx.get(f"{base}/batches/{created['id']}").json()
    [line] = read_jsonl(client, done["output_file_id"])
    validate_strict(ChatCompletion, line["response"]["body"])
    listed = httpx.get(f"{base}/batches", params={"limit": 2}).json()
    assert set(listed) == {"object", "data", "first_id", "last_id", "has_more"}


def test_a_full_reset_forgets_files_and_batches(tmp_path: Path) -> None:
    with serving_fixtures(tmp_path, FIXTURES) as fresh:
        sdk = OpenAI(base_url=fresh.base_url, api_key="test", max_retries=0)
        file_id = upload(sdk, [chat_line("a", "batch-hello")])
        batch = sdk.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert httpx.post(fresh.url + "/__aimock/reset").status_code == 200
        with pytest.raises(openai.NotFoundError):
            sdk.files.retrieve(file_id)
        with pytest.raises(openai.NotFoundError):
            sdk.batches.retrieve(batch.id)
        sdk.close()
