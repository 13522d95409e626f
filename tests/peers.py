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


def npm_installed(package: str, prefix: Path, marker: Path) -> Path:
    """`marker` (a file the install makes), installing `package` into `prefix` on first use.
    Each package has a prefix of its own: two installs into one would rewrite each other's
    tree."""
    if not marker.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(f"npm is needed to install {package} (apt-get install npm)")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", package],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return marker


def aimock_bin() -> Path:
    """AIMock's `llmock` CLI, installed on first use."""
    return npm_installed(PACKAGE, CACHE, CACHE / "node_modules" / ".bin" / "llmock")


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
