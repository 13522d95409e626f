"""What the OpenAI files, batches and fine-tuning routes share: the in-memory file store, list
pages, ids and the errors they answer with.

Not a surface itself (like `openai_base`): `openai_files`, `openai_batches` and
`openai_fine_tuning` import it, never each other. The store lives in the server's state
(`ServerView.keep(KEY, FileStore)`), so a full reset through the control API forgets it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from aimock import ids
from aimock.providers import openai_base
from aimock.surface import ErrorInfo, PlainHandler, PlainRoute, ProtocolError, bad_request
from aimock.wire import read_json

KEY = "openai.files"
# One file, and all files together (uploads and the batches' output and error files).
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_FILES = 1000
# What `POST /v1/files` accepts as `purpose` (the SDK's `FilePurpose`).
PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_LIST_LIMIT = 10_000

T = TypeVar("T")


def now() -> int:
    return int(time.time())


def new_id(prefix: str) -> str:
    return prefix + ids.hex_id(24)


def not_found(kind: str, key: str, param: str | None = None) -> ProtocolError:
    return ProtocolError(
        ErrorInfo(404, f"No such {kind}: '{key}'", type="invalid_request_error", param=param)
    )


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def card(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }


@dataclass
class FileStore:
    """Files by id, in upload order, within `MAX_FILES` and `MAX_TOTAL_BYTES`."""

    files: dict[str, StoredFile] = field(default_factory=dict)
    total: int = 0

    def room_for(self, size: int) -> ErrorInfo | None:
        """Why a file of `size` bytes cannot be kept, or None."""
        if size > MAX_FILE_BYTES:
            return ErrorInfo(
                413,
                f"File of {size} bytes exceeds the limit of {MAX_FILE_BYTES} bytes",
                type="invalid_request_error",
                code="file_too_large",
                param="file",
            )
        if len(self.files) >= MAX_FILES:
            return ErrorInfo(
                400,
                f"This mock keeps at most {MAX_FILES} files; delete some first",
                type="invalid_request_error",
                code="too_many_files",
            )
        if self.total + size > MAX_TOTAL_BYTES:
            return ErrorInfo(
                413,
                f"This mock keeps at most {MAX_TOTAL_BYTES} bytes of files; delete some first",
                type="invalid_request_error",
                code="storage_limit_exceeded",
                param="file",
            )
        return None

    def add(self, filename: str, purpose: str, content: bytes) -> StoredFile:
        refused = self.room_for(len(content))
        if refused is not None:
            raise ProtocolError(refused)
        stored = StoredFile(new_id("file-"), filename, purpose, content, now())
        self.files[stored.id] = stored
        self.total += len(content)
        return stored

    def get(self, file_id: str, param: str | None = None) -> StoredFile:
        found = self.files.get(file_id)
        if found is None:
            raise not_found("file", file_id, param)
        return found

    def delete(self, file_id: str) -> StoredFile:
        found = self.get(file_id)
        del self.files[file_id]
        self.total -= len(found.content)
        return found


def page(
    items: Sequence[T],
    card: Callable[[T], dict[str, Any]],
    key: Callable[[T], str],
    query: Mapping[str, str],
    *,
    default_limit: int = 20,
    max_limit: int = 100,
) -> dict[str, Any]:
    """A cursor page of `items` (already in the order asked): `after` an id, `limit` long."""
    limit = default_limit
    raw = query.get("limit")
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise bad_request(
                f"Invalid 'limit': expected an integer between 1 and {max_limit}.",
                param="limit",
                code="invalid_value",
            ) from None
        if not 1 <= limit <= max_limit:
            raise bad_request(
                f"Invalid 'limit': {limit} is out of range; it must be between 1 and {max_limit}.",
                param="limit",
                code="invalid_value",
            )
    start = 0
    after = query.get("after")
    if after:
        keys = [key(item) for item in items]
        start = keys.index(after) + 1 if after in keys else len(keys)
    chosen = items[start : start + limit]
    data = [card(item) for item in chosen]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": start + limit < len(items),
    }


def ordered(items: Iterable[T], query: Mapping[str, str], default: str = "desc") -> list[T]:
    """`items` (oldest first) in the `order` the query asks for."""
    order = query.get("order", default)
    if order not in ("asc", "desc"):
        raise bad_request(
            f"Invalid 'order': '{order}'. Expected 'asc' or 'desc'.",
            param="order",
            code="invalid_value",
        )
    listed = list(items)
    return listed if order == "asc" else listed[::-1]


def openai_routes(
    name: str, table: Sequence[tuple[str, str, PlainHandler]]
) -> tuple[PlainRoute, ...]:
    """Each (method, path under /v1, handler) under every OpenAI base (`openai_base.PREFIXES`):
    the same bases the chat and model routes answer on, so one `base_url` serves them all."""
    return tuple(
        PlainRoute(name, openai_base.OPENAI, method, prefix + path, handler, openai_base.ERRORS)
        for prefix in openai_base.PREFIXES
        for method, path, handler in table
    )


async def json_object(request: web.Request, limit: int) -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    body = await read_json(request, limit)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def text_field(body: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise bad_request(
            f"Missing required parameter: '{name}'."
            if value is None
            else f"Invalid type for '{name}': expected a non-empty string.",
            param=name,
            code="missing_required_parameter" if value is None else "invalid_type",
        )
    return value


def metadata(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The `metadata` field: at most 16 string pairs, as OpenAI checks it."""
    value = body.get("metadata")
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or len(value) > 16
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        raise bad_request(
            "Invalid 'metadata': expected an object of at most 16 string values.",
            param="metadata",
            code="invalid_value",
        )
    return dict(value)


def header_number(request: web.Request, name: str, high: float) -> float | None:
    """A pacing header's number (`X-AIMock-Batch-Polls`...), between 0 and `high`; None when
    the request has none, and a 400 when it is not such a number."""
    raw = request.headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= high:
        raise bad_request(f"Invalid {name} header: expected a number between 0 and {high:g}.")
    return value
