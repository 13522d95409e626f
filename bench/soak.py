#!/usr/bin/env python3
"""Soak the server with a million mixed requests and watch its memory (issue 12's soak check).

What one run does:

1. writes a MockStack beside `examples/fixtures`: the `mcp`, `a2a` and `vector` sections of
   the examples' three stacks merged into one (the loader takes one MockStack per server),
   with low caps (MCP sessions, A2A tasks, vector collections and points) so that the caps
   are reached early in the run and the rest of it shows whether eviction at the cap is flat;
2. starts `aimock serve --host 127.0.0.1 --port <free> -f examples/fixtures -f <that stack>`
   (plus the flags given after `--`) and waits for GET /health;
3. sends every request kind of the mix once by hand and checks its status class (the mix is
   broken if a valid request does not answer 2xx, or a hostile one 4xx);
4. runs wrk in rounds of `--round-seconds` (one warm-up round first, not counted) with a Lua
   script cycling through a shuffled schedule of the kinds, weighted; a Lua `response()`
   tallies the answers by status, `done()` prints the tally. Rounds go on until `--requests`
   have been sent;
5. meanwhile a thread samples the server's VmRSS from /proc/<pid>/status every second;
6. after the run: GET /__aimock/journal must answer 200 JSON, a normal chat must still be
   answered, and the server log must hold no "Traceback";
7. prints a Markdown summary (stdout; progress goes to stderr): requests, req/s, answers by
   status class and code, RSS at start (after the warm-up), peak and end, and the slope of RSS
   against requests over each half of the run, in MiB per 100k requests. "Ending flat" means
   the second half's slope is within `--flat-mib` of zero. `--json OUT` writes it all as JSON.

The exit status is 1 when anything above fails: a 5xx (no chaos is configured), a socket
error, a kind answering outside its class, a traceback, an unreadable journal, or RSS not flat.

Example (from the repository root; about 5-15 minutes on a shared 2-core machine):

    .venv/bin/python bench/soak.py > soak.md
    .venv/bin/python bench/soak.py --requests 50000 --round-seconds 5   # smoke test
    .venv/bin/python bench/soak.py -- --journal-max 5000                # extra `serve` flags
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
bench_http = importlib.import_module("bench_http")  # free_port, proc_status, stop_process
bench_revisions = importlib.import_module("bench_revisions")  # wrk, parse_wrk, wait_ready

HOST = bench_http.HOST  # loopback only
EXAMPLES = ROOT / "examples"
MIB = 1024.0  # VmRSS is in KiB
PER = 100_000  # slopes are given per this many requests

# Caps of the soak stack: low enough to be reached in the first minute of the run.
CAPS = {
    "mcp": {"maxSessions": 500},
    "a2a": {"maxTasks": 500},
    "vector": {"limits": {"maxCollections": 20, "maxPointsPerCollection": 2000}},
}

# Lua fills these into a dynamic kind's path, body and header values, per request.
SEQ = "__SEQ__"  # unique text per request of the whole run: r<round>t<thread>n<count>
SEQN = "__SEQN__"  # the same as a number (Qdrant point ids are integers or UUIDs)
SESSION = "__SESSION__"  # the last Mcp-Session-Id this wrk thread was given


# --------------------------------------------------------------------------------------------
# The mix
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int  # slots in a schedule of about 1,000
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: tuple[int, ...] = (2,)  # status classes a correct server answers with
    hostile: bool = False

    @property
    def dynamic(self) -> bool:
        """Filled in by Lua per request (fresh ids, test ids, the MCP session)."""
        text = self.path + (self.body or b"").decode("latin-1") + "".join(self.headers.values())
        return any(marker in text for marker in (SEQ, SEQN, SESSION))


JSON = {"Content-Type": "application/json"}
MCP_HEADERS = {**JSON, "Accept": "application/json, text/event-stream"}
GEMINI = "/v1beta/models/gemini-2.5-flash"
CHROMA = "/api/v2/tenants/default_tenant/databases/default_database/collections/docs"


def body(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def post(name: str, weight: int, path: str, value: Any, **options: Any) -> Kind:
    """A JSON request; `value` may already be bytes (a malformed body)."""
    raw = value if isinstance(value, bytes) else body(value)
    headers = {**JSON, **options.pop("headers", {})}
    return Kind(name, weight, options.pop("method", "POST"), path, raw, headers, **options)


def get(name: str, weight: int, path: str, **options: Any) -> Kind:
    return Kind(name, weight, "GET", path, **options)


def hostile(name: str, weight: int, path: str, value: Any, **options: Any) -> Kind:
    return post(name, weight, path, value, expect=(4,), hostile=True, **options)


def nested(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **extra}


def rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object"}},
}
ANTHROPIC = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "What's the trip budget?"}],
}
CONVERSE = {"messages": [{"role": "user", "content": [{"text": "trip budget please"}]}]}
INITIALIZE = rpc(
    "initialize",
    {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "soak"}},
)
A2A_SEND = rpc(
    "message/send",
    {
        "message": {
            "kind": "message",
            "messageId": f"m-{SEQ}",
            "role": "user",
            "parts": [{"kind": "text", "text": "What is the Lisbon market size?"}],
        }
    },
)

VALID = [
    # LLM providers, each on a fixture of examples/ (a miss answers 404: counted apart).
    post("openai chat", 90, "/v1/chat/completions", chat("hello there")),
    post("openai chat stream", 60, "/v1/chat/completions", chat("capital of France?", stream=True)),
    post(
        "openai chat tool call",
        30,
        "/v1/chat/completions",
        chat("weather in Lisbon?", tools=[WEATHER_TOOL]),
    ),
    post(
        "openai chat, own X-Test-Id",
        40,
        "/v1/chat/completions",
        chat("think step by step"),
        headers={"X-Test-Id": f"soak-{SEQ}"},
    ),
    post("openai chat miss", 10, "/v1/chat/completions", chat("no fixture says this"), expect=(4,)),
    post("openai responses", 50, "/v1/responses", {"model": "gpt-4o", "input": "hi, who are you"}),
    post(
        "openai embeddings",
        40,
        "/v1/embeddings",
        {"model": "text-embedding-3-small", "input": ["the fixed sentence", "another"]},
    ),
    post("anthropic messages", 60, "/v1/messages", ANTHROPIC),
    post("anthropic messages stream", 40, "/v1/messages", {**ANTHROPIC, "stream": True}),
    post(
        "gemini generateContent",
        40,
        f"{GEMINI}:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": "plan a trip to Kyoto"}]}]},
    ),
    post("bedrock converse", 40, "/model/anthropic.claude-3-haiku/converse", CONVERSE),
    post(
        "ollama chat",
        30,
        "/api/chat",
        {"model": "llama3.2", "stream": False, "messages": [{"role": "user", "content": "hello"}]},
    ),
    post(
        "cohere v2 chat",
        30,
        "/v2/chat",
        {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "hi cohere"}]},
    ),
    post(
        "cohere v2 embed",
        20,
        "/v2/embed",
        {
            "model": "embed-v4.0",
            "texts": ["a", "b"],
            "input_type": "search_document",
            "embedding_types": ["float"],
        },
    ),
    post("tavily search", 20, "/search", {"query": "weather in Paris", "max_results": 3}),
    # MCP: a new session each initialize (the cap ends the oldest), then calls in the newest.
    post("mcp initialize", 20, "/mcp", INITIALIZE, headers=MCP_HEADERS),
    post(
        "mcp tools/list",
        30,
        "/mcp",
        rpc("tools/list", {}),
        headers={**MCP_HEADERS, "Mcp-Session-Id": SESSION},
    ),
    # A2A: every message/send makes a task (the cap forgets the oldest).
    post("a2a message/send", 30, "/a2a/researcher", A2A_SEND),
    # Vector stores: writes to a few fixed ids (bounded), queries, and writes to fresh ids
    # (which the store's caps must stop).
    post(
        "qdrant upsert fixed ids",
        20,
        "/collections/docs/points",
        {"points": [{"id": 11, "vector": [0.1, 0.2, 0.3], "payload": {"n": 1}}]},
        method="PUT",
    ),
    post(
        "qdrant query",
        20,
        "/collections/docs/points/query",
        {"query": [1, 0, 0], "limit": 2, "with_payload": True},
    ),
    post(
        "qdrant upsert fresh id",
        8,
        "/collections/docs/points",
        b'{"points":[{"id":%s,"vector":[0.3,0.2,0.1]}]}' % SEQN.encode(),  # a number: unquoted
        method="PUT",
        expect=(2, 4),  # refused once the collection is full
    ),
    post(
        "qdrant create collection, fresh name",
        2,
        f"/collections/soak-{SEQ}",
        {"vectors": {"size": 3, "distance": "Cosine"}},
        method="PUT",
        expect=(2, 4),  # refused past maxCollections
    ),
    post(
        "chroma upsert fixed ids",
        15,
        f"{CHROMA}/upsert",
        {"ids": ["c1", "c2"], "embeddings": [[1, 0, 0], [0, 1, 0]], "documents": ["a", "b"]},
    ),
    post(
        "chroma query",
        15,
        f"{CHROMA}/query",
        {"query_embeddings": [[1, 0, 0]], "n_results": 2, "include": ["distances"]},
    ),
    post(
        "chroma add fresh id",
        6,
        f"{CHROMA}/add",
        {"ids": [f"c-{SEQ}"], "embeddings": [[0, 0, 1]], "documents": ["fresh"]},
        expect=(2, 4),
    ),
    post(
        "pinecone upsert fixed ids",
        15,
        "/pinecone/docs/vectors/upsert",
        {"vectors": [{"id": "p1", "values": [0, 1, 0], "metadata": {"n": 1}}]},
    ),
    post(
        "pinecone query",
        15,
        "/pinecone/docs/query",
        {"vector": [0, 1, 0], "topK": 2, "includeMetadata": True},
    ),
    post(
        "pinecone upsert fresh id",
        6,
        "/pinecone/docs/vectors/upsert",
        {"vectors": [{"id": f"p-{SEQ}", "values": [1, 1, 0]}], "namespace": "soak"},
        expect=(2, 4),
    ),
    # The control API, as a test reads it.
    get("journal, last 5", 5, "/__aimock/journal?limit=5"),
]

HUGE = 9223372036854775807
DEEP = nested(200)  # past the parser's depth limit (128)
HOSTILE = [
    get("unknown path", 8, "/v1/no-such-route", expect=(4,), hostile=True),
    get("unknown gemini verb", 4, f"{GEMINI}:noSuchVerb", expect=(4,), hostile=True),
    get("unknown qdrant path", 4, "/collections/docs/no-such", expect=(4,), hostile=True),
    hostile("unknown anthropic path", 4, "/v1/messages/nope", ANTHROPIC),
    hostile("unknown top-level path", 4, "/no/such/route", {}),
    hostile("malformed JSON, openai", 8, "/v1/chat/completions", b'{"model": "gpt-4o", "mes'),
    hostile("malformed JSON, anthropic", 4, "/v1/messages", b'{"model": ,}'),
    hostile("malformed JSON, bedrock", 4, "/model/m/converse", b"[1, 2"),
    hostile("malformed JSON, cohere", 4, "/v2/chat", b"\xff\xfe not json"),
    hostile("malformed JSON, qdrant", 4, "/collections/docs/points/query", b"{"),
    post(  # JSON-RPC answers its parse error with 200 (A2A) or 400 (MCP)
        "malformed JSON, mcp",
        4,
        "/mcp",
        b'{"jsonrpc": "2.0", "id": 1, "method"',
        headers=MCP_HEADERS,
        expect=(2, 4),
        hostile=True,
    ),
    hostile("deep JSON, chat", 6, "/v1/chat/completions", chat("hello", metadata=DEEP)),
    hostile("deep JSON, embeddings input", 4, "/v1/embeddings", {"model": "m", "input": DEEP}),
    hostile("deep JSON, gemini", 4, f"{GEMINI}:generateContent", {"contents": DEEP}),
    post(
        "deep JSON, a2a",
        3,
        "/a2a/researcher",
        rpc("message/send", {"message": DEEP}),
        expect=(2, 4),
        hostile=True,
    ),
    hostile("wrong types, chat", 6, "/v1/chat/completions", {"model": 5, "messages": "hi"}),
    hostile("wrong types, anthropic", 4, "/v1/messages", {**ANTHROPIC, "max_tokens": "many"}),
    hostile("wrong types, gemini", 4, f"{GEMINI}:generateContent", {"contents": 5}),
    hostile("wrong types, qdrant", 3, "/collections/docs/points", {"points": 0}, method="PUT"),
    hostile("wrong types, chroma", 3, f"{CHROMA}/add", {"ids": 0, "embeddings": [[1, 0, 0]]}),
    hostile("wrong types, pinecone", 3, "/pinecone/docs/query", {"vector": [1, 0, 0], "topK": "x"}),
    hostile(
        "huge dimensions, openai",
        6,
        "/v1/embeddings",
        {"model": "text-embedding-3-large", "input": "x", "dimensions": HUGE},
    ),
    hostile(
        "huge dimensions 300000, openai",
        3,
        "/v1/embeddings",
        {"model": "text-embedding-3-large", "input": "x", "dimensions": 300_000},
    ),
    hostile(
        "huge output_dimension, cohere",
        3,
        "/v2/embed",
        {
            "model": "embed-v4.0",
            "texts": ["a"],
            "input_type": "search_document",
            "embedding_types": ["float"],
            "output_dimension": HUGE,
        },
    ),
    hostile(
        "huge outputDimensionality, gemini",
        3,
        "/v1beta/models/gemini-embedding-001:embedContent",
        {"content": {"parts": [{"text": "a"}]}, "outputDimensionality": HUGE},
    ),
]
KINDS: list[Kind] = VALID + HOSTILE


def schedule(kinds: list[Kind], seed: int) -> list[int]:
    """Kind indices, each repeated by its weight, shuffled: the order wrk cycles through."""
    slots = [index for index, kind in enumerate(kinds) for _ in range(kind.weight)]
    random.Random(seed).shuffle(slots)
    return slots


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def write_stack(folder: Path, caps: dict[str, dict[str, Any]]) -> None:
    """The services of the three example stacks in one MockStack, with `caps` on them."""
    spec: dict[str, Any] = {"fixtures": []}
    for name in ("mcp-stack", "a2a-stack", "vector-stack"):
        example = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())["spec"]
        spec["fixtures"] += example.pop("fixtures", [])
        spec.update(example)
    for section, given in caps.items():
        spec[section].update(given)
    stack = {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "MockStack",
        "metadata": {"name": "soak"},
        "spec": spec,
    }
    folder.mkdir()
    (folder / "soak-stack.yaml").write_text(yaml.safe_dump(stack, sort_keys=False))


def start_server(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = bench_http.free_port()
    command = [str(args.aimock_bin), "serve", "--host", HOST, "--port", str(port)]
    command += ["-f", str(EXAMPLES / "fixtures"), "-f", str(workdir / "stack")]
    command += ["--log-level", args.log_level, *args.serve_flags]
    print("server: " + " ".join(command), file=sys.stderr)
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir
        )
    bench_revisions.wait_ready(process, port, args.start_timeout, log)
    return process, port


class RssSampler(threading.Thread):
    """VmRSS of one process every `interval` seconds, as (monotonic time, KiB)."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                rss = bench_http.proc_status(self.pid)["VmRSS"]
            except (OSError, KeyError):  # the process has ended
                return
            self.samples.append((time.monotonic(), rss))
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join()


# --------------------------------------------------------------------------------------------
# By hand: each kind once, the journal, a normal answer
# --------------------------------------------------------------------------------------------


def send(base: str, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> Any:
    """(status, headers, body) of one request; an HTTP error status is an answer too."""
    request = urllib.request.Request(base + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def fill_markers(text: str, pass_number: int, session: str) -> str:
    """What Lua fills in, by hand: ids fresh for each pass (wrk's are `r<round>...`)."""
    text = text.replace(SEQ, f"check{pass_number}").replace(SEQN, str(424240 + pass_number))
    return text.replace(SESSION, session)


def check_kinds(base: str, kinds: list[Kind], pass_number: int) -> list[dict[str, Any]]:
    """Send each kind once (in order, so an initialize precedes the calls in its session)."""
    session, checks = "none", []

    def fill(text: str) -> str:
        return fill_markers(text, pass_number, session)

    for kind in kinds:
        data = fill(kind.body.decode("latin-1")).encode("latin-1") if kind.body else None
        headers = {name: fill(value) for name, value in kind.headers.items()}
        path = fill(kind.path)
        status, answer_headers, payload = send(base, kind.method, path, data, headers)
        session = answer_headers.get("Mcp-Session-Id") or session
        ok = status // 100 in kind.expect
        checks.append({"kind": kind.name, "status": status, "ok": ok})
        if not ok:
            print(f"unexpected: {kind.name} -> {status}: {payload[:300]!r}", file=sys.stderr)
    return checks


def check_after(base: str, log: Path) -> dict[str, Any]:
    kinds = check_kinds(base, KINDS, 2)  # the mix once more, on the server as the soak left it
    status, _, payload = send(base, "GET", "/__aimock/journal", None, {})
    try:
        entries = len(json.loads(payload)) if status == 200 else None
    except ValueError:
        entries = None
    chat_status, _, answer = send(
        base, "POST", "/v1/chat/completions", body(chat("hello again")), JSON
    )
    text = log.read_text(errors="replace")
    return {
        "kinds": kinds,
        "journal_status": status,
        "journal_json": entries is not None,
        "journal_entries": entries,
        "normal_chat_ok": chat_status == 200 and b"Hello! How can I help?" in answer,
        "tracebacks": text.count("Traceback"),
        "log_lines": text.count("\n"),
        "log_error_lines": len(re.findall(r"\bERROR\b", text)),
    }


# --------------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------------

LUA = """\
-- Generated by bench/soak.py: cycles through a weighted, shuffled schedule of request kinds.
local round = {round}
local kinds = {{
{kinds}
}}
local schedule = {{ {schedule} }}
local prepared = {{}}
local i, count = 0, 0
local session = "none"
local threads = {{}}
statuses = {{}}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for k, kind in ipairs(kinds) do
    if not kind.dynamic then
      prepared[k] = wrk.format(kind.method, kind.path, kind.headers, kind.body)
    end
  end
  i = (id * 7919) % #schedule
end

local function fill(text, seq, seqn)
  text = text:gsub("{SEQN}", seqn):gsub("{SEQ}", seq)
  return (text:gsub("{SESSION}", session))
end

function request()
  i = i % #schedule + 1
  local k = schedule[i]
  if prepared[k] then
    return prepared[k]
  end
  count = count + 1
  local seq = string.format("r%dt%dn%d", round, id, count)
  local seqn = string.format("%.0f", ((round * 64 + id) * 1e9) + count)
  local kind = kinds[k]
  local headers = {{}}
  for name, value in pairs(kind.headers) do
    headers[name] = fill(value, seq, seqn)
  end
  local payload = kind.body and fill(kind.body, seq, seqn)
  return wrk.format(kind.method, fill(kind.path, seq, seqn), headers, payload)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local issued = headers["Mcp-Session-Id"] or headers["mcp-session-id"]
  if issued then
    session = issued
  end
end

function done(summary, latency, requests)
  local total = {{}}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {{}}
  for status, n in pairs(total) do
    table.insert(parts, status .. "=" .. n)
  end
  io.write("SOAK_STATUSES " .. table.concat(parts, " ") .. "\\n")
end
"""


def lua_string(data: bytes) -> str:
    """A Lua string literal holding exactly these bytes."""
    out = []
    for byte in data:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def lua_kind(kind: Kind) -> str:
    headers = ", ".join(
        f"[{lua_string(n.encode())}] = {lua_string(v.encode())}" for n, v in kind.headers.items()
    )
    payload = lua_string(kind.body) if kind.body is not None else "nil"
    return (
        f"  {{method = {lua_string(kind.method.encode())}, path = {lua_string(kind.path.encode())},"
        f" headers = {{{headers}}}, body = {payload}, dynamic = {str(kind.dynamic).lower()}}},"
    )


def write_lua(path: Path, kinds: list[Kind], slots: list[int], round_number: int) -> None:
    path.write_text(
        LUA.format(
            round=round_number,
            kinds="\n".join(lua_kind(kind) for kind in kinds),
            schedule=", ".join(str(slot + 1) for slot in slots),
            SEQ=SEQ,
            SEQN=SEQN,
            SESSION=SESSION,
        )
    )


def parse_statuses(text: str) -> Counter[int]:
    line = re.search(r"^SOAK_STATUSES(.*)$", text, re.M)
    if line is None:
        raise RuntimeError(f"wrk printed no status tally:\n{text}")
    pairs = (item.split("=") for item in line.group(1).split())
    return Counter({int(status): int(n) for status, n in pairs})


@dataclass
class Round:
    number: int  # 0 is the warm-up
    started: float  # monotonic
    ended: float
    requests: int
    requests_before: int  # sent in the measured rounds before this one
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: dict[str, int]
    statuses: dict[int, int]
    rss_kib: int


@dataclass(frozen=True)
class Target:
    base: str  # http://127.0.0.1:<port>
    pid: int
    workdir: Path


def run_round(args: argparse.Namespace, target: Target, number: int, before: int) -> Round:
    """One wrk run of `--round-seconds`; `before` is what the measured rounds sent so far."""
    script = target.workdir / f"round-{number}.lua"
    write_lua(script, KINDS, args.slots, number)
    started = time.monotonic()
    text = bench_revisions.wrk(args, target.base + "/", script, args.round_seconds)
    ended = time.monotonic()
    result = bench_revisions.parse_wrk(text)
    if not args.keep:
        script.unlink()
    return Round(
        number=number,
        started=started,
        ended=ended,
        requests=result["requests"],
        requests_before=before,
        rps=result["rps"],
        p50_ms=result["latency"].get("50", float("nan")),
        p99_ms=result["latency"].get("99", float("nan")),
        socket_errors=result["socket_errors"],
        statuses=dict(sorted(parse_statuses(text).items())),
        rss_kib=bench_http.proc_status(target.pid)["VmRSS"],
    )


def progress(rnd: Round, target: int) -> None:
    classes = status_classes(rnd.statuses)
    label = "warm-up" if rnd.number == 0 else f"round {rnd.number}"
    done = rnd.requests_before + (rnd.requests if rnd.number else 0)
    print(
        f"{label}: {rnd.requests:,} requests ({done:,}/{target:,}), {rnd.rps:,.0f} req/s, "
        f"p99 {rnd.p99_ms:.1f} ms, RSS {rnd.rss_kib / MIB:.1f} MiB, "
        + ", ".join(f"{c}={n:,}" for c, n in classes.items())
        + f", socket errors {sum(rnd.socket_errors.values())}",
        file=sys.stderr,
    )


# --------------------------------------------------------------------------------------------
# Memory over requests
# --------------------------------------------------------------------------------------------


def status_classes(statuses: dict[int, int]) -> dict[str, int]:
    classes: Counter[str] = Counter()
    for status, n in statuses.items():
        classes[f"{status // 100}xx"] += n
    return dict(sorted(classes.items()))


def rss_by_requests(samples: list[tuple[float, int]], rounds: list[Round]) -> list[tuple[int, int]]:
    """Each sample taken during a measured round, placed at the requests sent by then
    (interpolated within the round: wrk reports only a round's total)."""
    points = []
    for when, rss in samples:
        for rnd in rounds:
            if rnd.started <= when <= rnd.ended:
                share = (when - rnd.started) / max(rnd.ended - rnd.started, 1e-9)
                points.append((rnd.requests_before + round(share * rnd.requests), rss))
                break
    return points


def slope_mib_per_100k(points: list[tuple[int, int]]) -> float | None:
    """Least-squares slope of RSS (MiB) against requests, per 100k requests."""
    if len(points) < 3:
        return None
    xs = [x for x, _ in points]
    ys = [y / MIB for _, y in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread * PER


def memory(samples: list[tuple[float, int]], warmup: Round, rounds: list[Round]) -> dict[str, Any]:
    points = rss_by_requests(samples, rounds)
    total = rounds[-1].requests_before + rounds[-1].requests
    first = [p for p in points if p[0] < total / 2]
    second = [p for p in points if p[0] >= total / 2]
    return {
        "rss_start_mib": warmup.rss_kib / MIB,
        "rss_peak_mib": max(rss for _, rss in samples) / MIB,
        "rss_end_mib": rounds[-1].rss_kib / MIB,
        "slope_first_half": slope_mib_per_100k(first),
        "slope_second_half": slope_mib_per_100k(second),
        "samples": len(samples),
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def verdicts(report: dict[str, Any], flat_mib: float) -> dict[str, bool]:
    totals, after, mem = report["totals"], report["after"], report["memory"]
    slope = mem["slope_second_half"]
    return {
        "no 5xx": totals["classes"].get("5xx", 0) == 0,
        "no socket errors": sum(totals["socket_errors"].values()) == 0,
        "every kind answered in its class, before and after": all(
            check["ok"] for check in report["kinds"] + after["kinds"]
        ),
        "journal answers 200 JSON": after["journal_status"] == 200 and after["journal_json"],
        "a normal chat still answered": after["normal_chat_ok"],
        "no traceback in the log": after["tracebacks"] == 0,
        f"RSS flat (second-half slope within {flat_mib:g} MiB/100k)": slope is not None
        and abs(slope) <= flat_mib,
    }


def fmt_slope(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def table(header: list[str], rows: list[list[str]], align: str = "---:") -> None:
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join(align for _ in header) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def print_setup(report: dict[str, Any]) -> None:
    config = report["config"]
    hostile = sum(k.weight for k in KINDS if k.hostile) / sum(k.weight for k in KINDS)
    caps = "; ".join(f"{section} {json.dumps(value)}" for section, value in CAPS.items())
    if config.get("default_caps"):
        caps = "the shipped defaults"
    print(f"`{' '.join(report['command'])}`\n")
    print(
        f"{report['date']}, aimock {report['revision']}, {report['machine']['cpus']} CPUs, "
        f"wrk -t{config['threads']} -c{config['connections']}, {len(report['rounds'])} rounds "
        f"of {config['round_seconds']} s after a warm-up round; {len(KINDS)} request kinds, "
        f"{hostile:.0%} of the mix hostile; the soak stack's caps: {caps}; load average "
        f"{report['load_avg'][0]:.2f} -> {report['load_avg'][1]:.2f}.\n"
    )


def print_results(report: dict[str, Any]) -> None:
    totals, mem, after = report["totals"], report["memory"], report["after"]
    classes = totals["classes"]
    table(
        ["requests", "seconds", "req/s", *classes, "socket errors"],
        [
            [
                f"{totals['requests']:,}",
                f"{totals['seconds']:.0f}",
                f"{totals['rps']:,.0f}",
                *(f"{n:,}" for n in classes.values()),
                str(sum(totals["socket_errors"].values())),
            ]
        ],
    )
    codes = ", ".join(f"{status}: {n:,}" for status, n in totals["statuses"].items())
    print(f"Answers by status: {codes}.\n")
    table(
        ["RSS MiB at start (after warm-up)", "peak", "end", "slope 1st half", "slope 2nd half"],
        [
            [
                f"{mem['rss_start_mib']:.1f}",
                f"{mem['rss_peak_mib']:.1f}",
                f"{mem['rss_end_mib']:.1f}",
                fmt_slope(mem["slope_first_half"]),
                fmt_slope(mem["slope_second_half"]),
            ]
        ],
    )
    print(
        "Slopes are MiB per 100k requests (least squares over the 1 s RSS samples of that "
        "half, each placed at the requests sent by then).\n"
    )
    print(
        f"After the run: GET /__aimock/journal {after['journal_status']} "
        f"({after['journal_entries']} entries), normal chat "
        f"{'answered' if after['normal_chat_ok'] else 'NOT answered'}, "
        f"{after['tracebacks']} tracebacks and {after['log_error_lines']} ERROR lines in "
        f"{after['log_lines']:,} log lines.\n"
    )
    for name, ok in report["verdicts"].items():
        print(f"- {'ok' if ok else 'FAILED'}: {name}")
    print()


def print_kinds(report: dict[str, Any]) -> None:
    """Each kind's weight and the status it answered by hand, before and after the run."""
    print("Request kinds, with the status each answered when sent by hand:\n")
    rows = [
        [kind.name, str(kind.weight), str(before["status"]), str(after["status"])]
        for kind, before, after in zip(
            KINDS, report["kinds"], report["after"]["kinds"], strict=True
        )
    ]
    table(["kind", "weight", "before", "after"], rows, "---")


def print_summary(report: dict[str, Any]) -> None:
    print(f"## Soak: {report['totals']['requests']:,} mixed requests\n")
    print_setup(report)
    print_results(report)
    print_kinds(report)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="soak.py",
        description="Soak `aimock serve` with mixed valid and hostile requests (wrk) and "
        "sample its RSS; flags after `--` go to `aimock serve`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=1_000_000, help="at least this many")
    parser.add_argument("--round-seconds", type=int, default=20, help="length of one wrk run")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--seed", type=int, default=1, help="seed of the schedule's order")
    parser.add_argument(
        "--flat-mib",
        type=float,
        default=0.5,
        help="most |RSS slope| over the second half, MiB per 100k requests, called flat",
    )
    parser.add_argument(
        "--aimock-bin", type=Path, default=ROOT / ".venv" / "bin" / "aimock", help="the CLI"
    )
    parser.add_argument("--log-level", default="warn", help="the server's --log-level")
    parser.add_argument("--start-timeout", type=float, default=60, help="seconds to be ready")
    parser.add_argument("--check-only", action="store_true", help="send each kind once, stop")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--default-caps",
        action="store_true",
        help="serve with the shipped limits (10,000 sessions and tasks...) instead of low ones",
    )
    parser.add_argument("serve_flags", nargs=argparse.REMAINDER, help="-- then `serve` flags")
    args = parser.parse_args(argv)
    if args.serve_flags[:1] == ["--"]:
        args.serve_flags = args.serve_flags[1:]
    if min(args.requests, args.round_seconds, args.threads, args.connections) < 1:
        parser.error("--requests, --round-seconds, --threads and --connections must be > 0")
    args.slots = schedule(KINDS, args.seed)
    return args


def run_rounds(args: argparse.Namespace, target: Target) -> tuple[Round, list[Round]]:
    """The warm-up round, then measured rounds until `--requests` are sent."""
    warmup = run_round(args, target, 0, 0)
    progress(warmup, args.requests)
    rounds: list[Round] = []
    sent = 0
    while sent < args.requests:
        rnd = run_round(args, target, len(rounds) + 1, sent)
        rounds.append(rnd)
        sent += rnd.requests
        progress(rnd, args.requests)
    return warmup, rounds


def totals(rounds: list[Round]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    socket_errors: Counter[str] = Counter()
    for rnd in rounds:
        statuses.update(rnd.statuses)
        socket_errors.update(rnd.socket_errors)
    requests = sum(r.requests for r in rounds)
    seconds = sum(r.ended - r.started for r in rounds)
    return {
        "requests": requests,
        "seconds": seconds,
        "rps": requests / seconds,
        "classes": status_classes(statuses),
        "statuses": dict(sorted(statuses.items())),
        "socket_errors": dict(socket_errors),
    }


def soak(args: argparse.Namespace, workdir: Path) -> dict[str, Any] | None:
    write_stack(workdir / "stack", {} if args.default_caps else CAPS)
    process, port = start_server(args, workdir)
    target = Target(f"http://{HOST}:{port}", process.pid, workdir)
    sampler = RssSampler(process.pid)
    try:
        kinds = check_kinds(target.base, KINDS, 1)
        if args.check_only:
            for check in kinds:
                print(f"{check['status']}  {'ok ' if check['ok'] else 'BAD'}  {check['kind']}")
            return None
        sampler.start()
        load_before = os.getloadavg()[0]
        warmup, rounds = run_rounds(args, target)
        sampler.stop()
        after = check_after(target.base, workdir / "server.log")
    finally:
        bench_http.stop_process(process)  # first: nothing below may leave the server running
        sampler.stop()
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "revision": bench_http.git_revision(),
        "command": sys.argv,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "slots")},
        "load_avg": (load_before, os.getloadavg()[0]),
        "kinds": kinds,
        "totals": totals(rounds),
        "memory": memory(sampler.samples, warmup, rounds),
        "after": after,
        "warmup": asdict(warmup),
        "rounds": [asdict(r) for r in rounds],
        "rss_samples": sampler.samples,
    }
    report["verdicts"] = verdicts(report, args.flat_mib)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("error: wrk is not on PATH; install it (Debian: apt-get install wrk)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the server is stopped
    workdir = Path(tempfile.mkdtemp(prefix="aimock-soak-"))
    try:
        report = soak(args, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if report is None:
        return 0
    print_summary(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0 if all(report["verdicts"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
