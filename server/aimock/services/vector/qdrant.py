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
"""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from aimock.models.services.vector import Metric
from aimock.services.vector import filters
from aimock.services.vector.http import Answer, DialectRoute
from aimock.services.vector.store import Collection, Hit, Point, VectorError, VectorStore

SURFACE = "vector.qdrant"
VERSION = "1.15.0"
CLIENT_VERSION = re.compile(r"client/(\d+\.\d+\.\d+)")
DISTANCES: dict[str, Metric] = {"Cosine": "cosine", "Dot": "dot", "Euclid": "euclidean"}
NAMES = {metric: name for name, metric in DISTANCES.items()}
STATUSES = {"not_found": 404, "conflict": 409, "bad_request": 400, "internal": 500}
PREFIXES = {"not_found": "Not found: ", "internal": "Service internal error: "}


def ok(result: Any) -> Answer:
    return 200, {"result": result, "status": "ok", "time": 0.0001}


def error(exc: VectorError) -> Answer:
    prefix = PREFIXES.get(exc.kind, "Wrong input: ")
    return STATUSES[exc.kind], {"status": {"error": prefix + exc.message}, "time": 0.0001}


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise VectorError("bad_request", "expected a JSON object")
    return body


def _collection(request: web.Request, store: VectorStore) -> Collection:
    return store.get(request.match_info["collection"])


def _point_id(raw: Any) -> str | int:
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or raw == "":
        raise VectorError("bad_request", f"Unable to parse point id {raw!r}")
    if isinstance(raw, int) and raw < 0:
        raise VectorError("bad_request", "point id must be an unsigned integer or a UUID")
    return raw


def _rendered_id(point: Point) -> str | int:
    # Seed ids are strings in the config; digits are Qdrant's integer ids.
    return int(point.id) if isinstance(point.id, str) and point.id.isdigit() else point.id


def _payload(point: Point, selector: Any) -> dict[str, Any] | None:
    if selector is True:
        return dict(point.metadata)
    if isinstance(selector, list):
        return {k: v for k, v in point.metadata.items() if k in selector}
    if isinstance(selector, dict) and "include" in selector:
        return {k: v for k, v in point.metadata.items() if k in selector["include"]}
    if isinstance(selector, dict) and "exclude" in selector:
        return {k: v for k, v in point.metadata.items() if k not in selector["exclude"]}
    return None


def _record(point: Point, body: dict[str, Any], payload_default: bool) -> dict[str, Any]:
    payload = _payload(point, body.get("with_payload", payload_default))
    vector = point.vector if body.get("with_vector") is True else None
    return {"id": _rendered_id(point), "payload": payload, "vector": vector, "shard_key": None}


def _scored(hit: Hit, body: dict[str, Any]) -> dict[str, Any]:
    return {**_record(hit.point, body, False), "version": 0, "score": hit.score}


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
    vectors = _body(body).get("vectors")
    if not isinstance(vectors, dict) or "size" not in vectors:
        raise VectorError("bad_request", "aimock serves one unnamed vector: give vectors.size")
    size, distance = vectors.get("size"), vectors.get("distance", "Cosine")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise VectorError("bad_request", "vectors.size must be a positive integer")
    if distance not in DISTANCES:
        raise VectorError("bad_request", f"unsupported distance {distance!r}")
    store.create(request.match_info["collection"], size, DISTANCES[distance], {})
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


async def upsert(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection = _collection(request, store)
    raw = _body(body).get("points")
    if not isinstance(raw, list):
        raise VectorError("bad_request", "aimock takes the points list form: give points")
    points = []
    for item in raw:
        if not isinstance(item, dict):
            raise VectorError("bad_request", "each point must be an object")
        payload = item.get("payload") or {}
        points.append(
            Point(_point_id(item.get("id")), collection.check(item.get("vector")), dict(payload))
        )
    collection.upsert(points)
    return _update_result()


def _query_vector(collection: Collection, query: Any) -> Any:
    if isinstance(query, dict) and "nearest" in query:
        query = query["nearest"]
    if isinstance(query, (int, str)) and not isinstance(query, bool):  # a point id
        found = collection.points().get(str(query))
        if found is None:
            raise VectorError("not_found", f"No point with id {query} found")
        return found.vector
    return query


def _search(collection: Collection, body: dict[str, Any], vector: Any) -> list[Hit]:
    limit, offset = int(body.get("limit") or 10), int(body.get("offset") or 0)
    hits = collection.query(vector, limit + offset, filters.qdrant(body.get("filter")))
    threshold = body.get("score_threshold")
    if threshold is not None:
        bound = float(threshold)
        distance = collection.metric == "euclidean"  # smaller is better
        hits = [h for h in hits if (h.score <= bound if distance else h.score >= bound)]
    return hits[offset:]


async def query(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body)
    if body.get("query") is None:  # no query: points in id order, like a scroll
        limit = int(body.get("limit") or 10)
        points = collection.select(filters.qdrant(body.get("filter")))[:limit]
        return ok({"points": [_scored(Hit(p, 1.0), body) for p in points]})
    hits = _search(collection, body, _query_vector(collection, body["query"]))
    return ok({"points": [_scored(h, body) for h in hits]})


async def search(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body)
    vector = body.get("vector")
    if isinstance(vector, dict):  # the named form {name, vector}
        vector = vector.get("vector")
    return ok([_scored(h, body) for h in _search(collection, body, vector)])


async def retrieve(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body)
    stored = collection.points()
    ids = [str(_point_id(i)) for i in body.get("ids") or []]
    return ok([_record(stored[i], body, True) for i in ids if i in stored])


async def delete_points(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body)
    if "points" in body:
        collection.delete([str(_point_id(i)) for i in body["points"]])
    elif "filter" in body:
        collection.delete([p.key for p in collection.select(filters.qdrant(body["filter"]))])
    else:
        raise VectorError("bad_request", "give points or filter")
    return _update_result()


async def scroll(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body or {})
    points = collection.select(filters.qdrant(body.get("filter")))
    start = 0
    if body.get("offset") is not None:
        keys = [p.key for p in points]
        start = keys.index(str(body["offset"])) if str(body["offset"]) in keys else len(keys)
    limit = int(body.get("limit") or 10)
    page = points[start : start + limit]
    following = points[start + limit] if start + limit < len(points) else None
    return ok(
        {
            "points": [_record(p, body, True) for p in page],
            "next_page_offset": _rendered_id(following) if following else None,
        }
    )


async def count(request: web.Request, store: VectorStore, body: Any) -> Answer:
    collection, body = _collection(request, store), _body(body or {})
    return ok({"count": len(collection.select(filters.qdrant(body.get("filter"))))})


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
