"""Vector databases driven by their official clients (qdrant-client, chromadb HttpClient,
pinecone) against a real server process loaded with tests/sdk/fixtures_vector (a seeded `seeded`
collection with static query results) and tests/sdk/fixtures (for the embeddings)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import httpx
import openai
import pytest
from chromadb.errors import InvalidArgumentError, NotFoundError
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.conftest import ServerProcess, start_server

HERE = Path(__file__).resolve().parent
# Hand-made vectors whose neighbour order differs by metric for the query (1, 1, 0):
# cosine prefers the aligned `b`, dot the long `c`, euclidean the close `a`.
VECTORS = {"a": [1.0, 0.8, 0.0], "b": [2.0, 2.0, 0.0], "c": [5.0, 0.0, 0.0], "d": [0.0, 0.0, 1.0]}
QUERY = [1.0, 1.0, 0.0]
ORDERS = {
    "cosine": ["b", "a", "c", "d"],
    "dot": ["c", "b", "a", "d"],
    "euclidean": ["a", "b", "d", "c"],
}
QDRANT_DISTANCES = {
    "cosine": models.Distance.COSINE,
    "dot": models.Distance.DOT,
    "euclidean": models.Distance.EUCLID,
}
CHROMA_SPACES = {"cosine": "cosine", "dot": "ip", "euclidean": "l2"}
IDS = {name: index + 1 for index, name in enumerate(VECTORS)}  # Qdrant ids are integers
NAMES = {index: name for name, index in IDS.items()}
PAYLOADS = {"a": {"n": 1, "tag": "x"}, "b": {"n": 2, "tag": "y"}, "c": {"n": 3, "tag": "x"}}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = start_server(["-f", str(HERE / "fixtures_vector"), "-f", str(HERE / "fixtures")])
    yield process
    process.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- Qdrant --------------------------------------------------------------------------------------


@pytest.fixture
def qdrant(server: ServerProcess) -> QdrantClient:
    return QdrantClient(url=server.url)


def qdrant_collection(client: QdrantClient, metric: str) -> str:
    name = unique("q")
    client.create_collection(
        name, vectors_config=models.VectorParams(size=3, distance=QDRANT_DISTANCES[metric])
    )
    client.upsert(
        name,
        points=[
            models.PointStruct(id=IDS[n], vector=v, payload=PAYLOADS.get(n, {}))
            for n, v in VECTORS.items()
        ],
    )
    return name


@pytest.mark.parametrize("metric", list(ORDERS))
def test_qdrant_query_orders_by_metric(qdrant: QdrantClient, metric: str) -> None:
    name = qdrant_collection(qdrant, metric)
    hits = qdrant.query_points(name, query=QUERY, limit=4, with_payload=True).points
    assert [NAMES[int(h.id)] for h in hits] == ORDERS[metric]
    assert hits[0].payload == PAYLOADS.get(ORDERS[metric][0], {})
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=metric != "euclidean")


def test_qdrant_filters_retrieve_scroll_count_delete(qdrant: QdrantClient) -> None:
    name = qdrant_collection(qdrant, "cosine")
    tagged = models.Filter(
        must=[models.FieldCondition(key="tag", match=models.MatchValue(value="x"))],
        must_not=[models.FieldCondition(key="n", range=models.Range(gte=3))],
    )
    hits = qdrant.query_points(name, query=QUERY, query_filter=tagged, limit=10).points
    assert [NAMES[int(h.id)] for h in hits] == ["a"]
    anyof = models.Filter(
        should=[models.FieldCondition(key="tag", match=models.MatchAny(any=["y"]))]
    )
    assert qdrant.count(name, count_filter=anyof).count == 1
    assert qdrant.count(name).count == 4
    records = qdrant.retrieve(name, ids=[1, 3], with_vectors=True)
    assert {int(r.id): r.vector for r in records} == {1: VECTORS["a"], 3: VECTORS["c"]}
    page, following = qdrant.scroll(name, limit=2)
    assert len(page) == 2 and following is not None
    qdrant.delete(name, points_selector=models.PointIdsList(points=[1, 2]))
    assert qdrant.count(name).count == 2
    assert qdrant.collection_exists(name)
    info = qdrant.get_collection(name)
    assert info.points_count == 2
    assert name in [c.name for c in qdrant.get_collections().collections]
    assert qdrant.delete_collection(name)
    assert not qdrant.collection_exists(name)


def test_qdrant_errors(qdrant: QdrantClient) -> None:
    name = qdrant_collection(qdrant, "cosine")
    with pytest.raises(UnexpectedResponse) as wrong:
        qdrant.upsert(name, points=[models.PointStruct(id=9, vector=[1.0, 2.0])])
    assert wrong.value.status_code == 400
    assert "expected dim: 3, got 2" in wrong.value.content.decode()
    with pytest.raises(UnexpectedResponse) as missing:
        qdrant.query_points("no-such-collection", query=QUERY)
    assert missing.value.status_code == 404
    with pytest.raises(UnexpectedResponse) as exists:
        qdrant.create_collection(name, vectors_config=models.VectorParams(size=3, distance="Dot"))
    assert exists.value.status_code == 409


def test_qdrant_seeded_and_static_results(qdrant: QdrantClient) -> None:
    hits = qdrant.query_points("seeded", query=[1.0, 0.2], limit=1).points
    assert [(h.id, h.score) for h in hits] == [(7, pytest.approx(1.0))]
    static = qdrant.query_points("seeded", query=[0.5, 0.5], with_payload=True).points
    assert [(h.id, h.score, h.payload) for h in static] == [(8, 0.42, {"kind": "seed"})]


def test_qdrant_raw_envelopes(server: ServerProcess) -> None:
    banner = httpx.get(server.url + "/").json()
    assert banner["title"] == "qdrant - vector search engine"
    missing = httpx.get(server.url + "/collections/nope")
    assert missing.status_code == 404
    assert set(missing.json()) == {"status", "time"} and "error" in missing.json()["status"]
    bad = httpx.put(server.url + "/collections/x/points", content=b"{not json")
    assert bad.status_code in (400, 404) and "status" in bad.json()


# --- Chroma --------------------------------------------------------------------------------------


@pytest.fixture
def chroma(server: ServerProcess) -> Any:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return chromadb.HttpClient(host=host, port=int(port))


def chroma_collection(client: Any, metric: str) -> Any:
    collection = client.create_collection(
        unique("c"), configuration={"hnsw": {"space": CHROMA_SPACES[metric]}}
    )
    collection.add(
        ids=list(VECTORS),
        embeddings=list(VECTORS.values()),
        metadatas=[PAYLOADS.get(n, {"n": 0, "tag": "z"}) for n in VECTORS],
        documents=[f"doc {n}" for n in VECTORS],
    )
    return collection


@pytest.mark.parametrize("metric", list(ORDERS))
def test_chroma_query_orders_by_metric(chroma: Any, metric: str) -> None:
    collection = chroma_collection(chroma, metric)
    result = collection.query(query_embeddings=[QUERY], n_results=4)
    assert result["ids"] == [ORDERS[metric]]
    distances = result["distances"][0]
    assert distances == sorted(distances)
    assert result["documents"][0][0] == f"doc {ORDERS[metric][0]}"


def test_chroma_filters_get_count_delete(chroma: Any) -> None:
    collection = chroma_collection(chroma, "cosine")
    result = collection.query(
        query_embeddings=[QUERY], n_results=4, where={"$and": [{"tag": "x"}, {"n": {"$lt": 3}}]}
    )
    assert result["ids"] == [["a"]]
    got = collection.get(where={"n": {"$in": [2, 3]}}, include=["metadatas", "embeddings"])
    assert sorted(got["ids"]) == ["b", "c"]
    assert collection.get(ids=["d"], include=["documents"])["documents"] == ["doc d"]
    assert collection.get(where_document={"$contains": "doc c"})["ids"] == ["c"]
    assert collection.count() == 4
    collection.delete(where={"tag": {"$nin": ["x"]}})
    assert sorted(collection.get()["ids"]) == ["a", "c"]
    collection.upsert(ids=["a"], embeddings=[[0.0, 0.0, 2.0]], metadatas=[{"n": 9}])
    assert collection.get(ids=["a"])["metadatas"] == [{"n": 9}]
    assert chroma.get_collection(collection.name).id == collection.id
    assert collection.name in [c.name for c in chroma.list_collections()]
    chroma.delete_collection(collection.name)
    with pytest.raises(NotFoundError):
        chroma.get_collection(collection.name)


def test_chroma_errors_and_seeded(chroma: Any) -> None:
    assert chroma.heartbeat() > 0
    collection = chroma_collection(chroma, "euclidean")
    with pytest.raises(InvalidArgumentError, match="expected dim: 3, got 2"):
        collection.add(ids=["z"], embeddings=[[1.0, 2.0]])
    seeded = chroma.get_collection("seeded")
    assert seeded.count() == 2
    static = seeded.query(query_embeddings=[[0.5, 0.5]], n_results=3)
    assert (static["ids"], static["distances"]) == ([["8"]], [[0.42]])


# --- RAG: aimock's embeddings into aimock's vector store -----------------------------------------

TEXTS = ["Refunds are accepted within 30 days.", "Shipping takes three days.", "We ship worldwide."]


def test_rag_retrieval_is_reproducible(server: ServerProcess, qdrant: QdrantClient) -> None:
    llm = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    embedded = llm.embeddings.create(model="text-embedding-3-small", input=TEXTS, dimensions=64)
    vectors = [item.embedding for item in embedded.data]
    name = unique("rag")
    qdrant.create_collection(
        name, vectors_config=models.VectorParams(size=64, distance=models.Distance.COSINE)
    )
    qdrant.upsert(
        name,
        points=[
            models.PointStruct(id=i, vector=v, payload={"text": t})
            for i, (v, t) in enumerate(zip(vectors, TEXTS, strict=True))
        ],
    )
    for index, text in enumerate(TEXTS):
        question = llm.embeddings.create(model="text-embedding-3-small", input=text, dimensions=64)
        hits = qdrant.query_points(
            name, query=question.data[0].embedding, limit=1, with_payload=True
        ).points
        assert hits[0].id == index and hits[0].payload == {"text": text}


def test_static_text_match_uses_the_deterministic_embedding(
    server: ServerProcess, qdrant: QdrantClient
) -> None:
    llm = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    vector = (
        llm.embeddings.create(model="text-embedding-3-small", input="static question", dimensions=2)
        .data[0]
        .embedding
    )
    hits = qdrant.query_points("seeded", query=vector).points
    assert [(h.id, h.score) for h in hits] == [(7, 0.9)]


def test_requests_are_journaled_and_reset_reseeds(
    server: ServerProcess, qdrant: QdrantClient, chroma: Any
) -> None:
    name = qdrant_collection(qdrant, "dot")
    chroma.heartbeat()
    entries = httpx.get(server.url + "/__aimock/journal").json()
    surfaces = {e["surface"] for e in entries}
    assert {"vector.qdrant", "vector.chroma"} <= surfaces
    qdrant_entries = httpx.get(server.url + "/__aimock/journal?surface=vector.qdrant").json()
    assert any(e["path"] == f"/collections/{name}/points?wait=true" for e in qdrant_entries)
    # A reset drops what was created and brings the seeded collections back as configured.
    qdrant.upsert("seeded", points=[models.PointStruct(id=99, vector=[1.0, 1.0])])
    assert httpx.post(server.url + "/__aimock/reset").status_code == 200
    assert not qdrant.collection_exists(name)
    assert qdrant.count("seeded").count == 2


# --- Pinecone ------------------------------------------------------------------------------------

PINECONE_METRICS = {"cosine": "cosine", "dot": "dotproduct", "euclidean": "euclidean"}


OPENED: list[Any] = []  # index clients to close: each holds its own connection pool


@pytest.fixture
def pinecone_client(server: ServerProcess) -> Iterator[Any]:
    from pinecone import Pinecone

    client = Pinecone(api_key="test", host=server.url)
    yield client
    while OPENED:
        OPENED.pop().close()
    client.close()


def pinecone_index(client: Any, metric: str, name: str | None = None) -> Any:
    name = name or unique("p")
    client.indexes.create(
        name=name,
        schema={
            "fields": {
                "emb": {"type": "dense_vector", "dimension": 3, "metric": PINECONE_METRICS[metric]}
            }
        },
    )
    index = client.index(name)
    OPENED.append(index)
    index.upsert(
        vectors=[
            {"id": n, "values": v, "metadata": PAYLOADS.get(n, {"n": 0, "tag": "z"})}
            for n, v in VECTORS.items()
        ],
        namespace="ns1",
    )
    return index


@pytest.mark.parametrize("metric", list(ORDERS))
def test_pinecone_query_orders_by_metric(pinecone_client: Any, metric: str) -> None:
    index = pinecone_index(pinecone_client, metric)
    result = index.query(vector=QUERY, top_k=4, namespace="ns1", include_metadata=True)
    assert [m.id for m in result.matches] == ORDERS[metric]
    assert result.matches[0].metadata == PAYLOADS.get(ORDERS[metric][0], {"n": 0, "tag": "z"})


def test_pinecone_filters_fetch_stats_delete(pinecone_client: Any) -> None:
    index = pinecone_index(pinecone_client, "cosine")
    result = index.query(
        vector=QUERY, top_k=4, namespace="ns1", filter={"tag": {"$eq": "x"}, "n": {"$gte": 2}}
    )
    assert [m.id for m in result.matches] == ["c"]
    assert index.query(vector=QUERY, top_k=4).matches == []  # the default namespace is empty
    fetched = index.fetch(ids=["a", "d"], namespace="ns1")
    assert sorted(fetched.vectors) == ["a", "d"] and fetched.vectors["a"].values == VECTORS["a"]
    stats = index.describe_index_stats()
    assert stats.total_vector_count == 4 and stats.namespaces["ns1"].vector_count == 4
    assert stats.dimension == 3
    index.delete(ids=["a"], namespace="ns1")
    index.delete(filter={"tag": "y"}, namespace="ns1")
    assert index.describe_index_stats().total_vector_count == 2


def test_pinecone_control_plane_and_errors(pinecone_client: Any) -> None:
    from pinecone.errors.exceptions import ApiError, NotFoundError

    name = unique("p")
    index = pinecone_index(pinecone_client, "dot", name)
    assert name in [i.name for i in pinecone_client.indexes.list()]
    described = pinecone_client.indexes.describe(name)
    assert described.status.ready and described.host.endswith(f"/pinecone/{name}")
    with pytest.raises(ApiError) as wrong:
        index.upsert(vectors=[{"id": "z", "values": [1.0, 2.0]}], namespace="ns1")
    assert wrong.value.status_code == 400
    with pytest.raises(NotFoundError):
        pinecone_client.indexes.describe("no-such-index")
    for listed in pinecone_client.indexes.list():
        if listed.name.startswith("p-"):
            pinecone_client.indexes.delete(listed.name)
    assert not [i for i in pinecone_client.indexes.list() if i.name.startswith("p-")]
