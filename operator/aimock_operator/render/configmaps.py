"""The served documents: one YAML file per resource, packed into ConfigMaps, and their hash.

The files are the manifests themselves, so the pod's `aimock serve -f <folder>` loads exactly
what a user would load locally. Output is deterministic: keys are sorted, YAML keys too, and
the same documents always pack into the same ConfigMaps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from aimock_operator.crd.v1alpha1 import API_VERSION
from aimock_operator.render import names


def manifest(kind: str, name: str, labels: Mapping[str, str], spec: Any) -> dict[str, Any]:
    """The document as `aimock serve -f` reads it: no status, no cluster bookkeeping."""
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


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
    """sha256 over every file of every chunk, in key order: 16 hex digits."""
    merged: dict[str, str] = {}
    for chunk in chunks:
        merged.update(chunk)
    digest = hashlib.sha256()
    for key in sorted(merged):
        digest.update(key.encode() + b"\0" + merged[key].encode() + b"\0")
    return digest.hexdigest()[:16]


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
