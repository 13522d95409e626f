#!/usr/bin/env python3
"""The bare ceiling: aiohttp on uvloop answering fixed bytes, the fastest a server built on
aiohttp can be on this machine.

It is part of the benchmark, not of aimock: `make bench` drives it with the same wrk, the
same request bodies and the same CPU pinning as the mock servers, so it shows (a) what
fraction of aiohttp's own speed aimock keeps and (b) that wrk can go far faster than any mock
measured, i.e. the load generator is not the bottleneck.

Every POST reads its body (any real server must) and gets one of two prebuilt answers: an
OpenAI chat completion, or, when the body asks for `"stream": true`, the same answer as a
10-chunk SSE stream written in one go (what aimock does with instant physics). Both carry the
same 200-character answer the benchmark fixtures hold; nothing is parsed, matched, journaled
or counted. `GET /health` answers 200.

    .venv/bin/python bench/ceiling.py --port 4099
"""

from __future__ import annotations

import argparse
import asyncio
import json

import uvloop
from aiohttp import web

CHUNK = 20  # characters per streamed slice, as in the benchmark fixtures
ANSWER = "R000000 " + "x" * (10 * CHUNK - 8)  # 10 slices of 20 characters
STREAM_FLAG = b'"stream": true'  # how the benchmark's bodies ask for a stream


def chat_body() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-ceiling",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 50, "total_tokens": 62},
        },
        separators=(",", ":"),
    ).encode()


def stream_body() -> bytes:
    def event(delta: dict[str, str], finish: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-ceiling",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

    slices = [ANSWER[i : i + CHUNK] for i in range(0, len(ANSWER), CHUNK)]
    events = [event({"role": "assistant", "content": ""})]
    events += [event({"content": piece}) for piece in slices]
    events += [event({}, "stop"), b"data: [DONE]\n\n"]
    return b"".join(events)


def make_app() -> web.Application:
    chat, stream = chat_body(), stream_body()

    async def answer(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if STREAM_FLAG not in body:
            return web.Response(body=chat, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(stream)
        await response.write_eof()
        return response

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_post("/{tail:.*}", answer)
    return app


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"ceiling listening on http://{host}:{port}", flush=True)
    await asyncio.Event().wait()  # until SIGTERM ends the process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
