"""OpenAI files driven by the official `openai` SDK against a real aimock process: upload,
list (purpose, after, limit, order), retrieve, content byte for byte, delete, and the errors
(an unknown purpose, a missing file, an unknown id) in OpenAI's envelope."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.conftest import ServerProcess, serving
from tests.sdk.clients import Client, resolve

# Every byte value, a CRLF, a lone CR and a multipart boundary look-alike: stored as sent.
PAYLOAD = bytes(range(256)) + b"\r\n--boundary\r\n\r" + os.urandom(4096)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with serving() as started:
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


async def test_round_trip_is_byte_exact(client: Client) -> None:
    created = await resolve(client.files.create(file=("data.bin", PAYLOAD), purpose="user_data"))
    assert created.id.startswith("file-")
    assert (created.bytes, created.filename, created.purpose) == (
        len(PAYLOAD),
        "data.bin",
        "user_data",
    )
    assert created.object == "file"
    got = await resolve(client.files.retrieve(created.id))
    assert got.model_dump() == created.model_dump()
    body = await resolve(client.files.content(created.id))
    assert body.content == PAYLOAD
    deleted = await resolve(client.files.delete(created.id))
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        await resolve(client.files.retrieve(created.id))


async def test_list_filters_orders_and_pages(client: Client) -> None:
    made = [
        (await resolve(client.files.create(file=(f"{i}.jsonl", b"{}\n"), purpose="evals"))).id
        for i in range(3)
    ]
    page = await resolve(client.files.list(purpose="evals", order="asc"))
    ids = [f.id for f in page.data]
    assert ids[-3:] == made
    assert all(f.purpose == "evals" for f in page.data)
    newest = await resolve(client.files.list(purpose="evals", limit=1))
    assert [f.id for f in newest.data] == [made[-1]]
    assert newest.has_more
    after = await resolve(client.files.list(purpose="evals", limit=1, after=made[-1]))
    assert [f.id for f in after.data] == [made[-2]]
    for file_id in made:
        await resolve(client.files.delete(file_id))


async def test_invalid_purpose_is_a_400(client: Client) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        await resolve(client.files.create(file=("x.txt", b"x"), purpose="nonsense"))  # type: ignore[arg-type]
    assert raised.value.param == "purpose"
    assert "nonsense" in raised.value.message


def test_bad_uploads_get_openai_envelopes(server: ServerProcess) -> None:
    url = server.base_url + "/files"
    wrong_type = httpx.post(url, json={"purpose": "batch"})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"]["type"] == "invalid_request_error"
    no_file = httpx.post(url, files={"purpose": (None, "batch")})
    assert no_file.status_code == 400
    assert no_file.json()["error"]["param"] == "file"
    missing = httpx.get(url + "/file-nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "No such file: 'file-nope'"
    too_big = httpx.post(
        url, files={"purpose": (None, "batch"), "file": ("big.bin", b"x" * (11 * 1024 * 1024))}
    )
    assert too_big.status_code == 413
    assert "error" in too_big.json()
