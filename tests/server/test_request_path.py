"""The one request path: a route kind or a service the core has never heard of gets the request
id, the journal entry, chaos, strict mode, metrics and the log line by declaring a `Route`.

Both are registered in temporary registries here; nothing in the pipeline, the exchange or the
app knows them.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import Field

from aimock.exchange import Exchange, Miss, Route
from aimock.models.base import Section, SpecModel
from aimock.providers import registry as provider_registry
from aimock.services import base as service_base
from aimock.services import registry as service_registry
from aimock.surface import ErrorDialect, PlainRoute, Provider, ServerView
from aimock.wire import json_response
from tests.server.conftest import ClientFactory

TOY_ERRORS = ErrorDialect(body=lambda info: {"toyError": info.message, "status": info.status})

# --- a throwaway kind of surface: a plain route answering from a table, no fixtures ----------

PARTS = {"gear": 3}


async def lookup_part(request: web.Request, view: ServerView) -> web.StreamResponse:
    del view
    name = request.match_info["name"]
    if name not in PARTS:
        raise Miss(f"(part={name!r})")
    return json_response({"part": name, "count": PARTS[name]})


TOY_PROVIDER = Provider(
    name="toy.parts",
    routes=(PlainRoute("toy.parts", "toy", "GET", "/toy/parts/{name}", lookup_part, TOY_ERRORS),),
)

# --- a throwaway service: its own section, state and route ------------------------------------


class ShelfSpec(SpecModel):
    items: list[str] = Field(default_factory=lambda: ["lamp"], description="What is on it.")


SHELF_SECTION = Section(key="shelf", model=ShelfSpec, description="A toy shelf.")
SHELF: web.AppKey[set[str]] = web.AppKey("toy_shelf", set)
SHELF_ROUTE = Route("toy.shelf", "shelf", TOY_ERRORS)


async def take(ex: Exchange) -> web.StreamResponse:
    item = ex.request.match_info["item"]
    shelf = ex.request.app[SHELF]
    if item not in shelf:
        raise Miss(f"(item={item!r})")
    ex.matched = True
    return json_response({"took": item})


def mount_shelf(app: web.Application, state: Any) -> None:
    app[SHELF] = set(state.settings.section(SHELF_SECTION).items)
    service_base.route(app, "POST", "/shelf/{item}", SHELF_ROUTE, take)


SHELF_SERVICE = service_base.Service(
    name="shelf", section=SHELF_SECTION, mount=mount_shelf, reset=lambda app: None
)


@pytest.fixture
async def client(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> TestClient[Any, web.Application]:
    monkeypatch.setattr("aimock.routes.PROVIDERS", (*provider_registry.PROVIDERS, TOY_PROVIDER))
    monkeypatch.setattr("aimock.app.SERVICES", (*service_registry.SERVICES, SHELF_SERVICE))
    return await make_client()


# (method, a path that answers, a path nothing answers, surface); a plain route has no
# definitions to match, so only the service's hit counts as matched.
KINDS = [
    pytest.param(("GET", "/toy/parts/gear", "/toy/parts/bolt", "toy.parts"), id="route-kind"),
    pytest.param(("POST", "/shelf/lamp", "/shelf/vase", "toy.shelf"), id="service"),
]
MATCHED = {"toy.parts": False, "toy.shelf": True}


async def journal(client: TestClient[Any, web.Application]) -> list[dict[str, Any]]:
    response = await client.get("/__aimock/journal")
    entries: list[dict[str, Any]] = await response.json()
    return entries


@pytest.mark.parametrize("kind", KINDS)
async def test_a_hit_is_journaled_counted_logged_and_has_a_request_id(
    client: TestClient[Any, web.Application],
    kind: tuple[str, str, str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    method, hit, _, surface = kind
    with caplog.at_level(logging.INFO, logger="aimock.request"):
        response = await client.request(method, hit)
    assert response.status == 200, await response.text()
    request_id = response.headers["x-request-id"]
    [entry] = await journal(client)
    assert (entry["surface"], entry["requestId"], entry["response"]["status"]) == (
        surface,
        request_id,
        200,
    )
    matched = MATCHED[surface]
    # Servers of other tests may still be logging from their threads: this request's line only.
    lines = [r.getMessage() for r in caplog.records if r.name == "aimock.request"]
    [line] = [text for text in lines if text.startswith(f"{method} {hit} ")]
    assert line.startswith(f"{method} {hit} {surface} 200 ")
    assert (" matched" in line) is matched
    metrics = await (await client.get("/metrics")).text()
    counted = [line for line in metrics.splitlines() if line.startswith("aimock_requests_total")]
    assert any(
        f'surface="{surface}"' in line
        and f'matched="{str(matched).lower()}"' in line
        and line.endswith(" 1.0")
        for line in counted
    ), counted


@pytest.mark.parametrize("kind", KINDS)
async def test_a_miss_is_404_and_503_when_strict(
    client: TestClient[Any, web.Application], kind: tuple[str, str, str, str]
) -> None:
    method, _, miss, surface = kind
    lenient = await client.request(method, miss)
    assert lenient.status == 404
    assert (await lenient.json())["toyError"].startswith("No fixture matched (")
    strict = await client.request(method, miss, headers={"X-AIMock-Strict": "true"})
    assert strict.status == 503
    assert (await strict.json())["toyError"].startswith("Strict mode: no fixture matched (")
    entries = await journal(client)
    assert [(e["surface"], e["response"]["status"], e["matched"]) for e in entries] == [
        (surface, 404, False),
        (surface, 503, False),
    ]
    assert entries[1]["response"]["strictOverride"] is True
    metrics = await (await client.get("/metrics")).text()
    assert f'aimock_unmatched_requests_total{{surface="{surface}"}} 2.0' in metrics


@pytest.mark.parametrize("kind", KINDS)
async def test_chaos_drops_in_the_routes_own_envelope(
    client: TestClient[Any, web.Application], kind: tuple[str, str, str, str]
) -> None:
    method, hit, _, surface = kind
    dropped = await client.request(method, hit, headers={"X-AIMock-Chaos-Drop": "1"})
    assert dropped.status == 500
    assert await dropped.json() == {"toyError": "Chaos: request dropped", "status": 500}
    malformed = await client.request(method, hit, headers={"X-AIMock-Chaos-Malformed": "1"})
    assert malformed.status == 200
    assert (await malformed.read()).startswith(b"{malformed")
    [drop, bad] = await journal(client)
    assert (drop["surface"], drop["response"]["chaosAction"]) == (surface, "drop")
    assert bad["response"]["chaosAction"] == "malformed"
    metrics = await (await client.get("/metrics")).text()
    assert f'aimock_chaos_triggered_total{{action="drop",surface="{surface}"}} 1.0' in metrics


async def test_a_fault_of_the_handler_answers_500_in_the_envelope(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(request: web.Request, view: ServerView) -> web.StreamResponse:
        raise RuntimeError("a defect")

    provider = Provider(
        name="toy.broken",
        routes=(PlainRoute("toy.broken", "toy", "GET", "/toy/broken", broken, TOY_ERRORS),),
    )
    monkeypatch.setattr("aimock.routes.PROVIDERS", (*provider_registry.PROVIDERS, provider))
    client = await make_client()
    response = await client.get("/toy/broken")
    assert response.status == 500
    assert await response.json() == {
        "toyError": "aimock internal error; see the server log",
        "status": 500,
    }
    [entry] = await journal(client)
    assert (entry["surface"], entry["response"]["status"]) == ("toy.broken", 500)


async def test_control_routes_take_the_path_without_chaos_or_journal(
    client: TestClient[Any, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    chaos = {"X-AIMock-Chaos-Drop": "1", "X-AIMock-Chaos-Disconnect": "1"}
    with caplog.at_level(logging.DEBUG, logger="aimock.request"):
        health = await client.get("/__aimock/health", headers=chaos)
    assert health.status == 200
    # Logged, at DEBUG: probes come every few seconds in a cluster.
    [record] = [r for r in caplog.records if r.getMessage().startswith("GET /__aimock/health ")]
    assert (record.levelno, record.getMessage().split()[2]) == (logging.DEBUG, "control")
    assert health.headers["x-request-id"].startswith("req_")
    assert await journal(client) == []
    metrics = await (await client.get("/metrics")).text()
    assert 'surface="control"' in metrics


async def test_keys_in_the_query_string_never_reach_the_journal(
    client: TestClient[Any, web.Application],
) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    await client.post("/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaSECRET", json=body)
    [entry] = await journal(client)
    assert entry["path"] == "/v1beta/models/gemini-2.5-flash:generateContent?key=[REDACTED]"


async def test_hostile_bodies_and_headers_never_break_the_journal(
    client: TestClient[Any, web.Application],
) -> None:
    deep = b"[" * 1000 + b"]" * 1000
    headers = {"Content-Type": "application/json", "X-Test-Id": "caf\xe9"}
    nested = await client.post("/v1/messages", data=b'{"a":' * 1000 + b"1" + b"}" * 1000)
    arrays = await client.post("/v1/chat/completions", data=deep, headers=headers)
    assert [r.status for r in (nested, arrays)] == [400, 400]
    assert (await nested.json())["type"] == "error"  # each in its own protocol's envelope
    assert (await arrays.json())["error"]["code"] == "invalid_json"
    entries = await journal(client)  # readable, whatever the requests held
    assert [e["response"]["status"] for e in entries] == [400, 400]
    assert entries[1]["testId"].startswith("caf")  # header bytes that are not ASCII


async def test_bodies_nested_past_the_limit_are_refused_before_any_handler(
    client: TestClient[Any, web.Application],
) -> None:
    # 200 levels parse, but nothing downstream (orjson stops at 254, the journal, match keys)
    # should have to carry them: refused at read time, in the route's envelope.
    for path, deep in (
        ("/v1/chat/completions", {"model": "m", "messages": [], "x": _nested(200)}),
        ("/v1/messages", {"model": "m", "messages": [], "x": _nested(129)}),
    ):
        answer = await client.post(
            path, data=orjson.dumps(deep), headers={"Content-Type": "application/json"}
        )
        assert answer.status == 400
        body = await answer.json()
        message = body["error"]["message"]
        assert "nested deeper than 128" in message
    shallow = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "x": _nested(100)}
    answer = await client.post(
        "/v1/chat/completions",
        data=orjson.dumps(shallow),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status != 400
    assert len(await journal(client)) == 3


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth - 1):  # the value itself is one level: the body adds one more
        value = [value]
    return value


async def test_a_chaos_delay_is_bounded_and_ends_with_its_client(
    client: TestClient[Any, web.Application],
) -> None:
    too_long = await client.post("/__aimock/chaos", json={"latencyMs": 1e12})
    assert too_long.status == 400 and "300000" in (await too_long.json())["error"]
