"""Chroma's HTTP API v2 (what chromadb 1.5's HttpClient speaks) over the shared store.

Wire: base `/api/v2`. `GET /heartbeat` -> `{"nanosecond heartbeat": n}`, `/version`,
`/pre-flight-checks` -> `{max_batch_size}`, `/auth/identity`; tenants and databases answer for
any name (one store: collections are shared by every tenant/database and by Qdrant). Under
`/tenants/{t}/databases/{d}`: `GET|POST /collections` (create: {name, metadata, configuration,
get_or_create}; the metric comes from `configuration.hnsw.space` or metadata `hnsw:space`:
l2 (default) -> euclidean, ip -> dot, cosine), `GET|DELETE /collections/{name}`,
`PUT /collections/{id}` (rename, metadata), `GET /collections_count`,
`POST /collections/{id}/add|upsert|update|get|query|delete`, `GET /collections/{id}/count`.
Query distances are Chroma's: squared L2, `1 - dot`, `1 - cosine`, smaller first; results
are lists per query embedding. Errors: `{"error": "NotFoundError" | "InvalidArgumentError" |
"UniqueConstraintError", "message"}` with 404/400/409; the client raises the class named.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from aimock.models.services.vector import Metric
from aimock.services.vector import filters
from aimock.services.vector.http import Answer, DialectRoute
from aimock.services.vector.store import Collection, Hit, Point, VectorError, VectorStore

SURFACE = "vector.chroma"
PREFIX = "/api/v2"
VERSION = "1.0.0"
SPACES: dict[str, Metric] = {"l2": "euclidean", "ip": "dot", "cosine": "cosine"}
ERRORS = {
    "not_found": (404, "NotFoundError"),
    "conflict": (409, "UniqueConstraintError"),
    "bad_request": (400, "InvalidArgumentError"),
    "internal": (500, "InternalError"),
}
DATABASE_ID = "00000000-0000-0000-0000-000000000000"


def error(exc: VectorError) -> Answer:
    status, name = ERRORS[exc.kind]
    return status, {"error": name, "message": exc.message}


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise VectorError("bad_request", "expected a JSON object")
    return body


def _collection(request: web.Request, store: VectorStore) -> Collection:
    return store.by_id(request.match_info["collection"])


def _model(request: web.Request, collection: Collection) -> dict[str, Any]:
    space = next((s for s, m in SPACES.items() if m == collection.metric), "l2")
    return {
        "id": collection.id,
        "name": collection.name,
        "tenant": request.match_info.get("tenant", "default_tenant"),
        "database": request.match_info.get("database", "default_database"),
        "metadata": collection.metadata or None,
        "configuration_json": {"hnsw": {"space": space}},
        "dimension": collection.dimension,
        "version": 0,
        "log_position": 0,
    }


def _metric(body: dict[str, Any]) -> Metric:
    configuration = body.get("configuration") or {}
    hnsw = configuration.get("hnsw") if isinstance(configuration, dict) else None
    space = (hnsw or {}).get("space") or (body.get("metadata") or {}).get("hnsw:space") or "l2"
    if space not in SPACES:
        raise VectorError("bad_request", f"unsupported space {space!r}")
    return SPACES[space]


def _distance(collection: Collection, hit: Hit) -> float:
    if hit.static:
        return hit.score
    if collection.metric == "euclidean":
        return hit.score**2
    return 1.0 - hit.score


def _where(body: dict[str, Any]) -> filters.Predicate:
    keep = filters.where(body.get("where"))
    document = body.get("where_document")
    if not document:
        return keep
    if not isinstance(document, dict) or not document.keys() <= {"$contains", "$not_contains"}:
        raise VectorError("bad_request", "where_document supports $contains and $not_contains")
    contains, absent = document.get("$contains"), document.get("$not_contains")

    def text_test(point_id: str, metadata: Any) -> bool:
        text = metadata.get("\0document") or ""
        return (contains is None or contains in text) and (absent is None or absent not in text)

    return lambda i, m: keep(i, m) and text_test(i, m)


def _with_document(point: Point) -> dict[str, Any]:
    # The document filter sees the text through a key no user metadata can have.
    return {**point.metadata, "\0document": point.document}


def _select(collection: Collection, body: dict[str, Any]) -> list[Point]:
    keep = _where(body)
    return [p for p in collection.select() if keep(p.key, _with_document(p))]


# --- handlers ----------------------------------------------------------------------------------


async def heartbeat(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, store, body
    return 200, {"nanosecond heartbeat": time.time_ns()}


async def version(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, store, body
    return 200, VERSION


async def pre_flight(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, store, body
    return 200, {"max_batch_size": 1000}


async def identity(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, store, body
    return 200, {"user_id": "", "tenant": "default_tenant", "databases": ["default_database"]}


async def tenant(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del store, body
    return 200, {"name": request.match_info["tenant"]}


async def created(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, store, body
    return 200, {}


async def database(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del store, body
    info = request.match_info
    return 200, {"id": DATABASE_ID, "name": info["database"], "tenant": info["tenant"]}


async def databases(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del store, body
    tenant_name = request.match_info["tenant"]
    return 200, [{"id": DATABASE_ID, "name": "default_database", "tenant": tenant_name}]


async def list_collections(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    offset = int(request.query.get("offset", 0))
    limit = int(request.query.get("limit", len(store.collections)))
    chosen = list(store.collections.values())[offset : offset + limit]
    return 200, [_model(request, c) for c in chosen]


async def count_collections(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, body
    return 200, len(store.collections)


async def create_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    body = _body(body)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise VectorError("bad_request", "name must be a non-empty string")
    if name in store.collections and body.get("get_or_create"):
        return 200, _model(request, store.collections[name])
    if name in store.collections:
        raise VectorError("conflict", f"Collection {name} already exists")
    metadata = dict(body.get("metadata") or {})
    collection = store.create(name, None, _metric(body), metadata)
    return 200, _model(request, collection)


async def get_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    name = request.match_info["collection"]
    if name not in store.collections:
        raise VectorError("not_found", f"Collection [{name}] does not exists")
    return 200, _model(request, store.collections[name])


async def modify_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body)
    new_name = body.get("new_name")
    if new_name:
        store.collections.pop(collection.name)
        collection.name = new_name
        store.collections[new_name] = collection
    if body.get("new_metadata") is not None:
        collection.metadata = dict(body["new_metadata"])
    return 200, {}


async def delete_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    name = request.match_info["collection"]
    if name not in store.collections:
        raise VectorError("not_found", f"Collection [{name}] does not exists")
    store.drop(name)
    return 200, {}


def _records(body: dict[str, Any]) -> list[Point]:
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise VectorError("bad_request", "ids must be a list of strings")
    embeddings = body.get("embeddings")
    if not isinstance(embeddings, list) or len(embeddings) != len(ids):
        raise VectorError("bad_request", "give one embedding per id (aimock does not embed)")
    metadatas = body.get("metadatas") or [None] * len(ids)
    documents = body.get("documents") or [None] * len(ids)
    return [
        Point(i, e, dict(m or {}), d)
        for i, e, m, d in zip(ids, embeddings, metadatas, documents, strict=False)
    ]


def _writer(mode: str) -> Any:
    async def write(request: web.Request, store: VectorStore, body: Any) -> Answer:
        collection, points = _collection(request, store), _records(_body(body))
        stored = collection.points()
        if mode == "add":  # Chroma keeps the first record of an id and ignores repeats
            points = [p for p in points if p.key not in stored]
        elif mode == "update":
            points = [p for p in points if p.key in stored]
        collection.upsert(points)
        return 200, True

    return write


def _included(include: Any) -> set[str]:
    return set(include) if isinstance(include, list) else {"metadatas", "documents"}


def _columns(points: list[Point], include: set[str]) -> dict[str, Any]:
    return {
        "embeddings": [p.vector for p in points] if "embeddings" in include else None,
        "metadatas": [p.metadata or None for p in points] if "metadatas" in include else None,
        "documents": [p.document for p in points] if "documents" in include else None,
        "uris": None,
        "include": sorted(include),
    }


async def get(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body)
    points = _select(collection, body)
    if body.get("ids") is not None:
        wanted = set(body["ids"])
        points = [p for p in points if p.key in wanted]
    offset = int(body.get("offset") or 0)
    limit = body.get("limit")
    points = points[offset : offset + int(limit)] if limit is not None else points[offset:]
    return 200, {"ids": [p.key for p in points], **_columns(points, _included(body.get("include")))}


async def query(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body)
    embeddings = body.get("query_embeddings")
    if not isinstance(embeddings, list):
        raise VectorError("bad_request", "give query_embeddings (aimock does not embed texts)")
    limit = int(body.get("n_results") or 10)
    keep, include = _where(body), _included(body.get("include"))
    answer: dict[str, list[Any]] = {k: [] for k in ("ids", "distances", "embeddings")}
    answer.update(metadatas=[], documents=[])
    for vector in embeddings:
        hits = collection.query(
            vector, limit, lambda i, m: keep(i, _with_document(collection.points()[i]))
        )
        points = [h.point for h in hits]
        columns = _columns(points, include)
        answer["ids"].append([p.key for p in points])
        answer["distances"].append([_distance(collection, h) for h in hits])
        for key in ("embeddings", "metadatas", "documents"):
            answer[key].append(columns[key])
    result: dict[str, Any] = dict(answer)
    for key in ("embeddings", "metadatas", "documents", "distances"):
        if key not in include:
            result[key] = None
    return 200, {**result, "uris": None, "include": sorted(include)}


async def delete(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body)
    points = _select(collection, body)
    if body.get("ids") is not None:
        wanted = set(body["ids"])
        points = [p for p in points if p.key in wanted]
    return 200, {"deleted": collection.delete([p.key for p in points])}


async def count(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    return 200, len(_collection(request, store).points())


T = PREFIX + "/tenants/{tenant}"
D = T + "/databases/{database}"
C = D + "/collections/{collection}"
ROUTES: list[DialectRoute] = [
    ("GET", PREFIX + "/heartbeat", heartbeat),
    ("GET", PREFIX + "/version", version),
    ("GET", PREFIX + "/pre-flight-checks", pre_flight),
    ("GET", PREFIX + "/auth/identity", identity),
    ("POST", PREFIX + "/tenants", created),
    ("GET", T, tenant),
    ("POST", T + "/databases", created),
    ("GET", T + "/databases", databases),
    ("GET", D, database),
    ("GET", D + "/collections", list_collections),
    ("POST", D + "/collections", create_collection),
    ("GET", D + "/collections_count", count_collections),
    ("GET", C, get_collection),
    ("PUT", C, modify_collection),
    ("DELETE", C, delete_collection),
    ("POST", C + "/add", _writer("add")),
    ("POST", C + "/upsert", _writer("upsert")),
    ("POST", C + "/update", _writer("update")),
    ("POST", C + "/get", get),
    ("POST", C + "/query", query),
    ("POST", C + "/delete", delete),
    ("GET", C + "/count", count),
]
