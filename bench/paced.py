#!/usr/bin/env python3
"""Paced streams: does the server deliver the time-to-first-token and chunk rate a fixture
sets, with many streams in flight at once?

A small asyncio client (this one measures timing, not throughput, so Python is fine): it opens
`--streams` OpenAI chat streams against a fixture with `streamingProfile: {ttft, tps}`,
started evenly over `--ramp` seconds so that they overlap (the peak number in flight is
reported), and timestamps every SSE event as it arrives. Per stream:

- TTFT: from sending the request to the first event (the role chunk, which the server holds
  back by `ttft`);
- chunks/s: the content events divided by the time from the first event to the last content
  event. A fixture's `tps` counts chunks (events), as AIMock's does (issue 20): the server
  waits 1000/tps ms before each later event, so this equals `tps` when the pacing is exact.
  (The content tokens, 4 characters a token, are still counted and reported.)

bench/pacing.py is the side-by-side measurement (aimock and AIMock, a native client); this
one stays for `make bench`'s `paced` case.

It also samples its own event loop's lag every 10 ms: a late client would stretch every
timestamp, and the lag says how far to trust them.

    .venv/bin/python bench/paced.py --url http://127.0.0.1:4010 --streams 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import uvloop

PATH = "/v1/chat/completions"
TOPIC = "bench-paced-stream"  # the text the paced fixture matches
CHARS_PER_TOKEN = 4


def fixture(ttft_ms: float, tps: float, tokens: int, chunk_size: int = 20) -> dict[str, Any]:
    """The paced fixture, in AIMock's JSON format (ours reads it unchanged)."""
    return {
        "match": {"userMessage": TOPIC},
        "response": {"content": "p" * (tokens * CHARS_PER_TOKEN)},
        "chunkSize": chunk_size,
        "streamingProfile": {"ttft": ttft_ms, "tps": tps},
    }


def request_body() -> bytes:
    return json.dumps(
        {
            "model": "gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": f"Stream the {TOPIC} please."}],
        }
    ).encode()


@dataclass
class Stream:
    ttft_ms: float | None = None
    tps: float | None = None  # content chunks a second
    tokens: int = 0
    chunks: int = 0
    complete: bool = False
    error: str | None = None


@dataclass
class Tally:
    in_flight: int = 0
    peak: int = 0
    lags_ms: list[float] = field(default_factory=list)


async def one_stream(
    session: aiohttp.ClientSession, url: str, body: bytes, start_at: float, tally: Tally
) -> Stream:
    result = Stream()
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    tally.in_flight += 1
    tally.peak = max(tally.peak, tally.in_flight)
    sent = time.perf_counter()
    first = last_content = None
    try:
        headers = {"Content-Type": "application/json"}
        async with session.post(url, data=body, headers=headers) as response:
            if response.status != 200:
                result.error = f"HTTP {response.status}"
                return result
            async for raw in response.content:
                now = time.perf_counter()
                line = raw.strip()
                if not line.startswith(b"data:"):
                    continue
                if first is None:
                    first = now
                    result.ttft_ms = (now - sent) * 1000
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    result.complete = True
                    break
                choices = json.loads(payload).get("choices") or [{}]
                content = (choices[0].get("delta") or {}).get("content")
                if content:
                    result.tokens += math.ceil(len(content) / CHARS_PER_TOKEN)
                    result.chunks += 1
                    last_content = now
    except (TimeoutError, aiohttp.ClientError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        tally.in_flight -= 1
    if first is not None and last_content is not None and last_content > first:
        result.tps = result.chunks / (last_content - first)
    if not result.complete and result.error is None:
        result.error = "stream ended without [DONE]"
    return result


async def watch_lag(tally: Tally, stop: asyncio.Event, period: float = 0.01) -> None:
    """How late the loop wakes up: a measure of how busy this client is."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(period)
        tally.lags_ms.append(max(0.0, (time.perf_counter() - before - period) * 1000))


def spread(values: list[float], configured: float) -> dict[str, Any]:
    """Percentiles of what was delivered, and how far they are from what was configured."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

    within = sum(abs(v - configured) <= 0.05 * configured for v in ordered)
    p50 = at(50)
    return {
        "count": len(ordered),
        "configured": configured,
        "p5": at(5),
        "p50": p50,
        "p95": at(95),
        "mean": statistics.fmean(ordered),
        "p50_error_pct": (p50 - configured) / configured * 100,
        "share_within_5pct": within / len(ordered),
    }


async def run(
    base_url: str, *, streams: int, ramp_s: float, ttft_ms: float, tps: float, timeout_s: float
) -> dict[str, Any]:
    tally = Tally()
    stop = asyncio.Event()
    lag = asyncio.create_task(watch_lag(tally, stop))
    body = request_body()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        begin = time.perf_counter() + 0.05
        step = ramp_s / streams if streams else 0.0
        results = await asyncio.gather(
            *(
                one_stream(session, base_url + PATH, body, begin + i * step, tally)
                for i in range(streams)
            )
        )
    stop.set()
    await lag
    errors = [r.error for r in results if r.error]
    lags = sorted(tally.lags_ms) or [0.0]
    return {
        "streams": streams,
        "ramp_s": ramp_s,
        "seconds": time.perf_counter() - started,
        "peak_in_flight": tally.peak,
        "complete": sum(r.complete for r in results),
        "errors": len(errors),
        "error_samples": errors[:5],
        "ttft_ms": spread([r.ttft_ms for r in results if r.ttft_ms is not None], ttft_ms),
        "tps": spread([r.tps for r in results if r.tps is not None], tps),
        "client_lag_ms": {"p99": lags[int(0.99 * (len(lags) - 1))], "max": lags[-1]},
    }


def measure(
    base_url: str,
    *,
    streams: int,
    ramp_s: float,
    ttft_ms: float,
    tps: float,
    timeout_s: float = 120,
) -> dict[str, Any]:
    """Run the paced streams on a fresh uvloop loop (the caller need not be async)."""
    return uvloop.run(
        run(base_url, streams=streams, ramp_s=ramp_s, ttft_ms=ttft_ms, tps=tps, timeout_s=timeout_s)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="server origin, e.g. http://127.0.0.1:4010")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds to start them over")
    parser.add_argument("--ttft", type=float, default=500, help="the fixture's ttft (ms)")
    parser.add_argument("--tps", type=float, default=50, help="the fixture's tps (chunks/s)")
    args = parser.parse_args()
    report = measure(
        args.url, streams=args.streams, ramp_s=args.ramp, ttft_ms=args.ttft, tps=args.tps
    )
    json.dump(report, sys.stdout, indent=2)
    print()
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
