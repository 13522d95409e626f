"""The compiled request path: when its extensions run, and the sources' fallback.

`make test` sets AIMOCK_EXPECT_COMPILED=1, so the suite is known to have run the compiled
modules (what `make run` serves), not their sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import aimock
from aimock import native
from tests.conftest import serving

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}


def fake_package(root: Path) -> Path:
    package = root / "aimock"
    (package / "fixtures").mkdir(parents=True)
    for name in native.MODULES:
        path = native.source_of(name, package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {name}\n")
    return package


def test_verdict_follows_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIMOCK_COMPILED", raising=False)
    package = fake_package(tmp_path)
    assert native.verdict(package) == "not built"
    native.write_manifest(package)
    assert native.verdict(package) == "compiled"

    monkeypatch.setenv("AIMOCK_COMPILED", "off")
    assert native.verdict(package) == "off"
    monkeypatch.delenv("AIMOCK_COMPILED")

    # Any source of the package edited since the build, not only a compiled one.
    (package / "other.py").write_text("x = 1\n")
    assert native.verdict(package) == "stale"
    native.write_manifest(package)
    assert native.verdict(package) == "compiled"
    native.source_of(native.MODULES[0], package).write_text("# edited, longer than before\n")
    assert native.verdict(package) == "stale"


def test_a_manifest_for_other_modules_is_stale(tmp_path: Path) -> None:
    package = fake_package(tmp_path)
    native.write_manifest(package)
    path = package / native.MANIFEST.name
    written = json.loads(path.read_text())
    written["modules"] = written["modules"][:-1]
    path.write_text(json.dumps(written))
    assert native.verdict(package) == "stale"


def test_an_unreadable_manifest_means_not_built(tmp_path: Path) -> None:
    package = fake_package(tmp_path)
    (package / native.MANIFEST.name).write_text("{not json")
    assert native.verdict(package) == "not built"


def loaded_from(env: dict[str, str]) -> dict[str, str]:
    """The file each compiled module was loaded from in a fresh interpreter."""
    program = (
        "import importlib, json, aimock; from aimock import native; "
        "print(json.dumps({'verdict': aimock.NATIVE, **{m: importlib.import_module(m).__file__ "
        "for m in native.MODULES}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


def test_off_loads_every_module_from_its_source() -> None:
    found = loaded_from({**os.environ, "AIMOCK_COMPILED": "off"})
    assert found.pop("verdict") == "off"
    assert all(path.endswith(".py") for path in found.values()), found


def test_this_run_uses_what_the_manifest_allows() -> None:
    found = loaded_from({k: v for k, v in os.environ.items() if k != "AIMOCK_COMPILED"})
    verdict = found.pop("verdict")
    assert verdict == native.verdict()
    compiled = [m for m, path in found.items() if not path.endswith(".py")]
    # All or nothing: compiled modules call each other directly.
    assert compiled == (list(native.MODULES) if verdict == "compiled" else [])
    if os.environ.get("AIMOCK_EXPECT_COMPILED") == "1":
        assert verdict == "compiled", "make test runs the compiled request path; make setup"
        assert aimock.NATIVE == "compiled"


@pytest.mark.parametrize("compiled", ["on", "off"])
def test_both_paths_serve_the_same_answer(tmp_path: Path, compiled: str) -> None:
    fixtures = tmp_path / "fixtures.yaml"
    fixtures.write_text("fixtures:\n- match: {userMessage: hello}\n  response: {content: hi}\n")
    env = {**os.environ, "AIMOCK_COMPILED": compiled}
    with serving("-f", str(fixtures), env=env) as server:
        answer = httpx.post(server.base_url + "/chat/completions", json=CHAT, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["choices"][0]["message"]["content"] == "hi"
        ready = "\n".join(server.output)
    expected = native.describe("off" if compiled == "off" else native.verdict())
    assert expected in ready, ready
