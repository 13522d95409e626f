"""The one in-memory vector store behind every dialect.

Collections hold points (id, vector, metadata, document) per namespace. A query is an exact
top-k over the collection's points (plain Python: mock collections are small) with the
collection's metric; hits come best first with the metric's raw value as `score` (cosine
similarity, dot product, or euclidean distance, which sorts ascending). A collection's static
query results (from the config) answer a query whose vector they name, before any search.
Errors are `VectorError`s with a kind each dialect maps to its own status and body.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from aimock.embedding import deterministic_vector
from aimock.models.services.vector import Metric, VectorCollection, VectorSpec
from aimock.services.vector.filters import Predicate, everything

# "internal" is only a chaos drop: the stores themselves never fail that way.
ErrorKind = Literal["not_found", "conflict", "bad_request", "internal"]
DEFAULT_NAMESPACE = ""
_STATIC_TOLERANCE = 1e-6


class VectorError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Point:
    id: str | int  # as the client sent it: Qdrant distinguishes 1 from "1"
    vector: list[float]
    metadata: dict[str, Any] = field(default_factory=dict)
    document: str | None = None

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class Hit:
    point: Point
    score: float
    static: bool = False


def similarity(metric: Metric, a: list[float], b: list[float]) -> float:
    if metric == "dot":
        return sum(x * y for x, y in zip(a, b, strict=True))
    if metric == "euclidean":
        return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


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

    def points(self, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Point]:
        return self.namespaces.get(namespace, {})

    def check(self, vector: Any) -> list[float]:
        if not isinstance(vector, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in vector
        ):
            raise VectorError("bad_request", "vector must be a list of numbers")
        if self.dimension is None:
            self.dimension = len(vector)
        if len(vector) != self.dimension:
            raise VectorError(
                "bad_request",
                f"Vector dimension error: expected dim: {self.dimension}, got {len(vector)}",
            )
        return [float(v) for v in vector]

    def upsert(self, points: list[Point], namespace: str = DEFAULT_NAMESPACE) -> int:
        checked = [(p, self.check(p.vector)) for p in points]  # all or nothing
        target = self.namespaces.setdefault(namespace, {})
        for point, vector in checked:
            point.vector = vector
            target[point.key] = point
        return len(checked)

    def select(
        self, keep: Predicate = everything, namespace: str = DEFAULT_NAMESPACE
    ) -> list[Point]:
        return [p for p in self.points(namespace).values() if keep(p.key, p.metadata)]

    def delete(self, keys: list[str], namespace: str = DEFAULT_NAMESPACE) -> int:
        target = self.points(namespace)
        return sum(target.pop(k, None) is not None for k in keys)

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
        assert self.dimension is not None
        hits = [
            Hit(point, similarity(self.metric, query, point.vector))
            for point in self.select(keep, namespace)
        ]
        ascending = self.metric == "euclidean"
        hits.sort(key=lambda h: h.score if ascending else -h.score)
        return hits[:limit]


class VectorStore:
    def __init__(self) -> None:
        self.collections: dict[str, Collection] = {}
        self._seeded: VectorSpec | None = None

    def seed(self, spec: VectorSpec) -> None:
        """Start over from the spec's collections (at start, on reset, on a changed spec)."""
        self.collections = {c.name: _seeded(c) for c in spec.collections}
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
        collection = Collection(name, dimension, metric, metadata)
        self.collections[name] = collection
        return collection

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
