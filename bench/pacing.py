#!/usr/bin/env python3
"""Pacing mode (issue 20): do aimock and AIMock deliver the timing a fixture configures?

Both servers run side by side in one run, each loading the same fixtures in AIMock's JSON
format: AIMock's own example `fixtures/examples/llm/streaming-physics.json`, loaded from the
npm package unchanged, and a file of fixtures written here, one per pacing rule. For every
case and every stream count (`--streams`, 1, 100 and 1,000 by default) each server in turn
gets N concurrent OpenAI chat streams, started evenly over a ramp, from `pacer` (bench/pacer.c,
a single-threaded epoll client in C, compiled on first use into ~/.cache/aimock/bench/). It
timestamps the request and every SSE frame; per stream:

- ttft: from sending the request to the first frame;
- chunk rate: (frames - 1) / (last frame - first frame), `data: [DONE]` not counted.

Both are compared with what AIMock's rule computes from the fixture (see `delays`): chunk 0
waits `ttft`, every later chunk 1000/tps ms (tps counts chunks, not tokens), jitter scales
those by 1 + U(-1, 1) * jitter; without tps (or without a profile and recordedTimings) every
chunk waits `latency`; recordedTimings give chunk 0 `ttftMs`, chunk i `interChunkDelaysMs[i-1]`
and their mean past the end; every delay is divided by replaySpeed.

    .venv/bin/python bench/pacing.py                       # every case, 1/100/1000 streams
    .venv/bin/python bench/pacing.py --cases issue --streams 100,1000
    .venv/bin/python bench/pacing.py --smoke               # 2 streams, one short case
    .venv/bin/python bench/suite.py --cases pacing         # the same, inside `make bench`

Writes `--json` and `--markdown` (bench/results/pacing.{json,md}) and prints the Markdown.
Exit status 1 when a stream failed (a non-200, a broken or unfinished stream).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import json
import math
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]
suite = importlib.import_module("suite")  # servers: commands, spawning, pinning, probes
bench_http = importlib.import_module("bench_http")

OURS, PEER = suite.OURS, suite.PEER
SERVERS = (OURS, PEER)
HOST = suite.HOST
PATH = "/v1/chat/completions"
SOURCE = BENCH / "pacer.c"
CACHE = Path.home() / ".cache" / "aimock" / "bench"
EXAMPLE = Path("fixtures") / "examples" / "llm" / "streaming-physics.json"
DEFAULT_CHUNK = 20  # AIMock's default chunkSize (ours has the same)
TOLERANCE = 0.05  # issue 20: aimock within 5% of AIMock


# --------------------------------------------------------------------------------------------
# The rule, and the cases
# --------------------------------------------------------------------------------------------


def delays(fixture: dict[str, Any], frames: int) -> list[float]:
    """The nominal wait before each of `frames` chunks (ms), by AIMock's rule; jitter is left
    out (it is centred on 1, so it moves the medians little)."""
    profile = fixture.get("streamingProfile")
    latency = float(fixture.get("latency") or 0)
    recorded = fixture.get("recordedTimings")
    speed = float(fixture.get("replaySpeed") or 1)
    out = []
    for i in range(frames):
        if profile is not None:
            if i == 0 and profile.get("ttft") is not None:
                d = float(profile["ttft"])
            elif (profile.get("tps") or 0) > 0:
                d = 1000 / float(profile["tps"])
            else:
                d = latency
        elif recorded is not None:
            gaps = [float(g) for g in recorded.get("interChunkDelaysMs") or []]
            if i == 0:
                d = float(recorded["ttftMs"])
            elif i - 1 < len(gaps):
                d = gaps[i - 1]
            else:
                d = statistics.fmean(gaps) if gaps else 0.0
        else:
            d = latency
        out.append(max(0.0, d) / speed if speed > 0 else max(0.0, d))
    return out


def chat_frames(fixture: dict[str, Any]) -> int:
    """The paced SSE frames of an OpenAI chat stream of a text fixture: the role chunk, one
    chunk per chunkSize characters, the finish chunk (no usage chunk: not asked for)."""
    chunk = fixture.get("chunkSize") or DEFAULT_CHUNK
    return 2 + math.ceil(len(fixture["response"]["content"]) / chunk)


def expected(fixture: dict[str, Any]) -> dict[str, float]:
    frames = chat_frames(fixture)
    waits = delays(fixture, frames)
    later = sum(waits[1:])
    return {
        "frames": frames,
        "ttft_ms": waits[0],
        "rate": (frames - 1) / later * 1000 if later > 0 else math.inf,
        "duration_ms": sum(waits),
    }


@dataclass(frozen=True)
class PacingCase:
    name: str
    title: str
    fixture: dict[str, Any]  # AIMock's JSON format
    prompt: str  # the user message of the request (the fixture matches a substring of it)
    example: bool = False  # AIMock's own example file, loaded from the package unchanged


def bench_fixture(name: str, chars: int, **fields: Any) -> dict[str, Any]:
    return {
        "match": {"userMessage": f"bench-pacing-{name}"},
        "response": {"content": ("pacing " * chars)[:chars]},
        **fields,
    }


def example_fixture(node_modules: Path) -> dict[str, Any]:
    data = json.loads((node_modules / "@copilotkit" / "aimock" / EXAMPLE).read_text())
    fixtures: list[dict[str, Any]] = data["fixtures"]
    return fixtures[0]


def cases(node_modules: Path) -> list[PacingCase]:
    physics = example_fixture(node_modules)
    return [
        PacingCase(
            "physics",
            "AIMock's example streaming-physics.json: ttft 200, tps 40, jitter 0.1, chunkSize 20",
            physics,
            f"Please {physics['match']['userMessage']}.",
            example=True,
        ),
        PacingCase(
            "issue",
            "issue 20: ttft 500, tps 40, chunkSize 5 (200 characters)",
            bench_fixture("issue", 200, chunkSize=5, streamingProfile={"ttft": 500, "tps": 40}),
            "bench-pacing-issue",
        ),
        PacingCase(
            "slow",
            "ttft 500, tps 10, chunkSize 20 (200 characters)",
            bench_fixture("slow", 200, chunkSize=20, streamingProfile={"ttft": 500, "tps": 10}),
            "bench-pacing-slow",
        ),
        PacingCase(
            "jitter",
            "ttft 300, tps 50, jitter 0.3, chunkSize 10 (300 characters)",
            bench_fixture(
                "jitter",
                300,
                chunkSize=10,
                streamingProfile={"ttft": 300, "tps": 50, "jitter": 0.3},
            ),
            "bench-pacing-jitter",
        ),
        PacingCase(
            "latency",
            "latency 40, no profile, chunkSize 20 (300 characters)",
            bench_fixture("latency", 300, chunkSize=20, latency=40),
            "bench-pacing-latency",
        ),
        PacingCase(
            "recorded",
            "recordedTimings: ttftMs 250, gaps 10/40/20/80/30 (then their mean, 36), chunkSize 20",
            bench_fixture(
                "recorded",
                200,
                chunkSize=20,
                recordedTimings={"ttftMs": 250, "interChunkDelaysMs": [10, 40, 20, 80, 30]},
            ),
            "bench-pacing-recorded",
        ),
        PacingCase(
            "replay2",
            "replaySpeed 2: ttft 400, tps 20, chunkSize 20 (300 characters)",
            bench_fixture(
                "replay2",
                300,
                chunkSize=20,
                replaySpeed=2,
                streamingProfile={"ttft": 400, "tps": 20},
            ),
            "bench-pacing-replay2",
        ),
    ]


SMOKE_CASE = "smoke"


def smoke_case() -> PacingCase:
    return PacingCase(
        SMOKE_CASE,
        "smoke: ttft 50, tps 100, chunkSize 20 (60 characters)",
        bench_fixture("smoke", 60, chunkSize=20, streamingProfile={"ttft": 50, "tps": 100}),
        "bench-pacing-smoke",
    )


def request_body(case: PacingCase) -> bytes:
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": case.prompt}],
    }
    return json.dumps(body).encode()


# --------------------------------------------------------------------------------------------
# The native client
# --------------------------------------------------------------------------------------------


def build_pacer(cache: Path = CACHE) -> Path:
    """bench/pacer.c compiled with `cc -O2`, cached by the source's hash."""
    source = SOURCE.read_bytes()
    binary = cache / f"pacer-{hashlib.sha256(source).hexdigest()[:16]}"
    if binary.exists():
        return binary
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("error: no C compiler (cc) on PATH")
    cache.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f"{binary.name}.{os.getpid()}")
    subprocess.run([compiler, "-O2", "-Wall", "-o", str(partial), str(SOURCE)], check=True)
    os.replace(partial, binary)
    return binary


@dataclass
class StreamResult:
    status: int
    start_us: int  # connect() called
    sent_us: int  # the request's last byte written
    ttft_us: int  # -1: no frame
    frames: int
    first_us: int
    last_us: int
    max_gap_us: int
    error: str | None

    @property
    def rate(self) -> float | None:
        """Frames a second between the first frame and the last."""
        if self.frames < 2 or self.last_us <= self.first_us:
            return None
        return (self.frames - 1) / (self.last_us - self.first_us) * 1e6


@dataclass
class PacerRun:
    streams: list[StreamResult]
    wall_s: float
    cpu_s: float  # the client's own user + system time
    peak_in_flight: int


def parse_pacer(text: str) -> PacerRun:
    streams, summary = [], None
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "stream":
            numbers = [int(p) for p in parts[2:10]]
            error = None if parts[10] == "-" else parts[10]
            streams.append(StreamResult(*numbers, error=error))
        elif parts and parts[0] == "summary":
            summary = [int(p) for p in parts[1:]]
    if summary is None:
        raise RuntimeError(f"pacer printed no summary:\n{text[-2000:]}")
    wall, user, system, peak = summary[:4]
    return PacerRun(streams, wall / 1e6, (user + system) / 1e6, peak)


def run_pacer(
    pacer: Path,
    port: int,
    body_file: Path,
    *,
    streams: int,
    ramp_s: float,
    timeout_s: float,
    cpu: int | None,
) -> PacerRun:
    command = [str(pacer), "--port", str(port), "--path", PATH, "--body", str(body_file)]
    command += ["--streams", str(streams), "--ramp", str(ramp_s), "--timeout", str(timeout_s)]
    done = subprocess.run(
        suite.loadgen.pinned(command, cpu),
        capture_output=True,
        text=True,
        timeout=timeout_s + 30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pacer failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return parse_pacer(done.stdout)


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def nearest_rank(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p5": nearest_rank(ordered, 5),
        "p50": statistics.median(ordered),
        "p95": nearest_rank(ordered, 95),
        "min": ordered[0],
        "max": ordered[-1],
    }


def summarise(
    case: PacingCase, server: str, streams: int, runs: list[PacerRun], server_cpu_s: float
) -> dict[str, Any]:
    results = [s for run in runs for s in run.streams]
    good = [s for s in results if s.error is None and s.status == 200]
    errors = [s.error or f"HTTP {s.status}" for s in results if s not in good]
    frames = [s.frames for s in good]
    wall = sum(r.wall_s for r in runs)
    client_cpu = sum(r.cpu_s for r in runs)
    total_frames = sum(s.frames for s in results)
    return {
        "case": case.name,
        "server": server,
        "streams": streams,
        "rounds": len(runs),
        "expected": expected(case.fixture),
        "complete": len(good),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "frames": {"min": min(frames, default=0), "max": max(frames, default=0)},
        "ttft_ms": spread([s.ttft_us / 1000 for s in good if s.ttft_us >= 0]),
        "rate": spread([r for s in good if (r := s.rate) is not None]),
        "max_gap_ms": spread([s.max_gap_us / 1000 for s in good]),
        # connect() to the request written: a full accept queue shows here (a dropped
        # handshake is retried after 1 s), not in ttft
        "connect_ms": spread([(s.sent_us - s.start_us) / 1000 for s in good]),
        "peak_in_flight": max(r.peak_in_flight for r in runs),
        "wall_s": wall,
        "client_cpu_s": client_cpu,
        "client_busy": client_cpu / wall if wall else 0.0,
        "client_cpu_us_per_frame": client_cpu / total_frames * 1e6 if total_frames else None,
        "server_cpu_s": server_cpu_s,
        "server_busy": server_cpu_s / wall if wall else 0.0,
        "server_cpu_us_per_frame": server_cpu_s / total_frames * 1e6 if total_frames else None,
    }


NETSTAT_KEYS = ("ListenOverflows", "TCPSynRetrans")


def tcp_counters() -> dict[str, int]:
    """The machine's accept-queue overflows and SYN retransmits so far (/proc/net/netstat)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return {}
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=False))
            return {k: table.get(k, 0) for k in NETSTAT_KEYS}
    return {}


def cpu_ticks(cpu: int) -> tuple[int, int]:
    """(busy, total) jiffies of one CPU so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith(f"cpu{cpu} "):
                user, nice, system, idle, iowait, irq, softirq, steal = map(int, line.split()[1:9])
                busy = user + nice + system + irq + softirq + steal
                return busy, busy + idle + iowait
    return 0, 0


def measure(
    case: PacingCase,
    running: Any,
    pacer: Path,
    body_file: Path,
    *,
    streams: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One case, one server, one stream count: `--single-rounds` sequential rounds at 1
    stream, one round otherwise."""
    rounds = args.single_rounds if streams == 1 else 1
    duration_s = expected(case.fixture)["duration_ms"] / 1000
    ramp = ramp_seconds(streams, duration_s, args)
    timeout = duration_s * 10 + ramp + 30
    cpu_before = bench_http.proc_cpu_seconds(running.pid)
    core_before = cpu_ticks(args.server_cpu)
    tcp_before = tcp_counters()
    runs = [
        run_pacer(
            pacer,
            running.port,
            body_file,
            streams=streams,
            ramp_s=ramp,
            timeout_s=timeout,
            cpu=args.client_cpu,
        )
        for _ in range(rounds)
    ]
    server_cpu = bench_http.proc_cpu_seconds(running.pid) - cpu_before
    core_after = cpu_ticks(args.server_cpu)
    tcp_after = tcp_counters()
    row = summarise(case, running.server.key, streams, runs, server_cpu)
    # machine-wide counters: on loopback during a run, these are this run's connections
    row["tcp"] = {k: tcp_after[k] - tcp_before.get(k, 0) for k in tcp_after}
    row["ramp_s"] = ramp
    total = core_after[1] - core_before[1]
    # The server's core busy with anything (the server, the idle twin, other jobs): the part
    # that is not this server is what else took its core during the run.
    row["server_core_busy"] = (core_after[0] - core_before[0]) / total if total > 0 else None
    return row


def ramp_seconds(streams: int, duration_s: float, args: argparse.Namespace) -> float:
    """Streams start `--ramp-ms-per-stream` apart, but all within `--ramp-share` of one
    stream's nominal duration, so that all N are in flight at once (the peak is reported)."""
    if streams < 2:
        return 0.0
    return min(args.ramp_ms_per_stream * streams / 1000, args.ramp_share * duration_s)


def with_example(server: Any, example: Path) -> Any:
    """The server's command with AIMock's example file as a second fixture source."""
    base = server.command

    def command(port: int, fixtures: Path | None) -> list[str]:
        return [*base(port, fixtures), "-f", str(example)]

    return dataclasses.replace(server, command=command)


def write_fixtures(folder: Path, chosen: list[PacingCase]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    written = [c.fixture for c in chosen if not c.example]
    (folder / "pacing.json").write_text(json.dumps({"fixtures": written}, indent=1))
    return folder


def run_all(
    chosen: list[PacingCase],
    servers: dict[str, Any],
    workdir: Path,
    args: argparse.Namespace,
    example: Path,
) -> list[dict[str, Any]]:
    """Both servers started once and kept; every (case, N) runs them back to back, the
    order alternating, so they share the machine's conditions of that minute."""
    pacer = build_pacer()
    fixtures = write_fixtures(workdir / "fixtures", chosen)
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        running = {
            key: stack.enter_context(
                suite.serving(
                    with_example(servers[key], example),
                    fixtures,
                    workdir,
                    f"pacing-{key}",
                    args.server_cpu,
                )
            )
            for key in SERVERS
        }
        for r in running.values():
            suite.first_answer(r, suite.any_answer_probe(), args.start_timeout)
        turn = 0
        for case in chosen:
            body_file = workdir / f"{case.name}.body.json"
            body_file.write_bytes(request_body(case))
            for streams in args.streams:
                order = SERVERS if turn % 2 == 0 else SERVERS[::-1]
                turn += 1
                for key in order:
                    try:
                        row = measure(
                            case, running[key], pacer, body_file, streams=streams, args=args
                        )
                    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                        row = {
                            "case": case.name,
                            "server": key,
                            "streams": streams,
                            "expected": expected(case.fixture),
                            "complete": 0,
                            "errors": streams,
                            "error_samples": [f"{type(exc).__name__}: {exc}"[:300]],
                        }
                    rows.append(row)
                    progress(row)
                    time.sleep(args.pause)
    return rows


def progress(row: dict[str, Any]) -> None:
    ttft, rate = row.get("ttft_ms") or {}, row.get("rate") or {}
    exp = row["expected"]
    print(
        f"pacing {row['case']:9} N={row['streams']:<5} {row['server']:7} "
        f"ttft p50 {ttft.get('p50', math.nan):7.1f} ms (exp {exp['ttft_ms']:g})  "
        f"rate p50 {rate.get('p50', math.nan):6.2f}/s (exp {exp['rate']:.2f})  "
        f"client CPU {row.get('client_busy', 0):.0%}  server CPU {row.get('server_busy', 0):.0%}"
        f"  errors {row['errors']} {' '.join(row['error_samples'])}",
        file=sys.stderr,
    )


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, spec)


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.3f}"
    return text if abs(value - 1) <= TOLERANCE else f"**{text}**"


def pick(row: dict[str, Any] | None, measure_key: str, stat: str) -> float | None:
    return ((row or {}).get(measure_key) or {}).get(stat)


def pairs(rows: list[dict[str, Any]]) -> Iterator[tuple[str, int, dict[str, Any], dict[str, Any]]]:
    """(case, N, aimock's row, AIMock's row) in the order they ran."""
    seen: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for row in rows:
        seen.setdefault((row["case"], row["streams"]), {})[row["server"]] = row
    for (case, streams), both in seen.items():
        yield case, streams, both.get(OURS, {}), both.get(PEER, {})


def markdown(results: dict[str, Any]) -> str:
    rows, config = results["rows"], results["config"]
    v, load = results["versions"], results["load_average"]
    lines = [
        f"# Pacing (issue 20), {results['date']}",
        "",
        f"aimock {v[OURS]} ({results['revision']}); AIMock {v[PEER]} (Node {v['node']}); "
        f"pacer (bench/pacer.c, {v['cc']}). {results['machine']['cpus']} CPUs "
        f"({results['machine']['cpu']}). 1-minute load average {load['before']:.2f} before, "
        f"{load['after']:.2f} after; {results['seconds'] / 60:.1f} min.",
        "",
        f"**Cores**: both servers pinned to CPU {config['server_cpu']} (they share it; the one "
        f"not measured is idle), pacer and this script to CPU {config['client_cpu']}. Streams "
        f"start {config['ramp_ms_per_stream']:g} ms apart, all within "
        f"{config.get('ramp_share', 1):.0%} of a stream's nominal duration (the ramp column); "
        f"at 1 stream, {config['single_rounds']} sequential rounds. OpenAI chat streams; a "
        "frame is an SSE event, `[DONE]` not counted; rate = (frames - 1) / (last frame - "
        "first frame); expected values by AIMock's rule, jitter left out (a median of few "
        "jittered streams moves by several percent by chance).",
        "",
        "### Cases",
        "",
    ]
    lines += [f"- `{c['name']}`: {c['title']}" for c in results["cases"]]
    lines += ["", "### Delivered ttft (ms)", ""]
    header = ["case", "N", "expected", "aimock p50", "aimock p95", "AIMock p50", "AIMock p95"]
    header += ["aimock/exp", "AIMock/exp", "aimock/AIMock"]
    body = []
    for case, streams, ours_row, peer_row in pairs(rows):
        exp = (ours_row or peer_row)["expected"]["ttft_ms"]
        o, p = pick(ours_row, "ttft_ms", "p50"), pick(peer_row, "ttft_ms", "p50")
        body.append(
            [
                case,
                f"{streams:,}",
                f"{exp:g}",
                fmt(o),
                fmt(pick(ours_row, "ttft_ms", "p95")),
                fmt(p),
                fmt(pick(peer_row, "ttft_ms", "p95")),
                fmt_ratio(ratio(o, exp)),
                fmt_ratio(ratio(p, exp)),
                fmt_ratio(ratio(o, p)),
            ]
        )
    lines += suite.report.table(header, body, 1)
    lines += ["", "### Delivered chunk rate (frames/s)", ""]
    header = ["case", "N", "frames", "expected", "aimock p50", "aimock p5", "AIMock p50"]
    header += ["AIMock p5", "aimock/exp", "AIMock/exp", "aimock/AIMock", "largest gap p95 ms"]
    body = []
    for case, streams, ours_row, peer_row in pairs(rows):
        exp_all = (ours_row or peer_row)["expected"]
        exp = exp_all["rate"]
        o, p = pick(ours_row, "rate", "p50"), pick(peer_row, "rate", "p50")
        frames = f"{exp_all['frames']}"
        seen = {
            f"{r['frames']['min']}" if r["frames"]["min"] == r["frames"]["max"] else
            f"{r['frames']['min']}-{r['frames']['max']}"
            for r in (ours_row, peer_row)
            if r.get("frames") and r["frames"]["max"]
        }  # fmt: skip
        if seen != {frames}:
            frames += f" (seen {'/'.join(sorted(seen))})"
        body.append(
            [
                case,
                f"{streams:,}",
                frames,
                f"{exp:.2f}",
                fmt(o, ".2f"),
                fmt(pick(ours_row, "rate", "p5"), ".2f"),
                fmt(p, ".2f"),
                fmt(pick(peer_row, "rate", "p5"), ".2f"),
                fmt_ratio(ratio(o, exp)),
                fmt_ratio(ratio(p, exp)),
                fmt_ratio(ratio(o, p)),
                f"{fmt(pick(ours_row, 'max_gap_ms', 'p95'))} / "
                f"{fmt(pick(peer_row, 'max_gap_ms', 'p95'))}",
            ]
        )
    lines += suite.report.table(header, body, 1)
    lines += [
        "",
        "largest gap: each stream's longest wait between two frames, its p95 over the streams "
        "(aimock / AIMock); the rule's longest nominal wait is "
        + ", ".join(
            f"{c['name']} {max(delays(c['fixture'], c['expected']['frames'])[1:]):g}"
            for c in results["cases"]
        )
        + " ms (before jitter).",
    ]
    lines += ["", "### Load: streams, errors, CPU", ""]
    header = ["case", "N", "server", "complete", "errors", "ramp s", "peak in flight", "wall s"]
    header += ["connect ms p50/max", "accept overflows"]
    header += ["client CPU", "client us/frame", "server CPU", "server us/frame"]
    header += ["server core busy"]
    body = []
    for row in rows:
        errors = f"{row['errors']:,}"
        if row["errors"]:
            errors += f" ({'; '.join(row['error_samples'])})"
        body.append(
            [
                row["case"],
                f"{row['streams']:,}",
                row["server"],
                f"{row['complete']:,}",
                errors,
                fmt(row.get("ramp_s"), ".2f"),
                f"{row.get('peak_in_flight', 0):,}",
                fmt(row.get("wall_s"), ".2f"),
                f"{fmt(pick(row, 'connect_ms', 'p50'))} / {fmt(pick(row, 'connect_ms', 'max'))}",
                f"{(row.get('tcp') or {}).get('ListenOverflows', 'n/a')}",
                fmt(row.get("client_busy", 0) * 100, ".1f") + "%",
                fmt(row.get("client_cpu_us_per_frame"), ".1f"),
                fmt(row.get("server_busy", 0) * 100, ".0f") + "%",
                fmt(row.get("server_cpu_us_per_frame"), ".1f"),
                fmt((row.get("server_core_busy") or math.nan) * 100, ".0f") + "%",
            ]
        )  # fmt: skip
    lines += suite.report.table(header, body, 1)
    lines += [
        "",
        "Ratios outside 0.95-1.05 are in bold. client/server CPU: CPU time over the run's wall "
        "time (the share of one core; the server's from /proc in 10 ms ticks, so it means "
        "little below 100 streams); us/frame: CPU time per frame delivered; server core busy: "
        "the server's CPU busy with anything over the run (/proc/stat): well above the "
        "server's own CPU means other work shared its core. connect ms: from connect() to the "
        "request written; accept overflows: the machine's TcpExt ListenOverflows over the run "
        "(a connection the server's full accept queue turned away; the client retries its "
        "handshake after 1 s, so it shows in connect ms and wall s, not in ttft).",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pacing.py",
        description="Delivered ttft and chunk rate, aimock vs AIMock, against the fixtures' rule.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    option = parser.add_argument
    option("--cases", help="comma-separated subset (default: all but smoke)")
    option("--streams", default="1,100,1000", help="comma-separated concurrent stream counts")
    option("--ramp-ms-per-stream", type=float, default=1.0, help="stream starts this far apart")
    option(
        "--ramp-share",
        type=float,
        default=0.5,
        help="...but all within this share of a stream's nominal duration",
    )
    option("--single-rounds", type=int, default=10, help="sequential rounds at 1 stream")
    option("--pause", type=float, default=0.5, help="seconds between runs")
    option("--smoke", action="store_true", help="2 streams, one short case (a test)")
    option("--server-cpu", type=int, default=0, help="the CPU both servers are pinned to")
    option(
        "--client-cpu",
        type=int,
        default=1 if (os.cpu_count() or 1) > 1 else 0,
        help="the CPU of pacer and of this script",
    )
    option("--start-timeout", type=float, default=60, help="seconds for a server to answer")
    option("--json", type=Path, default=BENCH / "results" / "pacing.json", help="results file")
    option("--markdown", type=Path, default=BENCH / "results" / "pacing.md", help="the tables")
    option("--keep", action="store_true", help="keep the temporary folder (fixtures, logs)")
    args = parser.parse_args(argv)
    if args.smoke:
        parser.set_defaults(cases=SMOKE_CASE, streams="2", single_rounds=1, pause=0.0)
        args = parser.parse_args(argv)
    args.streams = [int(n) for n in str(args.streams).split(",") if n.strip()]
    if not args.streams or min(args.streams) < 1:
        parser.error("--streams must be positive counts")
    return args


def choose(names: str | None, node_modules: Path) -> list[PacingCase]:
    every = {c.name: c for c in [*cases(node_modules), smoke_case()]}
    wanted = [n.strip() for n in names.split(",")] if names else [
        n for n in every if n != SMOKE_CASE
    ]  # fmt: skip
    unknown = set(wanted) - set(every)
    if unknown:
        raise SystemExit(f"error: unknown cases {sorted(unknown)}; known: {sorted(every)}")
    return [every[n] for n in wanted]


def cc_version() -> str:
    out = subprocess.run(["cc", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout.splitlines() or ["cc unknown"])[0]


def raise_open_files() -> None:
    """1,000 streams need more than 1,024 descriptors (the servers inherit this)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(
    args: argparse.Namespace, servers: dict[str, Any], node_modules: Path, workdir: Path
) -> dict[str, Any]:
    """Measure and return the results dict (`markdown` renders it); used by suite.py too."""
    raise_open_files()
    chosen = choose(args.cases, node_modules)
    example = node_modules / "@copilotkit" / "aimock" / EXAMPLE
    load_before, started = os.getloadavg()[0], time.perf_counter()
    rows = run_all(chosen, servers, workdir, args, example)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "revision": bench_http.git_revision(),
        "seconds": time.perf_counter() - started,
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": suite.cpu_model(),
            "platform": platform.platform(),
        },
        "versions": {
            OURS: " ".join(servers[OURS].version.split()),
            PEER: servers[PEER].version,
            "node": node_version(),
            "cc": cc_version(),
        },
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "command": [sys.executable, *sys.argv],
        "config": {
            "streams": args.streams,
            "ramp_ms_per_stream": args.ramp_ms_per_stream,
            "ramp_share": args.ramp_share,
            "single_rounds": args.single_rounds,
            "server_cpu": args.server_cpu,
            "client_cpu": args.client_cpu,
        },
        "cases": [
            {
                "name": c.name,
                "title": c.title,
                "fixture": c.fixture,
                "source": str(example) if c.example else "written by bench/pacing.py",
                "expected": expected(c.fixture),
            }
            for c in chosen
        ],
        "rows": rows,
        "failed": sum(r["errors"] for r in rows),
    }


def node_version() -> str:
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().lstrip("v") or "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("taskset", "node"):
        if shutil.which(tool) is None:
            raise SystemExit(f"error: {tool} is not on PATH")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from tests.peers import aimock_bin  # AIMock from npm, into a cache outside the clone

    llmock = aimock_bin()
    node_modules = llmock.parent.parent
    python = Path(sys.executable)
    servers = {OURS: suite.ours(python.parent), PEER: suite.peer(llmock)}
    os.sched_setaffinity(0, {args.client_cpu})
    workdir = Path(tempfile.mkdtemp(prefix="aimock-pacing-"))
    try:
        results = run(args, servers, node_modules, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    table = markdown(results)
    for path, text in ((args.json, json.dumps(results, indent=2)), (args.markdown, table)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(table)
    print(f"wrote {args.json} and {args.markdown}", file=sys.stderr)
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
