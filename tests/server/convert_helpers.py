"""Shared by tests/server/test_convert_*.py: convert a sample with the real command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SAMPLES = Path(__file__).resolve().parent / "convert_samples"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def converted(source: Path, out: Path, *args: str) -> tuple[Path, str]:
    """`aimock convert SOURCE -o OUT ARGS`: the folder written and what it printed on stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "aimock", "convert", str(source), "-o", str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out, done.stderr


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}
