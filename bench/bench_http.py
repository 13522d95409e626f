#!/usr/bin/env python3
"""HTTP load generator for aimock (and, side by side, AIMock's Node server).

What one run does:

1. writes N fixtures in AIMock's JSON fixture format (both servers load it unchanged), each
   with its own `userMessage` substring, split over a few files in a temporary folder;
2. starts the server on a free loopback port with that folder and waits for its health probe;
3. warms up, then sends chat completions at a fixed concurrency until a fixed number of
   requests is done (or a time limit passes), picking messages that hit fixtures spread over
   the whole set plus a share that hit the *last* fixtures (a server that scans fixtures one
   by one pays most for those);
4. reports requests/s, latency percentiles, errors, the server's CPU time per request and its
   resident memory (VmRSS from /proc/<pid>/status) after the run; then stops the server.

Everything binds and connects to 127.0.0.1 only, and every run stops by itself.

Examples (from the repository root):

    .venv/bin/python bench/bench_http.py
    .venv/bin/python bench/bench_http.py --stream --runs 2 --json out.json
    .venv/bin/python bench/bench_http.py --peer aimock --node-modules /work/peers/node_modules
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only, always
PEER_PACKAGE = "@copilotkit/aimock"
FILLER = (
    "this is a canned answer from the benchmark fixture set; it is long enough to be "
    "streamed in several slices so that the stream mode measures more than one event "
    "per request and the server has to frame a realistic amount of output."
)


# --------------------------------------------------------------------------------------------
# Fixtures and requests
# --------------------------------------------------------------------------------------------


def topic(i: int) -> str:
    """The distinct substring fixture `i` matches. Fixed width, so no key contains another."""
    return f"bench-topic-{i:06d}"


def marker(i: int) -> bytes:
    """What fixture `i`'s answer starts with; short enough to sit in the first stream slice."""
    return f"R{i:06d}".encode()


def write_fixtures(
    folder: Path,
    count: int,
    files: int,
    make: Callable[[int], dict[str, Any]] | None = None,
    indent: bool = True,
) -> None:
    """`count` fixtures in AIMock's JSON format, in `files` files (loaded in name order);
    fixture i is `make(i)`, by default this bench's chat fixture."""
    make = make or _chat_fixture
    per_file = -(-count // files)
    for f in range(files):
        chunk = range(f * per_file, min(count, (f + 1) * per_file))
        if not chunk:
            break
        document = {"fixtures": [make(i) for i in chunk]}
        path = folder / f"bench-{f:03d}.json"
        path.write_text(json.dumps(document, indent=1) if indent else json.dumps(document))


def _chat_fixture(i: int) -> dict[str, Any]:
    return {
        "match": {"userMessage": topic(i)},
        "response": {"content": f"{marker(i).decode()} {FILLER}"},
    }


def _question(i: int) -> str:
    return f"Please answer the question about {topic(i)} now."


SYSTEM = "You are a benchmark."


@dataclass(frozen=True)
class Wire:
    """One provider's wire: where a request goes, its body, and how a whole stream ends."""

    path: str  # "{model}" is filled in; stream_path is used for streamed requests when set
    body: Any  # (question, stream) -> JSON body
    end: bytes  # bytes every complete streamed answer holds (its terminator event)
    stream_path: str | None = None


WIRES: dict[str, Wire] = {
    "openai": Wire(
        "/v1/chat/completions",
        lambda q, stream: {
            "model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}],
            **({"stream": True} if stream else {}),
        },
        b"[DONE]",
    ),
    "anthropic": Wire(
        "/v1/messages",
        lambda q, stream: {
            "model": "claude-sonnet-4-6",
            "max_tokens": 512,
            "system": SYSTEM,
            "messages": [{"role": "user", "content": q}],
            **({"stream": True} if stream else {}),
        },
        b"message_stop",
    ),
    "gemini": Wire(
        "/v1beta/models/gemini-2.5-flash:generateContent",
        lambda q, stream: {
            "systemInstruction": {"parts": [{"text": SYSTEM}]},
            "contents": [{"role": "user", "parts": [{"text": q}]}],
        },
        b"finishReason",
        stream_path="/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    ),
    "bedrock-converse": Wire(
        "/model/amazon.nova-pro-v1:0/converse",
        lambda q, stream: {
            "system": [{"text": SYSTEM}],
            "messages": [{"role": "user", "content": [{"text": q}]}],
        },
        b"messageStop",
        stream_path="/model/amazon.nova-pro-v1:0/converse-stream",
    ),
    "ollama": Wire(
        "/api/chat",
        lambda q, stream: {
            "model": "llama3.2",
            "stream": stream,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}],
        },
        b'"done":true',
    ),
    "cohere": Wire(
        "/v2/chat",
        lambda q, stream: {
            "model": "command-a-03-2025",
            "stream": stream,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}],
        },
        b"message-end",
    ),
}


def request_body(i: int, stream: bool, wire: str = "openai") -> bytes:
    return json.dumps(WIRES[wire].body(_question(i), stream)).encode()


def request_path(wire: str, stream: bool) -> str:
    chosen = WIRES[wire]
    return (chosen.stream_path or chosen.path) if stream else chosen.path


def pick_targets(count: int, total: int, tail_share: float, tail_size: int, seed: int) -> list[int]:
    """Which fixture each request aims at: uniform over the set, plus `tail_share` of the
    requests aimed at the last `tail_size` fixtures."""
    rng = random.Random(seed)
    tail_start = max(0, count - tail_size)
    return [
        rng.randrange(tail_start, count) if rng.random() < tail_share else rng.randrange(count)
        for _ in range(total)
    ]


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    version: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


# Runs our CLI on uvloop without touching the server: installs the policy, then calls main().
UVLOOP_LAUNCHER = (
    "import sys, uvloop; uvloop.install(); from aimock.cli import main; "
    "sys.argv[0] = 'aimock'; raise SystemExit(main())"
)


def ours_server(binary: Path, port: int, folder: Path, args: argparse.Namespace) -> Server:
    serve = ["serve", "-p", str(port), "-f", str(folder), "--log-level", "warn"]
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    version = (out.stdout or out.stderr).strip() or "unknown"
    python = str(binary.parent / "python")
    if args.server_cprofile is not None:
        # The server stops cleanly on SIGTERM, so cProfile writes its file on the way out.
        profile = ["-m", "cProfile", "-o", str(args.server_cprofile.resolve()), "-m", "aimock"]
        return Server("aimock (ours, cProfile)", version, [python, *profile, *serve])
    if args.server_uvloop:
        return Server("aimock (ours, uvloop)", version, [python, "-c", UVLOOP_LAUNCHER, *serve])
    return Server("aimock (ours)", version, [str(binary), *serve])


def peer_server(node_modules: Path, port: int, folder: Path) -> Server:
    binary = node_modules / ".bin" / "llmock"
    package = node_modules / PEER_PACKAGE / "package.json"
    if not binary.exists() or not package.exists():
        raise SystemExit(
            f"error: {binary} not found; install it with "
            f"`npm install {PEER_PACKAGE}` in a folder outside the repository"
        )
    version = json.loads(package.read_text())["version"]
    command = [
        str(binary),
        "--port",
        str(port),
        "--host",
        HOST,
        "--fixtures",
        str(folder),
        "--log-level",
        "warn",
    ]
    return Server(f"AIMock {PEER_PACKAGE}", version, command)


def start(server: Server, workdir: Path, cpu: int | None) -> None:
    server.log = workdir / "server.log"
    command = server.command
    if cpu is not None:
        # Set before exec, so every thread the server starts (V8's helpers too) inherits it.
        command = ["taskset", "--cpu-list", str(cpu), *command]
    with server.log.open("wb") as log:
        server.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
        )


def stop(server: Server) -> None:
    """Stop the one process this script started (by its pid)."""
    if server.process is not None:
        stop_process(server.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process this script started, then kill it if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_ready(server: Server, base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert server.process is not None
            if server.process.poll() is not None:
                break
            try:
                async with session.get(f"{base}/__aimock/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    tail = server.log.read_text(errors="replace")[-2000:] if server.log else ""
    raise RuntimeError(f"{server.name} did not become ready in {timeout:g}s:\n{tail}")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time the process (all its threads) has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------


@dataclass
class Phase:
    sent: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, to the last byte
    ttfb: list[float] = field(default_factory=list)  # seconds, stream mode only
    elapsed: float = 0.0
    timed_out: bool = False

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


@dataclass(frozen=True)
class Load:
    """What every request of a phase shares."""

    url: str
    bodies: dict[int, bytes]  # fixture number -> request body aimed at it
    end: bytes  # what a complete streamed answer holds
    concurrency: int
    stream: bool
    max_seconds: float


async def one_request(
    session: aiohttp.ClientSession, load: Load, target: int, phase: Phase
) -> None:
    started = time.perf_counter()
    headers = {"Content-Type": "application/json"}
    try:
        async with session.post(load.url, data=load.bodies[target], headers=headers) as r:
            if load.stream:
                first = await r.content.readany()
                phase.ttfb.append(time.perf_counter() - started)
                payload = first + await r.read()
            else:
                payload = await r.read()
            done = time.perf_counter()
            if r.status != 200:
                phase.error(f"HTTP {r.status}: {payload[:200]!r}")
                return
            if marker(target) not in payload or (load.stream and load.end not in payload):
                phase.error(f"unexpected body: {payload[:200]!r}")
                return
            phase.latencies.append(done - started)
    except (TimeoutError, aiohttp.ClientError) as exc:
        phase.error(f"{type(exc).__name__}: {exc}")


async def run_phase(load: Load, targets: list[int]) -> Phase:
    phase = Phase()
    position = iter(range(len(targets)))
    deadline = time.monotonic() + load.max_seconds
    connector = aiohttp.TCPConnector(limit=load.concurrency, limit_per_host=load.concurrency)
    timeout = aiohttp.ClientTimeout(total=30)

    async def worker(session: aiohttp.ClientSession) -> None:
        for n in position:  # the shared iterator hands each request to exactly one worker
            if time.monotonic() > deadline:
                phase.timed_out = True
                return
            phase.sent += 1
            await one_request(session, load, targets[n], phase)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(load.concurrency)))
        phase.elapsed = time.perf_counter() - started
    return phase


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list, in milliseconds."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1] * 1000


def latency_summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] * 1000 if ordered else float("nan"),
        "mean": statistics.fmean(ordered) * 1000 if ordered else float("nan"),
    }


@dataclass
class RunResult:
    server: str
    version: str
    run: int
    mode: str
    fixtures: int
    requests: int
    completed: int
    concurrency: int
    seconds: float
    rps: float
    latency_ms: dict[str, float]
    ttfb_ms: dict[str, float] | None
    errors: int
    error_samples: list[str]
    timed_out: bool
    rss_start_kib: int
    rss_after_kib: int
    rss_peak_kib: int
    server_cpu_s: float
    server_cpu_us_per_request: float
    client_cpu_s: float
    load_avg_1m: tuple[float, float]  # before and after the measured phase: other load on the box
    command: list[str]


async def bench_once(args: argparse.Namespace, run: int, workdir: Path) -> RunResult:
    fixtures_dir = workdir / "fixtures"
    port = free_port()
    if args.peer == "aimock":
        server = peer_server(args.node_modules, port, fixtures_dir)
    else:
        server = ours_server(args.aimock_bin, port, fixtures_dir, args)
    base = f"http://{HOST}:{port}"
    load = Load(
        url=base + request_path(args.wire, args.stream),
        bodies={i: request_body(i, args.stream, args.wire) for i in range(args.fixtures)},
        end=WIRES[args.wire].end,
        concurrency=args.concurrency,
        stream=args.stream,
        max_seconds=args.max_seconds,
    )
    warm = pick_targets(args.fixtures, args.warmup, args.tail_share, args.tail_size, args.seed)
    targets = pick_targets(
        args.fixtures, args.requests, args.tail_share, args.tail_size, args.seed + run
    )
    start(server, workdir, cpu=0 if args.pin else None)
    try:
        await wait_ready(server, base, args.start_timeout)
        rss_start = proc_status(server.pid).get("VmRSS", 0)
        warmup = await run_phase(load, warm)
        if warmup.errors:
            raise RuntimeError(f"warm-up failed: {warmup.error_samples}")
        load_before = os.getloadavg()[0]
        cpu_before = proc_cpu_seconds(server.pid)
        client_before = resource.getrusage(resource.RUSAGE_SELF)
        phase = await run_phase(load, targets)
        client_after = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = proc_cpu_seconds(server.pid) - cpu_before
        memory = proc_status(server.pid)
    finally:
        stop(server)
    completed = len(phase.latencies)
    client_cpu = (client_after.ru_utime + client_after.ru_stime) - (
        client_before.ru_utime + client_before.ru_stime
    )
    return RunResult(
        server=server.name,
        version=server.version,
        run=run,
        mode=f"{args.wire} " + ("stream" if args.stream else "non-stream"),
        fixtures=args.fixtures,
        requests=args.requests,
        completed=completed,
        concurrency=args.concurrency,
        seconds=phase.elapsed,
        rps=completed / phase.elapsed if phase.elapsed else 0.0,
        latency_ms=latency_summary(phase.latencies),
        ttfb_ms=latency_summary(phase.ttfb) if args.stream else None,
        errors=phase.errors,
        error_samples=phase.error_samples,
        timed_out=phase.timed_out,
        rss_start_kib=rss_start,
        rss_after_kib=memory.get("VmRSS", 0),
        rss_peak_kib=memory.get("VmHWM", 0),
        server_cpu_s=server_cpu,
        server_cpu_us_per_request=server_cpu / max(phase.sent, 1) * 1e6,
        client_cpu_s=client_cpu,
        load_avg_1m=(load_before, os.getloadavg()[0]),
        command=server.command,
    )


def print_table(results: list[RunResult]) -> None:
    stream = any(r.ttfb_ms for r in results)
    head = ["server", "version", "run", "req/s", "p50 ms", "p90 ms", "p99 ms"]
    if stream:
        head += ["ttfb p50", "ttfb p99"]
    head += ["errors", "RSS MiB", "srv CPU us/req"]
    rows = []
    for r in results:
        row = [
            r.server,
            r.version,
            str(r.run),
            f"{r.rps:,.0f}",
            f"{r.latency_ms['p50']:.2f}",
            f"{r.latency_ms['p90']:.2f}",
            f"{r.latency_ms['p99']:.2f}",
        ]
        if stream:
            ttfb = r.ttfb_ms or {}
            row += [f"{ttfb.get('p50', 0):.2f}", f"{ttfb.get('p99', 0):.2f}"]
        rss = f"{r.rss_after_kib / 1024:.1f}"
        row += [str(r.errors), rss, f"{r.server_cpu_us_per_request:.0f}"]
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    for r in results:
        if r.error_samples:
            print(f"run {r.run} error samples: {r.error_samples}", file=sys.stderr)
        if r.timed_out:
            print(f"run {r.run}: stopped at --max-seconds before all requests", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench_http.py",
        description=(
            "Load-test a mock server over loopback HTTP: generate N AIMock-format fixtures, "
            "start the server on them, warm up, send chat completions at a fixed concurrency "
            "and report req/s, latency percentiles (ms), errors, server CPU per request and "
            "server RSS. By default the server is ours (`aimock serve`); with --peer aimock it "
            "is AIMock's Node `llmock` on the same fixture folder."
        ),
        epilog=(
            "Latency is measured per request from send to the last byte of the body; in "
            "--stream mode TTFB is to the first body bytes. 'srv CPU us/req' is the server "
            "process's user+system CPU time during the measured phase divided by the "
            "requests sent: it does not depend on how fast this client is. The client and the "
            "server share the machine's cores, so req/s is a property of the pair."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--peer",
        choices=["aimock"],
        help="benchmark a peer instead of ours: 'aimock' = AIMock's llmock (needs --node-modules)",
    )
    parser.add_argument(
        "--node-modules",
        type=Path,
        default=os.environ.get("AIMOCK_PEER_NODE_MODULES"),
        help="node_modules folder holding @copilotkit/aimock, for --peer aimock "
        "(env AIMOCK_PEER_NODE_MODULES)",
    )
    parser.add_argument(
        "--aimock-bin",
        type=Path,
        default=ROOT / ".venv" / "bin" / "aimock",
        help="our `aimock` executable",
    )
    parser.add_argument(
        "--server-uvloop",
        action="store_true",
        help="run our server on uvloop (needs uvloop in its venv; the CLI has no flag for it)",
    )
    parser.add_argument(
        "--server-cprofile",
        type=Path,
        metavar="OUT.prof",
        help="run our server under cProfile and write its stats here (slows it down; read "
        "with `python -m pstats`)",
    )
    parser.add_argument(
        "--client-uvloop",
        action="store_true",
        help="run this load generator on uvloop (a lighter client leaves more CPU to the server)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the server to CPU 0 and this client to CPU 1 (steadier numbers; needs taskset)",
    )
    parser.add_argument("--fixtures", type=int, default=1000, help="fixtures to generate")
    parser.add_argument("--files", type=int, default=10, help="files to spread them over")
    parser.add_argument("--requests", type=int, default=20000, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=1000, help="warm-up requests (unmeasured)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument(
        "--tail-share",
        type=float,
        default=0.25,
        help="share of requests aimed at the last --tail-size fixtures (exposes linear scans)",
    )
    parser.add_argument("--tail-size", type=int, default=10, help="how many last fixtures")
    parser.add_argument("--stream", action="store_true", help="send stream:true requests")
    parser.add_argument(
        "--wire",
        choices=sorted(WIRES),
        default="openai",
        help="which provider's wire to load (fixtures are the same for all)",
    )
    parser.add_argument("--runs", type=int, default=1, help="runs, each on a fresh server")
    parser.add_argument("--seed", type=int, default=1, help="seed for the request mix")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300,
        help="stop a phase after this long even if requests remain",
    )
    parser.add_argument("--start-timeout", type=float, default=60, help="seconds to become ready")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write results as JSON")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (fixtures, server log)"
    )
    args = parser.parse_args(argv)
    if args.peer and args.node_modules is None:
        parser.error("--peer aimock needs --node-modules (or AIMOCK_PEER_NODE_MODULES)")
    if (args.server_uvloop or args.server_cprofile) and args.peer:
        parser.error("--server-uvloop and --server-cprofile apply to our server only")
    if args.pin and (os.cpu_count() or 1) < 2:
        parser.error("--pin needs at least 2 CPUs")
    if args.pin and shutil.which("taskset") is None:
        parser.error("--pin needs taskset (util-linux)")
    if args.fixtures < 1 or args.requests < 1 or args.concurrency < 1 or args.runs < 1:
        parser.error("--fixtures, --requests, --concurrency and --runs must be positive")
    if not 0 <= args.tail_share <= 1:
        parser.error("--tail-share must be between 0 and 1")
    args.files = max(1, min(args.files, args.fixtures))
    return args


async def main_async(args: argparse.Namespace) -> list[RunResult]:
    workdir = Path(tempfile.mkdtemp(prefix="aimock-bench-"))
    try:
        (workdir / "fixtures").mkdir()
        write_fixtures(workdir / "fixtures", args.fixtures, args.files)
        results = []
        for run in range(1, args.runs + 1):
            result = await bench_once(args, run, workdir)
            results.append(result)
            print(
                f"run {run}: {result.rps:,.0f} req/s, p50 {result.latency_ms['p50']:.2f} ms, "
                f"errors {result.errors}",
                file=sys.stderr,
            )
        return results
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def git_revision() -> str:
    """The commit benchmarked, with `+dirty` when the work tree has changes."""

    def git(*args: str) -> str:
        command = ["git", "-C", str(ROOT), *args]
        out = subprocess.run(command, check=False, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pin:
        os.sched_setaffinity(0, {1})
    if args.client_uvloop:
        import uvloop

        results = uvloop.run(main_async(args))
    else:
        results = asyncio.run(main_async(args))
    print_table(results)
    if args.json:
        report = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "revision": git_revision(),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "aiohttp_client": aiohttp.__version__,
                "client_loop": "uvloop" if args.client_uvloop else "asyncio",
                "pinned": args.pin,
            },
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if any(r.errors or r.timed_out for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
