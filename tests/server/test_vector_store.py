"""The vector store: similarity maths, filters, static results, the stack model's errors and
AIMock's aimock.json `vector` section."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from aimock import aimock_config
from aimock.embedding import deterministic_vector
from aimock.fixtures.loading import LoadError, load_paths
from aimock.models.services.vector import VectorSpec
from aimock.services.vector import filters
from aimock.services.vector.store import Collection, Point, VectorError, VectorStore, similarity


def test_similarity_per_metric() -> None:
    a, b = [1.0, 0.0], [1.0, 1.0]
    assert similarity("cosine", a, b) == pytest.approx(1 / math.sqrt(2))
    assert similarity("dot", a, b) == 1.0
    assert similarity("euclidean", a, b) == 1.0
    assert similarity("cosine", [0.0, 0.0], b) == 0.0  # no division by zero


@pytest.mark.parametrize(
    ("metric", "order"),
    [("cosine", ["b", "a", "c"]), ("dot", ["c", "b", "a"]), ("euclidean", ["a", "b", "c"])],
)
def test_query_is_exact_top_k(metric: str, order: list[str]) -> None:
    collection = Collection("c", 2, metric)  # type: ignore[arg-type]
    vectors = {"a": [1.0, 0.8], "b": [2.0, 2.0], "c": [5.0, 0.0]}
    collection.upsert([Point(k, v) for k, v in vectors.items()])
    hits = collection.query([1.0, 1.0], 3)
    assert [h.point.key for h in hits] == order
    assert [h.point.key for h in collection.query([1.0, 1.0], 1)] == order[:1]


def test_dimension_is_checked_and_upsert_is_all_or_nothing() -> None:
    collection = Collection("c", 2)
    with pytest.raises(VectorError, match="expected dim: 2, got 3") as error:
        collection.upsert([Point("ok", [1.0, 0.0]), Point("bad", [1.0, 0.0, 0.0])])
    assert error.value.kind == "bad_request"
    assert collection.points() == {}
    with pytest.raises(VectorError, match="list of numbers"):
        collection.query(["x", 1], 1)


def test_first_vector_sets_an_open_dimension_and_namespaces_are_apart() -> None:
    collection = Collection("c", None)
    collection.upsert([Point("a", [1.0, 2.0, 3.0])], namespace="one")
    assert collection.dimension == 3
    assert collection.points("two") == {} and list(collection.points("one")) == ["a"]


def test_store_errors_and_seed() -> None:
    store = VectorStore()
    with pytest.raises(VectorError) as missing:
        store.get("nope")
    assert missing.value.kind == "not_found"
    store.create("x", 2, "cosine", {})
    with pytest.raises(VectorError) as taken:
        store.create("x", 2, "cosine", {})
    assert taken.value.kind == "conflict"
    spec = VectorSpec.model_validate(
        {"collections": [{"name": "s", "dimension": 2, "points": [{"id": "1", "vector": [1, 0]}]}]}
    )
    store.follow(spec)
    assert list(store.collections) == ["s"]
    store.collections["s"].upsert([Point("2", [0.0, 1.0])])
    store.follow(VectorSpec.model_validate(spec.model_dump(by_alias=True)))  # equal: data kept
    assert len(store.collections["s"].points()) == 2


def test_static_results_by_vector_text_and_catch_all() -> None:
    spec = VectorSpec.model_validate(
        {
            "collections": [
                {
                    "name": "s",
                    "dimension": 4,
                    "queryResults": [
                        {"match": {"vector": [1, 0, 0, 0]}, "results": [{"id": "v", "score": 1}]},
                        {"match": {"text": "hello"}, "results": [{"id": "t", "score": 0.5}]},
                        {"results": [{"id": "any", "score": 0.1}]},
                    ],
                }
            ]
        }
    )
    store = VectorStore()
    store.seed(spec)
    collection = store.get("s")
    assert collection.query([1.0, 0.0, 0.0, 0.0], 5)[0].point.key == "v"
    assert collection.query(deterministic_vector("hello", 4), 5)[0].point.key == "t"
    assert collection.query([0.0, 1.0, 0.0, 0.0], 5)[0].point.key == "any"


META = {"tag": "x", "n": 2, "tags": ["a", "b"]}


@pytest.mark.parametrize(
    ("expression", "kept"),
    [
        ({"tag": "x"}, True),
        ({"tag": "y"}, False),
        ({"tags": "a"}, True),
        ({"n": {"$gt": 1, "$lte": 2}}, True),
        ({"n": {"$lt": 2}}, False),
        ({"n": {"$ne": 2}}, False),
        ({"tag": {"$in": ["x", "z"]}}, True),
        ({"tag": {"$nin": ["x"]}}, False),
        ({"$and": [{"tag": "x"}, {"n": 3}]}, False),
        ({"$or": [{"tag": "y"}, {"n": 2}]}, True),
        ({"missing": {"$ne": 1}}, False),
    ],
)
def test_where_filters(expression: dict[str, object], kept: bool) -> None:
    assert filters.where(expression)("id", META) is kept


@pytest.mark.parametrize(
    ("expression", "kept"),
    [
        ({"must": [{"key": "tag", "match": {"value": "x"}}]}, True),
        ({"must": [{"key": "n", "range": {"gte": 3}}]}, False),
        ({"should": [{"key": "tag", "match": {"any": ["q"]}}, {"has_id": ["id"]}]}, True),
        ({"must_not": [{"key": "tag", "match": {"except": ["x"]}}]}, True),
        ({"must": [{"must_not": [{"key": "n", "range": {"lt": 5}}]}]}, False),
    ],
)
def test_qdrant_filters(expression: dict[str, object], kept: bool) -> None:
    assert filters.qdrant(expression)("id", META) is kept


@pytest.mark.parametrize(
    "expression",
    [{"n": {"$regex": "x"}}, {"$not": {}}, {"$and": []}, {"n": {"$gt": "1"}}, ["x"]],
)
def test_bad_where_filters_are_refused(expression: object) -> None:
    with pytest.raises(filters.FilterError):
        filters.where(expression)


def test_bad_qdrant_filter_is_refused() -> None:
    with pytest.raises(filters.FilterError):
        filters.qdrant({"must": [{"key": "n"}]})


STACK = """\
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {{name: s}}
spec:
  vector:
    collections:
{collections}
"""


@pytest.mark.parametrize(
    ("collections", "reason"),
    [
        ('      - {name: a, dimension: 2, points: [{id: "1", vector: [1]}]}', "dimension is 2"),
        ("      - {name: a, dimension: 0}", "greater than 0"),
        ("      - {name: a, dimension: 2, metric: l2}", "cosine"),
        ("      - {name: a, dimension: 2}\n      - {name: a, dimension: 3}", "unique: a"),
        (
            "      - {name: a, dimension: 2, queryResults: [{match: {}, results: []}]}",
            "exactly one",
        ),
        ("      - {name: a, dimension: 2, extra: 1}", "collections[0].extra: unknown field"),
    ],
)
def test_model_errors_name_the_reason(tmp_path: Path, collections: str, reason: str) -> None:
    file = tmp_path / "stack.yaml"
    file.write_text(STACK.format(collections=collections))
    with pytest.raises(LoadError) as error:
        load_paths([file])
    assert reason in "\n".join(str(p) for p in error.value.problems)


def test_aimock_json_vector_section(tmp_path: Path) -> None:
    file = tmp_path / "aimock.json"
    section = {
        "path": "/vector",
        "collections": [
            {
                "name": "docs",
                "dimension": 2,
                "vectors": [{"id": 1, "values": [1, 0], "metadata": {"t": "a"}}],
                "queryResults": [{"id": 1, "score": 0.9, "metadata": {"t": "a"}}],
            }
        ],
    }
    file.write_text(json.dumps({"vector": section}))
    spec = aimock_config.load(file).sections.get("vector")
    assert spec is not None
    [collection] = spec.collections
    assert collection.points[0].id == "1" and collection.points[0].metadata == {"t": "a"}
    assert collection.query_results[0].match is None
    assert collection.query_results[0].results[0].score == 0.9


def test_aimock_json_bad_vector_section_names_the_field(tmp_path: Path) -> None:
    file = tmp_path / "aimock.json"
    file.write_text(json.dumps({"vector": {"collections": [{"name": "d", "dimension": "x"}]}}))
    with pytest.raises(aimock_config.ConfigError, match=r"vector\.collections\.0\.dimension"):
        aimock_config.load(file)
