"""The pod network as the test plane's API server sees it.

kwok's pods run nothing and their IPs lead nowhere, and the API server refuses to proxy to a
loopback address. So the plane's API server sends its cluster traffic (the pod proxy that
operator uses) through an HTTP CONNECT proxy on a Unix socket, its egress selector's `cluster`
connection (as a Konnectivity server would take it), and the proxy decides where each pod
address leads:
a test exposes a pod's IP and port as a real server on 127.0.0.1. Loopback targets (URL
webhooks) pass through; any other address is refused at once, so nothing leaves the machine
and no dial waits for a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
from concurrent.futures import Future
from pathlib import Path

MAX_HEADER_BYTES = 16 * 1024


class PodNetwork:
    """An HTTP CONNECT proxy on a Unix socket, in a thread of its own."""

    def __init__(self) -> None:
        self.socket: Path | None = None
        self._routes: dict[tuple[str, int], int] = {}
        self._tunnels: dict[tuple[str, int], set[asyncio.StreamWriter]] = {}  # open, by route
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="pod-network"
        )
        self._server: asyncio.AbstractServer | None = None

    def start(self, socket: Path) -> Path:
        """Listen on `socket` (a path); returns it."""
        self._thread.start()
        started: Future[asyncio.AbstractServer] = asyncio.run_coroutine_threadsafe(
            asyncio.start_unix_server(self._handle, str(socket)), self._loop
        )
        self._server = started.result(timeout=10)
        self.socket = socket
        return socket

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def expose(self, ip: str, port: int, local_port: int) -> None:
        """Connections to pod address `ip:port` reach 127.0.0.1:`local_port` from now on."""
        with self._lock:
            self._routes[(ip, port)] = local_port

    def withdraw(self, ip: str, port: int) -> None:
        """The address leads nowhere from now on; tunnels open to it are cut."""
        with self._lock:
            self._routes.pop((ip, port), None)
            tunnels = list(self._tunnels.pop((ip, port), ()))
        for writer in tunnels:
            self._loop.call_soon_threadsafe(writer.close)

    def _target(self, host: str, port: int) -> int | None:
        with self._lock:
            routed = self._routes.get((host, port))
        if routed is not None:
            return routed
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).is_loopback:
                return port
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, authority, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            host, _, port = authority.rpartition(":")
            route = (host.strip("[]"), int(port))
            local = self._target(*route) if method == "CONNECT" else None
            if local is None:
                writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", local)
            except OSError:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self._lock:
                self._tunnels.setdefault(route, set()).update((writer, upstream_writer))
            both = (_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
            await asyncio.gather(*both, return_exceptions=True)
            with self._lock:
                self._tunnels.get(route, set()).difference_update((writer, upstream_writer))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
            return
        finally:
            with contextlib.suppress(OSError):
                writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError):
            writer.close()


def egress_config(socket: Path) -> str:
    """The API server's EgressSelectorConfiguration: cluster traffic through the proxy."""
    return f"""apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: {socket}
"""
