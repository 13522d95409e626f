"""Record mode: a run no fixture matches forwarded to the real agent, relayed as it arrives,
and saved in AIMock's recording shape."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web
from pydantic import ValidationError

from aimock import ids
from aimock.exchange import Exchange
from aimock.models.services.agui import AguiFixture, AguiRecord
from aimock.services.agui.run import ERRORS, Agent, AguiService, Json, RunInput, compiled
from aimock.streaming import pacing, sse
from aimock.surface import ErrorInfo
from aimock.wire import error_response

# Request headers not forwarded upstream: the transport's own, and aimock's.
NOT_FORWARDED = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
        "accept-encoding",
        "content-encoding",
        "cookie",
        "x-test-id",
        "x-request-id",
    }
)
# The most of one upstream stream kept to record it (AIMock's default cap): past it the stream
# is still relayed whole, but not recorded.
MAX_RECORDED_BYTES = 64 * 1024 * 1024
# The recorded runs an agent answers from memory at most (the oldest go first; files stay).
MAX_RECORDINGS = 10_000
log = logging.getLogger("aimock.agui")


def _forwarded(request: web.Request) -> dict[str, str]:
    headers = {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in NOT_FORWARDED and not name.lower().startswith("x-aimock-")
    }
    headers["Content-Type"] = "application/json"
    headers["Accept"] = "text/event-stream"
    return headers


def _unreachable(exchange: Exchange, why: str) -> web.Response:
    exchange.entry.source = "proxy"
    info = ErrorInfo(502, f"Upstream AG-UI agent unreachable: {why}", code="upstream_error")
    return error_response(ERRORS, info)


async def relay(
    exchange: Exchange, service: AguiService, agent: Agent, raw: bytes, run: RunInput
) -> web.StreamResponse:
    """A missed run forwarded to the real agent: its answer relayed to the client as it
    arrives (status and content type kept), and a whole 2xx event stream saved as a fixture
    (unless proxy-only) that answers the next such run at once."""
    request, entry = exchange.request, exchange.entry
    record = agent.record
    assert record is not None
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=record.timeout_seconds, sock_read=record.timeout_seconds
    )
    kept = bytearray()
    over = False
    response: web.StreamResponse | None = None
    try:
        async with service.session().post(
            record.upstream, data=raw, headers=_forwarded(request), timeout=timeout
        ) as upstream:
            content_type = upstream.headers.get("Content-Type", "application/json")
            response = web.StreamResponse(
                status=upstream.status,
                headers={"Content-Type": content_type, "Cache-Control": "no-cache"},
            )
            await exchange.prepare(response)
            entry.status, entry.response_type, entry.source = upstream.status, content_type, "proxy"
            try:
                async for piece in upstream.content.iter_any():
                    if not over and len(kept) + len(piece) > MAX_RECORDED_BYTES:
                        over = True
                        kept.clear()
                    elif not over:
                        kept.extend(piece)
                    await response.write(piece)
                # Saved before the stream's end reaches the client: once its run is over, the
                # recording is there (and answers the next run).
                entry.response_body = None if over else bytes(kept)
                streamed = content_type.startswith(sse.CONTENT_TYPE)
                if 200 <= upstream.status < 300 and streamed and not over and not record.proxy_only:
                    _remember(service, agent, record, run, bytes(kept))
                await response.write_eof()
            except ConnectionError:
                entry.interrupted = "client_gone"
                return response
    except (aiohttp.ClientError, TimeoutError) as exc:
        if response is None:
            return _unreachable(exchange, str(exc) or type(exc).__name__)
        # The upstream failed mid-stream: so does the client's run, as it would have.
        entry.interrupted = "disconnected"
        pacing.abort(request)
        return response
    return response


def recorded_fixture(run: RunInput, stream: bytes) -> Json | None:
    """An upstream's event stream as a fixture in AIMock's file shape, keyed as AIMock keys
    it: the tool call whose result ends the conversation, else the last user message (a
    substring match); None when the stream holds no event, or the run has neither key."""
    events = [
        payload
        for _, payload in sse.decode(stream)
        if isinstance(payload, dict) and isinstance(payload.get("type"), str)
    ]
    call, text = run.last_tool_call_id(), run.user_text
    if not events or (call is None and not text):
        return None
    match = {"toolCallId": call} if call is not None else {"message": text}
    return {"match": match, "events": events}


def _remember(
    service: AguiService, agent: Agent, record: AguiRecord, run: RunInput, stream: bytes
) -> None:
    saved = recorded_fixture(run, stream)
    if saved is None:
        log.warning("AG-UI run relayed, not recorded: no events, or no user message to key it")
        return
    try:
        fixture = AguiFixture.model_validate(saved)
    except ValidationError as exc:
        log.warning("AG-UI run relayed, not recorded: its stream is not AG-UI: %s", exc)
        return
    kept = service.recorded.setdefault(agent.endpoint, [])
    kept.append(compiled(fixture))
    del kept[:-MAX_RECORDINGS]  # a client sending new runs without end cannot grow it so
    folder = Path(record.fixture_path)
    name = f"agui-{time.strftime('%Y-%m-%dT%H-%M-%S')}-{ids.hex_id(8)}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(orjson.dumps({"fixtures": [saved]}, option=orjson.OPT_INDENT_2))
    except OSError as exc:
        log.error("AG-UI recording kept in memory, not saved to %s: %s", folder, exc)
        return
    log.warning("AG-UI run recorded -> %s", folder / name)
