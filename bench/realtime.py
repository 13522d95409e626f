#!/usr/bin/env python3
"""Realtime over WebSocket: aimock and AIMock answering the same OpenAI Realtime text turns.

wrk speaks no WebSocket, so the client here is Python (websockets on uvloop). A Python client
saturates before either server does, so the figure to compare is not turns per second but
what a turn costs the server: its CPU time (user + system, read from /proc before and after)
divided by the turns it answered. Each server is pinned to one core (`--server-cpu`), the
client to another. Turn latency (from `response.create` sent to `response.done` received) is
reported too, at one socket and at `--sockets` in parallel.

A turn: `conversation.item.create` (a user message), `response.create`, then every event up
to `response.done`: a 200-character answer in 10 text deltas.

    .venv/bin/python bench/realtime.py                      # both servers, about a minute
    .venv/bin/python bench/realtime.py --turns 2000 --sockets 16 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvloop
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.peers import aimock_bin  # noqa: E402

TOPIC = "bench-realtime-turn"
ANSWER = "r" * 200
TICKS = os.sysconf("SC_CLK_TCK")
TURNS_PER_SOCKET = 50  # a long voice call: the conversation a turn matches stays realistic


def fixtures(folder: Path) -> Path:
    """One fixture in AIMock's JSON format, which both servers read."""
    body = {"fixtures": [{"match": {"userMessage": TOPIC}, "response": {"content": ANSWER}}]}
    (folder / "realtime.json").write_text(json.dumps(body))
    return folder


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@contextmanager
def server(kind: str, folder: Path, cpu: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    if kind == "aimock":
        command = [
            str(ROOT / ".venv" / "bin" / "aimock"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "-f",
            str(folder),
            "--log-level",
            "warn",
        ]
    else:
        command = [str(aimock_bin()), "--host", "127.0.0.1", "--port", str(port), "-f", str(folder)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
        deadline = time.monotonic() + 60
        while True:
            try:
                asyncio.run(_probe(url))
                break
            except (OSError, websockets.WebSocketException):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{kind} did not start") from None
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def _probe(url: str) -> None:
    async with websockets.connect(url, open_timeout=2) as socket:
        await asyncio.wait_for(socket.recv(), 2)


async def session(url: str, turns: int, latencies: list[float]) -> int:
    """`turns` text turns, a new socket every `TURNS_PER_SOCKET` (a conversation's items are
    bounded); the turns answered whole."""
    done = 0
    while turns > 0:
        done += await one_socket(url, min(turns, TURNS_PER_SOCKET), latencies)
        turns -= TURNS_PER_SOCKET
    return done


async def one_socket(url: str, turns: int, latencies: list[float]) -> int:
    done = 0
    item = {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": f"please do the {TOPIC}"}],
        },
    }
    async with websockets.connect(url, max_size=None) as socket:
        await socket.recv()  # session.created
        await socket.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "output_modalities": ["text"]},
                }
            )
        )
        for _ in range(turns):
            await socket.send(json.dumps(item))
            started = time.perf_counter()
            await socket.send(json.dumps({"type": "response.create"}))
            text = ""
            while True:
                event = json.loads(await socket.recv())
                kind = event.get("type")
                if kind == "response.output_text.delta":
                    text += event["delta"]
                elif kind == "response.done":
                    break
                elif kind == "error":
                    raise RuntimeError(f"the server answered an error: {event}")
            latencies.append((time.perf_counter() - started) * 1000)
            done += text == ANSWER
    return done


def measure(url: str, pid: int, sockets: int, turns: int) -> dict[str, Any]:
    latencies: list[float] = []

    async def run() -> int:
        counts = await asyncio.gather(*(session(url, turns, latencies) for _ in range(sockets)))
        return sum(counts)

    before, started = cpu_seconds(pid), time.perf_counter()
    answered = uvloop.run(run())
    wall, cpu = time.perf_counter() - started, cpu_seconds(pid) - before
    latencies.sort()
    return {
        "sockets": sockets,
        "turns": sockets * turns,
        "answered_whole": answered,
        "server_cpu_us_per_turn": round(cpu / (sockets * turns) * 1e6, 1),
        "turns_per_s": round(sockets * turns / wall, 1),
        "latency_ms_p50": round(statistics.median(latencies), 3),
        "latency_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000, help="turns per socket")
    parser.add_argument("--sockets", type=int, default=8, help="sockets in the parallel run")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.client_cpu})
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as temp:
        folder = fixtures(Path(temp))
        for kind in ("aimock", "AIMock"):
            with server(kind, folder, args.server_cpu) as (url, pid):
                measure(url, pid, 1, 50)  # warm up
                results[kind] = {
                    "one socket": measure(url, pid, 1, args.turns),
                    f"{args.sockets} sockets": measure(
                        url, pid, args.sockets, max(1, args.turns // args.sockets)
                    ),
                }
    print(json.dumps(results, indent=1))
    for run in results["aimock"]:
        ours, peer = results["aimock"][run], results["AIMock"][run]
        mine, theirs = ours["server_cpu_us_per_turn"], peer["server_cpu_us_per_turn"]
        share = f"{mine / theirs:.2f}x" if theirs else "? (too short a run to measure)"
        print(
            f"{run}: server CPU per turn {mine} us (aimock) vs {theirs} us (AIMock): aimock "
            f"does a turn on {share} the CPU; p50 latency {ours['latency_ms_p50']} vs "
            f"{peer['latency_ms_p50']} ms"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
