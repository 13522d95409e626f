"""A miss forwarded to the real provider: relayed to the client and, in record mode, saved.

The upstream is the provider's base URL (`--provider-<name>`) plus the request's own path and
query; a path prefix in the base URL is kept. The request's headers travel, but for the
hop-by-hop ones, `host`, `content-length`, `cookie`, `accept-encoding` and aimock's own; a
key from `AIMOCK_PROVIDER_<NAME>_KEY` is added only when the caller sent none.

A streamed answer is relayed piece by piece as it arrives (headers at once), in the
upstream's own framing, then decoded and collapsed into one fixture; a client that leaves
mid-stream saves nothing. Any other answer is relayed whole, with the upstream's status: a
2xx becomes a fixture through the surface's `decode`, anything else an error fixture with
the upstream status (a recorded 429 replays as a 429). An unreachable upstream or a timeout
answers 502 in the surface's envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from pydantic import ValidationError

from aimock import auth
from aimock.canonical import CanonicalRequest
from aimock.exchange import Exchange
from aimock.fixtures.compiled import Reply, ReplyError
from aimock.fixtures.loading import SourcedFixture
from aimock.fixtures.matching import recorded_match
from aimock.kube import KubeError
from aimock.models.fixture import Fixture
from aimock.recording import cluster, files
from aimock.recording.options import RecordOptions
from aimock.streaming import eventstream, jsonarray, ndjson, raw, sse
from aimock.surface import ErrorInfo, Event, ProtocolError, RawBody, Surface

log = logging.getLogger("aimock.record")

NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
        "host",
        "content-length",
        "cookie",
        "accept-encoding",
        "x-test-id",
    }
)
# Upstream answer headers not relayed: the transport's own, and the request id (the relayed
# answer carries aimock's, the one its journal entry shows).
NOT_RELAYED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "date",
        "server",
        "x-request-id",
    }
)
DECODERS = {
    "sse": sse.decode,
    "ndjson": ndjson.decode,
    "eventstream": eventstream.decode,
    "json-array": jsonarray.decode,
    "raw": raw.decode,
}
# The headers that carry a client's key to the mock when inbound keys are on.
INBOUND_CREDENTIALS = frozenset({"authorization", *auth.KEY_HEADERS})
CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")
# How a key from AIMOCK_PROVIDER_<NAME>_KEY travels, per provider (Bearer otherwise).
KEY_HEADERS = {"anthropic": "x-api-key", "azure": "api-key", "gemini": "x-goog-api-key"}


class Recorder:
    """Record or proxy mode of one server: its options and its upstream connections. The app
    keeps it under `RECORDER` when a mode is on."""

    def __init__(self, options: RecordOptions) -> None:
        self.options = options
        self._session: aiohttp.ClientSession | None = None
        self.sink = cluster.FixtureSink(options.cluster) if options.cluster else None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(
                total=None,
                sock_connect=self.options.upstream_timeout,
                sock_read=self.options.body_timeout,
            )
            self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=True)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def relay(
        self, exchange: Exchange, surface: Surface, canonical: CanonicalRequest, raw: bytes
    ) -> web.StreamResponse:
        name, base = self.options.upstream(surface.provider)
        if base is None:
            raise ProtocolError(
                ErrorInfo(
                    404,
                    f"No fixture matched and no upstream is set for {name!r} "
                    f"(--provider-{name} URL)",
                    type="invalid_request_error",
                    code="no_fixture_match",
                )
            )
        request = exchange.request
        # With inbound keys on, the client's credential is one of the mock's keys, not the
        # provider's: it stays here, and the provider's own key (if configured) goes instead.
        inbound = exchange.state.settings.api_keys is not None
        target = request.rel_url.without_query_params("key") if inbound else request.rel_url
        url = base.rstrip("/") + str(target)
        started = time.perf_counter()
        exchange.entry.source = "proxy"
        try:
            upstream = await self.session().request(
                request.method,
                url,
                headers=_forwarded(request, name, self.options.keys.get(name), inbound),
                data=raw,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _unreachable(exc) from None
        async with upstream:
            if canonical.stream and surface.stream is not None and upstream.status < 300:
                return await self._relay_stream(
                    exchange, surface, canonical, upstream, started=started, name=name
                )
            try:
                body = await _read_capped(upstream, self.options.max_buffer_bytes)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise _unreachable(exc) from None
        response = web.Response(body=body, status=upstream.status, headers=_relayed(upstream))
        if upstream.status < 300:
            reply = _decoded(surface, body, upstream.content_type)
        else:
            reply = _error_reply(upstream.status, body, upstream.headers.get("retry-after"))
        if reply is None:
            if self.options.mode == "record":
                response.headers["X-AIMock-Record-Error"] = f"{surface.name}: not recordable"
        else:
            if upstream.status < 300:
                _remember(exchange, surface, canonical, lambda: orjson.loads(body))
            await self._record(exchange, canonical, reply, name, None)
        return response

    async def _relay_stream(
        self,
        exchange: Exchange,
        surface: Surface,
        canonical: CanonicalRequest,
        upstream: aiohttp.ClientResponse,
        *,
        started: float,
        name: str,
    ) -> web.StreamResponse:
        framing = surface.framing_for(canonical) if surface.framing_for else surface.framing
        response = web.StreamResponse(status=upstream.status, headers=_relayed(upstream))
        await exchange.prepare(response)
        pieces: list[bytes] = []
        arrivals: list[float] = []
        kept, over = 0, False  # bytes buffered; whether a cap was passed (then: relay only)
        try:
            async for piece in upstream.content.iter_any():
                if not over:
                    kept += len(piece)
                    over = kept > self.options.max_buffer_bytes or (
                        len(pieces) >= self.options.max_buffer_frames
                    )
                    arrivals.append(time.perf_counter())
                    pieces.append(piece)
                    if over:
                        pieces, arrivals = [], []
                        log.warning("upstream stream over the proxy buffer: relayed, not recorded")
                await response.write(piece)
        except (ConnectionResetError, ConnectionError):
            exchange.entry.interrupted = "client_gone"
            return response  # a client gone mid-stream saves nothing
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("upstream stream broke off (%s): nothing recorded", exc)
            exchange.entry.interrupted = "disconnected"
            return response
        # A client that read the whole stream may leave before its end: still recorded.
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        reply = None if over else _collapsed(surface, framing, b"".join(pieces))
        if reply is not None:
            data = b"".join(pieces)
            _remember(
                exchange,
                surface,
                canonical,
                lambda: [Event(event, name) for name, event in DECODERS[framing](data)],
            )
            timings = files.timings_of(arrivals, started)
            await self._record(exchange, canonical, reply, name, timings)
        return response

    async def _record(
        self,
        exchange: Exchange,
        canonical: CanonicalRequest,
        reply: Reply,
        provider: str,
        timings: dict[str, Any] | None,
    ) -> None:
        if self.options.mode != "record":
            return
        if canonical.endpoint == "embedding" and len(canonical.inputs) != 1:
            # A fixture holds one vector: it would answer every input of a batch with it.
            log.warning("not recorded: an embeddings batch of %d inputs", len(canonical.inputs))
            return
        fixture: dict[str, Any] = {
            "match": recorded_match(canonical, full_model=self.options.full_model_version),
            "response": files.response_of(reply),
        }
        if timings is not None:
            fixture["recordedTimings"] = timings
        try:
            model = Fixture.model_validate(fixture)
        except ValidationError as exc:  # a defect of ours: say so, and write nothing
            log.error("recording of %s %s is not a valid fixture: %s", *_where(exchange), exc)
            return
        test_id = exchange.context.test_id
        where = await self._save(fixture, provider, test_id)
        if where is None:
            return
        exchange.entry.source = "recorded"
        log.info("recorded %s %s -> %s", *_where(exchange), where)
        match = fixture["match"]
        if "userMessage" in match or "inputText" in match or "endpoint" in match:
            # Answered from memory at once: the same request is not proxied twice.
            exchange.state.add_runtime([SourcedFixture(model, f"{where}#fixtures[-1]")])

    async def _save(self, fixture: dict[str, Any], provider: str, test_id: str) -> str | None:
        """Write one recording; where it went, or None (logged) when it could not be."""
        if self.sink is not None:
            name = cluster.fixture_name(self.sink.target.stack, provider, test_id)
            try:
                await asyncio.to_thread(self.sink.append, name, fixture)
            except KubeError as exc:
                log.error("cannot write the recording: %s", exc)
                return None
            return f"Fixture {self.sink.target.namespace}/{name}"
        path = files.destination(self.options.directory, provider, test_id, self.options.format)
        try:
            files.save(path, fixture, self.options.format, f"{test_id}-{provider}")
        except OSError as exc:
            log.error("cannot write the recording %s: %s", path, exc)
            return None
        return str(path)


RECORDER = web.AppKey("aimock_recorder", Recorder)


def _where(exchange: Exchange) -> tuple[str, str]:
    return exchange.request.method, exchange.request.path


def _relayed(upstream: aiohttp.ClientResponse) -> list[tuple[str, str]]:
    return [(k, v) for k, v in upstream.headers.items() if k.lower() not in NOT_RELAYED]


def _forwarded(
    request: web.Request, provider: str, key: str | None, inbound: bool = False
) -> list[tuple[str, str]]:
    """The headers relayed upstream: the client's, less the transport's and ours (and, with
    inbound keys on, the credential it gave the mock), plus the provider's key if set."""
    kept = INBOUND_CREDENTIALS if inbound else frozenset()
    headers = [
        (key, value)
        for key, value in request.headers.items()
        if key.lower() not in NOT_FORWARDED
        and not key.lower().startswith("x-aimock-")
        and key.lower() not in kept
    ]
    key = key or os.environ.get(f"AIMOCK_PROVIDER_{provider.upper()}_KEY")
    sent = {name.lower() for name, _ in headers}
    if key and not sent.intersection(CREDENTIAL_HEADERS):
        header = KEY_HEADERS.get(provider)
        headers.append((header, key) if header else ("Authorization", f"Bearer {key}"))
    return headers


async def _read_capped(upstream: aiohttp.ClientResponse, cap: int) -> bytes:
    """A plain upstream body, refused (502) past `cap` bytes: it must be held whole to be
    relayed."""
    parts: list[bytes] = []
    size = 0
    async for piece in upstream.content.iter_any():
        size += len(piece)
        if size > cap:
            raise ProtocolError(
                ErrorInfo(
                    502,
                    f"Proxy to upstream failed: its answer is over {cap} bytes "
                    "(--max-proxy-buffer-bytes)",
                    type="proxy_error",
                    code="proxy_error",
                )
            )
        parts.append(piece)
    return b"".join(parts)


def _unreachable(exc: BaseException) -> ProtocolError:
    reason = str(exc) or type(exc).__name__
    return ProtocolError(
        ErrorInfo(
            502, f"Proxy to upstream failed: {reason}", type="proxy_error", code="proxy_error"
        )
    )


def _remember(
    exchange: Exchange, surface: Surface, canonical: CanonicalRequest, answer: Callable[[], Any]
) -> None:
    """A relayed answer kept as the mock keeps its own (the surface's `remember`: stored
    Responses), so a later request continuing it is matched, and recorded, with the whole
    conversation."""
    if surface.remember is None:
        return
    try:
        surface.remember(canonical, answer(), exchange.state)
    except Exception as exc:  # an upstream answer of a shape the surface does not keep
        log.warning("cannot keep the upstream answer of %s: %s", surface.name, exc)


def _decoded(surface: Surface, body: bytes, content_type: str) -> Reply | None:
    if surface.decode is None:
        return None
    try:
        if "json" not in content_type:  # audio, a transcript as text or subtitles
            return surface.decode(RawBody(body, content_type))
        return surface.decode(orjson.loads(body))
    except (orjson.JSONDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("cannot read the upstream answer of %s: %s", surface.name, exc)
        return None


def _collapsed(surface: Surface, framing: str, data: bytes) -> Reply | None:
    if surface.collapse is None:
        return None
    try:
        return surface.collapse(DECODERS[framing](data))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("cannot collapse the upstream stream of %s: %s", surface.name, exc)
        return None


def _error_reply(status: int, body: bytes, retry_after: str | None) -> Reply:
    """An upstream error as an error reply: the message, type and code its body gives."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None
    error = document.get("error") if isinstance(document, dict) else None
    details = error if isinstance(error, dict) else document if isinstance(document, dict) else {}
    message = details.get("message") or (error if isinstance(error, str) else None)
    if not isinstance(message, str) or not message:
        message = body.decode(errors="replace")[:500] or f"upstream answered {status}"
    kind, code = details.get("type"), details.get("code")
    try:
        retry = float(retry_after) if retry_after is not None else None
    except ValueError:
        retry = None
    return Reply(
        kind="error",
        error=ReplyError(
            status,
            message,
            kind if isinstance(kind, str) else None,
            None,
            str(code) if code is not None else None,
            retry,
            None,
        ),
    )
