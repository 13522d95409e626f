#!/usr/bin/env python3
"""`make bench`: aimock beside AIMock and the bare aiohttp ceiling, one run on one machine.

Three servers answer the same requests from the same fixtures (AIMock's JSON format, which
both mocks load unchanged), on loopback:

- aimock: this tree's `.venv/bin/aimock serve`;
- AIMock: `@copilotkit/aimock`'s `llmock`, installed from npm into a cache outside the clone
  (tests/peers.py's installer);
- the ceiling: bench/ceiling.py, aiohttp on uvloop answering fixed bytes.

Every server is pinned to one CPU (taskset, `--server-cpu`) and wrk, the load generator, to
another (`--client-cpu`, one wrk thread), so every figure is what one core of server does.
wrk's own CPU time per request is kept beside each run: when wrk's core is far from busy and
the ceiling runs far faster than the mocks on the same wrk, the mocks are what is measured.

Cases (`--cases`, all by default; each load case warms up, then runs wrk for `--duration`):

- chat-c1, chat-c32, chat-c256: a non-streamed OpenAI chat at 1, 32 and 256 connections;
- stream: the same as a 10-chunk SSE stream (instant physics: the whole stream in one go);
- wire-anthropic, wire-gemini, wire-bedrock, wire-ollama, wire-cohere: each provider's own
  streamed wire (Bedrock: ConverseStream's AWS event-stream; Ollama: NDJSON), aimock and AIMock;
- scale: chat at 32 connections against 10 fixtures and against `--scale-fixtures` (100,000),
  a share of them regex matchers (AIMock's JSON format has no regex: its copy holds the same
  fixtures as plain substrings);
- startup: from spawning the server to its first answered chat request, with the default
  stack (ours without -f; AIMock with an empty folder), with the 10 benchmark fixtures and
  with `--startup-fixtures` (10,000); the idle RSS after `--idle-seconds` with each;
- paced: `--paced-streams` (1,000) concurrent streams against a fixture with ttft and tps
  set, measured by bench/paced.py (delivered vs configured), aimock only;
- pacing: bench/pacing.py's side-by-side pacing mode (issue 20): AIMock's rule for ttft, tps,
  jitter, latency, recordedTimings and replaySpeed, aimock and AIMock at `--pacing-streams`
  (1, 100, 1,000) concurrent streams, driven by the native client bench/pacer.c.

It writes `--json` (every run, every figure) and `--markdown` (the tables, the ratios issue 13
names, each target met or not) and prints the Markdown. Exit status 1 when a server did not
answer or answered a measured request with a non-2xx status.

    .venv/bin/python bench/suite.py                      # the full run, about 12 minutes
    .venv/bin/python bench/suite.py --smoke              # every kind once, tiny, ~1 minute
    .venv/bin/python bench/suite.py --cases chat-c32,stream --duration 5
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]
bench_http = importlib.import_module("bench_http")  # wires, request bodies, /proc readers
loadgen = importlib.import_module("loadgen")  # wrk
paced = importlib.import_module("paced")  # the paced-stream client
report = importlib.import_module("report")  # targets and tables

HOST = bench_http.HOST  # loopback only
CHUNK = 20  # characters per streamed slice
ANSWER_CHARS = 10 * CHUNK  # so every streamed answer is 10 content chunks
BASE_FIXTURES = 10  # the fixture set of every head-to-head case
OURS, PEER, CEILING = report.OURS, report.PEER, report.CEILING
MOCKS, EVERYONE = report.MOCKS, report.EVERYONE
WIRE_NAMES = {
    "anthropic": "Anthropic Messages (SSE)",
    "gemini": "Gemini streamGenerateContent (SSE)",
    "bedrock-converse": "Bedrock ConverseStream (AWS event-stream)",
    "ollama": "Ollama /api/chat (NDJSON)",
    "cohere": "Cohere v2 chat (SSE)",
}


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One load case: what wrk sends, how many connections, and to whom."""

    name: str
    title: str
    wire: str = "openai"
    stream: bool = False
    connections: int = 32
    servers: tuple[str, ...] = EVERYONE


LOAD_CASES = [
    Case("chat-c1", "chat, non-streamed, 1 connection", connections=1),
    Case("chat-c32", "chat, non-streamed, 32 connections"),
    Case("chat-c256", "chat, non-streamed, 256 connections", connections=256),
    Case("stream", "chat, 10-chunk SSE stream, 32 connections", stream=True),
    *(
        Case(f"wire-{wire.split('-')[0]}", f"{title}, 32 connections", wire, True, 32, MOCKS)
        for wire, title in WIRE_NAMES.items()
    ),
]
SCALE_CASE = Case("scale", "chat, non-streamed, 32 connections")
CASE_NAMES = [c.name for c in LOAD_CASES] + ["scale", "startup", "paced", "pacing"]
SMOKE_CASES = ["chat-c32", "stream", "wire-anthropic", "scale", "startup", "paced"]


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


def answer(i: int) -> str:
    """Fixture i's answer: its marker first, 10 slices of CHUNK characters in all."""
    head = bench_http.marker(i).decode() + " "
    return head + "x" * (ANSWER_CHARS - len(head))


def regex_for(i: int) -> str:
    """A regex that matches only fixture i's requests (and is not a bare literal)."""
    return rf"(question|query) about {bench_http.topic(i)}\b"


def fixture(i: int, regex: bool = False) -> dict[str, Any]:
    user: Any = {"regex": regex_for(i)} if regex else bench_http.topic(i)
    return {"match": {"userMessage": user}, "response": {"content": answer(i)}, "chunkSize": CHUNK}


def write_fixtures(folder: Path, count: int, regex_every: int = 0, files: int = 10) -> Path:
    """`count` fixtures over `files` files; every `regex_every`-th one a regex matcher."""
    folder.mkdir(parents=True, exist_ok=True)

    def make(i: int) -> dict[str, Any]:
        return fixture(i, bool(regex_every) and i % regex_every == regex_every - 1)

    bench_http.write_fixtures(folder, count, files, make, indent=False)
    return folder


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    key: str  # OURS, PEER or CEILING
    version: str
    command: Callable[[int, Path | None], list[str]]  # (port, fixtures) -> argv


def with_fixtures(argv: list[str], fixtures: Path | None) -> list[str]:
    return argv if fixtures is None else [*argv, "-f", str(fixtures)]


def ours(venv_bin: Path) -> Server:
    out = subprocess.run(
        [str(venv_bin / "aimock"), "--version"], capture_output=True, text=True, check=False
    )

    def command(port: int, fixtures: Path | None) -> list[str]:
        argv = [str(venv_bin / "aimock"), "serve", "--host", HOST, "--port", str(port)]
        argv += ["--log-level", "warn"]
        return with_fixtures(argv, fixtures)

    version = (out.stdout or out.stderr).strip().removeprefix("aimock ") or "unknown"
    return Server(OURS, version, command)


def peer(binary: Path) -> Server:
    package = binary.parent.parent / "@copilotkit" / "aimock" / "package.json"
    version = json.loads(package.read_text())["version"]

    def command(port: int, fixtures: Path | None) -> list[str]:
        argv = [str(binary), "--host", HOST, "--port", str(port), "--log-level", "warn"]
        return with_fixtures(argv, fixtures)

    return Server(PEER, version, command)


def ceiling(python: Path) -> Server:
    def command(port: int, _fixtures: Path | None) -> list[str]:
        return [str(python), str(BENCH / "ceiling.py"), "--host", HOST, "--port", str(port)]

    return Server(CEILING, "aiohttp + uvloop", command)


@dataclass
class Running:
    server: Server
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    spawned: float  # perf_counter() just before the spawn

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]


def spawn(server: Server, fixtures: Path | None, workdir: Path, name: str, cpu: int) -> Running:
    port = bench_http.free_port()
    log = workdir / f"{name}.log"
    command = loadgen.pinned(server.command(port, fixtures), cpu)
    with log.open("wb") as out:
        spawned = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir
        )
    return Running(server, process, port, log, spawned)


@contextmanager
def serving(
    server: Server, fixtures: Path | None, workdir: Path, name: str, cpu: int
) -> Iterator[Running]:
    running = spawn(server, fixtures, workdir, name, cpu)
    try:
        yield running
    finally:
        bench_http.stop_process(running.process)


# --------------------------------------------------------------------------------------------
# Probes: one request by hand, checked
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    path: str
    body: bytes
    check: Callable[[int, bytes], bool]


def case_probe(wire: str, stream: bool, target: int, key: str) -> Probe:
    """The case's own request, aimed at fixture `target`: 200, its marker and (streamed) the
    wire's terminator. The ceiling answers fixed bytes, so only its status is checked."""
    end = bench_http.WIRES[wire].end if stream else b""
    mark = bench_http.marker(target)

    def check(status: int, body: bytes) -> bool:
        if key == CEILING:
            return status == 200
        return status == 200 and mark in body and end in body

    return Probe(
        bench_http.request_path(wire, stream), bench_http.request_body(target, stream, wire), check
    )


def any_answer_probe() -> Probe:
    """Any complete HTTP answer to a chat request (AIMock without fixtures answers 404)."""
    return Probe(
        bench_http.request_path("openai", False),
        bench_http.request_body(0, False),
        lambda status, _body: 0 < status < 500,
    )


def ask(port: int, probe: Probe, timeout: float = 30) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"}
        connection.request("POST", probe.path, probe.body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def first_answer(running: Running, probe: Probe, timeout: float) -> float:
    """Seconds from the spawn to the first answer that passes the probe's check."""
    deadline = running.spawned + timeout
    last = "no answer"
    while time.perf_counter() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError(f"{running.server.key} exited:\n{running.log_tail()}")
        try:
            status, body = ask(running.port, probe, timeout=max(1.0, timeout))
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.005)
            continue
        if probe.check(status, body):
            return time.perf_counter() - running.spawned
        last = f"HTTP {status}: {body[:200]!r}"
        time.sleep(0.05)
    raise RuntimeError(f"{running.server.key} gave no right answer in {timeout:g}s ({last})")


# --------------------------------------------------------------------------------------------
# Load runs
# --------------------------------------------------------------------------------------------


@dataclass
class LoadRun:
    case: str
    title: str
    server: str
    fixtures: int
    wire: str
    stream: bool
    connections: int
    answered: bool = False  # the hand-checked request before the run was right
    error: str | None = None
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)  # wrk's 50/75/90/99
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    srv_cpu_us: float = 0.0  # the server's user+system CPU per request (all its threads)
    wrk_cpu_us: float = 0.0  # wrk's own CPU per request
    wrk_busy: float = 0.0  # wrk's CPU time / wall time: the share of its core it used
    srv_busy: float = 0.0  # the server's CPU time / wall time: well below 1 under load means
    # it waited (or another process took its core)
    rss_mib: float = 0.0  # the server's VmRSS after the run
    load_avg_1m: tuple[float, float] = (0.0, 0.0)  # before and after


def measure_load(
    case: Case, running: Running, fixtures: int, script: Path, args: argparse.Namespace
) -> LoadRun:
    key = running.server.key
    run = LoadRun(case.name, case.title, key, fixtures, case.wire, case.stream, case.connections)
    url = f"http://{HOST}:{running.port}{bench_http.request_path(case.wire, case.stream)}"
    try:
        probe = case_probe(case.wire, case.stream, fixtures - 1, key)
        status, body = ask(running.port, probe)
        if not probe.check(status, body):
            raise RuntimeError(f"wrong answer: HTTP {status}: {body[:300]!r}")
        run.answered = True
        wrk_args = {"connections": case.connections, "cpu": args.client_cpu}
        if args.warmup:
            loadgen.run_wrk(url, script, seconds=args.warmup, **wrk_args)
        before = os.getloadavg()[0]
        cpu_before = bench_http.proc_cpu_seconds(running.pid)
        result = loadgen.run_wrk(url, script, seconds=args.duration, **wrk_args)
        server_cpu = bench_http.proc_cpu_seconds(running.pid) - cpu_before
        run.rss_mib = bench_http.proc_status(running.pid).get("VmRSS", 0) / 1024
        run.load_avg_1m = (before, os.getloadavg()[0])
    except (RuntimeError, OSError) as exc:
        run.error = f"{type(exc).__name__}: {exc}"
        return run
    parsed = result.parsed
    requests = max(parsed["requests"], 1)
    run.requests, run.seconds, run.rps = parsed["requests"], parsed["seconds"], parsed["rps"]
    run.latency_ms = parsed["latency"]
    run.non_2xx, run.socket_errors = parsed["non_2xx"], parsed["socket_errors"]
    run.srv_cpu_us = server_cpu / requests * 1e6
    run.wrk_cpu_us = result.cpu_seconds / requests * 1e6
    run.wrk_busy = result.cpu_seconds / max(parsed["seconds"], 1e-9)
    run.srv_busy = server_cpu / max(parsed["seconds"], 1e-9)
    return run


def report_progress(run: LoadRun) -> None:
    if run.error:
        print(f"{run.case:15} {run.server:8} ERROR {run.error}", file=sys.stderr)
        return
    print(
        f"{run.case:15} {run.server:8} {run.rps:9,.0f} req/s  p99 "
        f"{run.latency_ms.get('99', float('nan')):7.2f} ms  srv {run.srv_cpu_us:5.0f} us/req "
        f"({run.srv_busy:4.0%} of its core)  "
        f"wrk {run.wrk_cpu_us:4.0f} us/req ({run.wrk_busy:4.0%} of its core)  "
        f"non-2xx {run.non_2xx}",
        file=sys.stderr,
    )


def scripts_for(workdir: Path, count: int, args: argparse.Namespace) -> dict[str, Path]:
    """One wrk script per (wire, stream) the cases use, aimed over `count` fixtures: all of
    them in turn when few, else bench_http's mix (uniform plus a share on the last ones)."""
    if count <= 1000:
        targets = list(range(count))
    else:
        targets = bench_http.pick_targets(count, args.mix, args.tail_share, 10, args.seed)
    scripts = {}
    for case in [*LOAD_CASES, SCALE_CASE]:
        key = f"{case.wire}-{case.stream}"
        if key not in scripts:
            bodies = [bench_http.request_body(i, case.stream, case.wire) for i in targets]
            path = bench_http.request_path(case.wire, case.stream)
            scripts[key] = loadgen.write_script(workdir, f"{key}-{count}", path, bodies)
    return scripts


def script_key(case: Case) -> str:
    return f"{case.wire}-{case.stream}"


# --------------------------------------------------------------------------------------------
# The sections of a run
# --------------------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    workdir: Path
    servers: dict[str, Server]
    fixtures: dict[str, Path] = field(default_factory=dict)
    runs: list[LoadRun] = field(default_factory=list)
    startup: list[dict[str, Any]] = field(default_factory=list)
    scale: dict[str, Any] = field(default_factory=dict)
    paced: dict[str, Any] | None = None
    pacing: dict[str, Any] | None = None

    def start(self, key: str, fixtures: Path | None, name: str) -> Any:
        return serving(self.servers[key], fixtures, self.workdir, name, self.args.server_cpu)

    def record(self, run: LoadRun) -> None:
        self.runs.append(run)
        report_progress(run)


def run_head_to_head(ctx: Context, cases: list[Case]) -> None:
    """Every load case against all three servers, started once on the 10 fixtures and kept
    (idle ones cost nothing); a case runs its servers back to back, so they share the
    machine's conditions of that minute."""
    scripts = scripts_for(ctx.workdir, BASE_FIXTURES, ctx.args)
    base = ctx.fixtures["base"]
    with (
        ctx.start(OURS, base, "ours") as ours_running,
        ctx.start(PEER, base, "peer") as peer_running,
        ctx.start(CEILING, None, "ceiling") as ceiling_running,
    ):
        running = {OURS: ours_running, PEER: peer_running, CEILING: ceiling_running}
        for key, r in running.items():
            try:
                first_answer(r, case_probe("openai", False, 0, key), ctx.args.start_timeout)
            except RuntimeError as exc:  # its cases record the failure; the others still run
                print(f"{key} did not start: {exc}", file=sys.stderr)
        for case in cases:
            for key in case.servers:
                script = scripts[script_key(case)]
                ctx.record(measure_load(case, running[key], BASE_FIXTURES, script, ctx.args))


def run_scale(ctx: Context) -> None:
    """Chat at 32 connections: ours on 10 fixtures, then on the large set (regexes included),
    then AIMock on its copy of the large set when it loads within --scale-start-timeout."""
    args = ctx.args
    small = scripts_for(ctx.workdir, BASE_FIXTURES, args)[script_key(SCALE_CASE)]
    large = scripts_for(ctx.workdir, args.scale_fixtures, args)[script_key(SCALE_CASE)]
    plan = [
        (OURS, ctx.fixtures["base"], BASE_FIXTURES, small),
        (OURS, ctx.fixtures["scale-ours"], args.scale_fixtures, large),
        (PEER, ctx.fixtures["scale-peer"], args.scale_fixtures, large),
    ]
    loads: dict[str, float] = {}
    for key, folder, count, script in plan:
        with ctx.start(key, folder, f"scale-{key}-{count}") as running:
            try:
                probe = case_probe("openai", False, count - 1, key)
                loads[f"{key}/{count}"] = first_answer(running, probe, args.scale_start_timeout)
            except RuntimeError as exc:
                run = LoadRun("scale", SCALE_CASE.title, key, count, "openai", False, 32)
                run.error = str(exc).splitlines()[0]
                ctx.record(run)
                continue
            ctx.record(measure_load(SCALE_CASE, running, count, script, args))
    every = args.scale_regex_every
    ctx.scale = {
        "fixtures": args.scale_fixtures,
        "regex_every": every,
        "regex_matchers": args.scale_fixtures // every if every else 0,
        "seconds_to_first_answer": loads,
    }


@dataclass(frozen=True)
class StartupScenario:
    scenario: str  # "default", "bench fixtures" or "large"
    label: str
    fixtures: int
    folders: dict[str, Path | None]  # what each server loads
    probe: Callable[[str], Probe]  # the answer that counts, per server


def startup_scenarios(ctx: Context) -> list[StartupScenario]:
    count = ctx.args.startup_fixtures

    def fixture_probe(target: int) -> Callable[[str], Probe]:
        return lambda key: case_probe("openai", False, target, key)

    base, large = ctx.fixtures["base"], ctx.fixtures["startup"]
    return [
        StartupScenario(
            "default",
            "default stack",
            0,
            {OURS: None, PEER: ctx.fixtures["empty"]},
            lambda _key: any_answer_probe(),
        ),
        StartupScenario(
            "bench fixtures",
            f"{BASE_FIXTURES} fixtures",
            BASE_FIXTURES,
            {OURS: base, PEER: base},
            fixture_probe(BASE_FIXTURES - 1),
        ),
        StartupScenario(
            "large",
            f"{count:,} fixtures",
            count,
            {OURS: large, PEER: large},
            fixture_probe(count - 1),
        ),
    ]


def run_startup(ctx: Context) -> None:
    """Spawn to first answered request, then idle RSS, `--startup-repeats` times each."""
    for scenario in startup_scenarios(ctx):
        for key in MOCKS:
            row: dict[str, Any] = {
                "scenario": scenario.scenario,
                "label": scenario.label,
                "server": key,
                "fixtures": scenario.fixtures,
                **startup_samples(ctx, key, scenario),
            }
            ctx.startup.append(row)
            print(
                f"startup {scenario.label:18} {key:8} {row.get('median_s', float('nan')):.3f} s  "
                f"idle RSS {row.get('median_idle_rss_mib', float('nan')):.1f} MiB "
                f"{row.get('error') or ''}",
                file=sys.stderr,
            )


def startup_samples(ctx: Context, key: str, scenario: StartupScenario) -> dict[str, Any]:
    seconds, rss = [], []
    for n in range(ctx.args.startup_repeats):
        name = f"startup-{key}-{scenario.fixtures}-{n}"
        with ctx.start(key, scenario.folders[key], name) as running:
            try:
                probe = scenario.probe(key)
                seconds.append(first_answer(running, probe, ctx.args.scale_start_timeout))
            except RuntimeError as exc:
                return {"answered": False, "error": str(exc).splitlines()[0]}
            time.sleep(ctx.args.idle_seconds)
            rss.append(bench_http.proc_status(running.pid).get("VmRSS", 0) / 1024)
    return {
        "answered": True,
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "idle_rss_mib": rss,
        "median_idle_rss_mib": statistics.median(rss),
    }


def run_paced(ctx: Context) -> None:
    args = ctx.args
    with ctx.start(OURS, ctx.fixtures["paced"], "paced") as running:
        probe = Probe(paced.PATH, paced.request_body(), lambda status, _body: status == 200)
        try:
            first_answer(running, probe, args.start_timeout)
            result = paced.measure(
                f"http://{HOST}:{running.port}",
                streams=args.paced_streams,
                ramp_s=args.paced_ramp,
                ttft_ms=args.paced_ttft,
                tps=args.paced_tps,
            )
        except RuntimeError as exc:
            result = {"error": str(exc).splitlines()[0], "complete": 0, "errors": 1}
    ctx.paced = {"server": OURS, "tokens_per_stream": args.paced_tokens, **result}
    print(f"paced: {json.dumps(ctx.paced)[:400]}", file=sys.stderr)


def run_pacing(ctx: Context) -> None:
    """bench/pacing.py's measurement with this run's servers and CPUs (its own fixtures)."""
    pacing = importlib.import_module("pacing")
    args = ctx.args
    argv = ["--streams", args.pacing_streams, "--server-cpu", str(args.server_cpu)]
    argv += ["--client-cpu", str(args.client_cpu)]
    if args.pacing_cases:
        argv += ["--cases", args.pacing_cases]
    from tests.peers import aimock_bin

    node_modules = aimock_bin().parent.parent
    workdir = ctx.workdir / "pacing"
    workdir.mkdir()
    ctx.pacing = pacing.run(pacing.parse_args(argv), ctx.servers, node_modules, workdir)


# --------------------------------------------------------------------------------------------
# Setup and main
# --------------------------------------------------------------------------------------------


def prepare_fixtures(ctx: Context, names: set[str]) -> None:
    args, root = ctx.args, ctx.workdir / "fixtures"
    ctx.fixtures["base"] = write_fixtures(root / "base", BASE_FIXTURES)
    ctx.fixtures["empty"] = root / "empty"
    ctx.fixtures["empty"].mkdir(parents=True)
    if "startup" in names:
        ctx.fixtures["startup"] = write_fixtures(root / "startup", args.startup_fixtures)
    if "scale" in names:
        every = args.scale_regex_every
        ctx.fixtures["scale-ours"] = write_fixtures(root / "scale-ours", args.scale_fixtures, every)
        ctx.fixtures["scale-peer"] = write_fixtures(root / "scale-peer", args.scale_fixtures)
    if "paced" in names:
        ctx.fixtures["paced"] = root / "paced"
        ctx.fixtures["paced"].mkdir(parents=True)
        item = paced.fixture(args.paced_ttft, args.paced_tps, args.paced_tokens, CHUNK)
        (ctx.fixtures["paced"] / "paced.json").write_text(json.dumps({"fixtures": [item]}))


def versions(servers: dict[str, Server]) -> dict[str, str]:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return {
        OURS: servers[OURS].version,
        PEER: servers[PEER].version,
        "node": node.stdout.strip().lstrip("v") or "unknown",
        "python": platform.python_version(),
        "aiohttp": metadata.version("aiohttp"),
        "uvloop": metadata.version("uvloop"),
        "wrk": loadgen.wrk_version(),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="suite.py",
        description="aimock vs AIMock vs the bare aiohttp ceiling, with wrk, on one core each.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    option = parser.add_argument
    option("--cases", help=f"comma-separated subset of: {', '.join(CASE_NAMES)} (default: all)")
    option("--smoke", action="store_true", help="tiny sizes, one case of each kind (a test)")
    option("--duration", type=int, default=10, help="measured seconds of each load case")
    option("--warmup", type=int, default=2, help="warm-up seconds before each (0: none)")
    option("--scale-fixtures", type=int, default=100_000, help="fixtures of the large set")
    option("--scale-regex-every", type=int, default=100, help="every n-th one a regex (0: none)")
    option("--mix", type=int, default=5000, help="request bodies wrk cycles over, large set")
    option("--tail-share", type=float, default=0.25, help="share aimed at the last 10 fixtures")
    option("--seed", type=int, default=1, help="seed of the large set's request mix")
    option("--startup-fixtures", type=int, default=10_000, help="fixtures of the startup set")
    option("--startup-repeats", type=int, default=3, help="starts per server and fixture set")
    option("--idle-seconds", type=float, default=1.0, help="idle time before reading RSS")
    option("--paced-streams", type=int, default=1000, help="concurrent paced streams")
    option("--paced-ramp", type=float, default=1.0, help="seconds over which they start")
    option("--paced-ttft", type=float, default=500.0, help="the paced fixture's ttft, ms")
    option("--paced-tps", type=float, default=50.0, help="the paced fixture's tps (chunks/s)")
    option("--paced-tokens", type=int, default=100, help="tokens in the paced answer")
    option("--pacing-streams", default="1,100,1000", help="pacing: concurrent stream counts")
    option("--pacing-cases", help="pacing: a subset of bench/pacing.py's cases (default: all)")
    option("--server-cpu", type=int, default=0, help="the CPU every server is pinned to")
    option(
        "--client-cpu",
        type=int,
        default=1 if (os.cpu_count() or 1) > 1 else 0,
        help="the CPU of wrk and of this script",
    )
    option("--start-timeout", type=float, default=60, help="seconds for a server to answer")
    option("--scale-start-timeout", type=float, default=180, help="the same, large sets")
    option("--json", type=Path, default=BENCH / "results" / "bench.json", help="results file")
    option("--markdown", type=Path, default=BENCH / "results" / "bench.md", help="the tables")
    option("--keep", action="store_true", help="keep the temporary folder (fixtures, logs)")
    args = parser.parse_args(argv)
    if args.smoke:
        smoke = {
            "duration": 1, "warmup": 0, "scale_fixtures": 200, "startup_fixtures": 100,
            "startup_repeats": 1, "idle_seconds": 0.2, "paced_streams": 20, "paced_ramp": 0.2,
            "paced_ttft": 50.0, "paced_tps": 200.0, "paced_tokens": 20, "scale_regex_every": 10,
            "pacing_streams": "2", "pacing_cases": "smoke",
        }  # fmt: skip
        parser.set_defaults(**smoke)
        args = parser.parse_args(argv)
    names = args.cases or ",".join(SMOKE_CASES if args.smoke else CASE_NAMES)
    args.cases = [n.strip() for n in names.split(",") if n.strip()]
    if set(args.cases) - set(CASE_NAMES):
        parser.error(f"unknown cases: {', '.join(sorted(set(args.cases) - set(CASE_NAMES)))}")
    if min(args.duration, args.startup_repeats, args.paced_streams, args.paced_tokens) < 1:
        parser.error("--duration, --startup-repeats, --paced-streams, --paced-tokens must be > 0")
    if args.scale_regex_every < 0:
        parser.error("--scale-regex-every must be 0 (no regex) or more")
    if min(args.scale_fixtures, args.startup_fixtures) < BASE_FIXTURES:
        parser.error(f"--scale-fixtures and --startup-fixtures must be at least {BASE_FIXTURES}")
    return args


def estimate_seconds(args: argparse.Namespace) -> float:
    per_run = args.warmup + args.duration + 1
    runs = sum(len(c.servers) for c in LOAD_CASES if c.name in args.cases)
    runs += 3 if "scale" in args.cases else 0
    extra = 60 if "scale" in args.cases else 0
    extra += 6 * args.startup_repeats * 3 if "startup" in args.cases else 0
    extra += 10 if "paced" in args.cases else 0
    extra += 200 if "pacing" in args.cases else 0
    return runs * per_run + extra


def check_tools() -> None:
    for tool in ("wrk", "taskset", "node"):
        if shutil.which(tool) is None:
            raise SystemExit(f"error: {tool} is not on PATH (`make bench` installs wrk)")


def run_sections(ctx: Context) -> None:
    cases = ctx.args.cases
    prepare_fixtures(ctx, set(cases))
    if "startup" in cases:
        run_startup(ctx)
    head_to_head = [c for c in LOAD_CASES if c.name in cases]
    if head_to_head:
        run_head_to_head(ctx, head_to_head)
    if "scale" in cases:
        run_scale(ctx)
    if "paced" in cases:
        run_paced(ctx)
    if "pacing" in cases:
        run_pacing(ctx)


def results_of(ctx: Context, load_before: float, seconds: float) -> dict[str, Any]:
    """Everything measured, with the run's conditions; `report` adds the targets."""
    return report.complete(
        {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "revision": bench_http.git_revision(),
            "seconds": seconds,
            "machine": {
                "cpus": os.cpu_count(),
                "cpu": cpu_model(),
                "platform": platform.platform(),
            },
            "versions": versions(ctx.servers),
            "load_average": {"before": load_before, "after": os.getloadavg()[0]},
            "command": [sys.executable, *sys.argv],
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(ctx.args).items()},
            "base_fixtures": BASE_FIXTURES,
            "runs": [asdict(r) for r in ctx.runs],
            "scale": ctx.scale,
            "startup": ctx.startup,
            "paced": ctx.paced,
            "pacing": ctx.pacing,
        }
    )


def succeeded(ctx: Context) -> bool:
    """Every server answered, every measured answer was a 2xx, every paced stream ended."""
    if any(r.error or r.non_2xx for r in ctx.runs):
        return False
    if any(not row.get("answered") for row in ctx.startup):
        return False
    if ctx.pacing is not None and ctx.pacing.get("failed"):
        return False
    return ctx.paced is None or ctx.paced.get("complete", 0) == ctx.args.paced_streams


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_tools()
    # Let SIGTERM unwind through the finally blocks: every server started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from tests.peers import aimock_bin  # the one installer of AIMock (npm, into a cache)

    python = Path(sys.executable)
    servers = {OURS: ours(python.parent), PEER: peer(aimock_bin()), CEILING: ceiling(python)}
    # This process (and the paced client in it) stays off the servers' core.
    os.sched_setaffinity(0, {args.client_cpu})
    minutes = estimate_seconds(args) / 60
    print(f"about {minutes:.0f} min; cases: {', '.join(args.cases)}", file=sys.stderr)
    ctx = Context(args, Path(tempfile.mkdtemp(prefix="aimock-bench-")), servers)
    load_before, started = os.getloadavg()[0], time.perf_counter()
    try:
        run_sections(ctx)
    finally:
        if args.keep:
            print(f"kept {ctx.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(ctx.workdir, ignore_errors=True)
    results = results_of(ctx, load_before, time.perf_counter() - started)
    table = report.markdown(results)
    for path, text in ((args.json, json.dumps(results, indent=2)), (args.markdown, table)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(table)
    print(f"wrote {args.json} and {args.markdown}", file=sys.stderr)
    return 0 if succeeded(ctx) else 1


if __name__ == "__main__":
    raise SystemExit(main())
