"""The control API under `/__aimock/`, on AIMock's paths so its clients keep working.

Ours on top: a hash of the loaded set in health, journal filters, reload, a fixture listing.
With `AIMOCK_ADMIN_TOKEN` set, every control route but health requires it (Bearer or
`X-AIMock-Admin-Token`), the legacy `/v1/_requests` journal included; probes and `/metrics`
stay open.

Every control route answers through the request path (`exchange.serve`) as the `control`
surface: request id, metrics and a log line (at DEBUG: probes come every few seconds), but
never chaos, and no journal entry (reading the journal must not change it).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from aimock import __version__, families, guard, journal_page, reloading, wire
from aimock.canonical import DEFAULT_TEST_ID
from aimock.exchange import Exchange, Route
from aimock.exchange import serve as on_request_path
from aimock.fixtures.loading import LoadError, SourcedFixture, validation_problems
from aimock.models.base import first_problem
from aimock.models.fixture import ChaosRates, Fixture
from aimock.services.registry import SERVICES
from aimock.state import STATE, OneShotError, ServerState
from aimock.surface import ErrorDialect, ErrorInfo, ProtocolError
from aimock.wire import json_response

PREFIX = "/__aimock"
LEGACY_JOURNAL = "/v1/_requests"


def _state(request: web.Request) -> ServerState:
    return request.app[STATE]


def _health_body(state: ServerState) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "fixtures": len(state.index),
        "fixturesHash": state.index.digest,
        "files": len(state.loaded.files),
        "configHash": state.loaded.config_hash,
        "strict": state.strict,
    }


async def health(request: web.Request) -> web.Response:
    return json_response(_health_body(_state(request)))


async def ready(request: web.Request) -> web.Response:
    del request
    return json_response({"status": "ready"})


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() in ("1", "true", "yes")


def _int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ProtocolError(
            ErrorInfo(400, f"query parameter {name!r} must be an integer")
        ) from None


async def journal(request: web.Request) -> web.Response:
    q = request.query
    entries = _state(request).journal.query(
        surface=q.get("surface"),
        provider=q.get("provider"),
        model=q.get("model"),
        status=_int(request, "status"),
        matched=_flag(q.get("matched")),
        test_id=q.get("testId"),
        since=_int(request, "since"),
        limit=_int(request, "limit"),
    )
    return json_response([e.to_json() for e in entries])


async def list_fixtures(request: web.Request) -> web.Response:
    state = _state(request)
    return json_response(
        {
            "count": len(state.index),
            "fixturesHash": state.index.digest,
            "fixtures": [
                {
                    "source": e.source,
                    "fixture": e.fixture.model_dump(mode="json", by_alias=True, exclude_none=True),
                    "hits": state.fixture_hits[e.source],
                }
                for e in state.index.entries
            ],
        }
    )


async def add_fixtures(request: web.Request) -> web.Response:
    body = await _body(request)
    items = body.get("fixtures") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return json_response({"error": 'Missing or invalid "fixtures" array'}, 400)
    state = _state(request)
    added: list[SourcedFixture] = []
    details: list[dict[str, Any]] = []
    base = state.runtime_added
    for i, item in enumerate(items):
        try:
            fixture = Fixture.model_validate(item)
        except ValidationError as exc:
            details.extend(
                {
                    "severity": "error",
                    "fixtureIndex": i,
                    "field": problem.field,
                    "message": f"{problem.field or 'fixture'}: {problem.reason}",
                }
                for problem in validation_problems(exc, "api")
            )
            continue
        added.append(SourcedFixture(fixture, f"api#fixtures[{base + i}]"))
    if details:
        return json_response({"error": "Validation failed", "details": details}, 400)
    state.add_runtime(added)
    return json_response({"added": len(added), "fixtures": len(state.index)})


async def clear_fixtures(request: web.Request) -> web.Response:
    _state(request).clear_fixtures()
    return json_response({"cleared": True})


async def reset(request: web.Request) -> web.Response:
    for service in SERVICES:  # MCP sessions and the like end with the rest of the run
        service.reset(request.app)
    error = await reloading.full_reset(_state(request))
    if error is not None:
        return _load_error(error)
    return json_response({"reset": True})


async def reset_fixtures(request: web.Request) -> web.Response:
    error = await reloading.full_reset(_state(request))
    if error is not None:
        return _load_error(error)
    return json_response(
        {"reset": True, "deprecated": True, "deprecation": f"use POST {PREFIX}/reset"},
        headers={"Deprecation": "true"},
    )


async def reset_journal(request: web.Request) -> web.Response:
    _state(request).journal.clear()
    return json_response({"reset": True})


async def reset_counts(request: web.Request) -> web.Response:
    test_id = request.query.get("testId")
    _state(request).match_state.reset([test_id] if test_id else None)
    return json_response({"reset": True})


async def queue_error(request: web.Request) -> web.Response:
    body = await _body(request)
    if not isinstance(body, dict):
        return json_response({"error": "expected a JSON object"}, 400)
    given = body.get("body")
    inner: dict[str, Any] = given if isinstance(given, dict) else {}
    status = body.get("status", 500)
    if not isinstance(status, int) or not 100 <= status <= 599:
        return json_response({"error": "status must be an integer between 100 and 599"}, 400)
    code = inner.get("code")
    if (code is not None and not isinstance(code, str | int)) or isinstance(code, bool):
        return json_response({"error": "body.code must be a string or an integer"}, 400)
    _state(request).one_shot_errors.append(
        OneShotError(
            status=status,
            message=str(inner.get("message", "Injected error")),
            type=str(inner.get("type", "server_error")),
            code=None if code is None else str(code),
        )
    )
    return json_response({"queued": True})


async def _body(request: web.Request) -> Any:
    """The request's JSON body ({} when empty), under the server's size and depth limits;
    a bad one is a 400 in the control envelope."""
    limit = _state(request).settings.max_body_bytes
    return wire.parse_json(await wire.read_body(request, limit), "GET")


def _chaos_body(state: ServerState, test_id: str) -> dict[str, Any]:
    override = state.chaos_overrides.get(test_id)
    rates = override if override is not None else state.server_chaos
    return {
        "testId": test_id,
        "scope": "test" if override is not None else "server",
        "chaos": rates.model_dump(by_alias=True) if rates is not None else None,
        "seed": state.chaos_seed,
        # ChaosPolicies in force (stack manifests), whoever the test.
        "policies": [
            {
                "name": policy.name,
                "surface": policy.surface,
                "provider": policy.provider,
                "model": policy.model,
                "rates": policy.rates.model_dump(by_alias=True, exclude_none=True),
            }
            for policy in state.chaos_policies
        ],
    }


async def get_chaos(request: web.Request) -> web.Response:
    """The chaos in force for the caller's test id (`X-Test-Id`)."""
    return json_response(_chaos_body(_state(request), _test_id(request)))


async def set_chaos(request: web.Request) -> web.Response:
    """Chaos for the caller's test id only, replacing the server's rates for its requests
    (AIMock's rule: a scoped config replaces the baseline wholesale, it is not merged)."""
    body = await _body(request)
    try:
        rates = ChaosRates.model_validate(body)
    except ValidationError as exc:
        location, message = first_problem(exc)
        return json_response({"error": f"{location or 'body'}: {message}"}, 400)
    state, test_id = _state(request), _test_id(request)
    state.chaos_overrides[test_id] = rates
    return json_response(_chaos_body(state, test_id))


async def clear_chaos(request: web.Request) -> web.Response:
    state, test_id = _state(request), _test_id(request)
    state.chaos_overrides.pop(test_id, None)
    return json_response(_chaos_body(state, test_id))


def _test_id(request: web.Request) -> str:
    return request.headers.get("X-Test-Id") or request.query.get("testId") or DEFAULT_TEST_ID


async def reload(request: web.Request) -> web.Response:
    state = _state(request)
    error = await reloading.reload(state)
    if error is not None:
        return _load_error(error)
    return json_response({"reloaded": True, **_health_body(state)})


def _load_error(error: LoadError) -> web.Response:
    return json_response(
        {
            "error": "Fixtures failed to load; the previous set is still serving",
            "details": [
                {"file": p.file, "field": p.field, "line": p.line, "message": p.reason}
                for p in error.problems
            ],
        },
        400,
    )


async def legacy_requests(request: web.Request) -> web.Response:
    raw = request.query.get("limit")
    entries = list(_state(request).journal)
    if raw is not None:
        if not raw.isdigit():
            return json_response({"error": "limit must be a non-negative integer"}, 400)
        entries = entries[-int(raw) :] if int(raw) else []
    return json_response([e.to_json() for e in entries])


async def legacy_clear(request: web.Request) -> web.Response:
    _state(request).journal.clear()
    return web.Response(status=204)


async def metrics(request: web.Request) -> web.Response:
    state = _state(request)
    return web.Response(
        body=state.metrics.render(), headers={"Content-Type": state.metrics.content_type}
    )


async def unknown(request: web.Request) -> web.Response:
    return json_response({"error": f"Unknown control endpoint: {request.path}"}, 404)


def is_control_path(path: str) -> bool:
    return path.startswith(PREFIX) or path == LEGACY_JOURNAL or path in guard.OPEN_PATHS


def _refusal(request: web.Request) -> ErrorInfo | None:
    """Why this control request may not go on, if it may not (see `aimock.guard`)."""
    path = request.path
    if path in guard.OPEN_PATHS:
        return None
    settings, options = request.app[STATE].settings, request.app[STATE].options
    headers = request.headers
    loopback = guard.is_loopback(options.host)
    token = settings.admin_token
    refused = guard.cross_origin(headers)
    if refused is None and token and path in journal_page.PATHS:
        return None  # the page holds no data; each call it makes needs the token
    if refused is None and token:
        # The token is the proof: a rebinding page cannot send it, so the Host is not checked
        # (a proxy in front, such as the API server's pod proxy, names the pod's address).
        refused = _unauthorised(headers, token)
    elif refused is None:
        refused = guard.foreign_host(headers, loopback) or guard.tokenless(
            loopback, options.open_control
        )
    return refused or guard.undeclared_body(request.method, headers, request.can_read_body)


def _unauthorised(headers: Mapping[str, str], token: str) -> ErrorInfo | None:
    """The 401 for a control request without the admin token."""
    given = headers.get("X-AIMock-Admin-Token", "")
    auth = headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        given = given or auth[7:]
    if hmac.compare_digest(given.encode("utf-8", "replace"), token.encode()):
        return None
    return ErrorInfo(
        401,
        "The control API requires the admin token (AIMOCK_ADMIN_TOKEN)",
        type="unauthorized",
        code="admin_token_required",
        metadata={"WWW-Authenticate": 'Bearer realm="aimock"'},
    )


def _error_body(info: ErrorInfo) -> dict[str, Any]:
    return {"error": info.message}


def _error_headers(info: ErrorInfo) -> dict[str, str]:
    # A 401 says how to authenticate; the challenge rides in the error's metadata.
    return dict(info.metadata or {}) if info.status == 401 else {}


ROUTE = Route(
    "control",
    "aimock",
    ErrorDialect(body=_error_body, headers=_error_headers),
    chaos="never",
    journal=False,
    cors=False,
    log_level=logging.DEBUG,
    guarded=False,  # its own token guards it; probes stay open
)
ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _on_path(handler: ControlHandler) -> ControlHandler:
    async def answer(exchange: Exchange) -> web.StreamResponse:
        refused = _refusal(exchange.request)
        if refused is not None:
            raise ProtocolError(refused)
        return await handler(exchange.request)

    async def serve(request: web.Request) -> web.StreamResponse:
        return await on_request_path(request, ROUTE, answer)

    return serve


def add_routes(app: web.Application) -> None:
    r = app.router
    for method, path, handler in (
        ("GET", "/health", health),
        ("GET", "/ready", ready),
        ("GET", "/metrics", metrics),
        ("GET", f"{PREFIX}/health", health),
        ("GET", f"{PREFIX}/journal", journal),
        ("GET", f"{PREFIX}/fixtures", list_fixtures),
        ("POST", f"{PREFIX}/fixtures", add_fixtures),
        ("DELETE", f"{PREFIX}/fixtures", clear_fixtures),
        ("POST", f"{PREFIX}/reset", reset),
        ("POST", f"{PREFIX}/reset/journal", reset_journal),
        ("POST", f"{PREFIX}/reset/fixtures", reset_fixtures),
        ("POST", f"{PREFIX}/reset/counts", reset_counts),
        ("POST", f"{PREFIX}/error", queue_error),
        ("POST", f"{PREFIX}/reload", reload),
        ("GET", f"{PREFIX}/chaos", get_chaos),
        ("POST", f"{PREFIX}/chaos", set_chaos),
        ("DELETE", f"{PREFIX}/chaos", clear_chaos),
        *(("GET", path, journal_page.page) for path in journal_page.PATHS),
        ("GET", LEGACY_JOURNAL, legacy_requests),
        ("DELETE", LEGACY_JOURNAL, legacy_clear),
        ("*", PREFIX + "/{tail:.*}", unknown),
    ):
        r.add_route(method, path, _on_path(handler))
        families.add_family(app, path, ROUTE)  # a wrong method there answers as control
