"""Peers the tests run beside aimock: AIMock itself, installed from npm into a cache outside
the clone (by `npm install`, once per machine), and started on a loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.conftest import terminate

PACKAGE = "@copilotkit/aimock@>=1.43.0"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aimock" / "peers"


def aimock_bin() -> Path:
    """AIMock's `llmock` CLI, installed on first use."""
    binary = CACHE / "node_modules" / ".bin" / "llmock"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to run AIMock beside aimock (apt-get install npm)")
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", PACKAGE],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return binary


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AimockPeer:
    """One AIMock process on a free loopback port."""

    def __init__(self, args: Sequence[str]) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [str(aimock_bin()), "--host", "127.0.0.1", "--port", str(port), *args]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"AIMock exited with {self.process.returncode}: {command}")
            try:
                httpx.get(self.url + "/health", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("AIMock did not start")

    def stop(self) -> None:
        terminate(self.process)
