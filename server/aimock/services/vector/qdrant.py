"""Qdrant's REST dialect (what qdrant-client 1.20 speaks) over the shared store.

Wire: every answer is `{"result": ..., "status": "ok", "time": <seconds>}`; an error is
`{"status": {"error": "<message>"}, "time": ...}` with 404 (unknown collection), 409 (exists)
or 400 (wrong dimension, bad filter, bad body). `GET /` answers the version banner the client
checks at construction. Collections: `PUT|GET|DELETE /collections/{c}` ({vectors: {size,
distance: Cosine|Dot|Euclid}}), `GET /collections`, `GET /collections/{c}/exists`. Points:
`PUT .../points` ({points: [{id, vector, payload}]}), `POST .../points` (retrieve by ids),
`POST .../points/query` ({query, limit, offset, filter, with_payload, with_vector,
score_threshold}: `{points: [ScoredPoint]}`), `POST .../points/search` (legacy: a list),
`.../points/delete` ({points} or {filter}), `.../points/scroll`, `.../points/count`. Euclid
scores are distances, smaller first, as Qdrant reports them. Only the unnamed vector exists.

Every field read is checked as Qdrant's deserializer and validator do: a wrong type is a 400
"Format error in JSON body", a value out of range a 422 "Validation error in JSON body"
(`vectors.size` 1..65536, `limit` >= 1); a full store a 400 "Bad request" (Qdrant's strict
mode answer).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from aimock.models.services.vector import Metric
from aimock.services.vector import fields, filters
from aimock.services.vector.filters import shown
from aimock.services.vector.http import Answer, DialectRoute
from aimock.services.vector.store import Collection, Hit, Point, VectorError, VectorStore

SURFACE = "vector.qdrant"
VERSION = "1.15.0"
CLIENT_VERSION = re.compile(r"client/(\d+\.\d+\.\d+)")
DISTANCES: dict[str, Metric] = {"Cosine": "cosine", "Dot": "dot", "Euclid": "euclidean"}
NAMES = {metric: name for name, metric in DISTANCES.items()}
STATUSES = {
    "not_found": 404,
    "conflict": 409,
    "bad_request": 400,
    "format": 400,
    "invalid": 422,
    "quota": 400,
    "internal": 500,
}
PREFIXES = {
    "not_found": "Not found: ",
    "format": "Format error in JSON body: ",
    "quota": "Bad request: ",
    "internal": "Service internal error: ",
}
# Qdrant's limits: `vectors.size` is validated 1..65536; a collection name is 1..255
# characters (lib/collection validation; both answer 422).
MAX_SIZE = 65536
MAX_NAME = 255
UNSIGNED_MAX = 2**64 - 1  # point ids are u64


def ok(result: Any) -> Answer:
    return 200, {"result": result, "status": "ok", "time": 0.0001}


def error(exc: VectorError) -> Answer:
    if exc.kind == "invalid":
        message = f"Validation error in JSON body: [{exc.message}]"
    else:
        message = PREFIXES.get(exc.kind, "Wrong input: ") + exc.message
    return STATUSES[exc.kind], {"status": {"error": message}, "time": 0.0001}


def _collection(request: web.Request, store: VectorStore) -> Collection:
    return store.get(request.match_info["collection"])


def _point_id(raw: Any) -> str | int:
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or raw == "":
        raise VectorError("format", f"Unable to parse point id {shown(raw)}")
    if isinstance(raw, int) and not 0 <= raw <= UNSIGNED_MAX:
        raise VectorError(
            "format",
            f"value {raw} is not a valid point ID, valid values are either an "
            "unsigned integer or a UUID",
        )
    return raw


def _point_ids(raw: Any, param: str) -> list[str]:
    return [str(_point_id(i)) for i in fields.array(raw, param)]


def _rendered_id(point: Point) -> str | int:
    # Seed ids are strings in the config; digits are Qdrant's integer ids.
    return int(point.id) if isinstance(point.id, str) and point.id.isdigit() else point.id


# A payload selector: None (no payload), everything, or keys to include or exclude.
Selector = tuple[Literal["none", "all", "include", "exclude"], frozenset[str]]


def _selector(body: dict[str, Any], default: bool) -> Selector:
    """`with_payload`: a boolean, a list of keys, or {include} / {exclude} (a key or keys)."""
    raw = body.get("with_payload", default)
    if raw is None or isinstance(raw, bool):
        return ("all" if (default if raw is None else raw) else "none"), frozenset()
    if isinstance(raw, list):
        return "include", frozenset(fields.strings(raw, "with_payload"))
    if isinstance(raw, dict) and raw.keys() in ({"include"}, {"exclude"}):
        mode: Literal["include", "exclude"] = "include" if "include" in raw else "exclude"
        keys = raw[mode]
        keys = [keys] if isinstance(keys, str) else fields.strings(keys, f"with_payload.{mode}")
        return mode, frozenset(keys)
    raise fields.wrong("with_payload", "a boolean, a list of keys, {include} or {exclude}", raw)


def _payload(point: Point, selector: Selector) -> dict[str, Any] | None:
    mode, keys = selector
    if mode == "none":
        return None
    if mode == "all":
        return dict(point.metadata)
    keep = mode == "include"
    return {k: v for k, v in point.metadata.items() if (k in keys) is keep}


def _with_vector(body: dict[str, Any]) -> bool:
    """`with_vector`: a boolean, or the names of the vectors (only the unnamed one exists)."""
    raw = body.get("with_vector")
    if isinstance(raw, list):
        return bool(fields.strings(raw, "with_vector"))
    return fields.flag(raw, "with_vector")


@dataclass(frozen=True)
class Shape:
    """How the points of an answer are rendered."""

    payload: Selector
    vector: bool

    @classmethod
    def of(cls, body: dict[str, Any], payload_default: bool) -> Shape:
        return cls(_selector(body, payload_default), _with_vector(body))


def _record(point: Point, shape: Shape) -> dict[str, Any]:
    return {
        "id": _rendered_id(point),
        "payload": _payload(point, shape.payload),
        "vector": point.vector if shape.vector else None,
        "shard_key": None,
    }


def _scored(hit: Hit, shape: Shape) -> dict[str, Any]:
    return {**_record(hit.point, shape), "version": 0, "score": hit.score}


def _info(collection: Collection) -> dict[str, Any]:
    count = len(collection.points())
    return {
        "status": "green",
        "optimizer_status": "ok",
        "segments_count": 1,
        "points_count": count,
        "indexed_vectors_count": count,
        "config": {
            "params": {
                "vectors": {
                    "size": collection.dimension,
                    "distance": NAMES[collection.metric],
                },
                "shard_number": 1,
                "replication_factor": 1,
                "write_consistency_factor": 1,
                "on_disk_payload": True,
            },
            "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
            "optimizer_config": {
                "deleted_threshold": 0.2,
                "vacuum_min_vector_number": 1000,
                "default_segment_number": 0,
                "flush_interval_sec": 5,
            },
            "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
        },
        "payload_schema": {},
    }


def _update_result() -> Answer:
    return ok({"operation_id": int(time.time() * 1000) % 1_000_000, "status": "completed"})


def _filter(body: dict[str, Any]) -> filters.Predicate:
    return filters.qdrant(body.get("filter"))


def _page(body: dict[str, Any]) -> tuple[int, int]:
    """`limit` (default 10) and `offset` (default 0)."""
    limit = fields.optional_integer(body.get("limit"), "limit", 1, fields.USIZE_MAX, 10)
    offset = fields.optional_integer(body.get("offset"), "offset", 0, fields.USIZE_MAX, 0)
    return limit, offset


# --- handlers ----------------------------------------------------------------------------------


async def banner(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del store, body
    # The client warns when its minor version is more than one away from the server's, so the
    # mock reports the version the client names in its User-Agent (python-client/1.20.0 ...).
    agent = CLIENT_VERSION.search(request.headers.get("User-Agent", ""))
    return 200, {
        "title": "qdrant - vector search engine",
        "version": agent[1] if agent else VERSION,
    }


async def list_collections(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del request, body
    return ok({"collections": [{"name": name} for name in store.collections]})


async def create_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    name = request.match_info["collection"]
    if len(name) > MAX_NAME:
        raise VectorError("invalid", f"collection_name: must be at most {MAX_NAME} characters")
    vectors = fields.mapping(fields.body(body).get("vectors"), "vectors")
    if vectors is None or "size" not in vectors:
        raise VectorError("bad_request", "aimock serves one unnamed vector: give vectors.size")
    size = fields.integer(vectors["size"], "vectors.size", 1, MAX_SIZE)
    distance = fields.choice(vectors.get("distance", "Cosine"), "vectors.distance", DISTANCES)
    store.create(name, size, distance, {})
    return ok(True)


async def get_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    return ok(_info(_collection(request, store)))


async def collection_exists(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    return ok({"exists": request.match_info["collection"] in store.collections})


async def delete_collection(request: web.Request, store: VectorStore, body: Any) -> Answer:
    del body
    existed = request.match_info["collection"] in store.collections
    store.collections.pop(request.match_info["collection"], None)
    return ok(existed)


def _point(item: Any, index: int) -> Point:
    if not isinstance(item, dict):
        raise fields.wrong(f"points[{index}]", "an object", item)
    payload = fields.mapping(item.get("payload"), f"points[{index}].payload")
    vector: Any = item.get("vector")  # checked with the others by the store's write
    return Point(_point_id(item.get("id")), vector, dict(payload or {}))


async def upsert(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.body(body)
    if "points" not in body:
        raise VectorError("bad_request", "aimock takes the points list form: give points")
    points = [_point(item, i) for i, item in enumerate(fields.array(body["points"], "points"))]
    store.write(collection, points)  # checks every vector, then the limits
    return _update_result()


def _query_vector(collection: Collection, query: Any) -> Any:
    if isinstance(query, dict) and "nearest" in query:
        query = query["nearest"]
    if isinstance(query, (int, str)) and not isinstance(query, bool):  # a point id
        found = collection.points().get(str(_point_id(query)))
        if found is None:
            raise VectorError("not_found", f"No point with id {shown(query)} found")
        return found.vector
    return query


def _search(collection: Collection, body: dict[str, Any], vector: Any) -> list[Hit]:
    limit, offset = _page(body)
    threshold = fields.number(body.get("score_threshold"), "score_threshold")
    hits = collection.query(vector, limit + offset, _filter(body))
    if threshold is not None:
        distance = collection.metric == "euclidean"  # smaller is better
        hits = [h for h in hits if (h.score <= threshold if distance else h.score >= threshold)]
    return hits[offset:]


async def query(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.body(body)
    shape = Shape.of(body, False)
    if body.get("query") is None:  # no query: points in id order, like a scroll
        limit, offset = _page(body)
        points = collection.select(_filter(body))[offset : offset + limit]
        return ok({"points": [_scored(Hit(p, 1.0), shape) for p in points]})
    hits = _search(collection, body, _query_vector(collection, body["query"]))
    return ok({"points": [_scored(h, shape) for h in hits]})


async def search(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.body(body)
    shape = Shape.of(body, False)
    vector = body.get("vector")
    if isinstance(vector, dict):  # the named form {name, vector}
        vector = vector.get("vector")
    return ok([_scored(h, shape) for h in _search(collection, body, vector)])


async def retrieve(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.body(body)
    shape, stored = Shape.of(body, True), collection.points()
    ids = _point_ids(body.get("ids"), "ids")
    return ok([_record(stored[i], shape) for i in ids if i in stored])


async def delete_points(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.body(body)
    if "points" in body:
        collection.delete(_point_ids(body["points"], "points"))
    elif "filter" in body:
        collection.delete([p.key for p in collection.select(_filter(body))])
    else:
        raise VectorError("bad_request", "give points or filter")
    return _update_result()


async def scroll(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.optional_body(body)
    shape = Shape.of(body, True)
    limit = fields.optional_integer(body.get("limit"), "limit", 1, fields.USIZE_MAX, 10)
    points = collection.select(_filter(body))
    start = 0
    if body.get("offset") is not None:  # the id to start from
        first = str(_point_id(body["offset"]))
        start = next((i for i, p in enumerate(points) if p.key == first), len(points))
    page = points[start : start + limit]
    following = points[start + limit] if start + limit < len(points) else None
    return ok(
        {
            "points": [_record(p, shape) for p in page],
            "next_page_offset": _rendered_id(following) if following else None,
        }
    )


async def count(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), fields.optional_body(body)
    fields.flag(body.get("exact"), "exact")
    return ok({"count": len(collection.select(_filter(body)))})


C = "/collections/{collection}"
ROUTES: list[DialectRoute] = [
    ("GET", "/", banner),
    ("GET", "/collections", list_collections),
    ("PUT", C, create_collection),
    ("GET", C, get_collection),
    ("DELETE", C, delete_collection),
    ("GET", C + "/exists", collection_exists),
    ("PUT", C + "/points", upsert),
    ("POST", C + "/points", retrieve),
    ("POST", C + "/points/query", query),
    ("POST", C + "/points/search", search),
    ("POST", C + "/points/delete", delete_points),
    ("POST", C + "/points/scroll", scroll),
    ("POST", C + "/points/count", count),
]
