"""`MockServer`: a real aimock server inside the test process, for Python test suites.

It listens on a free loopback port in a background thread with its own event loop, so any
client (the openai SDK, httpx, a subprocess under test) reaches it over real HTTP:

    with MockServer() as mock:
        mock.add_fixture({"match": {"userMessage": "hi"}, "response": {"content": "hello"}})
        client = OpenAI(base_url=mock.base_url, api_key="test")

`MockServer(tls=True)` serves HTTPS (and WSS) instead, with a certificate of a CA made for
this server alone (in a temporary folder, gone at `stop()`): `url` says https, `ca_file` is
the CA's PEM file (for SSL_CERT_FILE in a subprocess), `ssl_context()` a client context
trusting it (`httpx.Client(verify=mock.ssl_context())`). `tls=TLSOptions(cert=..., key=...)`
serves your own certificate.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from aimock import reloading
from aimock.auth import InboundKeys
from aimock.fixtures.loading import FixtureSet, SourcedFixture, load_paths
from aimock.models.fixture import Fixture, StreamingProfile
from aimock.state import STATE, ServeOptions, ServerState
from aimock.tls import ServerTLS, TLSOptions, client_context, prepare, wanted

T = TypeVar("T")


class MockServer:
    """Start with `start()` or a `with` block; `url` is the origin, `base_url` the `/v1` base."""

    def __init__(
        self,
        fixtures: Sequence[str | Path] = (),
        *,
        strict: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        profile: str | StreamingProfile | None = None,
        tls: bool | TLSOptions | None = None,
        api_keys: Sequence[str] | None = None,
    ) -> None:
        # None: as the fixture paths' stack spec says (its `tls`), like `aimock serve -f`.
        options = TLSOptions(enabled=tls) if isinstance(tls, bool) else tls
        self._options = ServeOptions(
            paths=tuple(Path(p) for p in fixtures),
            strict=strict,
            profile=profile,
            host=host,
            tls=options,
            # Inbound API keys (`aimock.auth`); None: the stack spec's `apiKeys` decide.
            api_keys=InboundKeys(api_keys, "api_keys") if api_keys is not None else None,
        )
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._state: ServerState | None = None
        self._tls: ServerTLS | None = None
        self._tls_dir: str | None = None  # the temporary folder of a made certificate
        self.port = 0

    # lifecycle

    def start(self) -> MockServer:
        from aimock import app as app_module

        loaded = load_paths(self._options.paths) if self._options.paths else FixtureSet()
        self._tls = self._prepare_tls(wanted(self._options.tls, loaded.stack))
        context = self._tls.context if self._tls is not None else None
        application = app_module.create_app(self._options, loaded)
        self._state = application[STATE]
        ready: Future[int] = Future()
        loop = app_module.new_event_loop()
        self._loop = loop

        async def boot() -> None:
            try:
                self._runner, bound = await app_module.start(
                    application, self._host, self._port, context
                )
            except BaseException as exc:  # surface bind errors in the caller's thread
                ready.set_exception(exc)
                return
            ready.set_result(bound)

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(boot())
            if ready.exception() is None:
                loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="aimock-server", daemon=True)
        self._thread.start()
        try:
            self.port = ready.result(timeout=30)
        except BaseException:
            self._forget_tls()
            raise
        return self

    def stop(self) -> None:
        loop, runner = self._loop, self._runner
        if loop is None or self._thread is None:
            return
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=30)
        self._loop = self._thread = self._runner = None
        self._forget_tls()

    def _forget_tls(self) -> None:
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    def _prepare_tls(self, options: TLSOptions | None) -> ServerTLS | None:
        """The server's TLS: the given certificate, or one made in a folder of its own."""
        if options is None:
            return None
        if options.cert is None and options.directory is None:
            self._tls_dir = tempfile.mkdtemp(prefix="aimock-tls-")
            options = TLSOptions(directory=Path(self._tls_dir), names=options.names)
        return prepare(options, self._host)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses

    @property
    def url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (`.../v1`)."""
        return self.url + "/v1"

    @property
    def ca_file(self) -> Path | None:
        """The PEM file of the CA that signed the server's certificate, when it made one
        (`tls=True`); None for plain HTTP or your own certificate."""
        return self._tls.ca if self._tls is not None else None

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server: its CA (`ca_file`), else the system's."""
        if self._tls is None:
            raise RuntimeError("MockServer serves plain HTTP; start it with tls=True")
        return client_context(self._tls.ca)

    # state, read and changed on the server's own loop

    def _call(self, fn: Callable[[ServerState], T]) -> T:
        if self._loop is None or self._state is None:
            raise RuntimeError("MockServer is not running; call start() or use `with`")
        state = self._state

        async def on_loop() -> T:
            return fn(state)

        return asyncio.run_coroutine_threadsafe(on_loop(), self._loop).result(timeout=30)

    def add_fixture(self, fixture: dict[str, Any] | Fixture) -> None:
        """Append one fixture (a dict in the fixture file format, or a `Fixture`)."""
        self.add_fixtures([fixture])

    def add_fixtures(self, fixtures: Sequence[dict[str, Any] | Fixture]) -> None:
        validated = [f if isinstance(f, Fixture) else Fixture.model_validate(f) for f in fixtures]

        def add(state: ServerState) -> None:
            base = state.runtime_added
            state.add_runtime(
                [SourcedFixture(f, f"python#fixtures[{base + i}]") for i, f in enumerate(validated)]
            )

        self._call(add)

    def on_message(self, text: str, content: str) -> None:
        """Shorthand: answer `content` when the last user message contains `text`."""
        self.add_fixture({"match": {"userMessage": text}, "response": {"content": content}})

    @property
    def journal(self) -> list[dict[str, Any]]:
        """Every request so far, oldest first, in the control API's JSON shape."""
        return self._call(lambda state: [entry.to_json() for entry in state.journal])

    @property
    def last_request(self) -> dict[str, Any] | None:
        entries = self.journal
        return entries[-1] if entries else None

    def reset(self) -> None:
        """Back to the start: file fixtures re-read; added fixtures, the journal and sequence
        counters dropped."""
        if self._loop is None or self._state is None:
            raise RuntimeError("MockServer is not running; call start() or use `with`")
        future = asyncio.run_coroutine_threadsafe(reloading.full_reset(self._state), self._loop)
        error = future.result(timeout=60)
        if error is not None:
            raise error
