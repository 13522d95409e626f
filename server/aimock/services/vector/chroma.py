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
"UniqueConstraintError" | "QuotaError", "message"}` with 404/400/409/400; the client raises the
class named. Every field read is checked (types, enums, Chroma's collection name rules); a
batch holds at most `max_batch_size` records, and `limit`, `offset`, `n_results` are u32.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

from aimock.models.services.vector import Metric
from aimock.services.vector import fields, filters
from aimock.services.vector.filters import shown
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
    "format": (400, "InvalidArgumentError"),
    "invalid": (400, "InvalidArgumentError"),
    "quota": (400, "QuotaError"),
    "internal": (500, "InternalError"),
}
DATABASE_ID = "00000000-0000-0000-0000-000000000000"
# What `/pre-flight-checks` tells the client, and the most records (or query embeddings) one
# request may carry, as a Chroma server enforces its own `max_batch_size`.
MAX_BATCH_SIZE = 1000
INCLUDES = ("documents", "embeddings", "metadatas", "distances", "uris")
# Chroma's collection names: 3-512 characters of [a-zA-Z0-9._-], starting and ending with an
# alphanumeric (chromadb's validate_name; an invalid one is an InvalidArgumentError).
NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9._-]{1,510})[a-zA-Z0-9]")
_SCALARS = (str, int, float, bool)


def error(exc: VectorError) -> Answer:
    status, name = ERRORS[exc.kind]
    return status, {"error": name, "message": exc.message}


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


def _name(value: Any, param: str) -> str:
    name = fields.string(value, param)
    if not NAME.fullmatch(name) or ".." in name:
        raise VectorError(
            "bad_request",
            f"Expected a name containing 3-512 characters from [a-zA-Z0-9._-], starting and "
            f"ending with a character in [a-zA-Z0-9], got {shown(name)}",
        )
    return name


def _metadata_value(value: Any, param: str) -> None:
    """A metadata value: a scalar, null, a list of scalars, or a tagged value (a sparse vector
    is `{"#type": ...}`), as chromadb's validate_metadata takes them."""
    if value is None or isinstance(value, _SCALARS):
        return
    if isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value):
        return
    if isinstance(value, dict) and "#type" in value:
        return
    raise fields.wrong(param, "a string, number, boolean, null or a list of them", value)


def _metadata(value: Any, param: str) -> dict[str, Any] | None:
    metadata = fields.mapping(value, param)
    for key, item in (metadata or {}).items():
        _metadata_value(item, f"{param}.{key}")
    return metadata


def _metric(body: dict[str, Any], metadata: dict[str, Any] | None) -> Metric:
    configuration = fields.mapping(body.get("configuration"), "configuration") or {}
    hnsw = fields.mapping(configuration.get("hnsw"), "configuration.hnsw") or {}
    for space in (hnsw.get("space"), (metadata or {}).get("hnsw:space")):
        if space is not None:
            return fields.choice(space, "space", SPACES)
    return "euclidean"  # Chroma's default space, l2


def _distance(collection: Collection, hit: Hit) -> float:
    if hit.static:
        return hit.score
    if collection.metric == "euclidean":
        return hit.score * hit.score  # no OverflowError near the float maximum, unlike `**`
    return 1.0 - hit.score


def _document_test(document: Any) -> Callable[[str], bool] | None:
    """`where_document`'s `$contains` / `$not_contains`, as a test of a document's text."""
    if document is None or document == {}:
        return None
    if not isinstance(document, dict) or not document.keys() <= {"$contains", "$not_contains"}:
        raise VectorError("bad_request", "where_document supports $contains and $not_contains")
    contains, absent = (
        None if document.get(op) is None else fields.string(document[op], f"where_document.{op}")
        for op in ("$contains", "$not_contains")
    )
    return lambda text: (
        (contains is None or contains in text) and (absent is None or absent not in text)
    )


def _where(body: dict[str, Any]) -> filters.Predicate:
    keep = filters.where(body.get("where"))
    text_test = _document_test(body.get("where_document"))
    if text_test is None:
        return keep
    # The document filter sees the text through a key no user metadata can have.
    return lambda i, m: keep(i, m) and text_test(m.get("\0document") or "")


def _with_document(point: Point) -> dict[str, Any]:
    return {**point.metadata, "\0document": point.document}


def _ids(body: dict[str, Any]) -> set[str] | None:
    ids = body.get("ids")
    return None if ids is None else set(fields.strings(ids, "ids"))


def _select(collection: Collection, body: dict[str, Any]) -> list[Point]:
    keep, wanted = _where(body), _ids(body)
    return [
        p
        for p in collection.select()
        if (wanted is None or p.key in wanted) and keep(p.key, _with_document(p))
    ]


def _query_count(request: web.Request, param: str, default: int) -> int:
    """`?limit=` / `?offset=` of a listing: a u32."""
    raw = request.query.get(param)
    if raw is None:
        return default
    if not raw.isdigit() or not raw.isascii():
        raise VectorError("format", f"`{param}` must be a non-negative integer, got {shown(raw)}")
    # Past 20 digits it is out of range anyway (and int() refuses 4,300 digits).
    return fields.integer(int(raw[:21]), param, 0, fields.U32_MAX)


# --- handlers ----------------------------------------------------------------------------------


async def heartbeat(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, store, body
    return 200, {"nanosecond heartbeat": time.time_ns()}


async def version(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, store, body
    return 200, VERSION


async def pre_flight(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, store, body
    return 200, {"max_batch_size": MAX_BATCH_SIZE}


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
    offset = _query_count(request, "offset", 0)
    limit = _query_count(request, "limit", len(store.collections))
    chosen = list(store.collections.values())[offset : offset + limit]
    return 200, [_model(request, c) for c in chosen]


async def count_collections(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, body
    return 200, len(store.collections)


async def create_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    body = fields.body(body)
    name = _name(body.get("name"), "name")
    metadata = _metadata(body.get("metadata"), "metadata")
    metric = _metric(body, metadata)
    get_or_create = fields.flag(body.get("get_or_create"), "get_or_create")
    if name in store.collections and get_or_create:
        return 200, _model(request, store.collections[name])
    if name in store.collections:
        raise VectorError("conflict", f"Collection {name} already exists")
    collection = store.create(name, None, metric, dict(metadata or {}))
    return 200, _model(request, collection)


async def get_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    name = request.match_info["collection"]
    if name not in store.collections:
        raise VectorError("not_found", f"Collection [{name}] does not exists")
    return 200, _model(request, store.collections[name])


async def modify_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.body(body)
    new_name = None if body.get("new_name") is None else _name(body["new_name"], "new_name")
    new_metadata = _metadata(body.get("new_metadata"), "new_metadata")
    if new_name is not None:
        store.rename(collection, new_name)
    if new_metadata is not None:
        store.describe(collection, dict(new_metadata))
    return 200, {}


async def delete_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    name = request.match_info["collection"]
    if name not in store.collections:
        raise VectorError("not_found", f"Collection [{name}] does not exists")
    store.drop(name)
    return 200, {}


def _column(body: dict[str, Any], key: str, length: int) -> list[Any]:
    """An optional per-record column (`metadatas`, `documents`): one item per id."""
    if body.get(key) is None:
        return [None] * length
    column = fields.array(body[key], key)
    if len(column) != length:
        raise VectorError("bad_request", f"give one item of {key} per id")
    return column


def _records(body: dict[str, Any]) -> list[Point]:
    ids = fields.strings(body.get("ids"), "ids", MAX_BATCH_SIZE)
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)[:5]
    if repeated:
        raise VectorError(
            "bad_request", f"Expected IDs to be unique, found duplicates of: {shown(repeated)}"
        )
    embeddings = body.get("embeddings")
    if not isinstance(embeddings, list) or len(embeddings) != len(ids):
        raise VectorError("bad_request", "give one embedding per id (aimock does not embed)")
    metadatas = _column(body, "metadatas", len(ids))
    documents = _column(body, "documents", len(ids))
    for index, (metadata, document) in enumerate(zip(metadatas, documents, strict=True)):
        _metadata(metadata, f"metadatas[{index}]")
        if document is not None:
            fields.string(document, f"documents[{index}]")
    return [
        Point(i, e, dict(m or {}), d)
        for i, e, m, d in zip(ids, embeddings, metadatas, documents, strict=True)
    ]


def _writer(mode: str) -> Any:
    async def write(request: web.Request, store: VectorStore, body: Any) -> Answer:
        collection, points = _collection(request, store), _records(fields.body(body))
        stored = collection.points()
        if mode == "add":  # Chroma keeps the first record of an id and ignores repeats
            points = [p for p in points if p.key not in stored]
        elif mode == "update":
            points = [p for p in points if p.key in stored]
        store.write(collection, points)
        return 200, True

    return write


def _included(body: dict[str, Any]) -> set[str]:
    include = body.get("include")
    if include is None:
        return {"metadatas", "documents"}
    chosen = fields.array(include, "include")
    for item in chosen:
        fields.choice(item, "include[]", dict.fromkeys(INCLUDES, True))
    return set(chosen)


def _columns(points: list[Point], include: set[str]) -> dict[str, Any]:
    return {
        "embeddings": [p.vector for p in points] if "embeddings" in include else None,
        "metadatas": [p.metadata or None for p in points] if "metadatas" in include else None,
        "documents": [p.document for p in points] if "documents" in include else None,
        "uris": None,
        "include": sorted(include),
    }


async def get(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.body(body)
    include = _included(body)
    offset = fields.optional_integer(body.get("offset"), "offset", 0, fields.U32_MAX, 0)
    limit = body.get("limit")
    end = None if limit is None else offset + fields.integer(limit, "limit", 0, fields.U32_MAX)
    points = _select(collection, body)[offset:end]
    return 200, {"ids": [p.key for p in points], **_columns(points, include)}


async def query(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.body(body)
    embeddings = body.get("query_embeddings")
    if not isinstance(embeddings, list):
        raise VectorError("bad_request", "give query_embeddings (aimock does not embed texts)")
    fields.array(embeddings, "query_embeddings", MAX_BATCH_SIZE)
    limit = fields.optional_integer(body.get("n_results"), "n_results", 1, fields.U32_MAX, 10)
    keep, include, wanted = _where(body), _included(body), _ids(body)

    def kept(key: str, metadata: Any) -> bool:
        # The point as stored now: other requests run between two query embeddings.
        point = collection.points().get(key)
        if point is None or (wanted is not None and key not in wanted):
            return False
        return keep(key, _with_document(point))

    answer: dict[str, list[Any]] = {k: [] for k in ("ids", "distances", "embeddings")}
    answer.update(metadatas=[], documents=[])
    for vector in embeddings:
        hits = collection.query(vector, limit, kept)
        points = [h.point for h in hits]
        columns = _columns(points, include)
        answer["ids"].append([p.key for p in points])
        answer["distances"].append([_distance(collection, h) for h in hits])
        for key in ("embeddings", "metadatas", "documents"):
            answer[key].append(columns[key])
        await asyncio.sleep(0)  # each embedding scans the collection: let others in between
    result: dict[str, Any] = dict(answer)
    for key in ("embeddings", "metadatas", "documents", "distances"):
        if key not in include:
            result[key] = None
    return 200, {**result, "uris": None, "include": sorted(include)}


async def delete(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.body(body)
    return 200, {"deleted": collection.delete([p.key for p in _select(collection, body)])}


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
