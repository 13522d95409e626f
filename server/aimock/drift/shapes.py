"""The shape of a JSON answer (every path with its JSON type) and how two shapes differ.

A path names keys from the root, `[]` standing for any element of an array:
`choices[].message.content`. Values are compared by type only (string, number, boolean,
null, object, array): a mock says other words than reality, never other structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Shape = dict[str, str]


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, Mapping) else type(value).__name__


def shape(value: Any, path: str = "") -> Shape:
    """Every path of `value` with its type; the elements of an array merge into `path[]`."""
    found: Shape = {path or "$": kind(value)}
    if isinstance(value, Mapping):
        for key, inner in value.items():
            found.update(shape(inner, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list):
        for inner in value:
            for key, type_name in shape(inner, f"{path}[]").items():
                known = found.get(key)
                # null and a type seen in another element: the non-null one describes it.
                found[key] = type_name if known in (None, "null") else known
    return found
