"""Places in a JSON-like document, and setting or deleting what is there: the vocabulary the
property-based fuzz tests share to mutate a valid body (or fixture file) one field at a time."""

from __future__ import annotations

from typing import Any

# Where a mutation lands: keys and indexes from the top (() is the whole document).
Place = tuple[Any, ...]


def places(value: Any, here: Place = ()) -> list[Place]:
    """Every place in `value`, outermost first (the value itself is `()`)."""
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += places(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += places(item, (*here, index))
    return found


def set_at(document: Any, place: Place, value: Any) -> Any:
    """`document` with `value` at `place`, changed in place (at `()`, `value` itself)."""
    if not place:
        return value
    _parent(document, place)[place[-1]] = value
    return document


def delete_at(document: Any, place: Place) -> Any:
    """`document` without what is at `place` (not `()`), changed in place."""
    del _parent(document, place)[place[-1]]
    return document


def at(document: Any, place: Place) -> Any:
    """What is at `place` in `document`."""
    found = document
    for step in place:
        found = found[step]
    return found


def _parent(document: Any, place: Place) -> Any:
    return at(document, place[:-1])
