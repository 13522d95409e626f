"""The fast lane: an LLM surface's answer computed in one synchronous step, for the front
protocol (`aimock.http1`) to write without aiohttp's web layer.

It takes a request only when nothing on the full path (`pipeline.answer`) could make that
request go elsewhere or end early: no recorder (a miss would go upstream), no chaos that could
strike it (server rates for its test, an active ChaosPolicy, a chaos header), and a fixture set
whose every answer goes out whole (`FixtureIndex.uncut`: no truncation or disconnect, no
fixture chaos). Those it declines go to aiohttp untouched; nothing is decided before that
check, so a declined request has no side effect here. An answer with pacing (a profile,
latency, recorded timings) is computed at once as well, then written over time by `Paced`: the
stream through `pacing.send_paced` in HTTP/1.1 chunks, a whole answer after its first-byte
wait; the connection's next request waits for it.

What it answers is what the full path answers: the same pipeline steps (`pipeline.begin`,
`unanswered`, `rendered`, `streamed`), the same error envelopes, journal entry, metrics and log
line (`exchange.finish`), the same headers (CORS and `x-request-id` from `exchange`, then
Content-Length or chunked framing, Date and Server as aiohttp writes them). A stream with
instant physics is the same bytes `pacing.stream` writes for it, in one chunk.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import yarl
from aiohttp import hdrs, web
from aiohttp.http import SERVER_SOFTWARE
from multidict import CIMultiDict, MultiDict, MultiDictProxy

from aimock import chaos, pipeline
from aimock.canonical import RequestContext
from aimock.exchange import (
    CORS,
    Miss,
    Route,
    context_of,
    finish,
    miss_info,
    new_request_id,
    open_entry,
    stamp_headers,
    strict_for,
)
from aimock.fixtures.compiled import Physics
from aimock.http1 import After, Answer, Head, Line
from aimock.journal import Entry
from aimock.recording.proxy import RECORDER
from aimock.state import STATE, ServerState
from aimock.streaming import pacing
from aimock.surface import ErrorInfo, ProtocolError, RenderOptions, Surface
from aimock.wire import JSON_TYPE, error_response

log = logging.getLogger("aimock.server")

# The surface behind each route handler, set by `app.create_app`.
SURFACES: web.AppKey[dict[object, Surface]] = web.AppKey("aimock_lane_surfaces", dict)
# Routes resolved (method, target path) -> the surface and its path parameters, or None when
# the lane does not serve the path; cleared when it reaches this many (paths name models).
RESOLVED_MAX = 4096
NO_QUERY: MultiDictProxy[str] = MultiDictProxy(MultiDict())
LAST = b"0\r\n\r\n"  # the last chunk of a chunked body
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Spot = tuple[Surface, Route, dict[str, str]]
Settled = web.Response | pipeline.Streamed | pipeline.Rendered
_PHRASES = {status.value: status.phrase for status in HTTPStatus}  # as aiohttp names them
# A plain JSON answer's head up to its request id, with and without CORS (`exchange.stamp`).
_PLAIN_HEAD = {
    cors: "\r\n".join(
        [
            "HTTP/1.1 200 OK",
            f"Content-Type: {JSON_TYPE}",
            *(f"{name}: {value}" for name, value in (CORS.items() if cors else ())),
            "",
        ]
    )
    for cors in (False, True)
}


class FastLane:
    """The lane of one application (see the module's docstring)."""

    def __init__(self, app: web.Application, *, secure: bool = False) -> None:
        self._app = app
        self._secure = secure  # it serves over TLS (answers' own URLs say https)
        self._state = app[STATE]
        self._surfaces = app[SURFACES]
        self._recording = app.get(RECORDER) is not None
        self._resolved: dict[tuple[str, str], Spot | None] = {}
        self._index: dict[str, list[Any]] | None = None  # resources by index key, built once
        self._date = (0, b"")

    @property
    def state(self) -> ServerState:
        return self._state

    @property
    def max_body(self) -> int:
        return self._state.settings.max_body_bytes

    def route(self, head: Head) -> Spot | None:
        if self._recording:
            return None
        return self._spot(head.method, head.target.partition("?")[0])

    def answer(self, spot: Spot, head: Head, body: bytes) -> Answer | None:
        state = self._state
        if not state.index.uncut:
            return None
        surface, route, _ = spot
        query_string = head.target.partition("?")[2]
        query = (
            yarl.URL.build(query_string=query_string, encoded=True).query
            if query_string
            else NO_QUERY
        )
        context = context_of(head.headers, query, secure=self._secure)
        keys = state.settings.api_keys
        if keys is not None and keys.refusal(head.headers, query) is not None:
            return None  # the full path refuses it, in the provider's words
        server_rates = state.chaos_for(context.test_id)
        if not chaos.quiet(head.headers, None, server_rates, state.chaos_policies):
            return None

        started = time.perf_counter()
        request_id = new_request_id()
        entry = open_entry(head.method, head.target, context, route, request_id)
        raw: bytes | None = None  # the body, once read (the full path reads it when served)
        physics: Physics | None = None  # how the answer is paced; None: at once
        try:
            pipeline.check_served(state, surface)
            raw = body
            response, physics = _settle(state, spot, context, entry, head=head, body=body)
        except ProtocolError as exc:
            response = error_response(route.errors, exc.info)
        except Miss as miss:
            response = error_response(route.errors, miss_info(miss, strict_for(state, context)))
        except Exception:
            response = _defect(route, head)
        if physics is not None and not physics.is_instant:
            paced = Paced(self, response, physics, route, head, request_id, entry, started, raw)
            if isinstance(response, pipeline.Streamed):
                return Answer(paced.stream_head(), rest=paced.stream)
            return Answer(b"", rest=paced.whole)
        data, status, close = self.whole_bytes(response, route, request_id, entry, head)
        finish(state, route, entry, status=status, matched=False, started=started, raw=raw)
        return Answer(data, close)

    def whole_bytes(
        self, response: Settled, route: Route, request_id: str, entry: Entry, head: Head
    ) -> tuple[bytes, int, bool]:
        try:
            return self._bytes(response, route, request_id, entry, head.close)
        except Exception:  # a header aiohttp would refuse to write, say
            return self._bytes(_defect(route, head), route, request_id, entry, head.close)

    def _bytes(
        self, response: Settled, route: Route, request_id: str, entry: Entry, asked_close: bool
    ) -> tuple[bytes, int, bool]:
        """The whole HTTP response, its status, and whether the connection closes after it
        (the client asked, or the answer says so); the journal entry keeps its body and type,
        as `exchange` keeps them."""
        if isinstance(response, pipeline.Rendered):
            body, content_type = response.body, response.content_type
            entry.response_body, entry.response_type = body, content_type
            if response.headers is None and content_type == JSON_TYPE:  # the common case
                lines = [_PLAIN_HEAD[route.cors] + f"x-request-id: {request_id}"]
            else:
                headers = CIMultiDict(response.headers or {})
                headers.setdefault(hdrs.CONTENT_TYPE, content_type)
                lines = _status_and_headers(200, headers, route, request_id)
            lines.append(f"Content-Length: {len(body)}")
            return self._head_bytes(lines, asked_close) + body, 200, asked_close
        if isinstance(response, pipeline.Streamed):
            body = pacing.whole(response.events, response.framing)
            entry.response_body = body
            chunk = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
            stream_head = self.stream_head(response, route, request_id, entry, asked_close)
            return stream_head + chunk + LAST, 200, asked_close
        whole = response.body
        assert isinstance(whole, bytes)
        entry.response_body, entry.response_type = whole, response.content_type
        headers = response.headers
        close = response.keep_alive is False
        if close:
            headers[hdrs.CONNECTION] = "close"
        lines = _status_and_headers(response.status, headers, route, request_id)
        lines.append(f"Content-Length: {len(whole)}")
        head = self._head_bytes(lines, asked_close and not close)
        return head + whole, response.status, close or asked_close

    def stream_head(
        self,
        response: pipeline.Streamed,
        route: Route,
        request_id: str,
        entry: Entry,
        asked_close: bool,
    ) -> bytes:
        """A stream's status line and headers (chunked); the entry keeps its media type."""
        if response.own_headers is None:  # the common case, as for a whole answer
            prefix = _stream_head(response.framing, route.cors)
            lines = [prefix + f"x-request-id: {request_id}"]
        else:
            headers = CIMultiDict(response.headers)
            lines = _status_and_headers(200, headers, route, request_id)
        lines.append("Transfer-Encoding: chunked")
        # The media type alone, as aiohttp's `content_type` gives it on the full path.
        entry.response_type = response.headers["Content-Type"].partition(";")[0]
        return self._head_bytes(lines, asked_close)

    def _head_bytes(self, lines: list[str], close: bool) -> bytes:
        """The head: `lines`, then Date and Server, then `Connection: close` when `close` (in
        aiohttp's order)."""
        head = "\r\n".join(lines)
        breaks = head.count("\r\n")
        if head.count("\n") != breaks or head.count("\r") != breaks:
            # aiohttp refuses to write such a header too: never split a response.
            raise ValueError("a header holds a line break")
        tail = self._date_and_server()
        if close:
            tail = tail[:-2] + b"Connection: close\r\n\r\n"
        return head.encode("utf-8") + tail

    def _date_and_server(self) -> bytes:
        now = int(time.time())
        if self._date[0] != now:
            t = time.gmtime(now)
            date = (
                f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
            )
            tail = f"\r\nDate: {date}\r\nServer: {SERVER_SOFTWARE}\r\n\r\n"
            self._date = (now, tail.encode("ascii"))
        return self._date[1]

    def _spot(self, method: str, path: str) -> Spot | None:
        key = (method, path)
        try:
            return self._resolved[key]
        except KeyError:
            pass
        if len(self._resolved) >= RESOLVED_MAX:
            self._resolved.clear()
        spot = self._resolved[key] = self._resolve(method, path)
        return spot

    def _candidates(self, path: str) -> Iterator[Any]:
        """The resources that may serve `path`, in the order aiohttp's router tries them: by
        the fixed part of their path, the longest prefix of `path` first, then in
        registration order (`UrlDispatcher.resolve`)."""
        if self._index is None:
            self._index = {}
            for resource in self._app.router.resources():
                self._index.setdefault(_index_key(resource.canonical), []).append(resource)
        part = path
        while part:
            yield from self._index.get(part, ())
            if part == "/":
                return
            part = part.rpartition("/")[0] or "/"

    def _resolve(self, method: str, path: str) -> Spot | None:
        """The surface serving `method path`, found as aiohttp's router finds its handler:
        the first candidate whose path matches and that takes the method."""
        for resource in self._candidates(path):
            try:
                match = _match(resource.get_info(), path)
            except _Elsewhere:
                return None
            if match is None:
                continue
            for route in resource:
                if route.method in (method, hdrs.METH_ANY):
                    surface = self._surfaces.get(route.handler)
                    if surface is None or surface.body != "json":  # uploads go the full path
                        return None
                    return surface, pipeline.route_of(surface), match
        return None


def _settle(
    state: ServerState,
    spot: Spot,
    context: RequestContext,
    entry: Entry,
    *,
    head: Head,
    body: bytes,
) -> tuple[Settled, Physics | None]:
    """`pipeline.answer`'s steps, for a request whose answer is never cut short; with the
    physics that pace it (None: it goes out at once, as a miss or a refusal does)."""
    surface, _, match_info = spot
    begun = pipeline.begin(
        state, surface, context, entry, match_info=match_info, raw=body, method=head.method
    )
    if isinstance(begun, web.Response):
        return begun, None
    canonical, selection = begun
    compiled = selection.compiled
    physics = compiled.physics if compiled else state.index.default_physics
    reply = selection.reply or pipeline.unanswered(
        surface,
        canonical,
        selection,
        entry,
        strict=strict_for(state, context),
        index=state.index,
        state=state,
    )
    if reply.kind == "error":
        return pipeline.error_reply(surface, reply), physics
    options = RenderOptions(chunk_size=physics.chunk_size)
    if canonical.stream and surface.stream is not None:
        return pipeline.streamed(surface, canonical, reply, options, state), physics
    return pipeline.rendered(surface, canonical, reply, options, state), physics


@dataclass(slots=True)
class Paced:
    """An answer the lane writes over time, as the full path would: a stream paced by
    `pacing.send_paced` in HTTP/1.1 chunks, or a whole answer after its first-byte wait. The
    request ends (journal entry, metrics, log line) when the answer is out or the client is
    gone."""

    lane: FastLane
    response: Settled
    physics: Physics
    route: Route
    head: Head
    request_id: str
    entry: Entry
    started: float
    raw: bytes | None

    def stream_head(self) -> bytes:
        response = self.response
        assert isinstance(response, pipeline.Streamed)
        self.entry.status = 200
        return self.lane.stream_head(
            response, self.route, self.request_id, self.entry, self.head.close
        )

    async def stream(self, line: Line) -> After:
        response = self.response
        assert isinstance(response, pipeline.Streamed)
        entry, written = self.entry, bytearray()

        async def send(data: bytes) -> None:
            if data:
                await line.send(b"%x\r\n%b\r\n" % (len(data), data))

        outcome: pacing.Outcome = "client_gone"
        try:
            outcome = await pacing.send_paced(
                send,
                line.cut,
                response.events,
                self.physics,
                framing=response.framing,
                record=written,
            )
            if outcome == "complete":
                try:
                    await line.send(LAST)
                except ConnectionError:
                    outcome = "client_gone"
        finally:  # a defect of ours included: the request still ends in the journal
            entry.response_body = bytes(written)
            if outcome != "complete":
                entry.interrupted = outcome
            self._finish(200)
        if outcome != "complete":
            return "cut"
        return "close" if self.head.close else "open"

    async def whole(self, line: Line) -> After:
        await pacing.wait_first_byte(self.physics)
        entry = self.entry
        data, status, close = self.lane.whole_bytes(
            self.response, self.route, self.request_id, entry, self.head
        )
        try:
            await line.send(data)
        except ConnectionError:
            entry.interrupted = "client_gone"
            self._finish(None)
            return "cut"
        self._finish(status)
        return "close" if close else "open"

    def _finish(self, status: int | None) -> None:
        finish(
            self.lane.state,
            self.route,
            self.entry,
            status=status,
            matched=False,
            started=self.started,
            raw=self.raw,
        )


@functools.cache
def _stream_head(framing: str, cors: bool) -> str:
    """A stream's head up to its request id, when its surface adds no headers."""
    lines = [
        "HTTP/1.1 200 OK",
        *(f"{name}: {value}" for name, value in pipeline.stream_headers(framing).items()),
        *(f"{name}: {value}" for name, value in (CORS.items() if cors else ())),
    ]
    return "\r\n".join(lines) + "\r\n"


def _status_and_headers(
    status: int, headers: CIMultiDict[str], route: Route, request_id: str
) -> list[str]:
    stamp_headers(headers, route, request_id)
    lines = [f"HTTP/1.1 {status} {_PHRASES.get(status, '')}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return lines


def _defect(route: Route, head: Head) -> web.Response:
    """A fault of ours: answered in the caller's protocol, the evidence in the log."""
    log.exception("internal error serving %s %s", head.method, head.target)
    info = ErrorInfo(500, "aimock internal error; see the server log", type="server_error")
    return error_response(route.errors, info)


def _index_key(canonical: str) -> str:
    """A resource's key in the router's index: its path up to the segment holding its first
    variable (as aiohttp keys it)."""
    if "{" in canonical:
        canonical = canonical.partition("{")[0].rpartition("/")[0]
    return canonical.rstrip("/") or "/"


def _match(info: Mapping[str, object], path: str) -> dict[str, str] | None:
    """A resource's path parameters for `path`, or None when it does not match."""
    if "path" in info:
        return {} if info["path"] == path else None
    pattern = info.get("pattern")
    if pattern is not None:
        found = pattern.fullmatch(path)  # type: ignore[attr-defined]
        return None if found is None else found.groupdict()
    prefix = info.get("prefix")
    if isinstance(prefix, str) and path.startswith(prefix):
        raise _Elsewhere  # a sub-application or static files: never a surface
    return None


class _Elsewhere(Exception):
    """The path belongs to a resource the lane never serves."""
