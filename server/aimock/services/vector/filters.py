"""Metadata filters of the vector dialects, compiled to one predicate over a point's metadata.

Two languages: the Mongo-like `where`/`filter` of Chroma and Pinecone (`{field: value}`,
`{field: {$eq|$ne|$in|$nin|$gt|$gte|$lt|$lte: ...}}`, `{$and: [...]}`, `{$or: [...]}`), and
Qdrant's `{must, should, must_not}` of conditions (`{key, match: {value|any|except}}`,
`{key, range: {gt, gte, lt, lte}}`, `{has_id: [...]}`, or a nested filter). A bad filter is a
`FilterError`, which each dialect answers as its bad-request error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[str, Mapping[str, Any]], bool]  # (point id, metadata) -> kept?
_ORDER = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}


class FilterError(ValueError):
    pass


def everything(point_id: str, metadata: Mapping[str, Any]) -> bool:
    del point_id, metadata
    return True


def _compare(op: str, value: Any, bound: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(bound, bool) or not isinstance(bound, (int, float)):
        raise FilterError(f"range bound must be a number, got {bound!r}")
    if op == "gt":
        return value > bound
    if op == "gte":
        return value >= bound
    if op == "lt":
        return value < bound
    return value <= bound


def _member(value: Any, options: Any, op: str) -> bool:
    if not isinstance(options, list):
        raise FilterError(f"{op} expects a list, got {options!r}")
    if isinstance(value, list):  # a list field matches when any element does
        return any(v in options for v in value)
    return value in options


def _operator(name: str, op: str, operand: Any) -> Callable[[Any], bool]:
    """One `$op: operand` test on a field's value; the operand is checked once, here."""
    if op in ("$in", "$nin"):
        _member(None, operand, op)
    elif op in _ORDER:
        _compare(_ORDER[op], 0, operand)
    elif op not in ("$eq", "$ne"):
        raise FilterError(f"unsupported operator {op!r} on {name!r}")

    def test(value: Any) -> bool:
        if op == "$eq":
            return bool(value == operand)
        if op == "$ne":
            return bool(value != operand)
        if op == "$in":
            return _member(value, operand, op)
        if op == "$nin":
            return not _member(value, operand, op)
        return _compare(_ORDER[op], value, operand)

    return test


def _field_test(name: str, condition: Any) -> Predicate:
    if not isinstance(condition, dict):
        return lambda _id, meta: (
            meta.get(name) == condition
            or (isinstance(meta.get(name), list) and condition in meta[name])
        )
    tests = [_operator(name, op, operand) for op, operand in condition.items()]
    return lambda _id, meta: name in meta and all(test(meta[name]) for test in tests)


def where(expression: Any) -> Predicate:
    """Chroma's `where` / Pinecone's `filter`."""
    if expression is None or expression == {}:
        return everything
    if not isinstance(expression, dict):
        raise FilterError(f"a filter must be an object, got {expression!r}")
    parts: list[Predicate] = []
    for key, value in expression.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise FilterError(f"{key} expects a non-empty list")
            subs = [where(v) for v in value]
            combine = all if key == "$and" else any
            parts.append(lambda i, m, s=subs, c=combine: c(p(i, m) for p in s))  # type: ignore[misc]
        elif key.startswith("$"):
            raise FilterError(f"unsupported operator {key!r}")
        else:
            parts.append(_field_test(key, value))
    return lambda i, m: all(p(i, m) for p in parts)


def _qdrant_condition(condition: Any) -> Predicate:
    if not isinstance(condition, dict):
        raise FilterError(f"a condition must be an object, got {condition!r}")
    if "has_id" in condition:
        ids = {str(i) for i in condition["has_id"]}
        return lambda i, _m: i in ids
    if any(k in condition for k in ("must", "should", "must_not")):
        return qdrant(condition)
    key = condition.get("key")
    if not isinstance(key, str):
        raise FilterError(f"unsupported condition {condition!r}")
    if "match" in condition:
        return _qdrant_match(key, condition["match"])
    if "range" in condition:
        bounds = {k: v for k, v in (condition["range"] or {}).items() if v is not None}
        for op, bound in bounds.items():
            _compare(op, 0, bound)
        return lambda _i, m: key in m and all(_compare(op, m[key], b) for op, b in bounds.items())
    raise FilterError(f"unsupported condition on {key!r}: give match or range")


def _qdrant_match(key: str, match: Any) -> Predicate:
    if not isinstance(match, dict):
        raise FilterError(f"match must be an object, got {match!r}")
    if "value" in match:
        return (
            _field_test(key, {"$eq": match["value"]})
            if not isinstance(match["value"], dict)
            else _field_test(key, match["value"])
        )
    if "any" in match:
        return _field_test(key, {"$in": match["any"]})
    if "except" in match:
        return lambda i, m: key in m and not _member(m[key], match["except"], "except")
    if "text" in match:
        return lambda _i, m: isinstance(m.get(key), str) and match["text"] in m[key]
    raise FilterError(f"unsupported match {match!r}")


def qdrant(expression: Any) -> Predicate:
    """Qdrant's Filter: all of `must`, at least one of `should` (if any), none of `must_not`."""
    if expression is None:
        return everything
    if not isinstance(expression, dict):
        raise FilterError(f"a filter must be an object, got {expression!r}")

    def conditions(name: str) -> list[Predicate]:
        value = expression.get(name)
        if value is None:
            return []
        return [_qdrant_condition(c) for c in (value if isinstance(value, list) else [value])]

    must, should, must_not = conditions("must"), conditions("should"), conditions("must_not")
    return lambda i, m: (
        all(p(i, m) for p in must)
        and (not should or any(p(i, m) for p in should))
        and not any(p(i, m) for p in must_not)
    )
