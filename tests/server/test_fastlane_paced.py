"""Paced answers on the fast lane (`aimock.fastlane.Paced`, `aimock.http1.Front`): a fixture
with a streaming profile, a latency or recorded timings is answered by the lane as the full
path answers it, byte for byte but for ids and clocks, with the same journal entry; the
connection's next request waits for the paced answer; a client that leaves mid-stream ends
the request as `client_gone`.

Parity is checked against a second server started with AIMOCK_FAST_LANE=off, as in
test_fastlane.py."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.fastlane import FastLane
from aimock.http1 import After, Answer, Doors, Front, Head, Line, parse_head
from tests.conftest import ServerProcess, serving
from tests.server.conftest import ClientFactory
from tests.server.test_fastlane import (
    FIXTURES,
    LANE_PATHS,
    SAME_ANSWERS,
    Connection,
    ask,
    chat,
    chat_bodies,
    comparable,
    extra_headers,
    journal_entries,
    json_bodies,
    normal,
    request,
)

# Fast enough for a test, slow enough that every event is its own write.
PROFILE = {"ttft": 2, "tps": 400}
PACED = [{**fixture, "streamingProfile": PROFILE} for fixture in FIXTURES] + [
    {
        "match": {"userMessage": "late"},
        "response": {"content": "A late answer, twenty-one events long at one character."},
        "latency": 1,
        "chunkSize": 3,
    },
    {
        "match": {"userMessage": "recorded"},
        "response": {"content": "Replayed as it was recorded."},
        "recordedTimings": {"ttftMs": 3, "interChunkDelaysMs": [1, 2, 1]},
        "chunkSize": 4,
    },
    {
        "match": {"userMessage": "slow"},
        "response": {"content": "x" * 60},
        "streamingProfile": {"ttft": 0, "tps": 20},
        "chunkSize": 1,
    },
]
PACED_ANSWERS = {
    **SAME_ANSWERS,
    "latency-stream": request("POST", "/v1/chat/completions", chat("late", stream=True)),
    "latency-whole": request("POST", "/v1/chat/completions", chat("late")),
    "recorded-stream": request("POST", "/v1/chat/completions", chat("recorded", stream=True)),
    "recorded-anthropic": request(
        "POST",
        "/v1/messages",
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 50,
            "stream": True,
            "messages": [{"role": "user", "content": "recorded"}],
        },
    ),
}


@pytest.fixture(scope="module")
def paced_pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    folder = tmp_path_factory.mktemp("paced-lane")
    (folder / "fixtures.json").write_text(json.dumps({"fixtures": PACED}))
    with (
        serving("-f", str(folder)) as lane,
        serving("-f", str(folder), env={"AIMOCK_FAST_LANE": "off"}) as full,
    ):
        yield lane, full


@pytest.mark.parametrize("case", list(PACED_ANSWERS))
def test_a_paced_answer_on_the_lane_is_the_full_paths(
    paced_pair: tuple[ServerProcess, ServerProcess], case: str
) -> None:
    lane, full = paced_pair
    data = PACED_ANSWERS[case]
    assert comparable(ask(lane, data)) == comparable(ask(full, data))


def test_paced_journal_entries_are_the_same(
    paced_pair: tuple[ServerProcess, ServerProcess],
) -> None:
    for server in paced_pair:
        server.reset()
        for data in PACED_ANSWERS.values():
            ask(server, data)

    lane, full = paced_pair
    on_lane = journal_entries(lane)
    assert len(on_lane) == len(PACED_ANSWERS)
    assert on_lane == journal_entries(full)


def test_pipelined_requests_wait_for_the_paced_answer_before_them(
    paced_pair: tuple[ServerProcess, ServerProcess],
) -> None:
    lane, _ = paced_pair
    streamed = request("POST", "/v1/chat/completions", chat("late", stream=True))
    whole = request("POST", "/v1/chat/completions", chat("hello"))
    health = request("GET", "/health")
    with Connection(lane.url) as conn:
        # One write: paced stream, paced whole answer, a control route (aiohttp from here on),
        # then the lane's kind of request again, now aiohttp's.
        conn.send(streamed + whole + health + streamed)
        replies = [conn.read() for _ in range(4)]
    assert [r.status for r in replies] == [200, 200, 200, 200]
    first, second, third, fourth = replies
    assert first.body.count(b"data: ") == fourth.body.count(b"data: ") > 20
    assert first.body.endswith(b"data: [DONE]\n\n")
    assert (
        json.loads(second.body)["choices"][0]["message"]["content"]
        == FIXTURES[0]["response"]["content"]
    )
    assert json.loads(third.body)["status"] == "ok"
    assert normal(first.body) == normal(fourth.body)


def test_a_client_that_leaves_mid_stream_ends_the_request_as_client_gone(
    paced_pair: tuple[ServerProcess, ServerProcess],
) -> None:
    lane, _ = paced_pair
    lane.reset()
    with Connection(lane.url) as conn:
        conn.send(request("POST", "/v1/chat/completions", chat("slow", stream=True)))
        while b"data: " not in conn.pending:  # the head and the first events, then leave
            conn._more()
        # A reset, not a polite close: the server's next write fails at once.
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # The stream notices at its next write (one every 50 ms); the journal then has the entry.
    deadline = time.monotonic() + 30
    while not (entries := lane.journal()) and time.monotonic() < deadline:
        time.sleep(0.05)
    (entry,) = entries
    answer = entry["response"]
    assert (answer["status"], answer["interrupted"]) == (200, True)
    assert answer["interruptReason"] == "client_gone"
    assert "data: " in str(answer["body"])  # what was written before the client left
    # The server goes on serving.
    assert ask(lane, request("POST", "/v1/chat/completions", chat("hello"))).status == 200


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(LANE_PATHS),
    headers=extra_headers,
    body=st.one_of(chat_bodies, json_bodies, st.binary(max_size=200)),
)
def test_any_request_to_a_paced_set_gets_the_full_paths_answer(
    paced_pair: tuple[ServerProcess, ServerProcess], path: str, headers: dict[str, str], body: bytes
) -> None:
    lane, full = paced_pair
    data = request("POST", path, body, **headers)
    assert comparable(ask(lane, data)) == comparable(ask(full, data))


LANE_TAKES = """
fixtures:
  - {match: {userMessage: paced}, response: {content: "abc"}, streamingProfile: {ttft: 5, tps: 50}}
  - {match: {userMessage: late}, response: {content: "abc"}, latency: 5}
  - {match: {userMessage: cut}, response: {content: "abc"}, truncateAfterChunks: 1}
"""


@pytest.mark.parametrize(
    ("text", "stream", "taken"),
    [("paced", True, "later"), ("late", False, "later"), ("nothing", True, "at once")],
)
async def test_the_lane_takes_paced_answers_and_leaves_cut_ones(
    make_client: ClientFactory, text: str, stream: bool, taken: str
) -> None:
    """Paced answers are the lane's, written later (`Answer.rest`); a set with an answer that
    is cut short (`truncateAfterChunks`) is left to the full path whole."""
    body = json.dumps(chat(text, stream=stream)).encode()
    data = request("POST", "/v1/chat/completions", body)
    head = parse_head(data.partition(b"\r\n\r\n")[0])
    assert head is not None
    uncut = await make_client(LANE_TAKES.replace("  - {match: {userMessage: cut}", "  # "))
    lane = FastLane(uncut.app)
    answer = lane.answer(lane.route(head), head, body)
    assert answer is not None
    assert ("later" if answer.rest is not None else "at once") == taken
    cut = await make_client(LANE_TAKES)
    lane = FastLane(cut.app)
    assert lane.answer(lane.route(head), head, body) is None


# --- the front's side of a paced answer, with a lane of the test's own -------------------------


class _PacedLane:
    """Answers every request with a head at once and its body after `rest` runs."""

    max_body = 1024

    def __init__(self, rest: Callable[[Line], Awaitable[After]]) -> None:
        self._rest = rest

    def route(self, head: Head) -> object:
        return "any"

    def answer(self, route: object, head: Head, body: bytes) -> Answer | None:
        head_bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return Answer(head_bytes, rest=self._rest)


async def _serve_front(
    rest: Callable[[Line], Awaitable[After]], idle: float
) -> tuple[asyncio.Server, Doors, int]:
    loop = asyncio.get_running_loop()
    doors = Doors(idle)
    server = await loop.create_server(
        lambda: Front(_PacedLane(rest), asyncio.Protocol, doors), "127.0.0.1", 0
    )
    return server, doors, server.sockets[0].getsockname()[1]


async def _slow_body(line: Line) -> After:
    for piece in (b"one ", b"two ", b"three"):
        await asyncio.sleep(0.3)
        await line.send(b"%x\r\n%b\r\n" % (len(piece), piece))
    await line.send(b"0\r\n\r\n")
    return "open"


async def test_an_answer_still_going_out_is_not_closed_as_idle() -> None:
    """The idle deadline (0.2 s here) is for connections with nothing going on; a paced
    answer that takes longer is written to its end."""
    server, doors, port = await _serve_front(_slow_body, idle=0.2)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request("POST", "/v1/chat/completions", chat("hello")))
        await writer.drain()
        received = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 30)
        assert received.endswith(b"5\r\nthree\r\n0\r\n\r\n")
        assert b"one " in received and b"two " in received
        writer.close()
    finally:
        doors.close_all()
        server.close()
        await server.wait_closed()


async def test_a_client_that_stops_sending_still_gets_the_paced_answer() -> None:
    """A half-close (the client's end of writing) while the answer goes out: the answer is
    finished, then the connection closed."""
    server, doors, port = await _serve_front(_slow_body, idle=5)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request("POST", "/v1/chat/completions", chat("hello")))
        await writer.drain()
        writer.write_eof()
        received = await asyncio.wait_for(reader.read(), 30)  # to the server's close
        assert received.startswith(b"HTTP/1.1 200 OK")
        assert received.endswith(b"5\r\nthree\r\n0\r\n\r\n")
        writer.close()
    finally:
        doors.close_all()
        server.close()
        await server.wait_closed()


async def _broken_body(line: Line) -> After:
    await line.send(b"4\r\nhalf\r\n")
    raise RuntimeError("a defect in a paced answer")


async def test_a_defect_in_a_paced_answer_is_logged_and_the_connection_let_go(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, doors, port = await _serve_front(_broken_body, idle=5)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request("POST", "/v1/chat/completions", chat("hello")))
        await writer.drain()
        received = await asyncio.wait_for(reader.read(), 30)
        assert received.endswith(b"4\r\nhalf\r\n")  # no last chunk: the client sees it cut
        writer.close()
    finally:
        doors.close_all()
        server.close()
        await server.wait_closed()
    assert "internal error writing a paced answer" in caplog.text
