"""The request journal: a bounded ring buffer of what was asked and what was answered.

Entries keep AIMock's JSON shape (`id`, `timestamp`, `method`, `path`, `headers`, `body`,
`response{status, fixture, source, interrupted, chaosAction, strictOverride}`) so its clients
keep working, plus what we add: surface, provider, model, testId, latency and, for JSON-RPC
services such as MCP, `rpcMethod`.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson

REDACTED_HEADERS = frozenset(
    {"authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie", "proxy-authorization"}
)
# Query parameters that carry credentials (Gemini's `key`, presigned AWS URLs...).
REDACTED_QUERY = frozenset(
    {
        "key",
        "api_key",
        "api-key",
        "apikey",
        "access_token",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)
_ids = itertools.count(1)


def redact_query(path: str) -> str:
    """`path` with the values of credential query parameters replaced."""
    if "?" not in path:
        return path
    base, _, query = path.partition("?")
    parts = []
    for part in query.split("&"):
        name, sep, _value = part.partition("=")
        redacted = sep and unquote(name).lower() in REDACTED_QUERY
        parts.append(f"{name}=[REDACTED]" if redacted else part)
    return base + "?" + "&".join(parts)


# AIMock's names for why a stream was cut, so its clients read our journal unchanged.
INTERRUPT_REASONS = {"truncated": "truncateAfterChunks", "disconnected": "disconnectAfterMs"}


@dataclass
class Entry:
    method: str
    path: str
    headers: Mapping[str, str]
    surface: str | None
    provider: str | None
    test_id: str
    id: str = field(default_factory=lambda: f"req-{next(_ids)}")
    timestamp: float = field(default_factory=time.time)
    body: Any = None
    model: str | None = None
    status: int = 0
    fixture: dict[str, Any] | None = None
    source: str = "internal"  # fixture | fallback | internal
    chaos_action: str | None = None
    # The ChaosPolicy whose draw hit, and the seed of the generator that drew it, if seeded.
    chaos_policy: str | None = None
    chaos_seed: int | None = None
    strict_override: bool | None = None
    interrupted: str | None = None  # truncated | disconnected | client_gone
    latency_ms: float = 0.0
    # JSON-RPC services (MCP): the method asked, e.g. tools/call (several for a batch).
    rpc_method: str | None = None
    # The `x-request-id` the answer carried.
    request_id: str | None = None

    @property
    def matched(self) -> bool:
        return self.fixture is not None

    def to_json(self) -> dict[str, Any]:
        response: dict[str, Any] = {
            "status": self.status,
            "fixture": self.fixture,
            "source": self.source,
        }
        if self.interrupted:
            response["interrupted"] = True
            response["interruptReason"] = INTERRUPT_REASONS.get(self.interrupted, self.interrupted)
        if self.chaos_action:
            response["chaosAction"] = self.chaos_action
            if self.chaos_policy is not None:
                response["chaosPolicy"] = self.chaos_policy
            if self.chaos_seed is not None:
                response["chaosSeed"] = self.chaos_seed
        if self.strict_override is not None:
            response["strictOverride"] = self.strict_override
        out: dict[str, Any] = {
            "id": self.id,
            "timestamp": int(self.timestamp * 1000),
            "method": self.method,
            "path": redact_query(self.path),
            "headers": {
                k: ("[REDACTED]" if k in REDACTED_HEADERS else v) for k, v in self.headers.items()
            },
            "body": self.body,
            "surface": self.surface,
            "provider": self.provider,
            "model": self.model,
            "testId": self.test_id,
            "matched": self.matched,
            "latencyMs": round(self.latency_ms, 3),
            "response": response,
        }
        if self.rpc_method is not None:
            out["rpcMethod"] = self.rpc_method
        if self.request_id is not None:
            out["requestId"] = self.request_id
        return representable(out)


def representable(entry: dict[str, Any]) -> dict[str, Any]:
    """`entry` as JSON can hold it. A request may have sent what JSON out cannot carry (a body
    nested deeper than the encoder goes, header bytes that are not UTF-8): those parts are
    replaced, so one hostile request never breaks reading the journal."""
    try:
        orjson.dumps(entry)
    except (TypeError, orjson.JSONEncodeError):
        pass
    else:
        return entry
    body = entry.get("body")
    try:
        orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError) as exc:
        body = f"[not representable as JSON: {exc}]"
    safe: dict[str, Any] = _clean({**entry, "body": None})
    safe["body"] = _clean(body)
    return safe


def _clean(value: Any) -> Any:
    """`value` with every string made valid UTF-8 (undecodable bytes replaced)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class Journal:
    def __init__(self, max_entries: int = 1000) -> None:
        self._entries: deque[Entry] = deque(maxlen=max_entries or None)

    def add(self, entry: Entry) -> None:
        self._entries.append(entry)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries))

    def query(
        self,
        *,
        surface: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        status: int | None = None,
        matched: bool | None = None,
        test_id: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        out = [
            e
            for e in self._entries
            if (surface is None or e.surface == surface)
            and (provider is None or e.provider == provider)
            and (model is None or e.model == model)
            and (status is None or e.status == status)
            and (matched is None or e.matched is matched)
            and (test_id is None or e.test_id == test_id)
            and (since is None or e.timestamp * 1000 >= since)
        ]
        return out[-limit:] if limit else out
