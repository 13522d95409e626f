"""The compiled request path: which modules `scripts/compile.py` builds with mypyc, and whether
this process runs them.

The build leaves extension modules (`*.so`) beside the sources, and a manifest holding a digest
of every source file of the package as it was built. Python prefers an extension to its
source, so the extensions are left visible only while that digest still holds. Otherwise (a
file edited since the build, no manifest, or `AIMOCK_COMPILED=off`) each compiled module is
loaded from its source. It is all or nothing: compiled modules call each other directly, not
through their module objects, so a mix of a fresh source and a stale extension would run old
code. Nothing here imports the rest of aimock.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

# The modules a request runs through; mypyc compiles them as one group.
MODULES = (
    # the front, the lane and the one request path
    "aimock.http1",
    "aimock.fastlane",
    "aimock.pipeline",
    "aimock.exchange",
    "aimock.surface",
    "aimock.families",
    "aimock.canonical",
    "aimock.journal",
    "aimock.metrics",
    "aimock.chaos",
    "aimock.ids",
    "aimock.wire",
    "aimock.logs",
    "aimock.fixtures.matching",
    "aimock.fixtures.criteria",
    "aimock.fixtures.compiled",
    # the pacer and the framers
    "aimock.streaming.pacing",
    "aimock.streaming.sse",
    "aimock.streaming.ndjson",
    "aimock.streaming.eventstream",
    "aimock.streaming.jsonarray",
    # the LLM wires
    "aimock.providers.common",
    "aimock.providers.assembly",
    "aimock.providers.openai_base",
    "aimock.providers.openai_chat",
    "aimock.providers.openai_responses",
    "aimock.providers.openai_embeddings",
    "aimock.providers.anthropic_base",
    "aimock.providers.anthropic_messages",
    "aimock.providers.gemini_base",
    "aimock.providers.gemini",
    "aimock.providers.bedrock_base",
    "aimock.providers.bedrock_converse",
    "aimock.providers.bedrock_invoke",
    "aimock.providers.ollama",
    "aimock.providers.cohere",
)

PACKAGE = Path(__file__).resolve().parent
MANIFEST = PACKAGE / "native.json"


def switched_off(variable: str) -> bool:
    """Whether an on-by-default environment switch is off: `0`, `off`, `false` or `no`, any
    case. The one reading of AIMOCK_COMPILED, AIMOCK_OPTIMIZE and AIMOCK_FAST_LANE; it lives
    here because this module imports nothing of aimock and runs first."""
    return os.environ.get(variable, "").strip().lower() in ("0", "off", "false", "no")


def source_of(module: str, package: Path = PACKAGE) -> Path:
    """`aimock.fixtures.matching` -> <package>/fixtures/matching.py."""
    return package.joinpath(*module.split(".")[1:]).with_suffix(".py")


def fingerprint(package: Path = PACKAGE) -> str:
    """One digest of every source file of the package, names and contents (about a
    millisecond: as cheap as asking each file's modification time, and unlike that it survives
    a checkout, a copy or an install)."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def write_manifest(package: Path = PACKAGE) -> None:
    """Called by the build once the extensions are in place."""
    manifest = {"modules": list(MODULES), "sources": fingerprint(package)}
    (package / MANIFEST.name).write_text(json.dumps(manifest, indent=1) + "\n")


def verdict(package: Path = PACKAGE) -> str:
    """'compiled', or why the sources run: 'off', 'not built', 'stale'."""
    if switched_off("AIMOCK_COMPILED"):
        return "off"
    try:
        manifest = json.loads((package / MANIFEST.name).read_text())
    except (OSError, ValueError):
        return "not built"
    if manifest.get("modules") != list(MODULES):
        return "stale"
    try:
        current = fingerprint(package)
    except OSError:  # a file removed while we looked
        return "stale"
    return "compiled" if manifest.get("sources") == current else "stale"


class _FromSource(importlib.abc.MetaPathFinder):
    """Loads the compiled modules from their `.py` files, ahead of the path finder."""

    def __init__(self, modules: Sequence[str], package: Path) -> None:
        self.sources = {name: source_of(name, package) for name in modules}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        source = self.sources.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def choose() -> str:
    """Decide once per process, before any compiled module is imported; returns the verdict."""
    found = verdict()
    if found != "compiled":
        sys.meta_path.insert(0, _FromSource(MODULES, PACKAGE))
    return found


def describe(found: str) -> str:
    """For `--version` and the ready line."""
    if found == "compiled":
        return f"compiled request path ({len(MODULES)} modules)"
    reasons = {
        "off": "AIMOCK_COMPILED=off",
        "not built": "not compiled",
        "stale": "the compiled modules are older than the sources: make setup rebuilds them",
    }
    return f"pure-Python request path ({reasons[found]})"
