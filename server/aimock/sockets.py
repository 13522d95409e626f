"""WebSocket surfaces on the one request path.

The upgrade is a request like any other (`exchange.serve`: its id, metrics and log line when
the socket ends; journaled when it is refused, not once accepted, since nothing was asked
yet). On the open socket a provider's `Session` reads each client frame, and every answer it
gives is a `Turn`: an exchange of its own, with a journal entry (method "WS", the upgrade's
path and headers), chaos rolled with the fixture's rates, strict mode, metrics and a log
line, as an HTTP request gets. Frames that cannot be read (not JSON, binary, nested too
deep, too large) are told to the client in the surface's own way (`SocketSurface.report`) and
journaled as failed turns.

Chaos on a socket: drop, rate limit and overload are told as the protocol's errors, malformed
sends a frame that is not JSON, disconnect drops the connection without a close frame, stall
holds the turn until the client gives up, and truncate cuts the answer halfway and drops the
connection. The shared pacer (`streaming.pacing.pace`) times every answer's frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import Any, cast

import orjson
from aiohttp import WSMsgType, web

from aimock import chaos, pipeline
from aimock.canonical import CanonicalRequest, RequestContext
from aimock.exchange import (
    STALL_LIMIT_S,
    ChaosStrike,
    Exchange,
    Handler,
    Miss,
    Route,
    chaos_error,
    finish,
    hold,
    miss_info,
)
from aimock.fixtures.compiled import Physics
from aimock.state import ServerState
from aimock.streaming import pacing, websocket
from aimock.surface import (
    Answer,
    ErrorInfo,
    Event,
    ProtocolError,
    RenderOptions,
    Session,
    SocketSurface,
    Turn,
)
from aimock.wire import MAX_JSON_DEPTH, too_deep

log = logging.getLogger("aimock.server")
# The most sockets one server keeps open at once; past it an upgrade is refused with a 429.
MAX_OPEN_SOCKETS = 256
# A frame of this many bytes or more is refused (1009) before it is read whole; the server's
# body limit applies when it is smaller.
MAX_FRAME_BYTES = 16 * 1024 * 1024
# How long a closing handshake may take before the connection is dropped.
CLOSE_TIMEOUT_S = 5.0
# Answers written that the client has not read yet: past this a turn waits for the client.
MAX_UNSENT_BYTES = 1024 * 1024


def route_of(surface: SocketSurface) -> Route:
    """The upgrade's route: chaos waits for the turns. A refused upgrade is journaled; an
    accepted one is journaled by its turns, one by one (see `handler_of`)."""
    return Route(surface.name, surface.provider, surface.errors, chaos="never")


def turn_route(surface: SocketSurface) -> Route:
    return Route(surface.name, surface.provider, surface.errors, chaos="handler", truncates=True)


def open_count(state: ServerState, surface: str | None = None) -> int:
    """How many sockets are open, of one surface or of all."""
    links = state.sockets
    if surface is not None:
        return len(links.get(surface, ()))
    return sum(len(group) for group in links.values())


def handler_of(surface: SocketSurface) -> Handler:
    """The upgrade handler of `surface`, for `exchange.serve`."""
    turns = turn_route(surface)
    accepted = dataclasses.replace(route_of(surface), journal=False)

    async def upgrade(exchange: Exchange) -> web.StreamResponse:
        request, state = exchange.request, exchange.state
        pipeline.check_served(state, surface)
        ws = web.WebSocketResponse(
            max_msg_size=min(state.settings.max_body_bytes, MAX_FRAME_BYTES),
            autoping=True,
            timeout=CLOSE_TIMEOUT_S,
            # No permessage-deflate: on loopback it only costs CPU (about a third of a turn's),
            # and declining it is the server's right (RFC 7692).
            compress=False,
        )
        if not ws.can_prepare(request).ok:
            raise ProtocolError(
                ErrorInfo(
                    426,
                    f"{request.path} is a WebSocket endpoint: connect with an Upgrade: "
                    "websocket request",
                    type="invalid_request_error",
                    code="upgrade_required",
                )
            )
        if surface.admit is not None:
            surface.admit(request)
        if open_count(state) >= MAX_OPEN_SOCKETS:
            raise ProtocolError(
                ErrorInfo(
                    429,
                    f"Too many open sockets: this server keeps at most {MAX_OPEN_SOCKETS}",
                    type="rate_limit_error",
                    code="too_many_sockets",
                    retry_after=1.0,
                )
            )
        await exchange.prepare(ws)
        exchange.route = accepted
        link = Link(surface, exchange, ws, turns)
        await link.run()
        return ws

    return upgrade


async def close_all(state: ServerState) -> None:
    """Close every open socket (1001, going away): the server is stopping."""
    for group in list(state.sockets.values()):
        for link in list(group):
            await link.close(1001, "server shutting down")


class Link:
    """One open socket: the provider's `Session` on one side, the client on the other."""

    def __init__(
        self, surface: SocketSurface, exchange: Exchange, ws: web.WebSocketResponse, turns: Route
    ) -> None:
        self.surface = surface
        self.exchange = exchange
        self.ws = ws
        self.turns = turns
        # Work spawned beside the receive loop, with its coroutine (closed at the end: one
        # cancelled before it started would otherwise warn that it was never awaited).
        self._tasks: dict[asyncio.Task[None], Coroutine[Any, Any, None]] = {}
        # Where `send` also records its frames: a turn's entry, while its error is reported.
        self.recording: list[bytes] | None = None

    @property
    def request(self) -> web.Request:
        return self.exchange.request

    @property
    def context(self) -> RequestContext:
        return self.exchange.context

    @property
    def state(self) -> ServerState:
        return self.exchange.state

    @property
    def closed(self) -> bool:
        return self.ws.closed or self.request.transport is None

    async def send(self, event: Any) -> None:
        if self.closed:
            return
        body = websocket.payload(event)
        if self.recording is not None:
            self.recording.append(body)
        with contextlib.suppress(ConnectionError):  # the client left: the receive loop ends
            await self.write([body])

    async def write(self, bodies: list[bytes]) -> None:
        """Text frames of `bodies`, in one write to the connection. Written below aiohttp's
        socket writer, which adds nothing to a frame here (no compression is negotiated):
        an answer's frames then cost one system call, as an HTTP stream's do."""
        transport = self.request.transport
        if transport is None or transport.is_closing() or self.ws.closed:
            raise ConnectionResetError("the client left")
        transport.write(websocket.frames(bodies))
        if transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            await self._wait_for_reader(transport)

    async def _wait_for_reader(self, transport: asyncio.BaseTransport) -> None:
        """A client that does not read its answers holds its own turns, not the server's
        memory: wait until it has read half of what waits for it, and drop it when it has not
        within the idle timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.state.options.idle_timeout
        writing = cast(asyncio.WriteTransport, transport)
        while writing.get_write_buffer_size() > MAX_UNSENT_BYTES // 2:
            if writing.is_closing():
                raise ConnectionResetError("the client left")
            if loop.time() > deadline:
                self.abort()
                raise ConnectionResetError("the client stopped reading")
            await asyncio.sleep(0.01)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.ws.closed:
            return
        with contextlib.suppress(ConnectionError):
            await self.ws.close(code=code, message=reason.encode()[:123])

    def abort(self) -> None:
        pacing.abort(self.request)

    def turn(self, body: Any) -> SocketTurn:
        return SocketTurn(self, body)

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._guarded(work))
        self._tasks[task] = work
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        work = self._tasks.pop(task, None)
        if work is not None:
            work.close()

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except ProtocolError as exc:
            await self._refuse(exc.info, None)
        except ConnectionError:
            pass  # the client left; the receive loop ends on its own
        except Exception:
            await self._fault()

    async def _fault(self) -> None:
        """A defect of ours while serving the socket: logged with its traceback, told to the
        client in the protocol's way, and the socket goes on."""
        log.exception("internal error serving %s %s", "WS", self.request.path)
        info = ErrorInfo(500, "aimock internal error; see the server log", type="server_error")
        with contextlib.suppress(Exception):
            await self.surface.report(self, info)

    async def run(self) -> None:
        group = self.state.sockets.setdefault(self.surface.name, set())
        group.add(self)
        session = self.surface.session(self)
        try:
            await self._serve(session)
        finally:
            self.exchange.entry.status = 101
            group.discard(self)
            running = list(self._tasks)
            for task in running:
                task.cancel()
            # aiohttp cancels the handler when the client's connection goes: the session's
            # end must still run whole.
            await asyncio.shield(self._close_down(session, running))

    async def _close_down(self, session: Session, running: list[asyncio.Task[None]]) -> None:
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        try:
            await session.closed()
        except Exception:
            log.exception("internal error closing %s %s", "WS", self.request.path)

    async def _serve(self, session: Session) -> None:
        try:
            await session.opened()
        except Exception:
            await self._fault()
        async for message in self.ws:
            if message.type == WSMsgType.TEXT:
                await self._received(session, message.data)
            elif message.type == WSMsgType.BINARY:
                if self.surface.binary:
                    await self._deliver(session, message.data)
                else:
                    await self._refuse(
                        ErrorInfo(
                            400,
                            "Binary frames are not part of this protocol: send JSON text frames",
                            type="invalid_request_error",
                            code="binary_frame",
                        ),
                        f"<{len(message.data)} bytes of binary>",
                    )
            elif message.type == WSMsgType.ERROR:
                # aiohttp has closed the socket already (1009 for a frame over the limit).
                await self._refuse(
                    ErrorInfo(
                        413,
                        f"The frame could not be read: {message.data}",
                        type="invalid_request_error",
                        code="frame_too_large",
                    ),
                    None,
                )
                break

    async def _received(self, session: Session, text: str) -> None:
        raw = text.encode()
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            await self._refuse(
                ErrorInfo(
                    400,
                    f"The frame is not JSON: {exc}",
                    type="invalid_request_error",
                    code="invalid_json",
                ),
                text[:1000],
            )
            return
        if too_deep(raw, value):
            await self._refuse(
                ErrorInfo(
                    400,
                    f"The frame's JSON is nested deeper than {MAX_JSON_DEPTH} levels",
                    type="invalid_request_error",
                    code="invalid_json",
                ),
                text[:1000],
            )
            return
        await self._deliver(session, value)

    async def _deliver(self, session: Session, message: Any) -> None:
        try:
            await session.received(message)
        except ProtocolError as exc:
            await self._refuse(exc.info, message)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:
            await self._fault()

    async def _refuse(self, info: ErrorInfo, body: Any) -> None:
        """A frame nobody could answer: told to the client and journaled as a failed turn."""
        async with self.turn(body):
            raise ProtocolError(info)


class SocketTurn:
    """One answer on a socket, on the request path (see the module's docstring)."""

    def __init__(self, link: Link, body: Any) -> None:
        self.link = link
        self.exchange = Exchange(link.request, link.turns, link.state, method="WS")
        self.exchange.entry.body = body
        self.frames: list[bytes] = []
        self._ok = True
        self._started = 0.0

    @property
    def ok(self) -> bool:
        return self._ok

    async def __aenter__(self) -> Turn:
        self._started = time.perf_counter()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        exchange, entry = self.exchange, self.exchange.entry
        handled = error is None
        try:
            if error is None:
                entry.status = entry.status or 200
            elif isinstance(error, ChaosStrike):
                handled = True
                await self._suffer(error.action)
            elif isinstance(error, ProtocolError):
                handled = True
                await self._fail(error.info)
            elif isinstance(error, Miss):
                handled = True
                await self._fail(miss_info(error, exchange.strict))
            elif isinstance(error, ConnectionError):
                handled = True
                entry.interrupted = entry.interrupted or "client_gone"
            elif isinstance(error, asyncio.CancelledError):
                entry.interrupted = entry.interrupted or "client_gone"
            elif isinstance(error, Exception):
                handled = True
                log.exception("internal error serving WS %s", self.link.request.path)
                await self._fail(
                    ErrorInfo(500, "aimock internal error; see the server log", "server_error")
                )
        finally:
            self._finish()
        return handled

    def _finish(self) -> None:
        entry = self.exchange.entry
        if self.frames:
            entry.response_body = b"\n".join(self.frames)
            entry.response_type = websocket.JOURNAL_TYPE
        status = entry.status if entry.status else None
        finish(
            self.link.state,
            self.link.turns,
            entry,
            status=status,
            matched=self.exchange.matched,
            started=self._started,
            raw=None,
        )

    async def _fail(self, info: ErrorInfo) -> None:
        self._ok = False
        self.exchange.entry.status = info.status
        link = self.link
        if not link.closed:
            link.recording = self.frames
            try:
                await link.surface.report(link, info)
            finally:
                link.recording = None

    async def _suffer(self, action: chaos.Action) -> None:
        self._ok = False
        entry = self.exchange.entry
        info = chaos_error(action, self.link.surface.errors)
        if info is not None:
            await self._fail(info)
            return
        if action == "malformed":
            entry.status = 200
            await self._frame(chaos.MALFORMED_BODY.decode())
            return
        if action == "stall":
            await hold(self.link.request, STALL_LIMIT_S)
            entry.interrupted = "client_gone"
        self.link.abort()  # disconnect: no close frame, as a dying upstream leaves it

    async def select(self, canonical: CanonicalRequest) -> Answer:
        link, exchange = self.link, self.exchange
        state, entry = link.state, exchange.entry
        entry.model = canonical.model or None
        queued = pipeline.injected(state, entry)
        if queued is not None:
            raise ProtocolError(queued)
        index = state.index
        canonical, selection = pipeline.select(state, None, canonical, entry)
        compiled = selection.compiled
        found = exchange.roll(compiled.chaos if compiled else None, canonical.model)
        if found is not None:
            await exchange.suffer(found)
        physics = compiled.physics if compiled is not None else index.default_physics
        reply = selection.reply
        if reply is None:
            reply = pipeline.unanswered(
                None, canonical, selection, entry, strict=exchange.strict, index=index, state=state
            )
        if reply.kind == "error":
            await pacing.wait_first_byte(physics)
            raise ProtocolError(pipeline.error_info(reply))
        return Answer(reply, physics, RenderOptions(chunk_size=physics.chunk_size))

    async def stream(self, events: Sequence[Event], physics: Physics) -> bool:
        if self.exchange.truncate:  # chaos: half the frames, then the connection drops
            half = max(1, len(events) // 2)
            physics = dataclasses.replace(physics, truncate_after_chunks=half)

        self.exchange.entry.status = 200
        if physics.is_immediate:  # the whole answer at once: one write
            bodies = [websocket.payload(event.data) for event in events]
            self.frames.extend(bodies)
            try:
                await self.link.write(bodies)
            except ConnectionError:
                self._ok = False
                self.exchange.entry.interrupted = "client_gone"
                return False
            return True

        async def emit(index: int, event: Event) -> None:
            await self._frame(event.data)

        outcome = await pacing.pace(events, physics, emit, self.link.abort)
        if outcome != "complete":
            self._ok = False
            self.exchange.entry.interrupted = outcome
        return outcome == "complete"

    async def send(self, event: Any) -> None:
        await self._frame(event)

    async def _frame(self, event: Any) -> None:
        body = websocket.payload(event)
        self.frames.append(body)
        await self.link.write([body])
