#!/usr/bin/env python3
"""Compare the server's speed at two git revisions, in one run, with wrk as the load generator.

What one run does:

1. checks out `--base` (default HEAD~1) with `git worktree add --detach` into a temporary
   folder; `--head` defaults to the working tree itself (/work/main as it is now, edits and
   all). Each server runs from its own tree with the same virtualenv (`PYTHONPATH=<tree>/server`;
   the script checks that this tree's `aimock` is the one imported, not the editable install);
2. writes N AIMock fixtures (bench_http.py's writer) and, per mode, a file of request bodies
   that hit fixtures spread over the set plus a share aimed at the last ones (bench_http.py's
   mix), and a wrk Lua script that cycles through them;
3. for each round (`--runs`), each mode (`chat`: non-streamed POST /v1/chat/completions,
   `stream`: the same with "stream": true) and each revision in turn (base, head, base, head...):
   starts a fresh server on a free 127.0.0.1 port, waits for GET /health, checks one answer by
   hand, warms up with wrk (not measured), then runs `wrk -t2 -c32 -d<duration>s --latency`;
   records req/s, latency p50/p90/p99, non-2xx answers and socket errors (parsed from wrk's
   output), the server's CPU time per request (utime+stime from /proc/<pid>/stat over the wrk
   run), wrk's own CPU time per request (getrusage of children) and the server's VmRSS after;
4. prints the median per revision and mode and the head/base ratio as a Markdown table
   (optionally `--json OUT`), stops the servers and removes the worktrees.

CPU per request is the comparison to trust on a shared machine; req/s moves with other load.
wrk's CPU per request, next to the server's, shows how much of the machine the client took.
Everything stays on loopback and every run ends by itself (wrk runs for a fixed duration).
Needs `wrk` on PATH (Debian: `apt-get install wrk`).

Example (from the repository root):

    .venv/bin/python bench/bench_revisions.py --base HEAD~1 --runs 3 --duration 10
    .venv/bin/python bench/bench_revisions.py --base main --head my-branch --json ab.json
"""

from __future__ import annotations

import argparse
import importlib
import json
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
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
bench_http = importlib.import_module("bench_http")  # fixture writer, request mix, /proc readers
loadgen = importlib.import_module("loadgen")  # the wrk script and the parser of its report

HOST = bench_http.HOST  # loopback only
PATH = "/v1/chat/completions"
MODES = ("chat", "stream")
LUA = loadgen.LUA
parse_wrk = loadgen.parse_wrk
METRICS = ("rps", "p50_ms", "p90_ms", "p99_ms", "srv_cpu_us", "wrk_cpu_us", "rss_mib")

# Runs the CLI from a given tree even if the venv's editable finder would pick another copy.
LAUNCHER = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); from aimock.cli import main; "
    "sys.argv[0] = 'aimock'; raise SystemExit(main())"
)

# --------------------------------------------------------------------------------------------
# Revisions
# --------------------------------------------------------------------------------------------


@dataclass
class Revision:
    role: str  # "base" or "head"
    label: str  # what the table shows
    commit: str
    tree: Path
    worktree: bool  # a worktree this script added (and removes)
    command: list[str] | None = None  # python ... up to the CLI's arguments
    env: dict[str, str] | None = None


def git(*args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), *args], check=False, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"error: git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def make_revision(role: str, rev: str | None, tmp: Path) -> Revision:
    if rev is None:  # the working tree as it is
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no") != ""
        return Revision(
            role, f"worktree ({commit}{'+dirty' if dirty else ''})", commit, ROOT, False
        )
    commit = git("rev-parse", "--short", "--verify", f"{rev}^{{commit}}")
    tree = tmp / f"tree-{role}"
    git("worktree", "add", "--detach", str(tree), commit)
    return Revision(role, f"{rev} ({commit})", commit, tree, True)


def prepare_command(revision: Revision, python: str, workdir: Path) -> None:
    """How to start this tree's server: `-m aimock` under PYTHONPATH when that imports this
    tree's package, else a launcher that puts the tree first on sys.path."""
    wanted = (revision.tree / "server" / "aimock").resolve()
    probe = "import aimock, os; print(os.path.dirname(os.path.realpath(aimock.__file__)))"
    env = {**os.environ, "PYTHONPATH": str(revision.tree / "server")}
    tries = [
        ([python, "-m", "aimock"], [python, "-c", probe], env),
        (
            [python, "-c", LAUNCHER, str(revision.tree / "server")],
            [
                python,
                "-c",
                f"import sys; sys.path.insert(0, {str(revision.tree / 'server')!r}); " + probe,
            ],
            {k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        ),
    ]
    for command, check, check_env in tries:
        out = subprocess.run(
            check, check=False, capture_output=True, text=True, env=check_env, cwd=workdir
        )
        if out.returncode == 0 and Path(out.stdout.strip()) == wanted:
            revision.command, revision.env = command, check_env
            return
    raise SystemExit(f"error: cannot make {python} import aimock from {wanted}")


# --------------------------------------------------------------------------------------------
# One measurement
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    revision: str  # "base" or "head"
    mode: str
    round: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: dict[str, int]
    srv_cpu_us: float  # server user+system CPU per request
    wrk_cpu_us: float  # wrk's own user+system CPU per request
    rss_mib: float
    load_avg_1m: tuple[float, float]


def wrk(args: argparse.Namespace, url: str, script: Path, seconds: int) -> str:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s"]
    command += ["--latency", "-s", str(script), url]
    out = subprocess.run(command, check=False, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return ((out.stdout or out.stderr).splitlines() or ["unknown"])[0]


def check_answer(url: str, stream: bool) -> None:
    """One request by hand: the fixture's own marker (and [DONE] when streaming)."""
    body = bench_http.request_body(0, stream)
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = response.read()
    if bench_http.marker(0) not in payload or (stream and b"[DONE]" not in payload):
        raise RuntimeError(f"unexpected answer from {url}: {payload[:200]!r}")


def wait_ready(process: subprocess.Popen[bytes], port: int, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not become ready; log:\n{log.read_text()[-2000:]}")


def measure(
    args: argparse.Namespace, revision: Revision, mode: str, rnd: int, workdir: Path
) -> Run:
    assert revision.command is not None
    port = bench_http.free_port()
    serve = ["serve", "--port", str(port), "-f", str(workdir / "fixtures"), "--log-level", "warn"]
    log = workdir / f"server-{revision.role}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*revision.command, *serve],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env=revision.env,
        )
    url = f"http://{HOST}:{port}{PATH}"
    script = workdir / f"{mode}.lua"
    try:
        wait_ready(process, port, args.start_timeout, log)
        check_answer(url, mode == "stream")
        if args.warmup:
            wrk(args, url, script, args.warmup)
        load_before = os.getloadavg()[0]
        cpu_before = bench_http.proc_cpu_seconds(process.pid)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        text = wrk(args, url, script, args.duration)
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = bench_http.proc_cpu_seconds(process.pid) - cpu_before
        rss = bench_http.proc_status(process.pid).get("VmRSS", 0)
    finally:
        bench_http.stop_process(process)
    result = parse_wrk(text)
    wrk_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    requests = max(result["requests"], 1)
    return Run(
        revision=revision.role,
        mode=mode,
        round=rnd,
        requests=result["requests"],
        seconds=result["seconds"],
        rps=result["rps"],
        p50_ms=result["latency"].get("50", float("nan")),
        p90_ms=result["latency"].get("90", float("nan")),
        p99_ms=result["latency"].get("99", float("nan")),
        non_2xx=result["non_2xx"],
        socket_errors=result["socket_errors"],
        srv_cpu_us=server_cpu / requests * 1e6,
        wrk_cpu_us=wrk_cpu / requests * 1e6,
        rss_mib=rss / 1024,
        load_avg_1m=(load_before, os.getloadavg()[0]),
    )


# --------------------------------------------------------------------------------------------
# Setup, report, main
# --------------------------------------------------------------------------------------------


def write_inputs(args: argparse.Namespace, workdir: Path) -> None:
    (workdir / "fixtures").mkdir()
    bench_http.write_fixtures(workdir / "fixtures", args.fixtures, max(1, min(10, args.fixtures)))
    targets = bench_http.pick_targets(
        args.fixtures, args.mix, args.tail_share, args.tail_size, args.seed
    )
    for mode in MODES:
        bodies = workdir / f"{mode}.bodies"
        lines = (bench_http.request_body(i, mode == "stream").decode() for i in targets)
        bodies.write_text("\n".join(lines) + "\n")
        (workdir / f"{mode}.lua").write_text(LUA.format(bodies=bodies, path=PATH))


def summarize(runs: list[Run], revisions: list[Revision], modes: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for mode in modes:
        summary[mode] = {}
        for rev in revisions:
            mine = [r for r in runs if r.mode == mode and r.revision == rev.role]
            summary[mode][rev.role] = {
                m: statistics.median(getattr(r, m) for r in mine) for m in METRICS
            }
            summary[mode][rev.role]["errors"] = sum(
                r.non_2xx + sum(r.socket_errors.values()) for r in mine
            )
        base, head = summary[mode]["base"], summary[mode]["head"]
        summary[mode]["head/base"] = {m: head[m] / base[m] if base[m] else None for m in METRICS}
    return summary


def print_table(summary: dict[str, Any], revisions: list[Revision], runs: int) -> None:
    labels = {r.role: r.label for r in revisions}
    print(
        f"Median of {runs} run(s) per row; ratio < 1 means head is lower (better for all "
        "but req/s).\n"
    )
    print(
        "| mode | revision | req/s | p50 ms | p90 ms | p99 ms | srv CPU us/req "
        "| wrk CPU us/req | RSS MiB | errors |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, rows in summary.items():
        for role in ("base", "head"):
            m = rows[role]
            print(
                f"| {mode} | {role}: {labels[role]} | {m['rps']:,.0f} | {m['p50_ms']:.2f} "
                f"| {m['p90_ms']:.2f} | {m['p99_ms']:.2f} | {m['srv_cpu_us']:.0f} "
                f"| {m['wrk_cpu_us']:.0f} | {m['rss_mib']:.1f} | {m['errors']} |"
            )
        ratio = rows["head/base"]
        cells = " | ".join("n/a" if ratio[k] is None else f"{ratio[k]:.3f}" for k in METRICS)
        print(f"| {mode} | **head/base** | {cells} | |")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench_revisions.py",
        description="A/B the server at two git revisions with wrk, alternating run by run.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--base", default="HEAD~1", help="git revision to compare against")
    parser.add_argument("--head", help="git revision to test (default: the working tree)")
    parser.add_argument("--modes", default="chat,stream", help="comma-separated: chat, stream")
    parser.add_argument("--runs", type=int, default=3, help="rounds (each revision once per mode)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured wrk (0: none)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--fixtures", type=int, default=1000, help="fixtures to generate")
    parser.add_argument("--mix", type=int, default=5000, help="request bodies wrk cycles through")
    parser.add_argument("--tail-share", type=float, default=0.25, help="share aimed at the tail")
    parser.add_argument("--tail-size", type=int, default=10, help="how many last fixtures")
    parser.add_argument("--seed", type=int, default=1, help="seed for the request mix")
    parser.add_argument(
        "--python", default=str(ROOT / ".venv" / "bin" / "python"), help="the shared venv"
    )
    parser.add_argument("--start-timeout", type=float, default=60, help="seconds to be ready")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.modes or set(args.modes) - set(MODES):
        parser.error(f"--modes takes a comma-separated subset of {', '.join(MODES)}")
    if min(args.runs, args.duration, args.threads, args.connections, args.fixtures, args.mix) < 1:
        parser.error("--runs, --duration, --threads, --connections, --fixtures, --mix must be > 0")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("error: wrk is not on PATH; install it (Debian: apt-get install wrk)")
    # Let SIGTERM unwind through the finally blocks (servers stopped, worktrees removed).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="aimock-ab-"))
    revisions: list[Revision] = []
    runs: list[Run] = []
    try:
        revisions.append(make_revision("base", args.base, tmp))
        revisions.append(make_revision("head", args.head, tmp))
        workdir = tmp / "work"
        workdir.mkdir()
        for revision in revisions:
            prepare_command(revision, args.python, workdir)
            print(f"{revision.role}: {revision.label} from {revision.tree}", file=sys.stderr)
        write_inputs(args, workdir)
        for rnd in range(1, args.runs + 1):
            for mode in args.modes:
                for revision in revisions:
                    run = measure(args, revision, mode, rnd, workdir)
                    runs.append(run)
                    print(
                        f"round {rnd} {mode:6} {revision.role}: {run.rps:,.0f} req/s, "
                        f"srv {run.srv_cpu_us:.0f} us/req, wrk {run.wrk_cpu_us:.0f} us/req, "
                        f"p99 {run.p99_ms:.2f} ms, non-2xx {run.non_2xx}, "
                        f"socket errors {sum(run.socket_errors.values())}",
                        file=sys.stderr,
                    )
    finally:
        for revision in revisions:
            if revision.worktree:
                command = ["git", "-C", str(ROOT), "worktree", "remove", "--force"]
                if subprocess.run([*command, str(revision.tree)], check=False).returncode:
                    print(f"warning: could not remove worktree {revision.tree}", file=sys.stderr)
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    summary = summarize(runs, revisions, args.modes)
    print_table(summary, revisions, args.runs)
    if args.json:
        report = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": sys.argv,
            "revisions": [
                {"role": r.role, "label": r.label, "commit": r.commit, "command": r.command}
                for r in revisions
            ],
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "wrk": wrk_version(),
            },
            "config": {k: v for k, v in vars(args).items() if k != "json"},
            "summary": summary,
            "runs": [asdict(r) for r in runs],
        }
        args.json.write_text(json.dumps(report, indent=2, default=str))
    failed = any(r.non_2xx or sum(r.socket_errors.values()) for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
