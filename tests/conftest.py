"""Shared test plumbing: real `aimock serve` processes on free loopback ports."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"listening on (https?://[\d.]+:\d+)")


@dataclass
class ServerProcess:
    """One `aimock serve` child process; `url` is its origin, `base_url` the OpenAI base."""

    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def journal(self, **params: str) -> list[dict[str, object]]:
        with self.control() as client:
            response = client.get("/__aimock/journal", params=params)
            response.raise_for_status()
            result: list[dict[str, object]] = response.json()
            return result

    def reset(self) -> None:
        with self.control() as client:
            client.post("/__aimock/reset").raise_for_status()

    def stop(self) -> None:
        terminate(self.process)
        if self.reader is not None:
            self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def terminate(process: subprocess.Popen[Any]) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it lingers past 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_server(
    args: Sequence[str],
    env: dict[str, str] | None = None,
    timeout: float = 20,
    *,
    program: Sequence[str] = (sys.executable, "-m", "aimock"),
    cwd: Path = ROOT,
    base_env: Mapping[str, str] = os.environ,
) -> ServerProcess:
    """Start `aimock serve ARGS -p 0` and wait for its ready line; `program` is how aimock is
    run (this interpreter's by default), `env` is added to `base_env`."""
    command = [*program, "serve", "--port", "0", *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**base_env, **(env or {})},
        cwd=cwd,
    )
    assert process.stdout is not None
    output: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if not found and (match := READY.search(line)):
                found.append(match.group(1))
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    server = ServerProcess(process, found[0] if found else "", output, reader)
    if not ready.wait(timeout) or not found:
        server.stop()
        raise RuntimeError("aimock did not start:\n" + "".join(output))
    server.url = found[0]
    return server


@contextlib.contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """A server started with `args` (and `env` added to ours); on the way out, its log must
    hold no traceback: a traceback is a defect of ours, whatever the test sent."""
    server = start_server(list(args), env)
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in "".join(server.output)


@contextlib.contextmanager
def serving_fixtures(folder: Path, fixtures: list[Any], *args: str) -> Iterator[ServerProcess]:
    """A server on `fixtures` (written into `folder`), as `serving` checks it."""
    (folder / "fixtures.json").write_text(json.dumps({"fixtures": fixtures}))
    with serving("-f", str(folder), *args) as server:
        yield server


@pytest.fixture(scope="session")
def server_factory() -> Iterator[type[object]]:
    """Start extra servers with their own flags; all are stopped at the end of the session."""
    started: list[ServerProcess] = []

    class Factory:
        @staticmethod
        def start(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
            server = start_server(args, env)
            started.append(server)
            return server

    yield Factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def sdk_server() -> Iterator[ServerProcess]:
    """The server every SDK test talks to, loaded with tests/sdk/fixtures."""
    server = start_server(["-f", str(ROOT / "tests" / "sdk" / "fixtures")])
    yield server
    server.stop()
