"""Hostile input to the vector databases (issue 12): Qdrant, Chroma and Pinecone answer every
malformed or oversized request in their own error envelope with the real API's status, never
a 5xx or a traceback, and the store holds no more than its limits.

Against real server processes: regression tests for each reported finding and each limit,
then a property-based fuzz per database that takes valid example bodies of every route and
mutates one field to a hostile value (wrong type, huge or negative number, NaN-ish float,
deep-ish nesting, odd string), checking after each request that the answer is in the
database's envelope, the journal is readable, a normal request is still served, and the log
holds no traceback.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.models.services.vector import VectorSpec
from tests import mutation
from tests.conftest import ServerProcess, start_server

SEEDS = """\
        points:
          - {id: "1", vector: [1, 0, 0], metadata: {tag: x, n: 1}, document: "seed one"}
          - {id: "2", vector: [0, 1, 0], metadata: {tag: y, n: 2}, document: "seed two"}
          - {id: "3", vector: [0, 0, 1], metadata: {tag: x, n: 3, tags: [a, b]}, document: "three"}
"""
STACK = (
    """\
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {name: vector-hostile}
spec:
  vector:
__LIMITS__
    collections:
      - name: fz
        dimension: 3
        metric: cosine
"""
    + SEEDS
    + """\
      - name: fzeu
        dimension: 3
        metric: euclidean
"""
    + SEEDS
)
# Small enough to reach in a few requests: two seeded collections, three points each.
SMALL_LIMITS = "    limits: {maxCollections: 3, maxPointsPerCollection: 5, maxStoredBytes: 4000}"
CHROMA = "/api/v2/tenants/default_tenant/databases/default_database"


def _start(tmp: Path, limits: str = "") -> ServerProcess:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "stack.yaml").write_text(STACK.replace("__LIMITS__", limits))
    return start_server(["-f", str(tmp)])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = _start(tmp_path_factory.mktemp("vector-hostile"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = _start(tmp_path_factory.mktemp("vector-small"), SMALL_LIMITS)
    yield running
    running.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    server.reset()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


# --- envelopes -----------------------------------------------------------------------------------


def qdrant_error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) >= {"status", "time"}, body
    message: str = body["status"]["error"]
    assert isinstance(message, str)
    return message


def chroma_error(response: httpx.Response) -> str:
    body = response.json()
    assert isinstance(body["error"], str) and isinstance(body["message"], str), body
    return f"{body['error']}: {body['message']}"


def pinecone_error(response: httpx.Response) -> str:
    body = response.json()
    assert body["status"] == response.status_code, body
    assert isinstance(body["error"]["code"], str), body
    assert isinstance(body["error"]["message"], str), body
    return f"{body['error']['code']}: {body['error']['message']}"


def refused(
    response: httpx.Response, status: int, envelope: Callable[[httpx.Response], str]
) -> str:
    assert response.status_code == status, response.text
    return envelope(response)


# --- regressions: each finding of the issue -----------------------------------------------------


def test_qdrant_distance_of_the_wrong_type(client: httpx.Client) -> None:
    for distance in ([], ["Cosine"], {"x": 1}, 1):
        response = client.put(
            "/collections/d1", json={"vectors": {"size": 3, "distance": distance}}
        )
        assert "Format error in JSON body" in refused(response, 400, qdrant_error)
    assert client.get("/collections/d1/exists").json()["result"]["exists"] is False


def test_qdrant_points_that_are_not_a_list(client: httpx.Client) -> None:
    upsert = client.put("/collections/fz/points", json={"points": 0})
    assert "points" in refused(upsert, 400, qdrant_error)
    delete = client.post("/collections/fz/points/delete", json={"points": 0})
    assert "points" in refused(delete, 400, qdrant_error)
    retrieve = client.post("/collections/fz/points", json={"ids": 0})
    assert "ids" in refused(retrieve, 400, qdrant_error)


def test_qdrant_range_that_is_not_an_object(client: httpx.Client) -> None:
    body = {"filter": {"must": [{"key": "n", "range": 1.5}]}}
    response = client.post("/collections/fz/points/scroll", json=body)
    assert "range" in refused(response, 400, qdrant_error)


def test_qdrant_has_id_null(client: httpx.Client) -> None:
    for has_id in (None, 1, [[1]], [True]):
        body = {"filter": {"must": [{"has_id": has_id}]}}
        response = client.post("/collections/fz/points/count", json=body)
        assert "has_id" in refused(response, 400, qdrant_error)


def nested(levels: int) -> dict[str, Any]:
    """A Qdrant filter of `levels` nested `must`s (two JSON levels each)."""
    condition: dict[str, Any] = {"key": "tag", "match": {"value": "x"}}
    for _ in range(levels):
        condition = {"must": [condition]}
    return condition


def test_qdrant_deep_filters(client: httpx.Client) -> None:
    deep_but_allowed = client.post("/collections/fz/points/count", json={"filter": nested(60)})
    assert deep_but_allowed.status_code == 200
    assert deep_but_allowed.json()["result"]["count"] == 2
    too_deep = client.post("/collections/fz/points/count", json={"filter": nested(200)})
    assert "nested deeper" in refused(too_deep, 400, qdrant_error)


def test_qdrant_scroll_limit_nested_or_negative(client: httpx.Client) -> None:
    for limit in ([[1]], {"a": 1}, "2", 1.5, True, -1, 2**64):
        response = client.post("/collections/fz/points/scroll", json={"limit": limit})
        assert "limit" in refused(response, 400, qdrant_error)
    zero = client.post("/collections/fz/points/scroll", json={"limit": 0})
    assert "Validation error in JSON body" in refused(zero, 422, qdrant_error)


def test_chroma_include_of_the_wrong_type(client: httpx.Client) -> None:
    for include in (["metadatas", 1], ["nope"], "metadatas", [["metadatas"]]):
        response = client.post(f"{CHROMA}/collections/fz/get", json={"include": include})
        assert "InvalidArgumentError" in refused(response, 400, chroma_error)


def test_chroma_contains_of_the_wrong_type(client: httpx.Client) -> None:
    for document in ({"$contains": []}, {"$not_contains": 1}, [], {"$regex": "x"}):
        body = {"where_document": document}
        response = client.post(f"{CHROMA}/collections/fz/get", json=body)
        assert "InvalidArgumentError" in refused(response, 400, chroma_error)


def test_chroma_ids_of_the_wrong_type(client: httpx.Client) -> None:
    add = client.post(f"{CHROMA}/collections/fz/add", json={"ids": 0, "embeddings": [[1, 0, 0]]})
    assert "ids" in refused(add, 400, chroma_error)
    for route in ("get", "delete", "query"):
        body = {"ids": [[1]], "query_embeddings": [[1, 0, 0]]}
        response = client.post(f"{CHROMA}/collections/fz/{route}", json=body)
        assert "ids" in refused(response, 400, chroma_error)


def test_chroma_metadatas_of_the_wrong_type(client: httpx.Client) -> None:
    for metadatas in (1, [1], [{"nested": {"a": 1}}], [{"a": 1}, {"b": 2}]):
        body = {"ids": ["z"], "embeddings": [[1, 0, 0]], "metadatas": metadatas}
        response = client.post(f"{CHROMA}/collections/fz/upsert", json=body)
        assert "metadatas" in refused(response, 400, chroma_error)
    assert client.get(f"{CHROMA}/collections/fz/count").json() == 3


def test_chroma_n_results_of_the_wrong_type(client: httpx.Client) -> None:
    for n_results in ([1], "1", 1.5, -1, 0, 2**32):
        body = {"query_embeddings": [[1, 0, 0]], "n_results": n_results}
        response = client.post(f"{CHROMA}/collections/fz/query", json=body)
        assert "n_results" in refused(response, 400, chroma_error)


def test_pinecone_schema_that_is_not_an_object(client: httpx.Client) -> None:
    for schema in ("x", [], {"fields": "x"}, {"fields": {"e": "dense_vector"}}):
        response = client.post("/indexes", json={"name": "p1", "schema": schema})
        assert "INVALID_ARGUMENT" in refused(response, 400, pinecone_error)


def test_pinecone_metric_of_the_wrong_type(client: httpx.Client) -> None:
    for metric in ([], ["cosine"], 1, "l2"):
        field = {"type": "dense_vector", "dimension": 3, "metric": metric}
        response = client.post("/indexes", json={"name": "p1", "schema": {"fields": {"e": field}}})
        assert "metric" in refused(response, 400, pinecone_error)
    assert client.get("/indexes/p1").status_code == 404


# --- regressions: the real APIs' limits ---------------------------------------------------------


def test_qdrant_vector_size_is_at_most_65536(client: httpx.Client) -> None:
    too_large = client.put("/collections/big", json={"vectors": {"size": 65537, "distance": "Dot"}})
    assert "vectors.size" in refused(too_large, 422, qdrant_error)
    huge = client.put("/collections/big", json={"vectors": {"size": 2**63, "distance": "Dot"}})
    assert huge.status_code in (400, 422)
    qdrant_error(huge)
    largest = client.put("/collections/big", json={"vectors": {"size": 65536, "distance": "Dot"}})
    assert largest.status_code == 200


def test_pinecone_top_k_and_dimension_limits(client: httpx.Client) -> None:
    query = client.post("/pinecone/fz/query", json={"vector": [1, 0, 0], "topK": 10_001})
    assert "topK" in refused(query, 400, pinecone_error)
    assert client.post("/pinecone/fz/query", json={"vector": [1, 0, 0], "topK": 10_000}).is_success
    field = {"type": "dense_vector", "dimension": 20_001, "metric": "cosine"}
    create = client.post("/indexes", json={"name": "wide", "schema": {"fields": {"e": field}}})
    assert "dimension" in refused(create, 400, pinecone_error)


def test_pinecone_batches_are_at_most_1000(client: httpx.Client) -> None:
    vectors = [{"id": str(i), "values": [1, 0, 0]} for i in range(1001)]
    upsert = client.post("/pinecone/fz/vectors/upsert", json={"vectors": vectors})
    assert "vectors" in refused(upsert, 400, pinecone_error)
    delete = client.post("/pinecone/fz/vectors/delete", json={"ids": [str(i) for i in range(1001)]})
    assert "ids" in refused(delete, 400, pinecone_error)
    fetch = client.get("/pinecone/fz/vectors/fetch", params=[("ids", str(i)) for i in range(1001)])
    assert "ids" in refused(fetch, 400, pinecone_error)
    metadata = {"text": "x" * (41 * 1024)}
    heavy = client.post(
        "/pinecone/fz/vectors/upsert",
        json={"vectors": [{"id": "h", "values": [1, 0, 0], "metadata": metadata}]},
    )
    assert "Metadata size" in refused(heavy, 400, pinecone_error)


def test_chroma_batches_are_at_most_max_batch_size(client: httpx.Client) -> None:
    most = client.get("/api/v2/pre-flight-checks").json()["max_batch_size"]
    ids = [f"r{i}" for i in range(most + 1)]
    body = {"ids": ids, "embeddings": [[1, 0, 0]] * len(ids)}
    response = client.post(f"{CHROMA}/collections/fz/add", json=body)
    assert "ids" in refused(response, 400, chroma_error)
    repeated = {"ids": ["a", "a"], "embeddings": [[1, 0, 0]] * 2}
    duplicates = client.post(f"{CHROMA}/collections/fz/add", json=repeated)
    assert "unique" in refused(duplicates, 400, chroma_error)


def test_a_filter_is_bounded_in_size(client: httpx.Client) -> None:
    """A filter runs once per point: at most 100 objects, 10,000 values per list."""
    many = {"$or": [{"n": i} for i in range(101)]}
    pinecone = client.post(
        "/pinecone/fz/query", json={"vector": [1, 0, 0], "topK": 1, "filter": many}
    )
    assert "at most 100" in refused(pinecone, 400, pinecone_error)
    members = {"tag": {"$in": [str(i) for i in range(10_001)]}}
    chroma = client.post(f"{CHROMA}/collections/fz/get", json={"where": members})
    assert "at most 10000" in refused(chroma, 400, chroma_error)
    within = {"tag": {"$in": ["x", *(str(i) for i in range(9_999))]}}
    assert (
        len(client.post(f"{CHROMA}/collections/fz/get", json={"where": within}).json()["ids"]) == 2
    )
    # Qdrant: a condition and its match are two objects.
    conditions = {"should": [{"key": "n", "match": {"value": i}} for i in range(45)]}
    assert client.post("/collections/fz/points/count", json={"filter": conditions}).is_success
    conditions = {"should": [{"key": "n", "match": {"value": i}} for i in range(60)]}
    qdrant = client.post("/collections/fz/points/count", json={"filter": conditions})
    assert "at most 100" in refused(qdrant, 400, qdrant_error)


def test_values_near_the_float_maximum_do_not_overflow(client: httpx.Client) -> None:
    big = [1e308, -1e308, 1e308]
    for collection in ("fz", "fzeu"):
        upsert = client.put(
            f"/collections/{collection}/points", json={"points": [{"id": 9, "vector": big}]}
        )
        assert upsert.status_code == 200
        query = client.post(f"/collections/{collection}/points/query", json={"query": big})
        assert query.status_code == 200
        chroma = client.post(
            f"{CHROMA}/collections/{collection}/query", json={"query_embeddings": [big]}
        )
        assert chroma.status_code == 200
        pinecone = client.post(f"/pinecone/{collection}/query", json={"vector": big, "topK": 5})
        assert pinecone.status_code == 200


def test_the_store_limits_answer_each_databases_quota_error(small: ServerProcess) -> None:
    small.reset()
    dense = {"fields": {"e": {"type": "dense_vector", "dimension": 3, "metric": "cosine"}}}
    with httpx.Client(base_url=small.url, timeout=30) as http:
        # Each database is its own store: two seeded collections each; a third fills it.
        assert http.put("/collections/c3", json={"vectors": {"size": 3}}).status_code == 200
        qdrant = http.put("/collections/c4", json={"vectors": {"size": 3}})
        assert "Bad request" in refused(qdrant, 400, qdrant_error)
        assert http.post(f"{CHROMA}/collections", json={"name": "c3x"}).status_code == 200
        chroma = http.post(f"{CHROMA}/collections", json={"name": "c4x"})
        assert "QuotaError" in refused(chroma, 400, chroma_error)
        assert http.post("/indexes", json={"name": "c3", "schema": dense}).status_code < 300
        pinecone = http.post("/indexes", json={"name": "c4", "schema": dense})
        assert "QUOTA_EXCEEDED" in refused(pinecone, 403, pinecone_error)
        # Three seeded points, five at most per collection.
        points = [{"id": i, "vector": [1, 0, 0]} for i in (10, 11, 12)]
        full = http.put("/collections/fz/points", json={"points": points})
        assert "5" in refused(full, 400, qdrant_error)
        assert http.post("/collections/fz/points/count", json={}).json()["result"]["count"] == 3
        # Replacing points holds no more: an upsert of known ids is always within the count.
        again = [{"id": i, "vector": [0, 1, 0]} for i in (1, 2, 3)]
        assert http.put("/collections/fz/points", json={"points": again}).status_code == 200
        # The bytes: long documents fill the store's 4000 bytes before its point limit.
        documents = {
            "ids": ["d1", "d2"],
            "embeddings": [[1, 0, 0]] * 2,
            "documents": ["x" * 2500] * 2,
        }
        heavy = http.post(f"{CHROMA}/collections/fzeu/add", json=documents)
        assert "QuotaError" in refused(heavy, 400, chroma_error)
        # Dropping a collection makes room.
        assert http.delete("/collections/c3").status_code == 200
        assert http.put("/collections/c4", json={"vectors": {"size": 3}}).status_code == 200
    assert "Traceback" not in "".join(small.output)


def test_seeds_over_the_limits_are_refused_at_load() -> None:
    collection = {
        "name": "s",
        "dimension": 1,
        "points": [{"id": str(i), "vector": [1]} for i in range(3)],
    }
    with pytest.raises(ValueError, match="maxPointsPerCollection"):
        VectorSpec.model_validate(
            {"collections": [collection], "limits": {"maxPointsPerCollection": 2}}
        )
    with pytest.raises(ValueError, match="maxCollections"):
        VectorSpec.model_validate(
            {
                "collections": [{"name": n, "dimension": 1} for n in "abc"],
                "limits": {"maxCollections": 2},
            }
        )


# --- the fuzz ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any = None
    params: tuple[tuple[str, str], ...] = ()


Q = "/collections/fz"
QE = "/collections/fzeu"
QDRANT_FILTER = {
    "must": [{"key": "tag", "match": {"value": "x"}}],
    "should": [{"key": "n", "range": {"gte": 0, "lt": 5}}, {"has_id": [1, 2]}],
    "must_not": [
        {"key": "tag", "match": {"except": ["z"]}},
        {"must": [{"key": "tags", "match": {"any": ["q"]}}]},
    ],
}
QDRANT_CALLS = [
    Call("PUT", "/collections/made", {"vectors": {"size": 3, "distance": "Cosine"}}),
    Call(
        "PUT",
        f"{Q}/points",
        {
            "points": [
                {"id": 10, "vector": [0.1, 0.2, 0.3], "payload": {"tag": "x", "n": 1}},
                {
                    "id": "5c56c793-69f3-4fbf-87e6-c4bf54c28c26",
                    "vector": [1, 0, 0],
                    "payload": None,
                },
            ]
        },
    ),
    Call("POST", f"{Q}/points", {"ids": [1, 2], "with_payload": True, "with_vector": True}),
    Call(
        "POST",
        f"{Q}/points/query",
        {
            "query": [1, 0, 0],
            "limit": 2,
            "offset": 0,
            "filter": QDRANT_FILTER,
            "with_payload": {"include": ["tag"]},
            "with_vector": False,
            "score_threshold": 0.0,
        },
    ),
    Call(
        "POST",
        f"{QE}/points/query",
        {"query": {"nearest": [1, 0, 0]}, "limit": 1, "with_payload": ["n"]},
    ),
    Call("POST", f"{Q}/points/query", {"query": 1, "limit": 3}),
    Call(
        "POST",
        f"{QE}/points/search",
        {
            "vector": [1, 0, 0],
            "limit": 3,
            "filter": {"must": [{"key": "tag", "match": {"any": ["x", "y"]}}]},
        },
    ),
    Call("POST", f"{Q}/points/delete", {"points": [3]}),
    Call(
        "POST", f"{Q}/points/delete", {"filter": {"must": [{"key": "tag", "match": {"text": "y"}}]}}
    ),
    Call(
        "POST",
        f"{Q}/points/scroll",
        {
            "limit": 2,
            "offset": 1,
            "filter": QDRANT_FILTER,
            "with_payload": {"exclude": ["n"]},
            "with_vector": True,
        },
    ),
    Call(
        "POST",
        f"{Q}/points/count",
        {"filter": {"must": [{"key": "n", "range": {"gt": 0}}]}, "exact": True},
    ),
    Call("GET", Q),
    Call("DELETE", QE),
]

C = f"{CHROMA}/collections/fz"
CE = f"{CHROMA}/collections/fzeu"
RECORDS = {
    "ids": ["a", "b"],
    "embeddings": [[1, 0, 0], [0, 1, 0]],
    "metadatas": [{"n": 1, "tag": "x", "tags": ["p", "q"]}, None],
    "documents": ["hello", None],
}
CHROMA_WHERE = {
    "$or": [{"tag": {"$in": ["x", "y"]}}, {"$and": [{"n": {"$gte": 1}}, {"n": {"$ne": 3}}]}]
}
CHROMA_CALLS = [
    Call(
        "POST",
        f"{CHROMA}/collections",
        {
            "name": "made",
            "metadata": {"hnsw:space": "cosine", "k": 1},
            "configuration": {"hnsw": {"space": "ip"}},
            "get_or_create": True,
        },
    ),
    Call("PUT", CE, {"new_name": "renamed", "new_metadata": {"a": "b"}}),
    Call("POST", f"{C}/add", RECORDS),
    Call("POST", f"{CE}/upsert", RECORDS),
    Call("POST", f"{C}/update", {**RECORDS, "ids": ["1", "2"]}),
    Call(
        "POST",
        f"{C}/get",
        {
            "ids": ["1", "3"],
            "where": CHROMA_WHERE,
            "where_document": {"$contains": "seed"},
            "include": ["metadatas", "documents", "embeddings"],
            "limit": 5,
            "offset": 0,
        },
    ),
    Call(
        "POST",
        f"{CE}/query",
        {
            "query_embeddings": [[1, 0, 0], [0, 1, 0]],
            "n_results": 2,
            "where": CHROMA_WHERE,
            "where_document": {"$not_contains": "zzz"},
            "include": ["metadatas", "distances"],
        },
    ),
    Call("POST", f"{C}/delete", {"ids": ["1"], "where": {"tag": "x"}}),
    Call("GET", f"{CHROMA}/collections", params=(("limit", "1"), ("offset", "0"))),
    Call("GET", f"{C}/count"),
    Call("DELETE", CE),
]

P = "/pinecone/fz"
PINECONE_FILTER = {"$and": [{"tag": {"$eq": "x"}}, {"n": {"$lt": 10}}, {"tags": {"$nin": ["z"]}}]}
PINECONE_CALLS = [
    Call(
        "POST",
        "/indexes",
        {
            "name": "made",
            "schema": {
                "fields": {
                    "emb": {"type": "dense_vector", "dimension": 3, "metric": "dotproduct"},
                    "title": {"type": "string", "filterable": True},
                }
            },
            "deployment": {"deployment_type": "managed", "cloud": "aws", "region": "us-east-1"},
        },
    ),
    Call(
        "POST",
        f"{P}/vectors/upsert",
        {
            "vectors": [
                {
                    "id": "a",
                    "values": [1, 0, 0],
                    "metadata": {"tag": "x", "n": 2, "tags": ["a"], "ok": True},
                },
                {"id": "b", "values": [0.5, 0.5, 0]},
            ],
            "namespace": "ns",
        },
    ),
    Call(
        "POST",
        f"{P}/query",
        {
            "vector": [1, 0, 0],
            "topK": 2,
            "namespace": "",
            "filter": PINECONE_FILTER,
            "includeValues": True,
            "includeMetadata": True,
        },
    ),
    Call("POST", "/pinecone/fzeu/query", {"id": "1", "topK": 1, "includeMetadata": False}),
    Call("POST", f"{P}/vectors/delete", {"ids": ["1"], "namespace": ""}),
    Call("POST", f"{P}/vectors/delete", {"deleteAll": True, "namespace": "ns"}),
    Call("POST", f"{P}/vectors/delete", {"filter": {"tag": "x"}}),
    Call("POST", f"{P}/describe_index_stats", {"filter": {"n": {"$gt": 0}}}),
    Call("GET", f"{P}/vectors/fetch", params=(("ids", "1"), ("ids", "2"), ("namespace", ""))),
    Call("GET", "/indexes/fz"),
    Call("DELETE", "/indexes/fzeu"),
]


def _big_nest(levels: int) -> Any:
    value: Any = 1
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


ODD_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "../..",
        "$and",
        "$gt",
        "NaN",
        "Infinity",
        "-1",
        "1e999",
        "名前",
        "💥" * 50,
        "a" * 5000,
    ]
)
HUGE_NUMBERS = st.sampled_from(
    [
        0,
        -1,
        -(2**63),
        2**31,
        2**32,
        2**53 + 1,
        2**63 - 1,
        2**64 - 1,
        2**64,
        10**30,
        1e308,
        -1e308,
        5e-324,
        -0.0,
        0.5,
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    HUGE_NUMBERS,
    ODD_STRINGS,
    st.floats(allow_nan=True, allow_infinity=True),
)
HOSTILE = st.one_of(
    SCALARS,
    st.sampled_from(
        [[], {}, [[1]], [None], ["x"], {"a": {"b": 1}}, [1e308] * 3, [-1] * 3, [True, False, True]]
    ),
    st.integers(min_value=2, max_value=60).map(_big_nest),  # deep-ish, under the JSON limit
    st.sampled_from([_big_nest(140)]),  # over it
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ODD_STRINGS, inner, max_size=3),
        max_leaves=8,
    ),
)
RAW_BODIES = st.sampled_from(
    [
        b"",
        b"null",
        b"[]",
        b"{",
        b"NaN",
        b'"x"',
        b"0",
        b"\xff\xfe",
        json.dumps(_big_nest(300)).encode(),
    ]
)
# Where a mutation lands: a path of keys and indexes into the body (() is the whole body).
Where = tuple[Any, ...]


def _mutated(body: Any, path: Where, action: str, hostile: Any) -> Any:
    if not path:
        return hostile
    changed = copy.deepcopy(body)
    parent = mutation.at(changed, path[:-1])
    if action == "drop" and isinstance(parent, dict):
        return mutation.delete_at(changed, path)
    if action == "extra" and isinstance(parent, dict):
        parent["unexpected"] = hostile
        return changed
    return mutation.set_at(changed, path, hostile)


@st.composite
def hostile_calls(draw: st.DrawFn, calls: list[Call]) -> tuple[Call, bytes]:
    call = draw(st.sampled_from(calls))
    if call.body is None or draw(st.integers(0, 9)) == 0:  # the body itself, or no valid one
        params = call.params
        if params and draw(st.booleans()):
            name = draw(st.sampled_from([p[0] for p in params]))
            params = (*params, (name, draw(ODD_STRINGS | HUGE_NUMBERS.map(str))))
        raw = draw(RAW_BODIES) if call.method != "GET" else b""
        return Call(call.method, call.path, None, params), raw
    path = draw(st.sampled_from(mutation.places(call.body)))
    action = draw(st.sampled_from(["replace", "replace", "drop", "extra"]))
    body = _mutated(call.body, path, action, draw(HOSTILE))
    # The standard library writes NaN and Infinity as JSON does not allow: a malformed body.
    return call, json.dumps(body).encode()


@dataclass(frozen=True)
class Database:
    calls: list[Call]
    envelope: Callable[[httpx.Response], str]
    normal: Call  # a request that must still be served after any other


DATABASES = {
    "qdrant": Database(
        QDRANT_CALLS, qdrant_error, Call("POST", f"{Q}/points/query", {"query": [1, 0, 0]})
    ),
    "chroma": Database(
        CHROMA_CALLS, chroma_error, Call("POST", f"{C}/query", {"query_embeddings": [[1, 0, 0]]})
    ),
    "pinecone": Database(
        PINECONE_CALLS, pinecone_error, Call("POST", f"{P}/query", {"vector": [1, 0, 0], "topK": 3})
    ),
}


def _send(http: httpx.Client, call: Call, raw: bytes | None = None) -> httpx.Response:
    content = (
        raw if raw is not None else (None if call.body is None else json.dumps(call.body).encode())
    )
    headers = {"Content-Type": "application/json"} if content is not None else {}
    return http.request(
        call.method, call.path, params=call.params, content=content, headers=headers
    )


def _check_every_database(
    server: ServerProcess, database: Database, call: Call, raw: bytes
) -> None:
    server.reset()  # each example starts from the seeded store
    seen = len(server.output)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        response = _send(http, call, raw)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            database.envelope(response)
        journal = http.get("/__aimock/journal")
        assert journal.status_code == 200
        assert isinstance(journal.json(), list)
        assert _send(http, database.normal).status_code == 200
    log = "".join(server.output[seen:])
    assert "Traceback" not in log and " ERROR " not in log, log


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(hostile_calls(QDRANT_CALLS))
def test_qdrant_fuzz(server: ServerProcess, drawn: tuple[Call, bytes]) -> None:
    _check_every_database(server, DATABASES["qdrant"], *drawn)


@FUZZ
@given(hostile_calls(CHROMA_CALLS))
def test_chroma_fuzz(server: ServerProcess, drawn: tuple[Call, bytes]) -> None:
    _check_every_database(server, DATABASES["chroma"], *drawn)


@FUZZ
@given(hostile_calls(PINECONE_CALLS))
def test_pinecone_fuzz(server: ServerProcess, drawn: tuple[Call, bytes]) -> None:
    _check_every_database(server, DATABASES["pinecone"], *drawn)


@pytest.mark.parametrize("name", list(DATABASES))
def test_every_valid_example_is_served(server: ServerProcess, name: str) -> None:
    """The fuzz's starting points are valid requests: each one succeeds on the seeded store."""
    database = DATABASES[name]
    for call in database.calls:
        server.reset()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            response = _send(http, call)
        assert response.status_code in (200, 201, 202), (call, response.text)
