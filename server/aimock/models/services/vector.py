"""The vector store model: what a stack file's `vector.collections` (and AIMock's `vector`
section) define.

A collection has a name, a dimension, a similarity metric, seed points, and optional static
query results: a query whose vector equals a result's `match.vector` (or the deterministic
embedding of its `match.text`, the vector aimock's embeddings endpoints return for that text)
gets those results instead of a similarity search. Every dialect (Qdrant, Chroma, Pinecone)
serves the same collections. Like the fixture model, every field is described and unknown
keys are errors. `limits` caps what requests may make the store hold (collections, points per
collection, bytes), so no client can grow the server's memory without bound.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, PositiveInt, model_validator

from aimock.models.base import Section, SpecModel

Metric = Literal["cosine", "dot", "euclidean"]
Dialect = Literal["qdrant", "chroma", "pinecone"]
DIALECTS: tuple[Dialect, ...] = ("qdrant", "chroma", "pinecone")
_NAME = r"^[A-Za-z0-9._-]+$"
# A mount path: absolute, no trailing slash, plain characters.
_PATH = r"^(/[A-Za-z0-9._~-]+)+$"


class SeedPoint(SpecModel):
    id: str = Field(
        min_length=1,
        description="Point id (Qdrant renders an all-digit id as an unsigned integer).",
    )
    vector: list[float] = Field(description="The point's vector; its length is the dimension.")
    metadata: dict[str, Any] | None = Field(
        None, description="Metadata (Qdrant payload) that filters match on."
    )
    document: str | None = Field(None, description="Document text (Chroma `documents`).")
    namespace: str = Field("", description="Namespace (Pinecone); empty is the default one.")


class QueryMatch(SpecModel):
    vector: list[float] | None = Field(None, description="The query vector, exactly.")
    text: str | None = Field(
        None, description="A text whose deterministic aimock embedding is the query vector."
    )

    @model_validator(mode="after")
    def _one(self) -> QueryMatch:
        if (self.vector is None) == (self.text is None):
            raise ValueError("give exactly one of vector, text")
        return self


class StaticResult(SpecModel):
    id: str = Field(min_length=1, description="Id of the returned point.")
    score: float = Field(description="Score reported as is (Chroma: its distance).")
    metadata: dict[str, Any] | None = Field(None, description="Metadata returned with it.")
    document: str | None = Field(None, description="Document returned with it (Chroma).")


class QueryResults(SpecModel):
    match: QueryMatch | None = Field(
        None, description="Which query these results answer; absent: every query."
    )
    results: list[StaticResult] = Field(description="The results, best first.")


class VectorCollection(SpecModel):
    name: str = Field(pattern=_NAME, description="Collection (Qdrant, Chroma) name.")
    dimension: PositiveInt = Field(description="Length of every vector in the collection.")
    metric: Metric = Field("cosine", description="Similarity: cosine, dot or euclidean.")
    points: list[SeedPoint] = Field(default_factory=list, description="Seed points.")
    query_results: list[QueryResults] = Field(
        default_factory=list, description="Static answers to given query vectors."
    )
    dialects: list[Dialect] | None = Field(
        None,
        description="The databases that hold it (qdrant, chroma, pinecone); absent: each of "
        "them holds its own copy.",
    )

    @model_validator(mode="after")
    def _dimensions(self) -> VectorCollection:
        vectors = [(f"points[{p.id}]", p.vector) for p in self.points]
        vectors += [
            (f"queryResults[{i}].match", q.match.vector)
            for i, q in enumerate(self.query_results)
            if q.match is not None and q.match.vector is not None
        ]
        for where, vector in vectors:
            if len(vector) != self.dimension:
                raise ValueError(
                    f"{where}: vector has {len(vector)} values, the dimension is {self.dimension}"
                )
            if not all(math.isfinite(v) for v in vector):
                raise ValueError(f"{where}: vector values must be finite numbers")
        return self


class VectorLimits(SpecModel):
    """What each database's store may hold. The real databases are bounded by disk and plan, a mock
    by one process's memory: past a cap a write is refused in the dialect's quota error
    (Qdrant 400, Chroma 400 `QuotaError`, Pinecone 403 `QUOTA_EXCEEDED`)."""

    # Pinecone allows 5 to 200 serverless indexes per project by plan, Chroma Cloud 1,000,000
    # collections, Qdrant has no cap: a test suite needs a handful.
    max_collections: PositiveInt = Field(
        1000, description="Most collections (Pinecone indexes) a database holds at once."
    )
    # Chroma Cloud allows 5,000,000 records per collection; Qdrant and Pinecone have no count cap.
    # Ours is low because a query scores every point of its collection in Python, holding every
    # other request meanwhile (10,000 points of 384 values: 140 ms): a mock's collection holds
    # what a test needs, not a corpus.
    max_points_per_collection: PositiveInt = Field(
        10_000, description="Most points one collection holds, over all its namespaces."
    )
    # The bound that matters for memory: every vector value counts 8 bytes, ids, documents and
    # metadata their JSON size (Python's own objects take a few times more).
    max_stored_bytes: PositiveInt = Field(
        64 * 1024 * 1024,
        description="Most bytes of vectors, ids, documents and metadata a database holds.",
    )


class VectorSpec(SpecModel):
    """The vector databases (Qdrant, Chroma, Pinecone): separate stores, as separate servers
    would be, each seeded with the collections meant for it, at start and after a reset."""

    collections: list[VectorCollection] = Field(
        default_factory=list, description="Collections with seed points and static results."
    )
    path: str | None = Field(
        None,
        pattern=_PATH,
        description="A path every dialect also answers under, beside its own paths (AIMock's "
        "vector.path, e.g. /vector). Read at start.",
    )
    limits: VectorLimits = Field(
        default_factory=VectorLimits,
        description="Caps on what requests may make the store hold (collections, points, bytes).",
    )

    @model_validator(mode="after")
    def require_unique(self) -> VectorSpec:
        names = [c.name for c in self.collections]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"collection names must be unique: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _within_limits(self) -> VectorSpec:
        limits = self.limits
        if len(self.collections) > limits.max_collections:
            raise ValueError(
                f"{len(self.collections)} collections, limits.maxCollections is "
                f"{limits.max_collections}"
            )
        for collection in self.collections:
            if len(collection.points) > limits.max_points_per_collection:
                raise ValueError(
                    f"collection {collection.name} seeds {len(collection.points)} points, "
                    f"limits.maxPointsPerCollection is {limits.max_points_per_collection}"
                )
        return self


SECTION = Section(
    key="vector",
    model=VectorSpec,
    description="Vector collections served by the Qdrant (/collections), Chroma (/api/v2) "
    "and Pinecone (/indexes) dialects: dimension, metric, seed points, static results, and "
    "the limits on what requests may store.",
    inventory=("vector collections", "collections"),
)
