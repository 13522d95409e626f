"""OpenAI files: `POST /v1/files` (multipart: `file`, `purpose`), list (`purpose`, `after`,
`limit`, `order`), retrieve, `GET /v1/files/{id}/content` (the bytes as uploaded) and delete.

Kept in memory in the server's state (`openai_store.FileStore`) within a cap of files and bytes;
a full reset forgets them. The batches and fine-tuning routes read the same store.
"""

from __future__ import annotations

from aiohttp import web

from aimock import multipart
from aimock.providers import openai_store
from aimock.providers.openai_store import PURPOSES, FileStore
from aimock.surface import Provider, ServerView, bad_request
from aimock.wire import json_response


def store(view: ServerView) -> FileStore:
    return view.keep(openai_store.KEY, FileStore)


async def create(request: web.Request, view: ServerView) -> web.StreamResponse:
    form = await multipart.read_form(request, view.max_body_bytes)
    purpose = form.get("purpose")
    if purpose is None:
        raise bad_request(
            "Missing required parameter: 'purpose'.",
            param="purpose",
            code="missing_required_parameter",
        )
    if purpose not in PURPOSES:
        raise bad_request(
            f"Invalid value for 'purpose': '{purpose[:100]}'. Expected one of: "
            + ", ".join(PURPOSES)
            + ".",
            param="purpose",
            code="invalid_value",
        )
    upload = form.file("file")
    if upload is None:
        raise bad_request(
            "Missing required parameter: 'file'.",
            param="file",
            code="missing_required_parameter",
        )
    filename = upload.filename[:1024] or "upload"
    return json_response(store(view).add(filename, purpose, upload.data).card())


async def list_files(request: web.Request, view: ServerView) -> web.StreamResponse:
    query = request.query
    files = list(store(view).files.values())
    purpose = query.get("purpose")
    if purpose:
        files = [f for f in files if f.purpose == purpose]
    listed = openai_store.ordered(files, query)
    return json_response(
        openai_store.page(
            listed,
            lambda f: f.card(),
            lambda f: f.id,
            query,
            default_limit=openai_store.MAX_LIST_LIMIT,
            max_limit=openai_store.MAX_LIST_LIMIT,
        )
    )


async def retrieve(request: web.Request, view: ServerView) -> web.StreamResponse:
    return json_response(store(view).get(request.match_info["file_id"]).card())


async def content(request: web.Request, view: ServerView) -> web.StreamResponse:
    found = store(view).get(request.match_info["file_id"])
    return web.Response(body=found.content, content_type="application/octet-stream")


async def delete(request: web.Request, view: ServerView) -> web.StreamResponse:
    found = store(view).delete(request.match_info["file_id"])
    return json_response({"id": found.id, "object": "file", "deleted": True})


PROVIDER = Provider(
    name="openai.files",
    routes=openai_store.openai_routes(
        "openai.files",
        (
            ("POST", "/files", create),
            ("GET", "/files", list_files),
            ("GET", "/files/{file_id}", retrieve),
            ("GET", "/files/{file_id}/content", content),
            ("DELETE", "/files/{file_id}", delete),
        ),
    ),
)
