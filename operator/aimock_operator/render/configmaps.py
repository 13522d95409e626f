"""The served documents: one YAML file per resource, packed into ConfigMaps, and their hash.

The files are the manifests themselves, so the pod's `aimock serve -f <folder>` loads exactly
what a user would load locally. Output is deterministic: keys are sorted, YAML keys too, and
the same documents always pack into the same ConfigMaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from aimock.fixtures.loading import files_hash
from aimock_operator.crd.v1alpha1 import API_VERSION
from aimock_operator.render import names


def manifest(
    kind: str, name: str, labels: Mapping[str, str], spec: Any, generation: int | None = None
) -> dict[str, Any]:
    """The document as `aimock serve -f` reads it: no status, no cluster bookkeeping but the
    generation it was rendered from (which version a stack serves, read back when a later
    version is refused)."""
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = dict(labels)
    if generation:
        metadata["generation"] = generation
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def served_files(stack: str, config_maps: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The documents a stack serves now, by file name, read back from its config ConfigMaps."""
    files: dict[str, str] = {}
    for config_map in config_maps:
        name = str((config_map.get("metadata") or {}).get("name"))
        if names.config_map_index(stack, name) is not None:
            files.update(config_map.get("data") or {})
    return files


def _document(text: str) -> dict[str, Any]:
    """A served file read back (empty when it is not a YAML mapping)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return document if isinstance(document, dict) else {}


def _section(text: str, key: str) -> dict[str, Any]:
    section = _document(text).get(key)
    return section if isinstance(section, dict) else {}


def generation_of(text: str) -> int | None:
    """The generation a served document was rendered from (None for one without it)."""
    generation = _section(text, "metadata").get("generation")
    return generation if isinstance(generation, int) else None


def fixture_count_of(text: str) -> int:
    """How many fixtures a served Fixture document holds."""
    fixtures = _section(text, "spec").get("fixtures")
    return len(fixtures) if isinstance(fixtures, list) else 0


def to_yaml(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(
        dict(document), sort_keys=True, allow_unicode=True, default_flow_style=False, width=4096
    )


def pack(files: Mapping[str, str], budget: int = names.CONFIG_MAP_BUDGET) -> list[dict[str, str]]:
    """Split files, in key order, into chunks of at most `budget` bytes each.

    A file is never split; one larger than the budget gets a chunk of its own (and the API
    server refuses it if it passes the object limit, which status then reports).
    """
    chunks: list[dict[str, str]] = [{}]
    size = 0
    for key in sorted(files):
        cost = len(key.encode()) + len(files[key].encode())
        if chunks[-1] and size + cost > budget:
            chunks.append({})
            size = 0
        chunks[-1][key] = files[key]
        size += cost
    return chunks


def config_hash(chunks: Iterable[Mapping[str, str]]) -> str:
    """The hash of every file of every chunk: the one a pod's `/health` reports as
    `configHash` once it serves exactly these files."""
    merged: dict[str, str] = {}
    for chunk in chunks:
        merged.update(chunk)
    return files_hash(merged)


def config_map(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    owner: Mapping[str, Any],
    data: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "ownerReferences": [dict(owner)],
        },
        "data": dict(sorted(data.items())),
    }
