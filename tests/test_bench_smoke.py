"""`make bench` on a tiny setting (`bench/suite.py --smoke`): one case of every kind runs
against aimock, AIMock and the bare ceiling, every server answers, and the results file and
the tables have the shape the docs describe. Nothing here looks at a timing: the numbers of a
run this short on a shared machine mean nothing; the shape and the answers do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

SUITE = ROOT / "bench" / "suite.py"
REPORT = ROOT / "bench" / "report.py"
NEEDED = ("wrk", "taskset", "node")

# wrk and taskset come from `make test` (its `wrk` target), node from the machine, AIMock
# from npm (tests/peers.py): a missing one fails the smoke, it is not skipped.
pytestmark = [pytest.mark.timeout(900, func_only=True)]


def test_the_benchmarks_tools_are_installed() -> None:
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    assert not missing, f"missing {missing}: run make wrk (make test does)"


SMOKE_SCALE = 200  # --smoke's large set


@dataclass
class Smoke:
    exit_code: int
    output: str
    results: dict[str, Any]
    markdown: str
    json_path: Path


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Smoke]:
    folder = tmp_path_factory.mktemp("bench")
    json_path, markdown_path = folder / "bench.json", folder / "bench.md"
    command = [sys.executable, str(SUITE), "--smoke", "--json", str(json_path)]
    command += ["--markdown", str(markdown_path)]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = done.stdout + done.stderr
    assert json_path.exists(), output[-4000:]
    yield Smoke(
        done.returncode,
        output,
        json.loads(json_path.read_text()),
        markdown_path.read_text(),
        json_path,
    )


def test_the_run_succeeds(smoke: Smoke) -> None:
    assert smoke.exit_code == 0, smoke.output[-4000:]


def test_one_load_case_of_each_kind_ran_against_its_servers(smoke: Smoke) -> None:
    ran = {(r["case"], r["server"], r["fixtures"]) for r in smoke.results["runs"]}
    assert ran == {
        ("chat-c32", "aimock", 10),
        ("chat-c32", "AIMock", 10),
        ("chat-c32", "ceiling", 10),
        ("stream", "aimock", 10),
        ("stream", "AIMock", 10),
        ("stream", "ceiling", 10),
        ("wire-anthropic", "aimock", 10),
        ("wire-anthropic", "AIMock", 10),
        ("scale", "aimock", 10),
        ("scale", "aimock", SMOKE_SCALE),
        ("scale", "AIMock", SMOKE_SCALE),
    }


def test_every_server_answered_every_load_case(smoke: Smoke) -> None:
    for run in smoke.results["runs"]:
        where = f"{run['case']} / {run['server']}"
        assert run["error"] is None, where
        assert run["answered"] is True, where
        assert run["requests"] > 0 and run["rps"] > 0, where
        assert run["non_2xx"] == 0, where
        assert set(run["latency_ms"]) == {"50", "75", "90", "99"}, where
        for key in ("srv_cpu_us", "srv_busy", "wrk_cpu_us", "wrk_busy", "rss_mib"):
            assert run[key] > 0, f"{where}: {key}"


def test_startup_measures_both_mocks_on_every_fixture_set(smoke: Smoke) -> None:
    rows = smoke.results["startup"]
    assert {(r["scenario"], r["server"]) for r in rows} == {
        (scenario, server)
        for scenario in ("default", "bench fixtures", "large")
        for server in ("aimock", "AIMock")
    }
    for row in rows:
        assert row["answered"] is True, row
        assert row["median_s"] > 0 and row["median_idle_rss_mib"] > 0, row


def test_paced_streams_all_complete_and_are_measured(smoke: Smoke) -> None:
    paced = smoke.results["paced"]
    streams = smoke.results["config"]["paced_streams"]
    assert paced["complete"] == streams and paced["errors"] == 0
    for key in ("ttft_ms", "tps"):
        assert paced[key]["count"] == streams
        assert {"configured", "p5", "p50", "p95", "p50_error_pct", "share_within_5pct"} <= set(
            paced[key]
        )


def test_every_target_of_the_issue_is_listed(smoke: Smoke) -> None:
    targets = smoke.results["targets"]
    for target in targets:
        assert set(target) == {"target", "measured", "shown", "goal", "met"}
        assert target["met"] in (True, False, None)
    names = " / ".join(t["target"] for t in targets)
    for expected in (
        "chat, 32 conn.: req/s aimock/AIMock",
        "chat, 32 conn.: p99 aimock <= AIMock",
        "10-chunk SSE stream",
        "Anthropic Messages",
        "aimock/ceiling",
        f"{SMOKE_SCALE} fixtures",
        "paced streams: median TTFT",
        "paced streams: median chunks/s",
        "startup to first answer, default stack",
        "idle RSS",
        "journal memory",
    ):
        assert expected in names, expected


def test_the_wrk_check_is_reported(smoke: Smoke) -> None:
    wrk = smoke.results["wrk"]
    assert wrk["max_wrk_busy"] > 0 and wrk["max_wrk_cpu_us_per_request"] > 0
    assert wrk["ceiling_over_fastest_mock_chat_c32"] is not None


def test_the_tables_render_again_from_the_saved_results(smoke: Smoke) -> None:
    for section in ("## Targets", "## Throughput", "## Fixture scale", "## CPU per request"):
        assert section in smoke.markdown, section
    for section in ("## Startup", "## Paced streams"):
        assert section in smoke.markdown, section
    again = subprocess.run(
        [sys.executable, str(REPORT), str(smoke.json_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert again.stdout == smoke.markdown


def test_the_realtime_bench_runs_both_servers(tmp_path: Path) -> None:
    """`bench/realtime.py` on a tiny setting: both servers answer every turn whole."""
    out = tmp_path / "realtime.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "realtime.py"),
            "--turns",
            "20",
            "--sockets",
            "2",
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    results = json.loads(out.read_text())
    for server in ("aimock", "AIMock"):
        for run in results[server].values():
            assert run["answered_whole"] == run["turns"] > 0
            assert run["server_cpu_us_per_turn"] >= 0


def test_the_pacing_mode_measures_both_servers(tmp_path: Path) -> None:
    """`bench/pacing.py --smoke` (issue 20): 2 streams of one short paced fixture against
    aimock and AIMock, through the native client (bench/pacer.c, compiled on first use).
    Only the shape is checked: every stream answered whole, every figure present."""
    out, table = tmp_path / "pacing.json", tmp_path / "pacing.md"
    command = [sys.executable, str(ROOT / "bench" / "pacing.py"), "--smoke"]
    done = subprocess.run(
        [*command, "--json", str(out), "--markdown", str(table)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    results = json.loads(out.read_text())
    assert results["failed"] == 0
    assert [c["name"] for c in results["cases"]] == ["smoke"]
    expected = results["cases"][0]["expected"]
    assert expected["frames"] > 2 and expected["ttft_ms"] > 0 and expected["rate"] > 0
    rows = results["rows"]
    assert sorted(r["server"] for r in rows) == ["AIMock", "aimock"]
    for row in rows:
        where = row["server"]
        assert row["streams"] == 2 and row["complete"] == 2 and row["errors"] == 0, where
        assert row["frames"]["min"] == row["frames"]["max"] == expected["frames"], where
        for key in ("ttft_ms", "rate"):
            assert row[key]["count"] == 2, f"{where}: {key}"
            assert {"p5", "p50", "p95"} <= set(row[key]), f"{where}: {key}"
        assert row["client_cpu_s"] >= 0 and row["peak_in_flight"] >= 1, where
    text = table.read_text()
    for section in ("### Delivered ttft (ms)", "### Delivered chunk rate", "### Load"):
        assert section in text, section
