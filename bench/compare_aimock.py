#!/usr/bin/env python3
"""Send the same requests to aimock and to AIMock and show where the answers differ.

The evidence behind docs/migrating-from-aimock.md: both servers are started on 127.0.0.1 with
the same fixture folder (AIMock's JSON format), then the same steps run against each, in
order, and each answer is reduced to what a test would look at (status, content, tool
calls, reasoning; ids and timestamps dropped). One line per step says `same` or `DIFFERS`,
with both answers when they differ.

    .venv/bin/python bench/compare_aimock.py --node-modules /path/to/node_modules

Not a test: the two servers are expected to differ where the guide says they do.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CHAT = "/v1/chat/completions"

FIXTURES: list[dict[str, Any]] = [
    {"match": {"userMessage": "hello-diff"}, "response": {"content": "Hi from the file."}},
    {
        "match": {"userMessage": "tools-diff"},
        "response": {"toolCalls": [{"name": "get_weather", "arguments": '{"city":"Paris"}'}]},
    },
    {"match": {"inputText": "emb-text-diff"}, "response": {"content": "a text fixture"}},
    {"match": {"userMessage": "turn-a"}, "response": {"content": "no-turn"}},
    {"match": {"userMessage": "turn-a", "turnIndex": 0}, "response": {"content": "turn0"}},
    {
        "match": {"userMessage": "loop", "turnIndex": 0},
        "response": {"toolCalls": [{"name": "lookup", "arguments": "{}"}]},
    },
    {"match": {"userMessage": "loop", "hasToolResult": True}, "response": {"content": "done"}},
    {"match": {"userMessage": "htr", "hasToolResult": True}, "response": {"content": "after"}},
    {"match": {"userMessage": "htr", "hasToolResult": False}, "response": {"content": "before"}},
    {"match": {"userMessage": "seq", "sequenceIndex": 0}, "response": {"content": "s0"}},
    {"match": {"userMessage": "seq", "sequenceIndex": 1}, "response": {"content": "s1"}},
    {"match": {"userMessage": "reason"}, "response": {"content": "ok", "reasoning": "hmm"}},
    {"match": {"userMessage": "ctx", "context": "tenant-a"}, "response": {"content": "ctx a"}},
]

TOOL_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    ],
}
TOOL_RESULT = {"role": "tool", "tool_call_id": "call_1", "content": "result"}


def chat(text: str, *, model: str = "gpt-4o", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def conversation(*messages: dict[str, Any], model: str = "gpt-4o") -> dict[str, Any]:
    return {"model": model, "messages": list(messages)}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


@dataclass
class Step:
    title: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


STEPS = [
    Step("plain match", "POST", CHAT, chat("hello-diff")),
    Step("miss (404)", "POST", CHAT, chat("nothing")),
    Step("strict miss (503)", "POST", CHAT, chat("nothing"), {"X-AIMock-Strict": "true"}),
    Step(
        "text fixture on an embeddings request",
        "POST",
        "/v1/embeddings",
        {"model": "text-embedding-3-small", "input": "emb-text-diff", "dimensions": 4},
    ),
    Step(
        "embeddings fallback vector",
        "POST",
        "/v1/embeddings",
        {"model": "text-embedding-3-small", "input": "hello world", "dimensions": 8},
    ),
    Step("moderation default", "POST", "/v1/moderations", {"input": "some text"}),
    Step(
        "turnIndex: no-turn fixture vs behind-count turnIndex 0, at n=1",
        "POST",
        CHAT,
        conversation(user("turn-a"), {"role": "assistant", "content": "x"}, user("turn-a")),
    ),
    Step(
        "turnIndex 0 tool call vs hasToolResult fixture after the tool result",
        "POST",
        CHAT,
        conversation(user("loop"), TOOL_CALL, TOOL_RESULT),
    ),
    Step("hasToolResult: user only", "POST", CHAT, chat("htr")),
    Step(
        "hasToolResult: after a tool result",
        "POST",
        CHAT,
        conversation(user("htr"), TOOL_CALL, TOOL_RESULT),
    ),
    Step("sequenceIndex 0", "POST", CHAT, chat("seq"), {"X-Test-Id": "t1"}),
    Step("sequenceIndex 1", "POST", CHAT, chat("seq"), {"X-Test-Id": "t1"}),
    Step("sequenceIndex, other test id", "POST", CHAT, chat("seq"), {"X-Test-Id": "t2"}),
    Step("X-AIMock-Context", "POST", CHAT, chat("ctx"), {"X-AIMock-Context": "tenant-a"}),
    Step("reasoning, non-reasoning model", "POST", CHAT, chat("reason")),
    Step(
        "reasoning, non-reasoning model, strict",
        "POST",
        CHAT,
        chat("reason"),
        {"X-AIMock-Strict": "true"},
    ),
    Step("stream: text", "POST", CHAT, chat("hello-diff", stream=True)),
    Step("stream: reasoning first?", "POST", CHAT, chat("reason", model="o3", stream=True)),
    Step(
        "stream: usage chunk",
        "POST",
        CHAT,
        chat("hello-diff", stream=True, stream_options={"include_usage": True}),
    ),
    Step("stream: tool call", "POST", CHAT, chat("tools-diff", stream=True)),
    Step("chaos drop header", "POST", CHAT, chat("hello-diff"), {"x-aimock-chaos-drop": "1"}),
    Step(
        "add a fixture with a typo'd key",
        "POST",
        "/__aimock/fixtures",
        {"fixtures": [{"match": {"userMesage": "x"}, "response": {"content": "typo"}}]},
    ),
    Step("a miss after that", "POST", CHAT, chat("nothing")),
    Step("POST /__aimock/reset", "POST", "/__aimock/reset"),
    Step("file fixture after reset", "POST", CHAT, chat("hello-diff")),
    Step("DELETE /__aimock/fixtures", "DELETE", "/__aimock/fixtures"),
    Step("file fixture after delete", "POST", CHAT, chat("hello-diff")),
    Step("health", "GET", "/__aimock/health"),
]

IDS = re.compile(r'"(id|created|system_fingerprint)":\s*("[^"]*"|\d+),?\s*')


def reduce(response: httpx.Response) -> Any:
    """What a test looks at: the status and, for chat, the message; ids and times dropped."""
    text = response.text
    if text.startswith("data:") or "\ndata:" in text:
        return [response.status_code, [_reduce_json(line[5:]) for line in _data_lines(text)]]
    return [response.status_code, _reduce_json(text)]


def _data_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("data:")]


def _reduce_json(text: str) -> Any:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(data, dict) and data.get("object") == "chat.completion":
        message = data["choices"][0]["message"]
        keep = ("content", "reasoning_content")
        reduced = {k: message[k] for k in keep if message.get(k) is not None}
        calls = message.get("tool_calls") or []
        if calls:
            reduced["tool_calls"] = [c["function"]["name"] for c in calls]
        return reduced
    if isinstance(data, dict) and data.get("object") == "chat.completion.chunk":
        chunk: dict[str, Any] = {}
        if data.get("choices"):
            chunk["delta"] = json.loads(IDS.sub("", json.dumps(data["choices"][0]["delta"])))
        if data.get("usage"):
            chunk["usage"] = data["usage"]
        return chunk
    if isinstance(data, dict) and data.get("object") == "list":
        return [item["embedding"][:4] for item in data["data"]]
    return json.loads(IDS.sub("", json.dumps(data)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(client: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if client.get("/__aimock/health").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server {process.args!r} did not start")


def run(args: argparse.Namespace, folder: Path, logs: Path) -> int:
    ours_port, peer_port = free_port(), free_port()
    ours_cmd = [str(args.aimock_bin), "serve", "-p", str(ours_port), "-f", str(folder)]
    peer_cmd = [str(args.node_modules / ".bin" / "llmock"), "-p", str(peer_port)]
    peer_cmd += ["-f", str(folder)]
    processes = [start(ours_cmd, logs / "ours.log"), start(peer_cmd, logs / "aimock.log")]
    clients = [
        httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10)
        for port in (ours_port, peer_port)
    ]
    differing = 0
    try:
        for client, process in zip(clients, processes, strict=True):
            wait_ready(client, process)
        for step in STEPS:
            answers = [
                reduce(c.request(step.method, step.path, json=step.body, headers=step.headers))
                for c in clients
            ]
            same = answers[0] == answers[1]
            differing += not same
            print(f"{'same   ' if same else 'DIFFERS'}  {step.title}")
            if not same or args.verbose:
                print(f"    ours:   {json.dumps(answers[0])[: args.width]}")
                print(f"    AIMock: {json.dumps(answers[1])[: args.width]}")
    finally:
        for client in clients:
            client.close()
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    print(f"\n{differing} of {len(STEPS)} steps differ")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--node-modules",
        type=Path,
        default=os.environ.get("AIMOCK_PEER_NODE_MODULES"),
        help="node_modules folder holding @copilotkit/aimock (env AIMOCK_PEER_NODE_MODULES)",
    )
    parser.add_argument(
        "--aimock-bin", type=Path, default=ROOT / ".venv" / "bin" / "aimock", help="our CLI"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="print every answer")
    parser.add_argument("--width", type=int, default=400, help="characters shown per answer")
    args = parser.parse_args()
    if args.node_modules is None:
        parser.error("--node-modules is required (or AIMOCK_PEER_NODE_MODULES)")
    work = Path(tempfile.mkdtemp(prefix="aimock-compare-"))
    try:
        (work / "fixtures").mkdir()
        (work / "fixtures" / "compare.json").write_text(json.dumps({"fixtures": FIXTURES}))
        return run(args, work / "fixtures", work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
