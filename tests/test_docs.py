"""Every code block of README.md and docs/ is run, or says why it is not.

- A ```python block runs in a fresh interpreter against a real `aimock serve` loaded with the
  fixture blocks of its own page (`127.0.0.1:4010` in the snippet is pointed at that server).
  A line `print(...)  # text` claims the text: it must appear in what the block printed.
- A ```yaml or ```json block holding fixtures (or a stack file, or a manifest) is loaded as
  `aimock serve -f` loads it (manifests are also checked by tests/test_doc_manifests.py).
- A shell block of `aimock validate` commands runs; `curl` lines run against the page's server.
- An `aimock serve ...` block has its flags parsed by the real command line (the runner starts
  the page's server itself).
- Anything else is preceded by `<!-- illustrative: <why> -->`, naming why it is not run (it
  needs a cluster, a real provider key, or it shows an answer rather than a request).

Two more comments steer the runner: `<!-- continues -->` before a python block runs it after
the page's python block above it (a snippet that goes on with its `client`), and
`<!-- doc-server: ARGS -->` anywhere on a page gives its server's `aimock serve` arguments
(`default`: the default stack) instead of the page's fixture blocks.

A failure names the file and the line of its block.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from aimock.fixtures.loading import LoadError, load_text
from tests.conftest import ROOT, ServerProcess, start_server

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
ILLUSTRATIVE = re.compile(r"<!--\s*illustrative:\s*(.+?)\s*-->\s*$")
CONTINUES = re.compile(r"<!--\s*continues\s*-->\s*$")
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
DEFAULT_ADDRESSES = ("127.0.0.1:4010", "localhost:4010")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    text: str
    why_not: str | None  # the illustrative marker's reason
    continues: bool = False  # `<!-- continues -->`: runs after the page's python block before it

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str:
        """python, fixtures, shell, serve, illustrative (marked), or other (unexplained)."""
        if self.why_not is not None:
            return "illustrative"
        if self.lang == "python":
            return "python"
        if self.lang in ("yaml", "yml", "json") and _loads_as_fixtures(self.text):
            return "fixtures"
        if self.lang in ("sh", "bash", "shell", "console", ""):
            if _runnable_shell(self.text):
                return "shell"
            if _serve_commands(self.text):
                return "serve"
        return "other"


def _blocks(page: Path) -> Iterator[Block]:
    text = page.read_text()
    for found in FENCE.finditer(text):
        before = text[: found.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = ILLUSTRATIVE.search(before)
        line = text.count("\n", 0, found.start()) + 1
        why_not = marker.group(1) if marker else None
        continues = CONTINUES.search(before) is not None
        yield Block(page, line, found.group(1), found.group(2), why_not, continues)


def _loads_as_fixtures(text: str) -> bool:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return False
    return any(
        isinstance(d, dict)
        and ("fixtures" in d or str(d.get("apiVersion", "")).startswith("aimock.dev/"))
        for d in documents
    )


def commands(text: str) -> list[str]:
    """A shell block's commands: continuation lines joined, comments and blanks left out."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
    ]


def _runnable_shell(text: str) -> bool:
    found = commands(text)
    return bool(found) and all(line.startswith(("aimock validate ", "curl ")) for line in found)


def _serve_commands(text: str) -> bool:
    found = commands(text)
    return bool(found) and all(line.startswith("aimock serve") for line in found)


BLOCKS = [block for page in DOCS for block in _blocks(page)]


def test_every_block_is_run_or_says_why_not() -> None:
    unexplained = [b.where for b in BLOCKS if b.kind == "other"]
    assert not unexplained, (
        "these blocks are neither run by tests/test_docs.py nor marked "
        f"<!-- illustrative: why -->: {unexplained}"
    )
    for block in BLOCKS:
        if block.kind == "illustrative":
            assert len(block.why_not or "") >= 10, f"{block.where}: say why it is not run"


# --- fixtures -------------------------------------------------------------------------------

FIXTURE_BLOCKS = [b for b in BLOCKS if b.kind == "fixtures"]


@pytest.mark.parametrize("block", FIXTURE_BLOCKS, ids=[b.where for b in FIXTURE_BLOCKS])
def test_a_fixture_block_loads(block: Block) -> None:
    try:
        load_text(block.text, block.where)
    except LoadError as exc:
        pytest.fail(f"{block.where}: {exc}")


# --- python and shell, against a server per page --------------------------------------------

RUN_BLOCKS = [b for b in BLOCKS if b.kind in ("python", "shell")]
_servers: dict[Path, ServerProcess] = {}


@pytest.fixture(scope="module", autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    for server in _servers.values():
        server.stop()


SERVER_DIRECTIVE = re.compile(r"<!--\s*doc-server:\s*(.*?)\s*-->")


def page_server(page: Path, tmp_root: Path) -> ServerProcess:
    """The server a page's blocks run against: `<!-- doc-server: ARGS -->` on the page gives
    its `aimock serve` arguments (`default` for the default stack; paths are the
    repository's); else every fixture block of the page, loaded together."""
    if page not in _servers:
        directive = SERVER_DIRECTIVE.search(page.read_text())
        args: list[str] = []
        if directive is not None:
            given = directive.group(1)
            args = [] if given == "default" else shlex.split(given)
            args = [str(ROOT / a) if (ROOT / a).exists() else a for a in args]
        else:
            folder = tmp_root / page.stem
            folder.mkdir(parents=True, exist_ok=True)
            for block in FIXTURE_BLOCKS:
                if block.page == page:
                    suffix = ".json" if block.lang == "json" else ".yaml"
                    (folder / f"block-{block.line:04d}{suffix}").write_text(block.text)
                    args = ["-f", str(folder)]
        _servers[page] = start_server(args)
    return _servers[page]


def pointed_at(text: str, server: ServerProcess) -> str:
    address = server.url.removeprefix("http://")
    for default in DEFAULT_ADDRESSES:
        text = text.replace(default, address)
    port = address.rsplit(":", 1)[1]
    return re.sub(r"\bport=4010\b", f"port={port}", text)  # host= and port= apart (Chroma)


def printed(claim: str, output: str) -> bool:
    """Whether `output` holds `claim`, where `...` in a claim stands for anything."""
    at = 0
    for piece in (p.strip() for p in claim.split("...")):
        found = output.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def claims(code: str) -> list[str]:
    """The texts a block's `print(...)  # text` lines promise."""
    found = []
    for line in code.splitlines():
        if line.lstrip().startswith("print(") and "  # " in line:
            found.append(line.split("  # ", 1)[1].strip())
    return found


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[b.where for b in RUN_BLOCKS])
def test_a_block_runs(block: Block, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = page_server(block.page, tmp_path_factory.getbasetemp() / "doc-servers")
    code = pointed_at(_with_what_it_continues(block), server)
    workdir = tmp_path_factory.mktemp("doc-run")
    (workdir / "examples").symlink_to(ROOT / "examples")  # snippets name examples/ paths
    env = {**os.environ, "AIMOCK_URL": server.url, "PYTHONPATH": str(ROOT)}
    if block.kind == "python":
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", _shell(code)]
    run = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, f"{block.where} failed:\n{run.stdout}\n{run.stderr}"
    for claim in claims(block.text):
        assert printed(claim, run.stdout), f"{block.where}: printed no {claim!r}:\n{run.stdout}"


def _with_what_it_continues(block: Block) -> str:
    """The block's code, after the code of the python blocks it continues."""
    if not block.continues:
        return block.text
    earlier = [b for b in RUN_BLOCKS if b.page == block.page and b.line < block.line]
    earlier = [b for b in earlier if b.kind == "python"]
    assert earlier, f"{block.where} continues no python block"
    return _with_what_it_continues(earlier[-1]) + "\n" + block.text


def _shell(code: str) -> str:
    """The block's commands, `aimock` being this checkout's (paths are the repository's)."""
    aimock = shlex.join([sys.executable, "-m", "aimock"])
    lines = []
    for line in commands(code):
        if line.startswith("aimock "):
            rest = line.removeprefix("aimock ")
            lines.append(f"(cd {shlex.quote(str(ROOT))} && {aimock} {rest})")
        else:
            lines.append(line)
    return "\n".join(lines)


SERVE_BLOCKS = [b for b in BLOCKS if b.kind == "serve"]


@pytest.mark.parametrize("block", SERVE_BLOCKS, ids=[b.where for b in SERVE_BLOCKS])
def test_a_serve_command_takes_its_flags(block: Block) -> None:
    """`aimock serve ...` as a page shows it: its flags exist and take those values (the page's
    server is started by the runner, with the page's fixtures)."""
    from aimock.cli import _parser

    for line in commands(block.text):
        try:
            _parser().parse_args(shlex.split(line)[1:])
        except SystemExit:
            pytest.fail(f"{block.where}: `{line}` is not a command aimock takes")


def test_the_runner_sees_every_kind_of_block() -> None:
    kinds = {b.kind for b in BLOCKS}
    assert {"python", "fixtures", "shell", "serve"} <= kinds
    assert len([b for b in BLOCKS if b.kind == "python"]) >= 20
    assert json.dumps([b.where for b in BLOCKS])  # every block is named by file and line
