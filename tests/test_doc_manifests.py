"""Every manifest a doc shows (a ```yaml block with a document of `apiVersion: aimock.dev/...`)
is one the server loads and the operator accepts, so a doc cannot show a field that does not
exist. A block that only names the kinds inside another tool's resource (Flux's health checks)
is not a manifest of ours.
(Every other block is run by tests/test_docs.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from aimock.fixtures.loading import load_text
from aimock_operator import validation

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```ya?ml\n(.*?)```", re.S)
OURS = re.compile(r"^apiVersion: aimock\.dev/", re.M)  # a document's own, at the top level
VALIDATORS = {
    "MockStack": validation.validate_mockstack,
    "Fixture": validation.validate_fixture,
    "ChaosPolicy": validation.validate_chaospolicy,
}


def _manifests() -> list[tuple[str, str]]:
    found = []
    for doc in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]):
        for index, block in enumerate(BLOCK.findall(doc.read_text())):
            if OURS.search(block):
                found.append((f"{doc.relative_to(ROOT)}#{index}", block))
    return found


MANIFESTS = _manifests()


def test_the_docs_show_manifests() -> None:
    names = {name.split("#")[0] for name, _ in MANIFESTS}
    assert {"docs/record-replay.md", "docs/drift.md"} <= names


@pytest.mark.parametrize(("where", "text"), MANIFESTS, ids=[n for n, _ in MANIFESTS])
def test_a_doc_manifest_loads_and_is_accepted(where: str, text: str) -> None:
    load_text(text, where)  # raises LoadError naming the field
    for document in yaml.safe_load_all(text):
        if document and document.get("kind") in VALIDATORS:
            body = {**document, "metadata": {"namespace": "docs", **document["metadata"]}}
            assert VALIDATORS[document["kind"]](body) == [], where
