"""Metadata filters of the vector dialects, compiled to one predicate over a point's metadata.

Two languages: the Mongo-like `where`/`filter` of Chroma and Pinecone (`{field: value}`,
`{field: {$eq|$ne|$in|$nin|$gt|$gte|$lt|$lte: ...}}`, `{$and: [...]}`, `{$or: [...]}`), and
Qdrant's `{must, should, must_not}` of conditions (`{key, match: {value|any|except|text}}`,
`{key, range: {gt, gte, lt, lte}}`, `{has_id: [...]}`, or a nested filter). A bad filter is a
`FilterError`, which each dialect answers as its bad-request error.

Every operand is checked when the filter is compiled, so evaluating it against any metadata
cannot fail. A filter runs once per point of the collection, so its size is bounded: at most
`MAX_OBJECTS` objects (conditions) and `MAX_MEMBERS` values per list, which are looked up in
a set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[str, Mapping[str, Any]], bool]  # (point id, metadata) -> kept?
Test = Callable[[Any], bool]  # a test of one field's value
_ORDER = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_BOUNDS = ("gt", "gte", "lt", "lte")
_POINT_ID = (int, str)
_MATCH_VALUE = (str, int)  # Qdrant's ValueVariants: string, integer, bool (an int here)
# aimock's bounds on one filter (the real ones differ: Chroma Cloud allows 8 `where`
# predicates, Qdrant and Pinecone have no fixed cap). Evaluating it costs this much per point.
MAX_OBJECTS = 100
MAX_MEMBERS = 10_000


class FilterError(ValueError):
    pass


def shown(value: Any, most: int = 80) -> str:
    """`value` for an error message, cut short: a hostile one may be megabytes."""
    text = repr(value)
    return text if len(text) <= most else text[: most - 3] + "..."


def everything(point_id: str, metadata: Mapping[str, Any]) -> bool:
    del point_id, metadata
    return True


def _bounded(expression: Any) -> Any:
    """`expression`, if it holds at most `MAX_OBJECTS` objects (counted without recursion)."""
    objects, pending = 0, [expression]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            objects += 1
            if objects > MAX_OBJECTS:
                raise FilterError(f"a filter may hold at most {MAX_OBJECTS} objects")
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return expression


def _compare(op: str, value: Any, bound: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(bound, bool) or not isinstance(bound, (int, float)):
        raise FilterError(f"range bound must be a number, got {shown(bound)}")
    if op == "gt":
        return value > bound
    if op == "gte":
        return value >= bound
    if op == "lt":
        return value < bound
    return value <= bound


def _membership(options: Any, op: str) -> Test:
    """Whether a value is one of `options` (a list field: any of its elements is)."""
    if not isinstance(options, list):
        raise FilterError(f"{op} expects a list, got {shown(options)}")
    if len(options) > MAX_MEMBERS:
        raise FilterError(f"{op} may list at most {MAX_MEMBERS} values")
    unhashable = (list, dict)
    scalars = frozenset(o for o in options if not isinstance(o, unhashable))
    others = [o for o in options if isinstance(o, unhashable)]

    def one(value: Any) -> bool:
        return value in others if isinstance(value, unhashable) else value in scalars

    return lambda value: any(map(one, value)) if isinstance(value, list) else one(value)


def _operator(name: str, op: str, operand: Any) -> Test:
    """One `$op: operand` test on a field's value; the operand is checked once, here."""
    if op in ("$in", "$nin"):
        member = _membership(operand, op)
        return member if op == "$in" else lambda value: not member(value)
    if op in _ORDER:
        _compare(_ORDER[op], 0, operand)
        return lambda value: _compare(_ORDER[op], value, operand)
    if op == "$eq":
        return lambda value: bool(value == operand)
    if op == "$ne":
        return lambda value: bool(value != operand)
    raise FilterError(f"unsupported operator {shown(op)} on {shown(name)}")


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
    return _where(_bounded(expression))


def _where(expression: Any) -> Predicate:
    if expression is None or expression == {}:
        return everything
    if not isinstance(expression, dict):
        raise FilterError(f"a filter must be an object, got {shown(expression)}")
    parts: list[Predicate] = []
    for key, value in expression.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise FilterError(f"{key} expects a non-empty list")
            subs = [_where(v) for v in value]
            combine = all if key == "$and" else any
            parts.append(lambda i, m, s=subs, c=combine: c(p(i, m) for p in s))  # type: ignore[misc]
        elif key.startswith("$"):
            raise FilterError(f"unsupported operator {shown(key)}")
        else:
            parts.append(_field_test(key, value))
    return lambda i, m: all(p(i, m) for p in parts)


def qdrant(expression: Any) -> Predicate:
    """Qdrant's Filter: all of `must`, at least one of `should` (if any), none of `must_not`."""
    return _qdrant(_bounded(expression))


def _qdrant(expression: Any) -> Predicate:
    if expression is None:
        return everything
    if not isinstance(expression, dict):
        raise FilterError(f"a filter must be an object, got {shown(expression)}")

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


def _qdrant_condition(condition: Any) -> Predicate:
    if not isinstance(condition, dict):
        raise FilterError(f"a condition must be an object, got {shown(condition)}")
    if "has_id" in condition:
        wanted = {str(i) for i in _listed(condition["has_id"], "has_id", _POINT_ID)}
        return lambda i, _m: i in wanted
    if any(k in condition for k in ("must", "should", "must_not")):
        return _qdrant(condition)
    key = condition.get("key")
    if not isinstance(key, str):
        raise FilterError(f"unsupported condition {shown(condition)}")
    if "match" in condition:
        return _qdrant_match(key, condition["match"])
    if "range" in condition:
        return _qdrant_range(key, condition["range"])
    raise FilterError(f"unsupported condition on {shown(key)}: give match or range")


def _listed(value: Any, name: str, types: tuple[type, ...]) -> list[Any]:
    """A list operand whose items are all of `types` (never a bool, which JSON keeps apart)."""
    if not isinstance(value, list) or not all(
        isinstance(v, types) and not isinstance(v, bool) for v in value
    ):
        raise FilterError(f"{name} expects a list of {'/'.join(t.__name__ for t in types)}")
    if len(value) > MAX_MEMBERS:
        raise FilterError(f"{name} may list at most {MAX_MEMBERS} values")
    return value


def _qdrant_range(key: str, bounds: Any) -> Predicate:
    if not isinstance(bounds, dict):
        raise FilterError(f"range must be an object, got {shown(bounds)}")
    given = {op: bounds[op] for op in _BOUNDS if bounds.get(op) is not None}
    for op, bound in given.items():
        _compare(op, 0, bound)
    return lambda _i, m: key in m and all(_compare(op, m[key], b) for op, b in given.items())


def _qdrant_match(key: str, match: Any) -> Predicate:
    if not isinstance(match, dict):
        raise FilterError(f"match must be an object, got {shown(match)}")
    if "value" in match:
        value = match["value"]
        if not isinstance(value, (*_MATCH_VALUE, bool)):
            raise FilterError(f"match.value must be a string, integer or boolean: {shown(value)}")
        return _field_test(key, {"$eq": value})
    if "any" in match:
        return _field_test(key, {"$in": _listed(match["any"], "match.any", _MATCH_VALUE)})
    if "except" in match:
        excluded = _membership(_listed(match["except"], "match.except", _MATCH_VALUE), "except")
        return lambda _i, m: key in m and not excluded(m[key])
    if "text" in match:
        text = match["text"]
        if not isinstance(text, str):
            raise FilterError(f"match.text must be a string, got {shown(text)}")
        return lambda _i, m: isinstance(m.get(key), str) and text in m[key]
    raise FilterError(f"unsupported match {shown(match)}")
