"""Compose the server: typed state, the route table, the services, the control API.

No routes, parsing or rendering live here: `routes.py` builds the table from the registries,
and every route answers through the request path (`exchange.serve`).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import os
import signal
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from aimock import (
    control,
    exchange,
    families,
    fastlane,
    http1,
    native,
    offline,
    routes,
    sockets,
    wire,
)
from aimock.fixtures.loading import FixtureSet
from aimock.providers.registry import REPLY_EXTENSIONS
from aimock.recording.options import RecordOptions, default_directory
from aimock.recording.proxy import RECORDER, Recorder
from aimock.services.registry import SERVICES
from aimock.state import STATE, ServeOptions, ServerState
from aimock.surface import Surface

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def preflight(request: web.Request) -> web.StreamResponse:
    """A CORS preflight, for any path: granted, but never for the control API (a page of
    another origin may not call it)."""
    control_path = control.is_control_path(request.path)
    return web.Response(status=204, headers=None if control_path else exchange.CORS)


async def unknown_path(request: web.Request) -> web.StreamResponse:
    """What no route takes, on the request path: 405 when another method of the path is
    served, else 404 (never aiohttp's HTML pages). A route, not a middleware: a middleware
    wraps every request in two more coroutines."""
    catch_all = request.app[CATCH_ALL]
    for resource in request.app.router.resources():
        if resource in catch_all:
            continue
        _, allowed = await resource.resolve(request)
        if allowed:
            return await routes.unknown(request, 405)
    return await routes.unknown(request, 404)


# Registered first (every preflight) and last (whatever nothing else took).
ANY_PATH = "/{tail:.*}"
CATCH_ALL: web.AppKey[list[web.Resource]] = web.AppKey("aimock_catch_all", list)


async def _close_sockets(app: web.Application) -> None:
    """Open WebSockets hold their handlers: close them (1001) so a stop does not wait."""
    await sockets.close_all(app[STATE])


def create_app(options: ServeOptions, loaded: FixtureSet) -> web.Application:
    state = ServerState(options, loaded, REPLY_EXTENSIONS)
    # The body limit is enforced on the request path so it can answer in each protocol's
    # envelope.
    app = web.Application(client_max_size=options.max_body_bytes + 1024)
    app[CATCH_ALL] = [app.router.add_resource(ANY_PATH)]
    app[CATCH_ALL][0].add_route("OPTIONS", preflight)
    app[STATE] = state
    app[wire.BODY_IDLE_TIMEOUT] = options.idle_timeout
    app.on_shutdown.append(_close_sockets)
    record = options.record
    if record is None and loaded.stack is not None and loaded.stack.record is not None:
        # The stack file's `record` section, when no flag or aimock.json asked for a mode.
        record = RecordOptions.from_spec(loaded.stack.record, default_directory(options.paths))
    if record is not None:
        recorder = app[RECORDER] = Recorder(record)
        # A turn of a tool loop not recorded yet must reach the provider: without this, the
        # nearest earlier turn's recording would answer it (turnIndex relaxes when nothing
        # fits) and the loop would repeat that turn forever.
        state.match_state.strict_turn_index = True

        async def close_upstreams(app: web.Application) -> None:
            del app
            await recorder.close()

        app.on_cleanup.append(close_upstreams)
    control.add_routes(app)
    for service in SERVICES:
        service.mount(app, state)
    lane: dict[object, Surface] = {}
    # The surfaces by method and path, for what answers a request without HTTP (batch lines).
    by_path: dict[tuple[str, str], Surface] = {}
    for mount in routes.table(state.settings.openai_prefixes):
        app.router.add_route(mount.method, mount.path, mount.handler)
        families.add_family(app, mount.path, mount.route)
        if mount.surface is not None:
            lane[mount.handler] = mount.surface
            by_path.setdefault((mount.method, mount.path), mount.surface)
    app[fastlane.SURFACES] = lane
    app[offline.SURFACES] = by_path
    last = app.router.add_resource(ANY_PATH)
    last.add_route("*", unknown_path)
    app[CATCH_ALL].append(last)
    return app


class ClientFaults(logging.Filter):
    """aiohttp logs every malformed HTTP message (a bad method, an over-long line, conflicting
    Content-Length, a body its Content-Encoding does not decode, met while it drains a body the
    handler did not read) and every client that leaves early at ERROR with a traceback. They are
    the client's doing and are answered (or dropped): one DEBUG line each, no traceback, so a
    traceback in the log always means a defect of ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError | RequestPayloadError | ConnectionError):
            return True
        detail = " ".join(str(exc).split())
        record.msg, record.args = f"{record.getMessage()}: {type(exc).__name__}: {detail}", ()
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


CLIENT_FAULTS = ClientFaults()


async def start(
    app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    """Bind and start serving, over TLS with `ssl_context` (`aimock.tls.ServerTLS`); returns
    the runner and the bound port (useful with port 0)."""
    server_log = logging.getLogger("aiohttp.server")
    if CLIENT_FAULTS not in server_log.filters:
        server_log.addFilter(CLIENT_FAULTS)
    # aiohttp's keep-alive timer also runs from a connection's start and after each answer
    # until a whole request has arrived: it is the header-read deadline as well.
    idle = app[STATE].options.idle_timeout
    runner = web.AppRunner(app, access_log=None, handle_signals=False, keepalive_timeout=idle)
    await runner.setup()
    site: web.BaseSite
    if fast_lane_enabled():
        lane = fastlane.FastLane(app, secure=ssl_context is not None)
        doors = http1.Doors(idle)
        site = FrontSite(runner, host, port, lane, doors, ssl_context=ssl_context)
    else:
        site = web.TCPSite(
            runner, host, port, reuse_address=True, ssl_context=ssl_context, backlog=BACKLOG
        )
    await site.start()
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            bound = int(address[1])
            break
    return runner, bound


# Connections the kernel may hold for accept() (capped by net.core.somaxconn). aiohttp's 128
# overflowed when a test suite opened 1,000 streams at once while the loop was busy writing
# paced events: each turned-away handshake came back a second later (bench/pacing.py). Node
# listens with 511.
BACKLOG = 4096


def fast_lane_enabled() -> bool:
    """Whether connections start on the fast lane (`aimock.http1`); AIMOCK_FAST_LANE=off
    leaves every request to aiohttp (to compare, or to rule the lane out)."""
    return not native.switched_off("AIMOCK_FAST_LANE")


class FrontSite(web.BaseSite):
    """A TCP site whose connections start on the front protocol: the fast lane answers what
    it can, aiohttp (the runner's server) the rest. With an SSL context, the loop's TLS
    transport sits under the front protocol, so both lanes read and write plain HTTP; a
    handshake that fails (a plain-HTTP client, garbage) closes that connection and is never
    more than a DEBUG line, and one that stalls is dropped after the idle timeout."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        lane: http1.Lane,
        doors: http1.Doors,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=BACKLOG)
        self._host, self._port = host, port
        self._lane, self._doors = lane, doors

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        lane, doors = self._lane, self._doors
        self._server = await asyncio.get_running_loop().create_server(
            lambda: http1.Front(lane, server, doors),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
            ssl=self._ssl_context,
            ssl_handshake_timeout=doors.idle if self._ssl_context is not None else None,
        )

    async def stop(self) -> None:
        await super().stop()
        self._doors.close_all()


def space_out_collections() -> None:
    """Run the cyclic garbage collector's full passes far less often than CPython's default.

    Every paced stream keeps its rendered events alive until its last one is written, so a
    thousand streams in flight hold a few hundred thousand objects; with the default
    thresholds (700, 10, 10) the collector walked them all several times a second, stalling
    the loop for up to 100 ms at a time: every stream's next event came late together, and
    new requests waited behind them. At (10,000, 20, 20), with 1,000 paced streams
    (bench/pacing.py, the `latency` case): the longest gap in a stream, p95, 100 -> 45 ms;
    the time to first token, p50, 160-210 -> 90-115 ms. Reference counting still frees
    everything that is not in a cycle at once, so memory does not grow. Only the server
    process does this: an in-process server (`aimock.testing`) leaves its host's collector
    alone."""
    gc.set_threshold(10_000, 20, 20)


def release_startup_memory() -> None:
    """Give back to the system the heap that loading and compiling freed (about 1 MiB of a
    60 MiB process; under a millisecond): glibc keeps freed memory mapped until asked. Nothing
    where there is no glibc (`malloc_trim` is glibc's). No `gc.collect()` first: with 10,000
    fixtures it holds the first request for 80 ms, for 0.3 MiB more."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where it is installed (a dependency, but not on Windows), else asyncio's:
    sockets and timers in C (a few per cent on chat, measured on one core). AIMOCK_LOOP=asyncio
    opts out (to compare, or to debug with asyncio's own tools)."""
    if os.environ.get("AIMOCK_LOOP", "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to its end on a new loop of `new_event_loop`'s kind."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main)


async def run_until_stopped(
    app: web.Application,
    host: str,
    port: int,
    on_ready: Callable[[int], None],
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM (Kubernetes' stop signal), then drain and close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner, bound = await start(app, host, port, ssl_context)
    release_startup_memory()
    space_out_collections()
    on_ready(bound)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
