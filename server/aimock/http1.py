"""The front of every TCP connection: HTTP/1.1 read here while its requests are plain, each
answered in one synchronous step by a `Lane`; aiohttp takes the connection over for good at the
first request the lane does not answer.

Why: aiohttp's web layer (its request, response and writer objects, a task per connection)
costs about as much CPU per request as everything aimock does to answer a fixture, and a test
suite's traffic is mostly such answers. Here a request costs a head split and a dict.

A request is plain when its head is under `MAX_HEAD` bytes and reads cleanly: `HTTP/1.1`, an
upper-case method, a path of plain characters (no escapes, no dot segments), well-formed header
lines, at most one numeric Content-Length, and none of Transfer-Encoding, Content-Encoding,
Expect or Upgrade, nor a Connection header other than keep-alive or close (answered, then the
connection closed, as aiohttp does). Everything else (HTTP/1.0, a
chunked or compressed body, a head that does not parse, a route the lane does not serve, a
request the lane declines) goes to aiohttp with every byte as it arrived, from that request's
first byte on: aiohttp's parser, its limits and its answers apply exactly as before. Answers
already written stay in order: the lane writes each one before the next request is read.

Deadlines: a connection with nothing for `idle` seconds is closed when it sits between
requests (as aiohttp's keep-alive timeout does), and handed over to aiohttp when it stalls in
the middle of one, so aiohttp's own deadline answers it (a stalled body gets its 408 after up
to twice `idle`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

log = logging.getLogger("aimock.server")
# Longer heads go to aiohttp, whose line and field limits (8190 bytes) then answer them.
MAX_HEAD = 8190
# Header lines: a token, a colon, then visible characters, spaces and tabs (no obs-fold, no
# control characters, no bare CR or LF).
_FIELDS = re.compile(
    rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*"
    rb"(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*)*"
)
# A target the router sees as sent: path characters that need no decoding (no `%`), then an
# optional query (no fragment); `_plain_target` also refuses empty and dot segments.
_TARGET = re.compile(rb"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(\?[\x21\x24-\x7e]*)?")
# Headers after which the request is not plain (see the module's docstring).
_NOT_PLAIN = frozenset({"transfer-encoding", "content-encoding", "expect", "upgrade"})


@dataclass(frozen=True, slots=True)
class Head:
    method: str
    target: str  # the path and query, as sent
    headers: dict[str, str]  # lower-cased names; a repeated name keeps its last value
    length: int  # of the body
    close: bool = False  # `Connection: close`: the connection ends with this request's answer


After = Literal["open", "close", "cut"]


class Line(Protocol):
    """The connection a paced answer writes the rest of itself to."""

    async def send(self, data: bytes) -> None:
        """Write `data`, once the client has read enough of what went before; ConnectionError
        once it is gone."""
        ...

    def cut(self) -> None:
        """Drop the connection."""
        ...


@dataclass(frozen=True, slots=True)
class Answer:
    data: bytes  # the whole response (status line, headers, body), or what goes out at once
    close: bool = False  # close the connection once it is written
    # A paced answer writes the rest of itself over time, then says what becomes of the
    # connection: "open" for the next request, "close" once written, "cut" at once.
    rest: Callable[[Line], Awaitable[After]] | None = None


class Lane(Protocol):
    """What answers plain requests (`aimock.fastlane`)."""

    @property
    def max_body(self) -> int: ...

    def route(self, head: Head) -> Any:
        """What serves `head`'s method and path here, handed back to `answer`; None when the
        lane does not take them (read before the body arrives)."""
        ...

    def answer(self, route: Any, head: Head, body: bytes) -> Answer | None:
        """The answer, or None to leave the request (untouched) to aiohttp."""
        ...


def parse_head(raw: bytes) -> Head | None:
    """A plain request's head (without its closing blank line), or None."""
    request_line, _, fields = raw.partition(b"\r\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1":
        return None
    method, target = parts[0], parts[1]
    if not (method.isalpha() and method.isupper() and _plain_target(target)):
        return None
    if not fields:
        return Head(method.decode("ascii"), target.decode("ascii"), {}, 0)
    if not _FIELDS.fullmatch(fields):
        return None
    headers: dict[str, str] = {}
    # Names are ASCII (checked); values decode as aiohttp decodes them.
    for line in fields.decode("utf-8", "surrogateescape").split("\r\n"):
        name, _, value = line.partition(":")
        name = name.lower()
        if name == "content-length" and name in headers:
            return None  # two lengths: aiohttp refuses the request
        headers[name] = value.strip(" \t")
    if not headers.keys().isdisjoint(_NOT_PLAIN):
        return None
    connection = headers.get("connection")
    close = connection is not None and connection.lower() == "close"
    if connection is not None and not close and connection.lower() != "keep-alive":
        return None
    length = headers.get("content-length", "0")
    if not (length.isascii() and length.isdigit() and len(length) <= 15):
        return None
    return Head(method.decode("ascii"), target.decode("ascii"), headers, int(length), close)


def _plain_target(target: bytes) -> bool:
    if not _TARGET.fullmatch(target):
        return False
    path = target.partition(b"?")[0] + b"/"
    return b"//" not in path and b"/./" not in path and b"/../" not in path


class Doors:
    """The front connections of one listening socket: their idle deadline, and closing them
    all when the server stops."""

    def __init__(self, idle: float) -> None:
        self.idle = idle
        self._open: set[Front] = set()
        self._sweeping: asyncio.TimerHandle | None = None

    def opened(self, front: Front) -> None:
        self._open.add(front)
        if self._sweeping is None:
            self._schedule()

    def closed(self, front: Front) -> None:
        self._open.discard(front)

    def close_all(self) -> None:
        for front in list(self._open):
            front.close()
        self._open.clear()
        if self._sweeping is not None:
            self._sweeping.cancel()
            self._sweeping = None

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        self._sweeping = loop.call_later(max(0.05, min(1.0, self.idle / 4)), self._sweep)

    def _sweep(self) -> None:
        self._sweeping = None
        now = asyncio.get_running_loop().time()
        for front in [f for f in self._open if now - f.seen > self.idle]:
            front.expire()
        if self._open:
            self._schedule()


class Front(asyncio.Protocol):
    """One connection, read here until aiohttp takes it over."""

    def __init__(self, lane: Lane, fallback: Callable[[], asyncio.Protocol], doors: Doors) -> None:
        self._lane = lane
        self._fallback = fallback
        self._doors = doors
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        # Parsed, with where its body starts and the lane's route for it.
        self._head: tuple[Head, int, Any] | None = None
        self._paused = False  # the client reads our answers slower than it sends requests
        self._drained: asyncio.Future[None] | None = None  # a paced answer waits on it
        self._pacing: asyncio.Task[None] | None = None  # a paced answer going out
        self._eof = False
        self.seen = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they have its methods.
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Answers go out in one write each: nothing to gain from Nagle's delay.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.seen = asyncio.get_running_loop().time()
        self._doors.opened(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self.seen = asyncio.get_running_loop().time()
        if self._pacing is not None:
            # Requests sent ahead wait for the paced answer; past one whole request's worth,
            # reading stops until it is out (the kernel's buffers push back on the client).
            if len(self._buffer) > MAX_HEAD + self._lane.max_body and self._transport is not None:
                self._transport.pause_reading()
            return
        self._serve()

    def eof_received(self) -> bool | None:
        if self._pacing is not None:
            self._eof = True  # decided once the paced answer is out
            return True  # keeps the transport open for it
        if self._buffer:
            self._eof = True  # a request half sent: aiohttp decides what it is
            self._hand_over()
        return None  # closes the transport (after what is written has gone)

    def connection_lost(self, exc: Exception | None) -> None:
        self._doors.closed(self)
        self._transport = None
        self._release()

    def pause_writing(self) -> None:
        self._paused = True
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused = False
        self._release()
        if self._transport is not None:
            self._transport.resume_reading()
            self._serve()

    def _release(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    # --- a paced answer's line (`Line`) --------------------------------------------------------

    async def send(self, data: bytes) -> None:
        if self._paused and self._transport is not None:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ConnectionError("the client is gone")
        self.seen = asyncio.get_running_loop().time()
        transport.write(data)

    def cut(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    async def _pace(self, rest: Callable[[Line], Awaitable[After]]) -> None:
        try:
            after = await rest(self)
        except Exception:  # a defect of ours: the evidence in the log, the client let go
            log.exception("internal error writing a paced answer")
            after = "cut"
        self._pacing = None
        if self._transport is None:
            return
        if not self._paused:
            self._transport.resume_reading()
        if after == "cut":
            self._transport.abort()
        elif after == "close":
            self._transport.close()
        elif self._eof:
            if self._buffer:
                self._hand_over()
            else:
                self._transport.close()
        else:
            self._serve()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def expire(self) -> None:
        """Nothing arrived for the idle timeout: close between requests, else let aiohttp's
        own deadline answer the stalled request."""
        if self._pacing is not None:
            return  # an answer is still going out: not idle
        if self._buffer:
            self._hand_over()
        else:
            self.close()

    def _serve(self) -> None:
        """Answer every whole request in the buffer, in order; a paced answer holds the next
        request until it is out."""
        buffer = self._buffer
        while buffer and not self._paused and self._pacing is None and self._transport is not None:
            if self._head is None:
                end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        self._hand_over()
                    return
                head = parse_head(bytes(buffer[:end]))
                route = None
                if head is not None and head.length <= self._lane.max_body:
                    route = self._lane.route(head)
                if head is None or route is None:
                    self._hand_over()
                    return
                self._head = (head, end + 4, route)
            head, start, route = self._head
            stop = start + head.length
            if len(buffer) < stop:
                return  # the body is on its way
            try:
                answer = self._lane.answer(route, head, bytes(buffer[start:stop]))
            except Exception:  # a defect of ours: the evidence in the log, the client let go
                log.exception("internal error answering %s %s", head.method, head.target)
                self._transport.abort()
                return
            if answer is None:
                self._hand_over()
                return
            self._head = None
            del buffer[:stop]
            if answer.data:
                self._transport.write(answer.data)
            if answer.rest is not None:
                self._pacing = asyncio.get_running_loop().create_task(self._pace(answer.rest))
                return
            if answer.close:
                self._transport.close()
                return

    def _hand_over(self) -> None:
        """aiohttp takes the connection from the first unanswered byte on, for good."""
        transport = self._transport
        if transport is None:
            return
        self._doors.closed(self)
        self._transport = None
        handler = self._fallback()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if self._paused:
            # Still above the write buffer's high-water mark: aiohttp waits for it to drain;
            # reading (paused for our own sake) is aiohttp's to manage now.
            handler.pause_writing()
            transport.resume_reading()
        data = bytes(self._buffer)
        self._buffer.clear()
        if data:
            handler.data_received(data)
        if self._eof:
            handler.eof_received()
