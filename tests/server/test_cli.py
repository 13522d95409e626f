"""The command line: --version, serving embedded defaults, AIMock configs, bad input."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aimock import NATIVE, __version__, cli, native
from aimock.fixtures.compiled import PROFILES
from tests.conftest import READY, ROOT


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aimock", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start `aimock serve ARGS` exactly as given (no port added); stopped after the test."""
    started: list[tuple[subprocess.Popen[str], threading.Thread]] = []

    def start(*args: str, cwd: Path = ROOT) -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "aimock", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=os.environ.copy(),
        )
        found: list[str] = []
        output: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(line)
                if not found and READY.search(line):
                    found.append(line)
                    ready.set()
            ready.set()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        started.append((process, reader))
        ready.wait(30)
        assert found, "".join(output)
        return found[0]

    yield start
    for process, reader in started:
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ask(origin: str, text: str) -> str:
    response = httpx.post(
        origin + "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": text}]},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    # argparse wraps the line at the terminal's width (a long "stale" reason wraps).
    printed = " ".join(result.stdout.split())
    assert printed == f"aimock {__version__}, {native.describe(NATIVE)}"


def test_serve_without_fixtures_answers_from_the_embedded_defaults(server_factory: Any) -> None:
    server = server_factory.start()
    assert "embedded defaults" in "".join(server.output)
    assert ask(server.url, "hello there").startswith("Hello from aimock!")
    assert "default answer" in ask(server.url, "anything at all")


def test_serve_with_an_aimock_config(serve: Any, tmp_path: Path) -> None:
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "f.json").write_text(
        json.dumps({"fixtures": [{"match": {"userMessage": "cfg"}, "response": {"content": "ok"}}]})
    )
    port = free_port()
    config = tmp_path / "aimock.json"
    config.write_text(json.dumps({"port": port, "llm": {"fixtures": "./fixtures", "chunkSize": 4}}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Run from another folder: llm.fixtures is relative to the config file, not the cwd.
    line = serve("-c", str(config), cwd=elsewhere)
    assert f"http://127.0.0.1:{port}" in line
    assert "1 fixture from 1 file (" in line
    assert ask(f"http://127.0.0.1:{port}", "cfg") == "ok"


def test_config_llm_chaos_applies(serve: Any, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "aimock.json"
    config.write_text(
        json.dumps({"port": port, "llm": {"chaos": {"dropRate": 1.0}, "replaySpeed": 2}})
    )
    serve("-c", str(config))
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    response = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "chaos_drop"


def test_flags_win_over_the_config(serve: Any, tmp_path: Path) -> None:
    config = tmp_path / "aimock.json"
    config.write_text(json.dumps({"port": 1, "strict": True}))
    line = serve("-c", str(config), "--port", "0")
    assert "http://127.0.0.1:1 " not in line
    assert "(strict," in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"port": "4010"}', "port: expected int"),
        ('{"port": 99999}', "port: 99999 is out of range"),
        ('{"llm": {"chunkSize": 0}}', "llm.chunkSize: 0 is out of range"),
        ('{"llm": {"fixtures": 5}}', "llm.fixtures: expected str"),
        ('{"llm": []}', "llm: expected an object"),
        ('{"llm": {"chaos": {"dropRate": 3}}}', "llm.chaos.dropRate"),
        ('{"llm": {"chaos": {"dropRat": 1}}}', "llm.chaos.dropRat"),
    ],
)
def test_a_bad_config_exits_1_with_a_message(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "aimock.json"
    config.write_text(content)
    result = run_cli("serve", "-c", str(config), "--port", "0")
    assert result.returncode == 1
    assert str(config) in result.stderr
    assert message in result.stderr


def test_a_missing_config_exits_1(tmp_path: Path) -> None:
    result = run_cli("serve", "-c", str(tmp_path / "nope.json"))
    assert result.returncode == 1
    assert "cannot read" in result.stderr


def test_config_fixtures_that_do_not_exist_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "aimock.json"
    config.write_text(json.dumps({"llm": {"fixtures": "missing"}}))
    result = run_cli("serve", "-c", str(config), "--port", "0")
    assert result.returncode == 1
    assert "no such file or folder" in result.stderr


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--chaos-drop", "1.5", "--chaos-drop: 1.5 is out of range: must be between 0 and 1"),
        ("--chaos-malformed", "-0.1", "--chaos-malformed: -0.1 is out of range"),
        ("--chaos-disconnect", "nan", "--chaos-disconnect: nan is out of range"),
        ("--chaos-drop", "often", "'often' is not a number"),
        ("--port", "70000", "--port/-p: 70000 is out of range"),
        ("--chunk-size", "0", "--chunk-size: 0 is out of range: must be at least 1"),
        ("--latency", "-5", "--latency/-l: -5 is out of range"),
        ("--idle-timeout", "0", "--idle-timeout: 0 is out of range: must be between 1 and 3600"),
        ("--max-body-bytes", "10", "--max-body-bytes: 10 is out of range: must be at least 1024"),
        ("--journal-max-total-bytes", "-1", "--journal-max-total-bytes: -1 is out of range"),
    ],
)
def test_out_of_range_flags_are_refused(flag: str, value: str, message: str) -> None:
    result = run_cli("serve", flag, value)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("slow", "'slow' is neither a profile (instant, fast, reasoning, overloaded) nor a"),
        ("{tps: 0}", "tps: Input should be greater than 0"),
        ("{ttft: 5, tpss: 4}", "tpss: Extra inputs are not permitted"),
        ("{tps: 4, tokensPerSecond: 9}", "set tps (chunks a second) or tokensPerSecond"),
        ("[1, 2]", "nor a mapping"),
        ("[" * 1000 + "]" * 1000, "'" + "[" * 57 + "...' is neither"),  # shortened
        ("{a: " * 1000 + "1" + "}" * 1000, "nor a mapping"),
        ("{ttft: 1, tps: 2}\n---\n{tps: 3}", "nor a mapping"),  # two documents
    ],
)
def test_a_bad_profile_is_refused_with_the_reason(value: str, message: str) -> None:
    result = run_cli("serve", "--profile", value)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_inline_profile_means_what_a_fixture_profile_means() -> None:
    from aimock.state import ServeOptions, resolve

    args = cli._parser().parse_args(["serve", "--profile", "{ttft: 500, tps: 40, jitter: 0.1}"])
    defaults = resolve(ServeOptions(profile=args.profile), None).defaults
    assert defaults.profile is not None
    assert (defaults.profile.ttft, defaults.profile.tps, defaults.profile.jitter) == (500, 40, 0.1)
    named = cli._parser().parse_args(["serve", "--profile", "fast"]).profile
    assert resolve(ServeOptions(profile=named), None).defaults.profile == PROFILES["fast"]


def test_serve_refuses_broken_fixtures(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("fixtures:\n  - match: {userMessage: x}\n    response: {contnt: y}\n")
    result = run_cli("serve", "-f", str(bad), "--port", "0")
    assert result.returncode == 1
    assert f"{bad}:3: fixtures[0].response.contnt: unknown field" in result.stderr


def test_validate_needs_a_path() -> None:
    result = run_cli("validate")
    assert result.returncode == 2
    assert "-f/--fixtures" in result.stderr


def test_the_chaos_flags_are_the_chaos_actions() -> None:
    from aimock import chaos, cli

    assert cli.CHAOS_ACTIONS == chaos.ACTIONS


def test_the_limit_flags_reach_the_server(server_factory: Any) -> None:
    server = server_factory.start("--max-body-bytes", "2048", "--journal-max-body-bytes", "100")
    big = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 3000}]}
    assert httpx.post(server.url + "/v1/chat/completions", json=big, timeout=10).status_code == 413
    fits = {"model": "gpt-4o", "messages": [{"role": "user", "content": "y" * 500}]}
    httpx.post(server.url + "/v1/chat/completions", json=fits, timeout=10)
    last = server.journal()[-1]
    assert last["bodyTruncated"] is True and len(str(last["body"])) == 100


def test_journal_without_a_cluster_is_a_clear_error(tmp_path: Path) -> None:
    """`aimock journal --stack` with a kubeconfig whose API server does not answer: one line
    naming what was asked for and why, exit 1, no traceback."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # held, never listening: connections are refused
    port = closed.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    with closed:
        result = subprocess.run(
            [sys.executable, "-m", "aimock", "journal", "--stack", "preview", "-n", "shop"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.startswith("error: MockStack shop/preview: "), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_journal_needs_a_stack() -> None:
    result = run_cli("journal")
    assert result.returncode == 2
    assert "--stack" in result.stderr


def serving_line(server: Any) -> str:
    """The second ready line (printed just after the first, which `start` waits for)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [line for line in server.output if line.startswith("[aimock] serving")]
        if found:
            return str(found[0])
        time.sleep(0.05)
    raise AssertionError("".join(server.output))


@pytest.mark.parametrize(
    ("stack", "listed"),
    [
        ("mcp-stack.yaml", "MCP servers crm"),
        ("a2a-stack.yaml", "A2A agents researcher, legacy-summarizer"),
        ("vector-stack.yaml", "vector collections docs"),
        ("chaos-drill.yaml", "chaos policy checkout-chaos-drill"),
    ],
)
def test_the_ready_lines_say_what_is_served(server_factory: Any, stack: str, listed: str) -> None:
    server = server_factory.start("-f", str(ROOT / "examples" / stack))
    second = serving_line(server)
    first = next(line for line in server.output if "listening on" in line)
    assert " - 1 fixture from 1 file (" in first or " - 0 fixtures from 1 file (" in first
    assert second.startswith("[aimock] serving all surfaces; ")
    assert listed in second
    tail = f"; control API without a token; plain HTTP (no TLS); {native.describe(NATIVE)}"
    assert second.rstrip().endswith(tail)


def test_the_ready_line_names_chaos_rates_and_the_admin_token(server_factory: Any) -> None:
    server = server_factory.start("--chaos-drop", "0.25", env={"AIMOCK_ADMIN_TOKEN": "t0ken"})
    second = serving_line(server)
    assert "chaos dropRate 0.25" in second
    assert "control API behind an admin token" in second


def _command_line(server: Any) -> list[str]:
    return Path(f"/proc/{server.process.pid}/cmdline").read_text().split("\0")[:-1]


def test_serve_runs_without_docstrings_where_their_bytecode_exists(server_factory: Any) -> None:
    # make setup writes the -OO bytecode; the server then starts again under -OO, in place
    # (same process, so a supervisor's pid stays right), and answers as ever.
    ready = all(cli._lean_bytecode_exists(name) for name in cli.LEAN_BYTECODE_PROBES)
    server = server_factory.start()
    assert ("-OO" in _command_line(server)) == ready
    if os.environ.get("AIMOCK_EXPECT_COMPILED") == "1":  # make test: make setup ran
        assert ready, "make setup writes the -OO bytecode"
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}
    answer = httpx.post(server.base_url + "/chat/completions", json=chat, timeout=10)
    assert answer.status_code == 200


def test_aimock_optimize_0_keeps_the_interpreter(server_factory: Any) -> None:
    server = server_factory.start(env={"AIMOCK_OPTIMIZE": "0"})
    assert "-OO" not in _command_line(server)


def test_only_the_command_line_serve_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(cli.os, "execv", lambda path, args: called.append((path, args)))
    monkeypatch.setattr(cli, "_lean_bytecode_exists", lambda name: True)
    monkeypatch.delenv("AIMOCK_OPTIMIZE", raising=False)
    # main(argv) from Python (tests, tools) never execs, whatever the command line says.
    monkeypatch.setattr(cli.sys, "argv", ["aimock", "serve"])
    assert cli.main(["validate", "-f", "/nonexistent"]) == 1
    assert called == []
    cli._serve_without_docstrings(["validate", "x"])
    assert called == []
    cli._serve_without_docstrings(["serve", "-f", "x"])
    assert called == [(sys.executable, [sys.executable, "-OO", "-m", "aimock", "serve", "-f", "x"])]
