"""OpenAI fine-tuning driven by the official `openai` SDK against a real aimock process: a job
validated on create, advanced by its retrieves to `succeeded` with an `ft:` model, its events
and checkpoints, cancel, and chat with the `ft:` model answered by the base model's fixture."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint

from tests.conftest import ServerProcess, serving_fixtures
from tests.sdk.typecheck import assert_required_fields, validate_strict

FIXTURES = [
    {
        "match": {"model": "gpt-4o-mini", "userMessage": "tuned-hello"},
        "response": {"content": "Hello from the base model's fixture."},
    },
]
TRAINING = "".join(
    json.dumps(
        {
            "messages": [
                {"role": "user", "content": f"q{i}"},
                {"role": "assistant", "content": f"a{i}"},
            ]
        }
    )
    + "\n"
    for i in range(10)
).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder: Path = tmp_path_factory.mktemp("fine_tuning")
    with serving_fixtures(folder, FIXTURES) as started:
        yield started


@pytest.fixture
def client(server: ServerProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as sdk:
        yield sdk


def training_file(client: OpenAI) -> str:
    return client.files.create(file=("train.jsonl", TRAINING), purpose="fine-tune").id


def test_lifecycle_events_checkpoints_and_chat(client: OpenAI) -> None:
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini", training_file=training_file(client), suffix="demo"
    )
    assert job.status == "validating_files"
    assert job.fine_tuned_model is None
    statuses = [client.fine_tuning.jobs.retrieve(job.id).status for _ in range(3)]
    assert statuses == ["queued", "running", "succeeded"]
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.fine_tuned_model == f"ft:gpt-4o-mini:aimock:demo:{job.id[6:14]}"
    assert done.finished_at is not None and done.trained_tokens
    assert done.result_files
    assert client.files.retrieve(done.result_files[0]).purpose == "fine-tune-results"

    events = client.fine_tuning.jobs.list_events(job.id)
    messages = [event.message for event in events.data]
    assert messages[0] == "The job has successfully completed"
    assert messages[-1] == f"Created fine-tuning job: {job.id}"
    assert any(event.type == "metrics" for event in events.data)
    first = client.fine_tuning.jobs.list_events(job.id, limit=2)
    assert len(first.data) == 2 and first.has_more

    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id)
    steps = [c.step_number for c in checkpoints.data]
    assert steps == sorted(steps, reverse=True) and len(steps) == 3
    assert checkpoints.data[0].fine_tuned_model_checkpoint.startswith(done.fine_tuned_model)

    assert done.fine_tuned_model is not None
    chat = client.chat.completions.create(
        model=done.fine_tuned_model, messages=[{"role": "user", "content": "tuned-hello"}]
    )
    assert chat.choices[0].message.content == "Hello from the base model's fixture."
    assert chat.model == done.fine_tuned_model


def test_create_is_validated(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file="file-nope")
    batch_file = client.files.create(file=("b.jsonl", b"{}\n"), purpose="batch").id
    with pytest.raises(openai.BadRequestError) as wrong:
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=batch_file)
    assert wrong.value.param == "training_file"
    with pytest.raises(openai.BadRequestError) as missing:
        client.fine_tuning.jobs.create(model="", training_file=training_file(client))
    assert missing.value.param == "model"


def test_cancel_list_and_immediate(client: OpenAI) -> None:
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training_file(client))
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.cancel(job.id)
    at_once = client.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=training_file(client),
        extra_headers={"X-AIMock-Fine-Tuning-Polls": "0"},
    )
    assert at_once.status == "succeeded"
    listed = [j.id for j in client.fine_tuning.jobs.list()]
    assert listed[:2] == [at_once.id, job.id]
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve("ftjob-nope")


def test_wire_shapes_are_the_sdks_strictly(client: OpenAI, server: ServerProcess) -> None:
    """The job in each state, its events and checkpoints validate strictly against the SDK's
    types, required fields and all."""
    base = server.base_url + "/fine_tuning/jobs"
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training_file(client))
    for _ in range(4):
        raw = httpx.get(f"{base}/{job.id}").json()
        validate_strict(FineTuningJob, raw)
        assert_required_fields(FineTuningJob, raw)
    for event in httpx.get(f"{base}/{job.id}/events").json()["data"]:
        validate_strict(FineTuningJobEvent, event)
        assert_required_fields(FineTuningJobEvent, event)
    for checkpoint in httpx.get(f"{base}/{job.id}/checkpoints").json()["data"]:
        validate_strict(FineTuningJobCheckpoint, checkpoint)
        assert_required_fields(FineTuningJobCheckpoint, checkpoint)
