"""Each docs/migrating/<tool>.md page shows an input, the `aimock convert` command and what it
writes: this runs the command on the page's own input and checks the page shows what it
writes. (tests/test_docs.py loads the output blocks, serves them and runs the page's
snippets against them.)

- an input block is marked `<!-- illustrative: ... (file PATH) ... -->`: it is written to PATH;
- the command block is marked illustrative too and starts with `aimock convert`;
- every yaml block holding fixtures or a manifest is output: together they must load to the
  same fixtures and stack as the folder the command wrote;
- the block marked `<!-- illustrative: what the command prints on stderr -->` is its stderr.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from aimock.fixtures.loading import load_paths, load_text
from tests.conftest import ROOT

PAGES = sorted((ROOT / "docs" / "migrating").glob("*.md"))
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
MARKER = re.compile(r"<!--\s*illustrative:\s*(.+?)\s*-->\s*$")
INPUT = re.compile(r"\(file ([^)\s]+)\)")


def blocks(page: Path) -> list[tuple[str | None, str, str]]:
    """(illustrative reason or None, language, text) of every fenced block."""
    text = page.read_text()
    found = []
    for block in FENCE.finditer(text):
        before = text[: block.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        found.append((marker.group(1) if marker else None, block.group(1), block.group(2)))
    return found


def test_there_is_a_page_per_tool() -> None:
    assert {p.stem for p in PAGES} >= {"aimock", "vidaimock", "mock-llm", "wiremock"}


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_the_page_shows_what_the_command_writes(page: Path, tmp_path: Path) -> None:
    found = blocks(page)
    inputs = [
        (named.group(1), text) for why, _, text in found if why and (named := INPUT.search(why))
    ]
    commands = [
        text.strip() for why, _, text in found if why and text.strip().startswith("aimock convert")
    ]
    outputs = [
        text
        for why, lang, text in found
        if why is None
        and lang == "yaml"
        and ("fixtures:" in text or "apiVersion: aimock.dev/" in text)
    ]
    assert inputs and outputs and len(commands) == 1, page
    for name, text in inputs:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    args = shlex.split(commands[0])[2:]
    done = subprocess.run(
        [sys.executable, "-m", "aimock", "convert", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / args[args.index("-o") + 1]
    written = load_paths([out])
    shown = load_text("\n---\n".join(outputs), str(page))
    assert [f.fixture for f in shown.fixtures] == [f.fixture for f in written.fixtures], (
        f"{page}: the page's output blocks differ from what the command writes:\n"
        + "\n".join(p.read_text() for p in sorted(out.glob("*.yaml")))
    )
    if written.stack is not None or shown.stack is not None:
        assert shown.stack is not None and written.stack is not None
        assert shown.stack.model_dump(exclude={"fixtures"}) == written.stack.model_dump(
            exclude={"fixtures"}
        )
    # The page shows what the command prints on stderr, line for line.
    printed = [line for line in done.stderr.splitlines() if not line.startswith("wrote ")]
    shown = [text for why, _, text in found if why and why.startswith("what the command prints")]
    assert len(shown) == 1, f"{page}: show what the command prints on stderr"
    assert shown[0].strip().splitlines() == printed
