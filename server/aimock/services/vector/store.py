"""The one in-memory vector store behind every dialect.

Collections hold points (id, vector, metadata, document) per namespace. A query is an exact
top-k over the collection's points (plain Python: mock collections are small) with the
collection's metric; hits come best first with the metric's raw value as `score` (cosine
similarity, dot product, or euclidean distance, which sorts ascending). A collection's static
query results (from the config) answer a query whose vector they name, before any search.
Errors are `VectorError`s with a kind each dialect maps to its own status and body.

Writes from requests go through `VectorStore.create`, `write` and `describe`, which hold the
store to its `VectorLimits` (collections, points per collection, bytes in all); the seeds of
the config are checked by the model instead.
"""

from __future__ import annotations

import heapq
import math
import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from aimock.embedding import deterministic_vector
from aimock.models.services.vector import Metric, VectorCollection, VectorLimits, VectorSpec
from aimock.services.vector.filters import Predicate, everything

# "format": the body has a wrong shape or type; "invalid": a well-typed value out of its range
# (Qdrant tells the two apart: 400 and 422); "quota": the store is full. "internal" is only a
# chaos drop: the stores themselves never fail that way.
ErrorKind = Literal[
    "not_found", "conflict", "bad_request", "format", "invalid", "quota", "internal"
]
DEFAULT_NAMESPACE = ""
_STATIC_TOLERANCE = 1e-6
# The longest vector any dialect takes: Qdrant's `vectors.size` maximum (Pinecone's is 20,000,
# checked at index creation). A Chroma collection takes its dimension from its first vector.
MAX_DIMENSION = 65536
_VALUE_BYTES = 8  # a vector value, as the float64 it is


class VectorError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def json_size(value: Any) -> int:
    """About the bytes `value` takes as JSON (what the limits count)."""
    if value is None:
        return 0
    try:
        return len(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):  # a seed's YAML value JSON cannot hold
        return len(repr(value))


@dataclass
class Point:
    id: str | int  # as the client sent it: Qdrant distinguishes 1 from "1"
    vector: list[float]
    metadata: dict[str, Any] = field(default_factory=dict)
    document: str | None = None

    @property
    def key(self) -> str:
        return str(self.id)

    def footprint(self) -> int:
        text = len(self.document.encode("utf-8", "replace")) if self.document else 0
        return len(self.key) + _VALUE_BYTES * len(self.vector) + json_size(self.metadata) + text


@dataclass(frozen=True)
class Hit:
    point: Point
    score: float
    static: bool = False


def similarity(metric: Metric, a: list[float], b: list[float]) -> float:
    # C loops (map, math.dist, math.hypot): a query scans every point. None of them raises on
    # values near the float maximum (`x ** 2` and `math.fsum` would): they give inf or nan.
    if metric == "euclidean":
        return math.dist(a, b)
    dot: float = sum(map(operator.mul, a, b))
    if metric == "dot":
        return dot
    norms = math.hypot(*a) * math.hypot(*b)
    return dot / norms if norms else 0.0


# Called with (points the collection would hold, bytes it would add) before a write commits.
Admit = Callable[[int, int], None]


@dataclass
class Collection:
    name: str
    dimension: int | None  # None until the first vector (Chroma creates without one)
    metric: Metric = "cosine"
    metadata: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    namespaces: dict[str, dict[str, Point]] = field(default_factory=dict)
    # (query vector or None for any, hits) pairs from the config, checked before a search.
    static: list[tuple[list[float] | None, list[Hit]]] = field(default_factory=list)
    # Bytes held by its points and its metadata, kept as they change (read on every write).
    points_bytes: int = 0
    metadata_bytes: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.metadata_bytes = json_size(self.metadata)

    def points(self, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Point]:
        return self.namespaces.get(namespace, {})

    def size(self) -> int:
        """Points held over all namespaces."""
        return sum(len(points) for points in self.namespaces.values())

    def footprint(self) -> int:
        return self.points_bytes + self.metadata_bytes + len(self.name)

    def check(self, vector: Any, dimension: int | None = None) -> list[float]:
        """`vector` as floats, of the collection's dimension (or `dimension` while it has
        none: a collection without one takes any length up to the maximum)."""
        if not isinstance(vector, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in vector
        ):
            raise VectorError("bad_request", "vector must be a list of numbers")
        if not vector:
            raise VectorError("bad_request", "vector must not be empty")
        expected = self.dimension if self.dimension is not None else dimension
        if expected is None and len(vector) > MAX_DIMENSION:
            raise VectorError(
                "invalid", f"vector has {len(vector)} values, the most is {MAX_DIMENSION}"
            )
        if expected is not None and len(vector) != expected:
            raise VectorError(
                "bad_request",
                f"Vector dimension error: expected dim: {expected}, got {len(vector)}",
            )
        return [float(v) for v in vector]

    def upsert(
        self,
        points: list[Point],
        namespace: str = DEFAULT_NAMESPACE,
        admit: Admit | None = None,
    ) -> int:
        """Store `points` (all or nothing); `admit` may refuse the write before it commits.
        The first vector stored gives a collection without a dimension its dimension."""
        if not points:
            return 0
        first = self.check(points[0].vector)
        vectors = [first, *(self.check(p.vector, len(first)) for p in points[1:])]
        incoming: dict[str, Point] = {}  # a repeated id: the last one stands
        for point, vector in zip(points, vectors, strict=True):
            point.vector = vector
            incoming[point.key] = point
        target = self.namespaces.get(namespace, {})
        replaced = [target[k] for k in incoming if k in target]
        delta = sum(p.footprint() for p in incoming.values()) - sum(p.footprint() for p in replaced)
        if admit is not None:
            admit(self.size() + len(incoming) - len(replaced), delta)
        self.namespaces.setdefault(namespace, {}).update(incoming)
        self.points_bytes += delta
        self.dimension = len(first)
        return len(points)

    def select(
        self, keep: Predicate = everything, namespace: str = DEFAULT_NAMESPACE
    ) -> list[Point]:
        return [p for p in self.points(namespace).values() if keep(p.key, p.metadata)]

    def delete(self, keys: list[str], namespace: str = DEFAULT_NAMESPACE) -> int:
        target = self.points(namespace)
        removed = [p for p in (target.pop(k, None) for k in keys) if p is not None]
        self.points_bytes -= sum(p.footprint() for p in removed)
        if not target:  # an emptied namespace goes too
            self.namespaces.pop(namespace, None)
        return len(removed)

    def clear(self, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.delete(list(self.points(namespace)), namespace)

    def query(
        self,
        vector: Any,
        limit: int,
        keep: Predicate = everything,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> list[Hit]:
        query = self.check(vector)
        for expected, hits in self.static:
            if expected is None or all(
                abs(a - b) <= _STATIC_TOLERANCE for a, b in zip(expected, query, strict=True)
            ):
                stored = self.points(namespace)  # a stored point lends its vector and data
                return [Hit(stored.get(h.point.key, h.point), h.score, True) for h in hits[:limit]]
        scored = (
            Hit(point, similarity(self.metric, query, point.vector))
            for point in self.select(keep, namespace)
        )
        # The best `limit` without sorting the whole collection (a heap of `limit` items).
        if self.metric == "euclidean":
            return heapq.nsmallest(limit, scored, key=lambda h: h.score)
        return heapq.nlargest(limit, scored, key=lambda h: h.score)


class VectorStore:
    """One database's collections (each dialect has its own store, as separate servers do)."""

    def __init__(self, limits: VectorLimits | None = None, dialect: str = "qdrant") -> None:
        self.dialect = dialect
        self.collections: dict[str, Collection] = {}
        self.limits = limits or VectorLimits()
        self._seeded: VectorSpec | None = None

    def seed(self, spec: VectorSpec) -> None:
        """Start over from the spec's collections meant for this store's database (at start,
        on reset, on a changed spec)."""
        self.collections = {
            c.name: _seeded(c)
            for c in spec.collections
            if c.dialects is None or self.dialect in c.dialects
        }
        self.limits = spec.limits
        self._seeded = spec

    def follow(self, spec: VectorSpec) -> None:
        """Reseed when a reload brought different definitions; otherwise keep the data."""
        if self._seeded is None or spec != self._seeded:
            self.seed(spec)

    def create(
        self, name: str, dimension: int | None, metric: Metric, metadata: dict[str, Any]
    ) -> Collection:
        if name in self.collections:
            raise VectorError("conflict", f"Collection `{name}` already exists!")
        most = self.limits.max_collections
        if len(self.collections) >= most:
            raise VectorError("quota", f"The store holds its limit of {most} collections")
        collection = Collection(name, dimension, metric, metadata)
        self._admit_bytes(collection.footprint())
        self.collections[name] = collection
        return collection

    def write(
        self, collection: Collection, points: list[Point], namespace: str = DEFAULT_NAMESPACE
    ) -> int:
        """Upsert from a request: refused past the points or bytes limit, nothing written."""

        def admit(count: int, added_bytes: int) -> None:
            most = self.limits.max_points_per_collection
            if count > most:
                raise VectorError(
                    "quota",
                    f"Collection `{collection.name}` would hold {count} points, over "
                    f"the limit of {most}",
                )
            self._admit_bytes(added_bytes)

        return collection.upsert(points, namespace, admit)

    def describe(self, collection: Collection, metadata: dict[str, Any]) -> None:
        """Replace a collection's metadata, within the bytes limit."""
        size = json_size(metadata)
        self._admit_bytes(size - collection.metadata_bytes)
        collection.metadata, collection.metadata_bytes = metadata, size

    def rename(self, collection: Collection, new_name: str) -> None:
        if new_name != collection.name and new_name in self.collections:
            raise VectorError("conflict", f"Collection `{new_name}` already exists!")
        self.collections.pop(collection.name)
        collection.name = new_name
        self.collections[new_name] = collection

    def _admit_bytes(self, added: int) -> None:
        most = self.limits.max_stored_bytes
        if added > 0 and sum(c.footprint() for c in self.collections.values()) + added > most:
            raise VectorError("quota", f"The store would hold more than its limit of {most} bytes")

    def get(self, name: str) -> Collection:
        found = self.collections.get(name)
        if found is None:
            raise VectorError("not_found", f"Collection `{name}` doesn't exist!")
        return found

    def by_id(self, ident: str) -> Collection:
        for collection in self.collections.values():
            if ident in (collection.id, collection.name):
                return collection
        raise VectorError("not_found", f"Collection `{ident}` doesn't exist!")

    def drop(self, name: str) -> None:
        self.get(name)
        del self.collections[name]


def _seeded(spec: VectorCollection) -> Collection:
    collection = Collection(spec.name, spec.dimension, spec.metric)
    for seed in spec.points:
        point = Point(seed.id, list(seed.vector), dict(seed.metadata or {}), seed.document)
        collection.upsert([point], seed.namespace)
    for answer in spec.query_results:
        match = answer.match
        vector = None if match is None else match.vector
        if match is not None and vector is None:
            vector = deterministic_vector(match.text or "", spec.dimension)
        hits = [
            Hit(Point(r.id, [], dict(r.metadata or {}), r.document), r.score, static=True)
            for r in answer.results
        ]
        collection.static.append((None if vector is None else list(vector), hits))
    return collection
