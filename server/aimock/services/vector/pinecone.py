"""Pinecone's REST dialect (what the `pinecone` 10.x client speaks, API version 2026-07).

Control plane (the client's `host=`, e.g. `Pinecone(host="http://127.0.0.1:4010")`):
`POST /indexes` ({name, schema: {fields: {<name>: {type: dense_vector, dimension, metric}}},
deployment?}; the deprecated `dimension=`/`metric=` sugar arrives as the field `_values`) ->
201 IndexModel; `GET /indexes` -> `{indexes: [...]}`; `GET|DELETE /indexes/{name}`. An
IndexModel is ready at once (`status: {ready: true, state: "Ready"}`) and its `host` is
`<origin>/pinecone/<name>`, the data plane below, so `pc.index(name)` finds its way back.

Data plane (camelCase JSON under `/pinecone/{index}`): `POST /vectors/upsert` ({vectors:
[{id, values, metadata}], namespace}) -> `{upsertedCount}`; `POST /query` ({vector | id, topK,
namespace, filter, includeValues, includeMetadata}) -> `{matches: [{id, score, values,
metadata?}], namespace, usage}`; `GET /vectors/fetch?ids=..&namespace=..` -> `{vectors: {id:
{id, values, metadata}}, namespace}`; `POST /vectors/delete` ({ids | deleteAll | filter,
namespace}) -> `{}`; `POST /describe_index_stats` -> `{namespaces: {ns: {vectorCount}},
dimension, indexFullness, totalVectorCount, metric}`. Scores: cosine similarity, dot product,
or squared euclidean distance (smaller first). The namespace `""` is the default one.

Errors are `{"error": {"code": "NOT_FOUND" | "INVALID_ARGUMENT" | "ALREADY_EXISTS" |
"QUOTA_EXCEEDED", "message"}, "status": <status>}` with 404/400/409/403; the client raises
NotFoundError etc. Every field read is checked, with Pinecone's documented limits: dimension
1..20,000, `topK` 1..10,000, 1,000 records per upsert, fetch or delete, record ids and
namespaces up to 512 characters, index names up to 45, metadata up to 40 KB per record.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from aimock.models.services.vector import Metric
from aimock.services.vector import fields, filters
from aimock.services.vector.filters import shown
from aimock.services.vector.http import Answer, DialectRoute
from aimock.services.vector.store import (
    Collection,
    Hit,
    Point,
    VectorError,
    VectorStore,
    json_size,
)

SURFACE = "vector.pinecone"
DATA_PREFIX = "/pinecone/{index}"
METRICS: dict[str, Metric] = {"cosine": "cosine", "dotproduct": "dot", "euclidean": "euclidean"}
NAMES = {metric: name for name, metric in METRICS.items()}
ERRORS = {
    "not_found": (404, "NOT_FOUND"),
    "conflict": (409, "ALREADY_EXISTS"),
    "bad_request": (400, "INVALID_ARGUMENT"),
    "format": (400, "INVALID_ARGUMENT"),
    "invalid": (400, "INVALID_ARGUMENT"),
    "quota": (403, "QUOTA_EXCEEDED"),  # Pinecone's answer past an object limit
    "internal": (500, "INTERNAL"),
}
FIELD_KEY = "pinecone.field"  # the dense field's declared name, kept in collection metadata
DEFAULT_FIELD = "_values"
# Pinecone's limits (docs.pinecone.io, "Database limits"): operation limits...
MAX_DIMENSION = 20_000  # dense vectors
MAX_TOP_K = 10_000
MAX_BATCH = 1_000  # records per upsert, ids per fetch or delete
MAX_METADATA_BYTES = 40 * 1024  # per record
# ...and identifier limits.
MAX_ID = 512  # record ids and namespace names
INDEX_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,43}[a-z0-9])?")  # 1-45 characters


def error(exc: VectorError) -> Answer:
    status, code = ERRORS[exc.kind]
    return status, {"error": {"code": code, "message": exc.message}, "status": status}


def _index(request: web.Request, store: VectorStore) -> Collection:
    name = request.match_info.get("index") or request.match_info.get("name")
    if name is None:  # the data plane at the root: the one index there is, as AIMock serves it
        if len(store.collections) != 1:
            there = ", ".join(sorted(store.collections)) or "none"
            raise VectorError(
                "not_found",
                "The data plane at the root serves the only index, and there are "
                f"{len(store.collections)} ({there}): use the index's host "
                "(<origin>/pinecone/<name>)",
            )
        return next(iter(store.collections.values()))
    if name not in store.collections:
        raise VectorError("not_found", f"Resource {name} not found")
    return store.collections[name]


def _model(request: web.Request, collection: Collection) -> dict[str, Any]:
    field = collection.metadata.get(FIELD_KEY, DEFAULT_FIELD)
    origin = f"{request.scheme}://{request.host}"
    return {
        "name": collection.name,
        "status": {"ready": True, "state": "Ready"},
        "schema": {
            "fields": {
                field: {
                    "type": "dense_vector",
                    "dimension": collection.dimension or 0,
                    "metric": NAMES[collection.metric],
                }
            }
        },
        "deployment": {"deployment_type": "managed", "cloud": "aws", "region": "us-east-1"},
        "deletion_protection": "disabled",
        "host": f"{origin}/pinecone/{collection.name}",
        "tags": None,
    }


def _dense_field(body: dict[str, Any]) -> tuple[str, int, Metric]:
    schema = fields.mapping(body.get("schema"), "schema") or {}
    declared = fields.mapping(schema.get("fields"), "schema.fields")
    if declared is None:
        raise VectorError("bad_request", "schema.fields is required")
    for name, raw in declared.items():
        param = f"schema.fields.{name}"
        field = fields.mapping(raw, param) or {}
        if fields.string(field.get("type"), f"{param}.type") != "dense_vector":
            continue
        dimension = fields.integer(field.get("dimension"), f"{param}.dimension", 1, MAX_DIMENSION)
        metric = field.get("metric")
        metric = "cosine" if metric is None else metric
        return name, dimension, fields.choice(metric, f"{param}.metric", METRICS)
    raise VectorError("bad_request", "aimock serves dense indexes: declare a dense_vector field")


def _namespace(body: dict[str, Any]) -> str:
    namespace = body.get("namespace")
    return "" if namespace is None else fields.string(namespace, "namespace", MAX_ID)


def _score(collection: Collection, hit: Hit) -> float:
    # Pinecone's euclidean score is the squared distance (no `**`: it overflows near the max).
    if collection.metric == "euclidean" and not hit.static:
        return hit.score * hit.score
    return hit.score


def _vector(point: Point, with_values: bool, with_metadata: bool) -> dict[str, Any]:
    rendered: dict[str, Any] = {"id": point.key, "values": point.vector if with_values else []}
    if with_metadata and point.metadata:
        rendered["metadata"] = point.metadata
    return rendered


def _record_id(value: Any, param: str) -> str:
    record_id = fields.string(value, param, MAX_ID)
    if not record_id:
        raise VectorError("bad_request", f"`{param}` must not be empty")
    return record_id


def _metadata(value: Any, param: str) -> dict[str, Any]:
    """A record's metadata: strings, numbers, booleans and lists of strings, up to 40 KB."""
    metadata = fields.mapping(value, param) or {}
    for key, item in metadata.items():
        listed = isinstance(item, list) and all(isinstance(v, str) for v in item)
        if not listed and (item is None or not isinstance(item, (str, int, float, bool))):
            raise fields.wrong(
                f"{param}.{key}", "a string, number, boolean or list of strings", item
            )
    size = json_size(metadata)
    if size > MAX_METADATA_BYTES:
        raise VectorError(
            "invalid",
            f"Metadata size is {size} bytes, which exceeds the limit of {MAX_METADATA_BYTES} "
            "bytes per vector",
        )
    return metadata


def _point(item: Any, index: int) -> Point:
    param = f"vectors[{index}]"
    if not isinstance(item, dict):
        raise fields.wrong(param, "an object", item)
    record_id = _record_id(item.get("id"), f"{param}.id")
    metadata = _metadata(item.get("metadata"), f"{param}.metadata")
    values: Any = item.get("values")  # checked with the others by the store's write
    return Point(record_id, values, dict(metadata))


# --- control plane -----------------------------------------------------------------------------


async def create_index(request: web.Request, store: VectorStore, body: Any) -> Answer:
    body = fields.body(body)
    if body.get("name") is None:
        raise VectorError("bad_request", "name is required")
    name = fields.string(body["name"], "name")
    if not INDEX_NAME.fullmatch(name):
        raise VectorError(
            "bad_request",
            "Resource name must be 1-45 characters of lower case alphanumerics or '-', "
            f"starting and ending with an alphanumeric: {shown(name)}",
        )
    field, dimension, metric = _dense_field(body)
    if name in store.collections:
        raise VectorError("conflict", f"Resource {name} already exists")
    collection = store.create(name, dimension, metric, {FIELD_KEY: field})
    return 201, _model(request, collection)


async def list_indexes(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    return 200, {"indexes": [_model(request, c) for c in store.collections.values()]}


async def describe_index(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    return 200, _model(request, _index(request, store))


async def delete_index(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    store.drop(_index(request, store).name)
    return 202, None


# --- data plane --------------------------------------------------------------------------------


async def upsert(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _index(request, store), fields.body(body)
    raw = fields.array(body.get("vectors"), "vectors", MAX_BATCH)
    points = [_point(item, i) for i, item in enumerate(raw)]
    return 200, {"upsertedCount": store.write(collection, points, _namespace(body))}


async def query(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _index(request, store), fields.body(body)
    namespace = _namespace(body)
    top_k = fields.integer(body.get("topK"), "topK", 1, MAX_TOP_K)
    keep = filters.where(body.get("filter"))
    with_values = fields.flag(body.get("includeValues"), "includeValues")
    with_metadata = fields.flag(body.get("includeMetadata"), "includeMetadata")
    vector = body.get("vector")
    if vector is None:
        if body.get("id") is None:
            raise VectorError("bad_request", "give a query vector or the id of a stored one")
        found = collection.points(namespace).get(_record_id(body["id"], "id"))
        if found is None:
            return 200, {"matches": [], "namespace": namespace, "usage": {"readUnits": 1}}
        vector = found.vector
    hits = collection.query(vector, top_k, keep, namespace)
    matches = [
        {**_vector(h.point, with_values, with_metadata), "score": _score(collection, h)}
        for h in hits
    ]
    return 200, {"matches": matches, "namespace": namespace, "usage": {"readUnits": 1}}


async def fetch(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    collection = _index(request, store)
    namespace = request.query.get("namespace", "")
    ids = request.query.getall("ids", [])
    if len(ids) > MAX_BATCH:
        raise VectorError("invalid", f"`ids` has {len(ids)} items, the most is {MAX_BATCH}")
    stored = collection.points(namespace)
    vectors = {i: _vector(stored[i], True, True) for i in ids if i in stored}
    return 200, {"vectors": vectors, "namespace": namespace, "usage": {"readUnits": 1}}


async def delete(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _index(request, store), fields.body(body)
    namespace = _namespace(body)
    if fields.flag(body.get("deleteAll"), "deleteAll"):
        collection.clear(namespace)
    elif body.get("ids") is not None:
        collection.delete(fields.strings(body["ids"], "ids", MAX_BATCH), namespace)
    elif body.get("filter") is not None:
        keep = filters.where(body["filter"])
        collection.delete([p.key for p in collection.select(keep, namespace)], namespace)
    else:
        raise VectorError("bad_request", "give ids, deleteAll or filter")
    return 200, {}


async def stats(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection = _index(request, store)
    keep = filters.where(fields.optional_body(body).get("filter"))
    namespaces = {
        name: {"vectorCount": len(collection.select(keep, name))}
        for name, points in collection.namespaces.items()
        if points
    }
    return 200, {
        "namespaces": namespaces,
        "dimension": collection.dimension,
        "indexFullness": 0.0,
        "totalVectorCount": sum(n["vectorCount"] for n in namespaces.values()),
        "metric": NAMES[collection.metric],
        "vectorType": "dense",
    }


DATA_PLANE: list[DialectRoute] = [
    ("POST", "/vectors/upsert", upsert),
    ("POST", "/query", query),
    ("GET", "/vectors/fetch", fetch),
    ("POST", "/vectors/delete", delete),
    ("POST", "/describe_index_stats", stats),
]
ROUTES: list[DialectRoute] = [
    ("POST", "/indexes", create_index),
    ("GET", "/indexes", list_indexes),
    ("GET", "/indexes/{name}", describe_index),
    ("DELETE", "/indexes/{name}", delete_index),
    *((method, DATA_PREFIX + path, handler) for method, path, handler in DATA_PLANE),
    # The root as an index's host when there is one index (`pc.Index(host=<origin>)`).
    *DATA_PLANE,
]
