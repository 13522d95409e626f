"""The control API under /__aimock: health, journal, fixtures, reset, errors, reload, auth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from aimock.fixtures.loading import files_hash
from tests.server.conftest import ClientFactory, answer, chat, state_of

JSON = {"Content-Type": "application/json"}

FILE_FIXTURES = """
fixtures:
  - match: {userMessage: file}
    response: {content: from the file}
  - match: {userMessage: count, sequenceIndex: 0}
    response: {content: first}
  - match: {userMessage: count}
    response: {content: later}
"""

RUNTIME = {"fixtures": [{"match": {"userMessage": "runtime"}, "response": {"content": "added"}}]}


@pytest.fixture
def fixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "fixtures.yaml"
    path.write_text(FILE_FIXTURES)
    return path


async def file_client(make_client: ClientFactory, fixture_file: Path, **options: Any) -> Any:
    return await make_client(paths=(fixture_file,), **options)


async def get_json(client: TestClient[Any, Any], path: str, **params: str) -> Any:
    response = await client.get(path, params=params)
    assert response.status == 200, await response.text()
    return await response.json()


# --- health --------------------------------------------------------------------------------


async def test_health_reports_the_set_and_its_hash(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    before = await get_json(client, "/__aimock/health")
    assert before["status"] == "ok"
    assert before["fixtures"] == 3
    assert before["files"] == 1
    assert before["strict"] is False
    assert (await get_json(client, "/health"))["fixturesHash"] == before["fixturesHash"]
    assert (await get_json(client, "/ready")) == {"status": "ready"}

    await client.post("/__aimock/fixtures", json=RUNTIME)
    after = await get_json(client, "/__aimock/health")
    assert after["fixtures"] == 4
    assert after["fixturesHash"] != before["fixturesHash"]

    await client.post("/__aimock/reset")
    assert (await get_json(client, "/__aimock/health"))["fixturesHash"] == before["fixturesHash"]


# --- journal -------------------------------------------------------------------------------


async def test_the_journal_records_requests_and_filters_them(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    await chat(client, "file", headers={"X-Test-Id": "t1", "Authorization": "Bearer sk-secret"})
    await chat(client, "nothing", model="gpt-4o-mini", headers={"X-Test-Id": "t2"})
    await client.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})

    entries = await get_json(client, "/__aimock/journal")
    assert len(entries) == 3
    first = entries[0]
    assert first["method"] == "POST"
    assert first["path"] == "/v1/chat/completions"
    assert first["surface"] == "openai.chat"
    assert first["provider"] == "openai"
    assert first["model"] == "gpt-4o"
    assert first["testId"] == "t1"
    assert first["matched"] is True
    assert first["headers"]["authorization"] == "[REDACTED]"
    assert first["body"]["messages"][0]["content"] == "file"
    assert first["response"]["status"] == 200
    assert first["response"]["source"] == "fixture"
    assert first["response"]["fixture"]["match"] == {
        "userMessage": {"contains": "file", "ignoreCase": False}
    }
    missed = entries[1]["response"]
    assert {k: missed[k] for k in ("status", "fixture", "source")} == {
        "status": 404,
        "fixture": None,
        "source": "internal",
    }
    assert missed["body"]["error"]["code"] == "no_fixture_match"  # the answer as sent
    assert missed["contentType"] == "application/json"

    async def ids(**params: str) -> list[str]:
        return [e["id"] for e in await get_json(client, "/__aimock/journal", **params)]

    all_ids = [e["id"] for e in entries]
    assert await ids(surface="openai.embeddings") == [all_ids[2]]
    assert await ids(model="gpt-4o-mini") == [all_ids[1]]
    assert await ids(status="404") == [all_ids[1]]
    assert await ids(matched="true") == [all_ids[0]]
    assert await ids(matched="false") == all_ids[1:]
    assert await ids(testId="t1") == [all_ids[0]]
    assert await ids(limit="2") == all_ids[1:]
    assert await ids(surface="openai.chat", limit="1") == [all_ids[1]]
    bad = await client.get("/__aimock/journal", params={"limit": "many"})
    assert bad.status == 400
    assert "'limit'" in (await bad.json())["error"]


async def test_the_journal_is_bounded(make_client: ClientFactory, fixture_file: Path) -> None:
    client = await file_client(make_client, fixture_file, journal_max=2)
    for _ in range(5):
        await chat(client, "file")
    assert len(await get_json(client, "/__aimock/journal")) == 2


# --- fixtures ------------------------------------------------------------------------------


async def test_post_fixtures_adds_after_the_file_fixtures(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    response = await client.post("/__aimock/fixtures", json=RUNTIME)
    assert response.status == 200
    assert await response.json() == {"added": 1, "fixtures": 4}
    assert await answer(client, "runtime") == "added"
    listing = await get_json(client, "/__aimock/fixtures")
    assert listing["count"] == 4
    assert listing["fixtures"][-1]["source"] == "api#fixtures[0]"


async def test_post_fixtures_validation_errors_name_the_field(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    body = {
        "fixtures": [
            {"match": {"userMessage": "ok"}, "response": {"content": "fine"}},
            {"match": {"userMesage": "typo"}, "response": {"content": "x"}},
            {"match": {}, "response": {"content": "x"}, "streamingProfile": {"ttft": -1}},
            {"match": {"userMessage": "no answer"}},
        ]
    }
    response = await client.post("/__aimock/fixtures", json=body)
    assert response.status == 400
    result = await response.json()
    assert result["error"] == "Validation failed"
    details = {(d["fixtureIndex"], d["field"]) for d in result["details"]}
    assert (1, "match.userMesage") in details
    assert (2, "streamingProfile.ttft") in details
    assert (3, "") in details
    typo = next(d for d in result["details"] if d["fixtureIndex"] == 1)
    assert typo["severity"] == "error"
    assert typo["message"] == "match.userMesage: unknown field"
    # Nothing of a rejected batch is added.
    assert (await get_json(client, "/__aimock/health"))["fixtures"] == 3


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"{not json", "Malformed JSON"), (b'{"fixture": []}', 'Missing or invalid "fixtures" array')],
)
async def test_post_fixtures_rejects_a_bad_body(
    make_client: ClientFactory, raw: bytes, message: str
) -> None:
    client = await make_client()
    response = await client.post("/__aimock/fixtures", data=raw, headers=JSON)
    assert response.status == 400
    assert (await response.json())["error"].startswith(message)


async def test_delete_fixtures_clears_every_fixture(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    await client.post("/__aimock/fixtures", json=RUNTIME)
    response = await client.delete("/__aimock/fixtures")
    assert await response.json() == {"cleared": True}
    assert (await get_json(client, "/__aimock/health"))["fixtures"] == 0
    assert await answer(client, "file") == "error:404:no_fixture_match"


async def test_a_fixture_added_after_a_clear_starts_its_own_sequence(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    sequence = {
        "fixtures": [
            {"match": {"userMessage": "s"}, "sequence": [{"content": "1"}, {"content": "2"}]}
        ]
    }
    await client.post("/__aimock/fixtures", json=sequence)
    assert [await answer(client, "s") for _ in range(2)] == ["1", "2"]
    await client.delete("/__aimock/fixtures")
    await client.post("/__aimock/fixtures", json=sequence)
    assert await answer(client, "s") == "1"


# --- reset ---------------------------------------------------------------------------------


async def test_reset_restores_the_files_and_clears_everything_else(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    await client.post("/__aimock/fixtures", json=RUNTIME)
    await client.delete("/__aimock/fixtures")  # even the file fixtures are gone now
    await client.post("/__aimock/fixtures", json=RUNTIME)
    await client.post("/__aimock/error", json={"status": 429})
    assert await answer(client, "runtime") == "error:429:None"
    response = await client.post("/__aimock/reset")
    assert await response.json() == {"reset": True}
    assert await get_json(client, "/__aimock/journal") == []
    assert (await get_json(client, "/__aimock/health"))["fixtures"] == 3
    assert await answer(client, "runtime") == "error:404:no_fixture_match"
    assert await answer(client, "file") == "from the file"


async def test_reset_with_a_broken_file_keeps_the_old_file_set(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    await client.post("/__aimock/fixtures", json=RUNTIME)
    fixture_file.write_text("fixtures: [")
    response = await client.post("/__aimock/reset")
    assert response.status == 400
    [detail] = (await response.json())["details"]
    assert detail["file"] == str(fixture_file)
    assert await answer(client, "file") == "from the file"
    assert await answer(client, "runtime") == "error:404:no_fixture_match"


async def test_reset_restarts_sequence_counts(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    assert await answer(client, "count") == "first"
    assert await answer(client, "count") == "later"
    await client.post("/__aimock/reset")
    assert await answer(client, "count") == "first"


async def test_reset_of_an_app_built_from_text_keeps_its_fixtures(
    make_client: ClientFactory,
) -> None:
    client = await make_client(FILE_FIXTURES)
    await client.post("/__aimock/fixtures", json=RUNTIME)
    assert (await client.post("/__aimock/reset")).status == 200
    assert await answer(client, "file") == "from the file"
    assert await answer(client, "runtime") == "error:404:no_fixture_match"


async def test_reset_journal_keeps_counts(make_client: ClientFactory, fixture_file: Path) -> None:
    client = await file_client(make_client, fixture_file)
    assert await answer(client, "count") == "first"
    response = await client.post("/__aimock/reset/journal")
    assert await response.json() == {"reset": True}
    assert await get_json(client, "/__aimock/journal") == []
    assert await answer(client, "count") == "later"


async def test_reset_fixtures_is_a_deprecated_full_reset(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    await client.post("/__aimock/fixtures", json=RUNTIME)
    response = await client.post("/__aimock/reset/fixtures")
    assert response.status == 200
    assert response.headers["Deprecation"] == "true"
    body = await response.json()
    assert body["reset"] is True
    assert body["deprecated"] is True
    assert "/__aimock/reset" in body["deprecation"]
    assert (await get_json(client, "/__aimock/health"))["fixtures"] == 3


async def test_reset_counts_for_one_test_id(make_client: ClientFactory, fixture_file: Path) -> None:
    client = await file_client(make_client, fixture_file)
    a, b = {"X-Test-Id": "a"}, {"X-Test-Id": "b"}
    assert await answer(client, "count", headers=a) == "first"
    assert await answer(client, "count", headers=b) == "first"
    await client.post("/__aimock/reset/counts", params={"testId": "a"})
    assert await answer(client, "count", headers=a) == "first"
    assert await answer(client, "count", headers=b) == "later"


# --- one-shot errors -----------------------------------------------------------------------


async def test_a_queued_error_answers_the_next_request_once(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    response = await client.post(
        "/__aimock/error",
        json={"status": 503, "body": {"message": "Overloaded", "type": "overloaded", "code": "x"}},
    )
    assert await response.json() == {"queued": True}
    status, body = await chat(client, "file")
    assert status == 503
    assert body["error"] == {
        "message": "Overloaded",
        "type": "overloaded",
        "param": None,
        "code": "x",
    }
    assert await answer(client, "file") == "from the file"


async def test_a_queued_error_has_defaults(make_client: ClientFactory) -> None:
    client = await make_client(FILE_FIXTURES)
    await client.post("/__aimock/error")
    status, body = await chat(client, "file")
    assert status == 500
    assert body["error"]["message"] == "Injected error"
    assert body["error"]["type"] == "server_error"
    bad = await client.post("/__aimock/error", json={"status": 42})
    assert bad.status == 400


# --- reload --------------------------------------------------------------------------------


async def test_reload_serves_the_edited_files(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    fixture_file.write_text(FILE_FIXTURES.replace("from the file", "edited"))
    response = await client.post("/__aimock/reload")
    assert response.status == 200
    body = await response.json()
    assert body["reloaded"] is True
    assert body["fixtures"] == 3
    assert await answer(client, "file") == "edited"


async def test_a_broken_reload_keeps_the_old_set(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    before = await get_json(client, "/__aimock/health")
    fixture_file.write_text(FILE_FIXTURES.replace("userMessage: file", "userMesage: file"))
    response = await client.post("/__aimock/reload")
    assert response.status == 400
    body = await response.json()
    assert "previous set is still serving" in body["error"]
    [detail] = body["details"]
    assert detail == {
        "file": str(fixture_file),
        "field": "fixtures[0].match.userMesage",
        "line": 3,
        "message": "unknown field",
    }
    assert await answer(client, "file") == "from the file"
    assert (await get_json(client, "/__aimock/health"))["fixturesHash"] == before["fixturesHash"]


async def test_health_names_the_files_it_serves_not_the_ones_on_disk(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    served = (await get_json(client, "/health"))["configHash"]
    assert served == files_hash({fixture_file.name: fixture_file.read_text()})

    fixture_file.write_text(FILE_FIXTURES.replace("userMessage: file", "userMesage: file"))
    assert (await client.post("/__aimock/reload")).status == 400
    assert (await get_json(client, "/health"))["configHash"] == served  # the last good set

    fixture_file.write_text(FILE_FIXTURES.replace("from the file", "from the edit"))
    assert (await client.post("/__aimock/reload")).status == 200
    edited = (await get_json(client, "/health"))["configHash"]
    assert edited == files_hash({fixture_file.name: fixture_file.read_text()}) != served


# --- legacy, unknown paths -----------------------------------------------------------------


async def test_the_legacy_requests_endpoint(make_client: ClientFactory) -> None:
    client = await make_client(FILE_FIXTURES)
    for text in ("file", "count", "file"):
        await chat(client, text)
    entries = await get_json(client, "/v1/_requests")
    assert len(entries) == 3
    assert len(await get_json(client, "/v1/_requests", limit="1")) == 1
    assert (await client.get("/v1/_requests", params={"limit": "-1"})).status == 400
    assert (await client.delete("/v1/_requests")).status == 204
    assert await get_json(client, "/v1/_requests") == []


async def test_an_unknown_control_path_is_404(make_client: ClientFactory) -> None:
    client = await make_client()
    response = await client.get("/__aimock/nope")
    assert response.status == 404
    assert (await response.json())["error"] == "Unknown control endpoint: /__aimock/nope"


# --- admin token ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/__aimock/journal"),
        ("POST", "/__aimock/reset"),
        ("POST", "/__aimock/fixtures"),
        ("DELETE", "/__aimock/fixtures"),
        ("GET", "/v1/_requests"),
        ("DELETE", "/v1/_requests"),
    ],
)
async def test_the_admin_token_guards_the_control_api(
    make_client: ClientFactory, method: str, path: str
) -> None:
    client = await make_client(FILE_FIXTURES, admin_token="s3cret")
    response = await client.request(method, path, json=RUNTIME)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = await client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401


async def test_the_admin_token_is_accepted_in_either_header(make_client: ClientFactory) -> None:
    client = await make_client(FILE_FIXTURES, admin_token="s3cret")
    bearer = await client.get("/__aimock/journal", headers={"Authorization": "Bearer s3cret"})
    assert bearer.status == 200
    custom = await client.post("/__aimock/reset", headers={"X-AIMock-Admin-Token": "s3cret"})
    assert custom.status == 200
    # Health, probes, metrics and the provider surfaces stay open.
    for path in ("/__aimock/health", "/health", "/ready", "/metrics"):
        assert (await client.get(path)).status == 200, path
    assert await answer(client, "file") == "from the file"


async def test_fixtures_count_their_hits_until_a_reset(
    make_client: ClientFactory, fixture_file: Path
) -> None:
    client = await file_client(make_client, fixture_file)
    for text in ("file", "file", "count", "count", "nothing"):
        await answer(client, text)
    listed = await get_json(client, "/__aimock/fixtures")
    assert [f["hits"] for f in listed["fixtures"]] == [2, 1, 1]
    assert (await client.post("/__aimock/reset", headers=JSON)).status == 200
    listed = await get_json(client, "/__aimock/fixtures")
    assert [f["hits"] for f in listed["fixtures"]] == [0, 0, 0]


async def test_the_chaos_route_lists_the_policies_in_force(make_client: ClientFactory) -> None:
    drill = (Path(__file__).resolve().parents[2] / "examples" / "chaos-drill.yaml").read_text()
    client = await make_client(drill)
    body = await get_json(client, "/__aimock/chaos")
    assert [policy["name"] for policy in body["policies"]] == ["checkout-chaos-drill"]
    assert body["policies"][0]["rates"]


async def test_a_full_reset_forgets_what_providers_keep(make_client: ClientFactory) -> None:
    client = await make_client()
    state = state_of(client)
    kept = state.keep("test.store", dict)
    kept["x"] = 1
    assert state.keep("test.store", dict) is kept  # the same store on every request
    assert (await client.post("/__aimock/reset")).status == 200
    assert state.keep("test.store", dict) == {}
    await client.close()
