"""Qdrant, Chroma and Pinecone are separate databases, as separate servers are: each keeps its
own collections (seeded ones appear in each unless `dialects` says which); AIMock's
`vector.path` is served as a prefix of every dialect; a Pinecone client given the root (or the
prefix) as its index host reaches the only index. Driven by the official clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import chromadb
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pinecone import Pinecone
from pinecone.exceptions import NotFoundException
from qdrant_client import QdrantClient, models

from tests.conftest import ServerProcess, start_server

STACK = """
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {name: dialects}
spec:
  vector:
    collections:
      - name: shared
        dimension: 3
        points: [{id: "1", vector: [1, 0, 0]}]
      - name: pinecone-only
        dimension: 3
        dialects: [pinecone]
"""
DENSE = {"fields": {"emb": {"type": "dense_vector", "dimension": 3, "metric": "cosine"}}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("dialects")
    (folder / "stack.yaml").write_text(STACK)
    process = start_server(["-f", str(folder)])
    yield process
    process.stop()


@pytest.fixture
def closing() -> Iterator[list[Any]]:
    """Clients to close at the end of a test (an unclosed socket is an error here)."""
    opened: list[Any] = []
    yield opened
    for client in reversed(opened):
        client.close()


def test_each_database_keeps_its_own_collections(server: ServerProcess, closing: list[Any]) -> None:
    server.reset()
    qdrant = QdrantClient(url=server.url)
    chroma = chromadb.HttpClient(host=server.url)
    pinecone = Pinecone(api_key="test", host=server.url)
    closing += [qdrant, pinecone]

    # The same name in each database: no conflict, as with three servers.
    qdrant.create_collection("docs", vectors_config=models.VectorParams(size=3, distance="Cosine"))
    chroma.create_collection("docs")
    pinecone.indexes.create(name="docs", schema=DENSE)

    assert {c.name for c in qdrant.get_collections().collections} == {"shared", "docs"}
    assert {c.name for c in chroma.list_collections()} == {"shared", "docs"}
    assert {i.name for i in pinecone.indexes.list()} == {"shared", "pinecone-only", "docs"}

    # Data written through one is not seen by another.
    qdrant.upsert("shared", points=[models.PointStruct(id=7, vector=[0, 1, 0])])
    assert qdrant.count("shared").count == 2
    assert chroma.get_collection("shared").count() == 1

    # A reset brings every database back to its seeds.
    server.reset()
    assert {c.name for c in qdrant.get_collections().collections} == {"shared"}
    assert {c.name for c in chroma.list_collections()} == {"shared"}
    assert {i.name for i in pinecone.indexes.list()} == {"shared", "pinecone-only"}
    assert qdrant.count("shared").count == 1


def test_pinecone_at_the_root_reaches_the_only_index(
    server: ServerProcess, closing: list[Any]
) -> None:
    server.reset()
    pc = Pinecone(api_key="test", host=server.url)
    pc.indexes.delete("pinecone-only")
    index = pc.index(host=server.url)  # AIMock users give the root as the index host
    closing += [pc, index]
    index.upsert(vectors=[{"id": "r", "values": [0, 0, 1]}], namespace="ns")
    result = index.query(vector=[0, 0, 1], top_k=1, namespace="ns")
    assert [match.id for match in result.matches] == ["r"]

    pc.indexes.create(name="second", schema=DENSE)  # two indexes: the root cannot choose
    with pytest.raises(NotFoundException) as caught:
        index.query(vector=[0, 0, 1], top_k=1, namespace="ns")
    assert "there are 2 (second, shared)" in str(caught.value)


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server from an AIMock config whose vector section is mounted at /vector."""
    folder = tmp_path_factory.mktemp("prefixed")
    config = {
        "vector": {
            "path": "/vector",
            "collections": [
                {"name": "notes", "dimension": 3, "vectors": [{"id": "n1", "values": [1, 0, 0]}]}
            ],
        }
    }
    (folder / "aimock.json").write_text(json.dumps(config))
    process = start_server(["-c", str(folder / "aimock.json")])
    yield process
    process.stop()


def test_the_aimock_vector_path_is_a_prefix_for_every_client(
    prefixed: ServerProcess, closing: list[Any]
) -> None:
    base = prefixed.url + "/vector"

    qdrant = QdrantClient(url=base)
    closing.append(qdrant)
    hits = qdrant.query_points("notes", query=[1, 0, 0], limit=1).points
    assert [hit.id for hit in hits] == ["n1"] or [str(hit.id) for hit in hits] == ["n1"]

    chroma = chromadb.HttpClient(host=base)
    assert chroma.get_collection("notes").count() == 1

    pc = Pinecone(api_key="test", host=base)
    index = pc.index(host=base)
    closing += [pc, index]
    result = index.query(vector=[1, 0, 0], top_k=1, include_metadata=True)
    assert [match.id for match in result.matches] == ["n1"]

    native = QdrantClient(url=prefixed.url, check_compatibility=False)  # native paths too
    closing.append(native)
    assert native.collection_exists("notes")


def test_the_ready_line_lists_the_collections(prefixed: ServerProcess) -> None:
    assert "vector collections notes" in "".join(prefixed.output)


PREFIXED_PATHS = [
    "/vector",
    "/vector/collections",
    "/vector/collections/notes/points/query",
    "/vector/api/v2/heartbeat",
    "/vector/api/v2/tenants/t/databases/d/collections",
    "/vector/indexes",
    "/vector/query",
    "/vector/vectors/upsert",
    "/vector/describe_index_stats",
    "/vector/pinecone/notes/query",
]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    request=st.tuples(
        st.sampled_from(("GET", "POST", "PUT", "DELETE")),
        st.sampled_from(PREFIXED_PATHS),
        st.one_of(
            st.binary(max_size=120),
            st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8)).map(
                lambda value: json.dumps(value).encode()
            ),
        ),
    )
)
def test_any_request_under_the_prefix_is_answered_in_its_database_envelope(
    prefixed: ServerProcess, request: tuple[str, str, bytes]
) -> None:
    method, path, body = request
    headers = {"Content-Type": "application/json"}
    response = httpx.request(method, prefixed.url + path, content=body, headers=headers)
    assert response.status_code < 500, response.text
    if response.content:
        json.loads(response.content)  # a database's JSON, never a page or a traceback
    assert "Traceback" not in "".join(prefixed.output)
