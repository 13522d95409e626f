"""wrk, the native load generator every throughput number comes from, driven from Python.

One wrk run: a Lua script cycles through a file of request bodies (one JSON document a line,
formatted once per thread in `init()`, so wrk does no work per request beyond sending bytes),
wrk runs for a fixed duration, optionally pinned to one CPU with taskset, and we keep its own
CPU time (from `wait4`, for this one process) next to what it measured. That CPU time per
request is how a run proves that the load generator was not the bottleneck.

Needs `wrk` on PATH (Debian: `apt-get install wrk`; `make bench` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# wrk script: every thread loads the same bodies (one JSON per line) and cycles through them
# from its own offset; requests are formatted once, in init().
LUA = """\
local bodies_path = [==[{bodies}]==]
local requests = {{}}
local count, i = 0, 0
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  local headers = {{["Content-Type"] = "application/json"}}
  for line in io.lines(bodies_path) do
    count = count + 1
    requests[count] = wrk.format("POST", "{path}", headers, line)
  end
  i = (id * 7919) % count
end

function request()
  i = i % count + 1
  return requests[i]
end
"""

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
SOCKET_ERRORS = ("connect", "read", "write", "timeout")


def write_script(folder: Path, name: str, path: str, bodies: list[bytes]) -> Path:
    """A Lua script (and its bodies file) that POSTs `bodies` to `path` in turn."""
    bodies_file = folder / f"{name}.bodies"
    bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
    script = folder / f"{name}.lua"
    script.write_text(LUA.format(bodies=bodies_file, path=path))
    return script


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests, seconds, req/s, latency percentiles (ms), socket errors and non-2xx answers
    from wrk's `--latency` report."""

    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value).groups()  # type: ignore[union-attr]
        return float(number) * UNITS[unit]

    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not done or not rps:
        raise RuntimeError(f"cannot parse wrk output:\n{text}")
    latency = {p: ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", text, re.M)}
    sockets = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "requests": int(done.group(1)),
        "seconds": ms(done.group(2) + done.group(3)) / 1000,
        "rps": float(rps.group(1)),
        "latency": latency,
        "socket_errors": dict(zip(SOCKET_ERRORS, map(int, sockets.groups()), strict=True))
        if sockets
        else dict.fromkeys(SOCKET_ERRORS, 0),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run measured, and what it cost wrk itself."""

    text: str  # wrk's report
    cpu_seconds: float  # wrk's own user + system CPU time
    parsed: dict[str, Any]


def pinned(command: list[str], cpu: int | None) -> list[str]:
    """`command` under taskset on one CPU (set before exec: every thread inherits it)."""
    return command if cpu is None else ["taskset", "--cpu-list", str(cpu), *command]


def run_wrk(
    url: str,
    script: Path,
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
    cpu: int | None = None,
    timeout_s: int = 10,
) -> WrkRun:
    """One wrk run; its CPU time comes from `wait4` on its own pid, so no other child of this
    process (a server stopped meanwhile) can be counted in it. A request unanswered after
    `timeout_s` (wrk's default is 2 s) counts as a socket timeout and not in the latencies."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command.append(f"--timeout={timeout_s}s")
    command = pinned([*command, "-s", str(script), url], cpu)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wrk stops by itself after `seconds`; this only guards against a wedged run.
    guard = threading.Timer(seconds + 60, process.kill)
    guard.start()
    try:
        _pid, status, usage = os.wait4(process.pid, 0)
    finally:
        guard.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.strip()}")
    return WrkRun(out, usage.ru_utime + usage.ru_stime, parse_wrk(out))


def wrk_version() -> str:
    if shutil.which("wrk") is None:
        return "missing"
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = ((out.stdout or out.stderr).splitlines() or ["unknown"])[0]
    return first.split(" Copyright")[0]
