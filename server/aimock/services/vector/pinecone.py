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

Errors are `{"error": {"code": "NOT_FOUND" | "INVALID_ARGUMENT" | "ALREADY_EXISTS",
"message"}, "status": <status>}` with 404/400/409; the client raises NotFoundError etc.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from aimock.models.services.vector import Metric
from aimock.services.vector import filters
from aimock.services.vector.http import Answer, DialectRoute
from aimock.services.vector.store import Collection, Hit, Point, VectorError, VectorStore

SURFACE = "vector.pinecone"
DATA_PREFIX = "/pinecone/{index}"
METRICS: dict[str, Metric] = {"cosine": "cosine", "dotproduct": "dot", "euclidean": "euclidean"}
NAMES = {metric: name for name, metric in METRICS.items()}
ERRORS = {
    "not_found": (404, "NOT_FOUND"),
    "conflict": (409, "ALREADY_EXISTS"),
    "bad_request": (400, "INVALID_ARGUMENT"),
    "internal": (500, "INTERNAL"),
}
FIELD_KEY = "pinecone.field"  # the dense field's declared name, kept in collection metadata
DEFAULT_FIELD = "_values"


def error(exc: VectorError) -> Answer:
    status, code = ERRORS[exc.kind]
    return status, {"error": {"code": code, "message": exc.message}, "status": status}


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise VectorError("bad_request", "expected a JSON object")
    return body


def _index(request: web.Request, store: VectorStore) -> Collection:
    name = request.match_info.get("index") or request.match_info["name"]
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
    fields = (body.get("schema") or {}).get("fields")
    if not isinstance(fields, dict):
        raise VectorError("bad_request", "schema.fields is required")
    for name, field in fields.items():
        if isinstance(field, dict) and field.get("type") == "dense_vector":
            dimension, metric = field.get("dimension"), field.get("metric") or "cosine"
            if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
                raise VectorError("bad_request", "dimension must be a positive integer")
            if metric not in METRICS:
                raise VectorError("bad_request", f"unsupported metric {metric!r}")
            return name, dimension, METRICS[metric]
    raise VectorError("bad_request", "aimock serves dense indexes: declare a dense_vector field")


def _namespace(body: dict[str, Any] | Any) -> str:
    namespace = body.get("namespace") or "" if isinstance(body, dict) else ""
    if not isinstance(namespace, str):
        raise VectorError("bad_request", "namespace must be a string")
    return namespace


def _score(collection: Collection, hit: Hit) -> float:
    # Pinecone's euclidean score is the squared distance.
    if collection.metric == "euclidean" and not hit.static:
        return hit.score**2
    return hit.score


def _vector(point: Point, with_values: bool, with_metadata: bool) -> dict[str, Any]:
    rendered: dict[str, Any] = {"id": point.key, "values": point.vector if with_values else []}
    if with_metadata and point.metadata:
        rendered["metadata"] = point.metadata
    return rendered


# --- control plane -----------------------------------------------------------------------------


async def create_index(request: web.Request, store: VectorStore, body: Any) -> Answer:
    body = _body(body)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise VectorError("bad_request", "name is required")
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
    collection, body = _index(request, store), _body(body)
    raw = body.get("vectors")
    if not isinstance(raw, list):
        raise VectorError("bad_request", "vectors must be a list")
    points = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise VectorError("bad_request", "each vector needs a string id")
        vector = collection.check(item.get("values"))
        points.append(Point(item["id"], vector, dict(item.get("metadata") or {})))
    return 200, {"upsertedCount": collection.upsert(points, _namespace(body))}


async def query(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _index(request, store), _body(body)
    namespace = _namespace(body)
    vector = body.get("vector")
    if vector is None and body.get("id") is not None:
        found = collection.points(namespace).get(str(body["id"]))
        if found is None:
            return 200, {"matches": [], "namespace": namespace, "usage": {"readUnits": 1}}
        vector = found.vector
    top_k = body.get("topK")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise VectorError("bad_request", "topK must be a positive integer")
    hits = collection.query(vector, top_k, filters.where(body.get("filter")), namespace)
    with_values, with_metadata = bool(body.get("includeValues")), bool(body.get("includeMetadata"))
    matches = [
        {**_vector(h.point, with_values, with_metadata), "score": _score(collection, h)}
        for h in hits
    ]
    return 200, {"matches": matches, "namespace": namespace, "usage": {"readUnits": 1}}


async def fetch(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    collection = _index(request, store)
    namespace = request.query.get("namespace", "")
    stored = collection.points(namespace)
    ids = request.query.getall("ids", [])
    vectors = {i: _vector(stored[i], True, True) for i in ids if i in stored}
    return 200, {"vectors": vectors, "namespace": namespace, "usage": {"readUnits": 1}}


async def delete(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _index(request, store), _body(body)
    namespace = _namespace(body)
    if body.get("deleteAll"):
        collection.namespaces.pop(namespace, None)
    elif body.get("ids") is not None:
        collection.delete([str(i) for i in body["ids"]], namespace)
    elif body.get("filter") is not None:
        keep = filters.where(body["filter"])
        collection.delete([p.key for p in collection.select(keep, namespace)], namespace)
    else:
        raise VectorError("bad_request", "give ids, deleteAll or filter")
    return 200, {}


async def stats(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection = _index(request, store)
    keep = filters.where(_body(body or {}).get("filter"))
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


ROUTES: list[DialectRoute] = [
    ("POST", "/indexes", create_index),
    ("GET", "/indexes", list_indexes),
    ("GET", "/indexes/{name}", describe_index),
    ("DELETE", "/indexes/{name}", delete_index),
    ("POST", DATA_PREFIX + "/vectors/upsert", upsert),
    ("POST", DATA_PREFIX + "/query", query),
    ("GET", DATA_PREFIX + "/vectors/fetch", fetch),
    ("POST", DATA_PREFIX + "/vectors/delete", delete),
    ("POST", DATA_PREFIX + "/describe_index_stats", stats),
]
