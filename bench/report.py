#!/usr/bin/env python3
"""Issue 13's targets and the Markdown tables, from the results `bench/suite.py` writes.

Every figure comes from the results dict (the JSON file), so a saved run can be rendered
again:

    .venv/bin/python bench/report.py bench/results/bench.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

OURS, PEER, CEILING = "aimock", "AIMock", "ceiling"
MOCKS = (OURS, PEER)
EVERYONE = (OURS, PEER, CEILING)
WRK_BUSY_LIMIT = 0.9  # wrk above this share of its core could be what limits a run
# A server below this share of its core under 32+ connections waited or lost its core.
SERVER_BUSY_FLOOR = 0.8

# Issue 13's goals, as ratios of one run's own measurements.
CHAT_VS_PEER = 1.5
STREAM_VS_PEER = 1.5
WIRE_VS_PEER = 1.2
CHAT_VS_CEILING = 0.7
SCALE_VS_BASE = 0.8
PACED_TOLERANCE_PCT = 5.0
STARTUP_DEFAULT_S = 1.0
STARTUP_LARGE_S = 3.0

Run = dict[str, Any]
Target = dict[str, Any]


# --------------------------------------------------------------------------------------------
# Looking runs up
# --------------------------------------------------------------------------------------------


class Runs:
    """The load runs of one results file, looked up by case, server and fixture count."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.all: list[Run] = results["runs"]
        self.base = results["base_fixtures"]

    def get(self, case: str, server: str, fixtures: int | None = None) -> Run | None:
        wanted = self.base if fixtures is None else fixtures
        for run in self.all:
            if (run["case"], run["server"], run["fixtures"]) == (case, server, wanted):
                return None if run["error"] else run
        return None

    def cases(self) -> list[tuple[str, str]]:
        """(case, title) of the head-to-head cases, in the order they ran."""
        seen = {r["case"]: r["title"] for r in self.all if r["case"] != "scale"}
        return list(seen.items())

    def rps_ratio(self, case: str, a: str, b: str) -> float | None:
        return ratio(rps(self.get(case, a)), rps(self.get(case, b)))


def rps(run: Run | None) -> float | None:
    return None if run is None else run["rps"]


def p99(run: Run | None) -> float | None:
    return None if run is None else run["latency_ms"].get("99")


def server_busy(run: Run) -> float:
    """The share of its core the server used (older results files lack the field)."""
    busy: float = run.get("srv_busy") or run["srv_cpu_us"] * run["rps"] / 1e6
    return busy


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(value: float | None, spec: str = ",.0f") -> str:
    return "n/a" if value is None else format(value, spec)


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


def target(name: str, shown: str, goal: str, met: bool | None, value: float | None) -> Target:
    return {"target": name, "measured": value, "shown": shown, "goal": goal, "met": met}


def at_least(name: str, value: float | None, goal: float) -> Target:
    met = None if value is None else value >= goal
    return target(
        name, fmt(value, ".2f") + ("x" if value is not None else ""), f">= {goal:g}x", met, value
    )


def at_most_seconds(name: str, value: float | None, goal: float) -> Target:
    met = None if value is None else value < goal
    return target(
        name, fmt(value, ".3f") + (" s" if value is not None else ""), f"< {goal:g} s", met, value
    )


def not_above(name: str, mine: float | None, theirs: float | None, unit: str) -> Target:
    """Ours no higher than AIMock's (latency, memory)."""
    if mine is None or theirs is None:
        return target(name, "n/a", "<= AIMock's", None, mine)
    return target(name, f"{mine:.2f} vs {theirs:.2f} {unit}", "<= AIMock's", mine <= theirs, mine)


def head_to_head_targets(runs: Runs) -> Iterable[Target]:
    for case, title in runs.cases():
        if runs.get(case, OURS) is None and runs.get(case, PEER) is None:
            continue
        if case.startswith("chat-c"):
            connections = case.removeprefix("chat-c")
            name = f"chat, {connections} conn."
            yield at_least(
                f"{name}: req/s aimock/AIMock", runs.rps_ratio(case, OURS, PEER), CHAT_VS_PEER
            )
            mine, theirs = p99(runs.get(case, OURS)), p99(runs.get(case, PEER))
            yield not_above(f"{name}: p99 aimock <= AIMock", mine, theirs, "ms")
        elif case == "stream":
            value = runs.rps_ratio(case, OURS, PEER)
            yield at_least("10-chunk SSE stream: req/s aimock/AIMock", value, STREAM_VS_PEER)
        elif case.startswith("wire-"):
            wire = title.split(",")[0]
            yield at_least(
                f"{wire}: req/s aimock/AIMock", runs.rps_ratio(case, OURS, PEER), WIRE_VS_PEER
            )
    if runs.get("chat-c32", OURS) and runs.get("chat-c32", CEILING):
        value = runs.rps_ratio("chat-c32", OURS, CEILING)
        yield at_least("chat, 32 conn.: req/s aimock/ceiling", value, CHAT_VS_CEILING)


def scale_target(results: dict[str, Any], runs: Runs) -> Iterable[Target]:
    scale = results.get("scale")
    if not scale:
        return
    large = rps(runs.get("scale", OURS, scale["fixtures"]))
    value = ratio(large, rps(runs.get("scale", OURS)))
    name = (
        f"{scale['fixtures']:,} fixtures ({scale['regex_matchers']:,} regex) vs "
        f"{runs.base}: aimock req/s ratio"
    )
    yield at_least(name, value, SCALE_VS_BASE)


def paced_targets(results: dict[str, Any]) -> Iterable[Target]:
    paced = results.get("paced")
    if not paced:
        return
    for key, label in (("ttft_ms", "TTFT"), ("tps", "chunks/s")):
        spread = paced.get(key) or {}
        error = spread.get("p50_error_pct")
        name = f"{paced.get('streams', 0):,} paced streams: median {label} within 5%"
        if error is None:
            yield target(name, "n/a", "within 5%", None, None)
            continue
        shown = (
            f"{spread['p50']:.1f} vs {spread['configured']:g} ({error:+.1f}%); "
            f"{spread['share_within_5pct']:.0%} of streams within 5%"
        )
        yield target(name, shown, "within 5%", abs(error) <= PACED_TOLERANCE_PCT, error)


def pacing_targets(results: dict[str, Any]) -> Iterable[Target]:
    """Issue 20: aimock's median ttft and chunk rate within 5% of AIMock's, every (case, N)."""
    pacing = results.get("pacing")
    if not pacing:
        return
    rows = pacing["rows"]
    for key, label in (("ttft_ms", "ttft"), ("rate", "chunk rate")):
        ratios = []
        for row in rows:
            if row["server"] != OURS:
                continue
            twin = next(
                (
                    r
                    for r in rows
                    if r["server"] == PEER
                    and (r["case"], r["streams"]) == (row["case"], row["streams"])
                ),
                None,
            )
            mine = (row.get(key) or {}).get("p50")
            theirs = ((twin or {}).get(key) or {}).get("p50")
            ratios.append(ratio(mine, theirs))
        measured = [r for r in ratios if r is not None]
        within = sum(abs(r - 1) <= PACED_TOLERANCE_PCT / 100 for r in measured)
        name = f"pacing (issue 20): median {label} aimock/AIMock within 5%, every case and N"
        shown = f"{within} of {len(ratios)}" + (
            f" ({min(measured):.3f}-{max(measured):.3f}x)" if measured else ""
        )
        met = within == len(ratios) if ratios else None
        yield target(name, shown, "all", met, float(within))


def startup_targets(results: dict[str, Any]) -> Iterable[Target]:
    rows = results.get("startup") or []
    for row in rows:
        if row["server"] != OURS or row["scenario"] == "bench fixtures":
            continue
        limit = STARTUP_DEFAULT_S if row["fixtures"] == 0 else STARTUP_LARGE_S
        name = f"startup to first answer, {row['label']}"
        yield at_most_seconds(name, row.get("median_s"), limit)
    idle = {row["server"]: row for row in rows if row["scenario"] == "bench fixtures"}
    if idle:
        mine = idle.get(OURS, {}).get("median_idle_rss_mib")
        theirs = idle.get(PEER, {}).get("median_idle_rss_mib")
        label = idle.get(OURS, idle.get(PEER, {})).get("label", "")
        yield not_above(f"idle RSS, {label}: aimock <= AIMock", mine, theirs, "MiB")


def evaluate(results: dict[str, Any]) -> list[Target]:
    """Issue 13's targets, each met, missed or not measured (None)."""
    runs = Runs(results)
    targets = [
        *head_to_head_targets(runs),
        *scale_target(results, runs),
        *paced_targets(results),
        *startup_targets(results),
        *pacing_targets(results),
    ]
    targets.append(
        target(
            "journal memory bounded by default",
            "not measured here (bench/soak.py)",
            "bounded",
            None,
            None,
        )
    )
    return targets


def wrk_headroom(results: dict[str, Any]) -> dict[str, Any]:
    """The proof that wrk was not the bottleneck: how busy its core was, and how far the
    ceiling ran ahead of the mocks on the same wrk."""
    runs = Runs(results)
    measured = [r for r in runs.all if not r["error"] and r["requests"]]
    if not measured:
        return {}
    busiest = max(measured, key=lambda r: r["wrk_busy"])
    mocks = [v for v in (rps(runs.get("chat-c32", k)) for k in MOCKS) if v]
    return {
        "max_wrk_busy": busiest["wrk_busy"],
        "max_wrk_busy_run": f"{busiest['case']} / {busiest['server']}",
        "max_wrk_cpu_us_per_request": max(r["wrk_cpu_us"] for r in measured),
        "ceiling_over_fastest_mock_chat_c32": ratio(
            rps(runs.get("chat-c32", CEILING)), max(mocks) if mocks else None
        ),
        "wrk_never_saturated": busiest["wrk_busy"] < WRK_BUSY_LIMIT,
        "disturbed_runs": [
            f"{r['case']} / {r['server']}"
            for r in measured
            if r["connections"] >= 32 and server_busy(r) < SERVER_BUSY_FLOOR
        ],
    }


def complete(results: dict[str, Any]) -> dict[str, Any]:
    """The results with the wrk check and the targets added."""
    return {**results, "wrk": wrk_headroom(results), "targets": evaluate(results)}


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def table(header: list[str], rows: Iterable[list[str]], numeric_from: int = 1) -> list[str]:
    """A Markdown table; columns from `numeric_from` on are right-aligned."""
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def markdown(results: dict[str, Any]) -> str:
    lines = [*preamble(results), *targets_section(results), *throughput_section(results)]
    lines += scale_section(results) + cost_section(results)
    lines += startup_section(results) + paced_section(results) + pacing_section(results)
    lines += failures_section(results)
    return "\n".join(lines) + "\n"


def preamble(results: dict[str, Any]) -> list[str]:
    v, machine, config = results["versions"], results["machine"], results["config"]
    load = results["load_average"]
    return [
        f"# `make bench`, {results['date']}",
        "",
        f"aimock {v[OURS]} ({results['revision']}); AIMock {v[PEER]} (Node {v['node']}); "
        f"the ceiling: aiohttp {v['aiohttp']} + uvloop {v['uvloop']} answering fixed bytes; "
        f"{v['wrk']}. {machine['cpus']} CPUs ({machine['cpu']}), {machine['platform']}. "
        f"1-minute load average {load['before']:.2f} before the run, {load['after']:.2f} after; "
        f"the run took {results['seconds'] / 60:.1f} min.",
        "",
        f"**One core each**: every server pinned to CPU {config['server_cpu']} (taskset), wrk "
        f"(1 thread) to CPU {config['client_cpu']}. One run: each load case {config['warmup']} s "
        f"of warm-up, then {config['duration']} s measured. The same {results['base_fixtures']} "
        "fixtures (AIMock's JSON format) for both mocks; every answer is 10 slices of 20 "
        "characters; latencies are wrk's.",
    ]


def targets_section(results: dict[str, Any]) -> list[str]:
    marks = {True: "yes", False: "**no**", None: "-"}
    rows = [[t["target"], t["shown"], t["goal"], marks[t["met"]]] for t in results["targets"]]
    return ["", "## Targets (issue 13)", "", *table(["target", "measured", "goal", "met"], rows, 4)]


def throughput_section(results: dict[str, Any]) -> list[str]:
    runs = Runs(results)
    rows = []
    for case, title in runs.cases():
        got = {k: runs.get(case, k) for k in EVERYONE}
        rows.append(
            [
                title,
                *(fmt(rps(got[k])) for k in EVERYONE),
                fmt(runs.rps_ratio(case, OURS, PEER), ".2f"),
                fmt(runs.rps_ratio(case, OURS, CEILING), ".2f"),
                *(fmt(p99(got[k]), ".2f") for k in EVERYONE),
            ]
        )
    if not rows:
        return []
    header = ["case", "aimock req/s", "AIMock req/s", "ceiling req/s", "aimock/AIMock"]
    header += ["aimock/ceiling", "aimock p99 ms", "AIMock p99 ms", "ceiling p99 ms"]
    return ["", "## Throughput and latency (one core of server each)", "", *table(header, rows)]


def scale_section(results: dict[str, Any]) -> list[str]:
    scale = results.get("scale")
    if not scale:
        return []
    loads = scale["seconds_to_first_answer"]
    rows = []
    for run in (r for r in results["runs"] if r["case"] == "scale"):
        head = [run["server"], f"{run['fixtures']:,}"]
        if run["error"]:
            rows.append([*head, run["error"], "", "", "", ""])
            continue
        rows.append(
            [
                *head,
                f"{run['rps']:,.0f}",
                fmt(p99(run), ".2f"),
                f"{run['srv_cpu_us']:.0f}",
                f"{run['rss_mib']:.0f}",
                fmt(loads.get(f"{run['server']}/{run['fixtures']}"), ".2f"),
            ]
        )
    header = ["server", "fixtures", "req/s", "p99 ms", "srv CPU us/req", "RSS MiB"]
    header.append("s to first answer")
    return [
        "",
        f"## Fixture scale: {results['base_fixtures']} vs {scale['fixtures']:,} fixtures "
        "(chat, 32 connections)",
        "",
        regex_note(scale) + " Requests spread over the whole set, "
        f"{results['config']['tail_share']:.0%} of them aimed at the last 10 fixtures.",
        "",
        *table(header, rows, 1),
    ]


def regex_note(scale: dict[str, Any]) -> str:
    if not scale["regex_matchers"]:
        return "Every fixture of the large set matches a substring (no regex)."
    return (
        f"aimock's large set holds {scale['regex_matchers']:,} regex matchers (every "
        f"{scale['regex_every']}th fixture), the rest substrings; AIMock's JSON format has no "
        "regex, so its copy holds those as plain substrings."
    )


def cost_section(results: dict[str, Any]) -> list[str]:
    headroom = results.get("wrk") or {}
    if not headroom:
        return []
    rows = [
        [
            f"{run['case']} ({run['fixtures']:,} fixtures)",
            run["server"],
            f"{run['rps']:,.0f}",
            f"{run['srv_cpu_us']:.0f}",
            f"{server_busy(run):.0%}",
            f"{run['wrk_cpu_us']:.1f}",
            f"{run['wrk_busy']:.0%}",
            str(run["non_2xx"]),
            str(sum(run["socket_errors"].values())),
            f"{run['rss_mib']:.0f}",
        ]
        for run in results["runs"]
        if not run["error"]
    ]
    header = ["case", "server", "req/s", "srv CPU us/req", "srv core busy", "wrk CPU us/req"]
    header.append("wrk core busy")
    header += ["non-2xx", "socket errors", "RSS MiB"]
    verdict = "never" if headroom["wrk_never_saturated"] else "**at least once**"
    return [
        "",
        "## CPU per request, and is wrk the bottleneck?",
        "",
        f"wrk's core was at most {headroom['max_wrk_busy']:.0%} busy (in "
        f"{headroom['max_wrk_busy_run']}), so it {verdict} came near saturation "
        f"({WRK_BUSY_LIMIT:.0%}): it spent its time waiting for the servers. Driven by the "
        "same wrk, the ceiling ran "
        f"{fmt(headroom['ceiling_over_fastest_mock_chat_c32'], '.2f')}x the faster mock's "
        "chat req/s at 32 connections. A server's core well below 100% busy in a run with 32 "
        "or more connections means it waited, or another process took its core: its CPU per "
        "request is then the figure to compare.",
        "",
        disturbed_note(headroom.get("disturbed_runs") or []),
        "",
        *table(header, rows, 2),
    ]


def disturbed_note(runs: list[str]) -> str:
    if not runs:
        return f"Every server used at least {SERVER_BUSY_FLOOR:.0%} of its core in every run."
    return (
        f"**Disturbed runs** (server below {SERVER_BUSY_FLOOR:.0%} of its core): "
        + ", ".join(runs)
        + ". Their req/s understate the server; rerun them with `--cases`."
    )


def startup_section(results: dict[str, Any]) -> list[str]:
    rows_in = results.get("startup") or []
    if not rows_in:
        return []
    rows = []
    for label in dict.fromkeys(row["label"] for row in rows_in):
        by_server = {row["server"]: row for row in rows_in if row["label"] == label}
        cells = [label]
        for metric, spec in (("median_s", ".3f"), ("median_idle_rss_mib", ".1f")):
            cells += [fmt(by_server.get(k, {}).get(metric), spec) for k in MOCKS]
        rows.append(cells)
    config = results["config"]
    header = ["fixtures", "aimock s", "AIMock s", "aimock idle RSS MiB", "AIMock idle RSS MiB"]
    return [
        "",
        f"## Startup and idle memory (median of {config['startup_repeats']})",
        "",
        "From spawning the process to the first right answer to a chat request (the default "
        "stack: any answer; AIMock has no default stack and serves an empty folder), then the "
        f"RSS after {config['idle_seconds']:g} s idle.",
        "",
        *table(header, rows),
    ]


def paced_section(results: dict[str, Any]) -> list[str]:
    p = results.get("paced")
    if not p:
        return []
    config = results["config"]
    rows = []
    for key, label in (("ttft_ms", "TTFT ms"), ("tps", "chunks/s")):
        s = p.get(key) or {}
        if s.get("count"):
            rows.append(
                [
                    label,
                    f"{s['configured']:g}",
                    f"{s['p5']:.1f}",
                    f"{s['p50']:.1f}",
                    f"{s['p95']:.1f}",
                    f"{s['p50_error_pct']:+.1f}%",
                    f"{s['share_within_5pct']:.0%}",
                ]
            )
    lag = (p.get("client_lag_ms") or {}).get("p99")
    header = ["measure", "configured", "p5", "median", "p95", "median error", "within 5%"]
    return [
        "",
        "## Paced streams (aimock)",
        "",
        f"{config['paced_streams']:,} OpenAI chat streams started over {config['paced_ramp']:g} "
        f"s against a fixture with ttft {config['paced_ttft']:g} ms and tps "
        f"{config['paced_tps']:g} chunks/s ({config['paced_tokens']} tokens in 20-character "
        "slices), "
        f"measured by bench/paced.py. Peak in flight: {p.get('peak_in_flight', 'n/a')}; "
        f"complete: {p.get('complete', 0)}; errors: {p.get('errors', 0)}; the client's own "
        f"event-loop lag p99 {fmt(lag, '.1f')} ms.",
        "",
        *table(header, rows),
    ]


def pacing_section(results: dict[str, Any]) -> list[str]:
    """bench/pacing.py's tables (issue 20), one heading level down."""
    if not results.get("pacing"):
        return []
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import pacing  # imported here: it imports suite, which imports this module

    text = pacing.markdown(results["pacing"])
    head, _, rest = text.partition("\n")
    return ["", "#" + head, *rest.replace("\n### ", "\n#### ").rstrip("\n").split("\n")]


def failures_section(results: dict[str, Any]) -> list[str]:
    failed = [r for r in results["runs"] if r["error"] or r["non_2xx"]]
    failed_startup = [r for r in results.get("startup") or [] if not r.get("answered")]
    if not failed and not failed_startup:
        return []
    lines = ["", "## Failures", ""]
    lines += [
        f"- {r['case']} / {r['server']}: {r['error'] or str(r['non_2xx']) + ' non-2xx answers'}"
        for r in failed
    ]
    lines += [f"- startup {r['label']} / {r['server']}: {r.get('error')}" for r in failed_startup]
    return lines


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: report.py RESULTS.json", file=sys.stderr)
        return 2
    results = json.loads(Path(sys.argv[1]).read_text())
    print(markdown(complete(results)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
