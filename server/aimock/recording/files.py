"""Recordings on disk: an answer as an AIMock-format fixture, and the file it goes to.

Files go under the recording directory: `<provider>-<time>-<8 hex>.json` for a request
without a test id, `<slug of X-Test-Id>/<provider>.json` (appended) with one. The format is
AIMock's fixture file (`{"fixtures": [...]}`), which both servers load, or (`manifest`) a
`Fixture` manifest for `kubectl apply` and GitOps. Files are written whole to a temporary
file and renamed, mode 0600; no header, key or query string is ever written.
"""

from __future__ import annotations

import datetime
import itertools
import os
import re
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson

from aimock.canonical import DEFAULT_TEST_ID
from aimock.fixtures.compiled import Reply
from aimock.fixtures.loading import LoadError, read_documents
from aimock.models.stack import API_VERSION
from aimock.recording.options import Format


@runtime_checkable
class Recordable(Protocol):
    """A reply extension that can say which fixture response fields it came from (record
    mode writes them back, so a recording keeps what only one provider sends). Defined here,
    where it is read, rather than beside `Reply`: that module is compiled (aimock.native),
    and a compiled runtime-checkable protocol is not one."""

    def fixture_fields(self) -> Mapping[str, Any]: ...


_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
# Each wire's finish reasons in the fixture's (OpenAI's) words; the renderers translate back.
FINISH_REASONS = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "complete": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "tool_call": "tool_calls",
    "function_call": "function_call",
    "content_filter": "content_filter",
    "content_filtered": "content_filter",
    "safety": "content_filter",
    "refusal": "content_filter",
}


def response_of(reply: Reply) -> dict[str, Any]:
    """A reply as a fixture's `response` (AIMock's keys)."""
    if reply.error is not None:
        error = reply.error
        body = {"message": error.message, "type": error.type, "code": error.code}
        return {"error": {k: v for k, v in body.items() if v is not None}, "status": error.status}
    out: dict[str, Any] = {}
    if reply.embedding is not None:
        out["embedding"] = list(reply.embedding)
    if reply.content is not None:
        out["content"] = reply.content
    if reply.tool_calls:
        out["toolCalls"] = [
            {"name": c.name, "arguments": c.arguments, **({"id": c.id} if c.id else {})}
            for c in reply.tool_calls
        ]
    if reply.reasoning is not None:
        out["reasoning"] = reply.reasoning
    if reply.reasoning_signature is not None:
        out["reasoningSignature"] = reply.reasoning_signature
    if reply.refusal is not None:
        out["refusal"] = reply.refusal
    finish = FINISH_REASONS.get((reply.finish_reason or "").lower())
    if finish is not None:
        out["finishReason"] = finish
    usage = {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens}
    if any(v is not None for v in usage.values()):
        out["usage"] = {k: v for k, v in usage.items() if v is not None}
    for part in reply.extensions.values():  # what only one provider sends, e.g. cost
        if isinstance(part, Recordable):
            for key, value in part.fixture_fields().items():
                merged = {**out.get(key, {}), **value} if isinstance(value, dict) else value
                out[key] = merged
    return out


def timings_of(arrivals: Sequence[float], started: float) -> dict[str, Any] | None:
    """`recordedTimings` from the arrival times (seconds) of a stream's pieces."""
    if len(arrivals) < 2:
        return None
    gaps = [round((b - a) * 1000, 3) for a, b in itertools.pairwise(arrivals)]
    return {
        "ttftMs": round((arrivals[0] - started) * 1000, 3),
        "interChunkDelaysMs": gaps,
        "totalDurationMs": round((arrivals[-1] - started) * 1000, 3),
    }


def slug(text: str) -> str:
    return _SLUG.sub("-", text).strip("-.")[:100] or "test"


def destination(directory: Path, provider: str, test_id: str, form: Format) -> Path:
    suffix = ".json" if form == "json" else ".yaml"
    if test_id != DEFAULT_TEST_ID:
        return directory / slug(test_id) / f"{slug(provider)}{suffix}"
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H-%M-%S-%fZ")
    return directory / f"{slug(provider)}-{stamp}-{secrets.token_hex(4)}{suffix}"


def save(path: Path, fixture: Mapping[str, Any], form: Format, name: str) -> None:
    """Append `fixture` to the recording file at `path` (creating it), atomically."""
    fixtures = [*_existing(path, form), dict(fixture)]
    if form == "json":
        data = orjson.dumps({"fixtures": fixtures}, option=orjson.OPT_INDENT_2)
    else:
        manifest = {
            "apiVersion": API_VERSION,
            "kind": "Fixture",
            "metadata": {"name": slug(name).lower()[:63].strip("-.") or "recorded"},
            "spec": {"fixtures": fixtures},
        }
        data = yaml_text(manifest).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".recording-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _existing(path: Path, form: Format) -> list[Any]:
    if not path.exists():
        return []
    try:
        documents = read_documents(path)
    except LoadError as exc:  # an OSError is what the recorder reports as "cannot write"
        raise OSError(f"cannot append to {path}: {exc}") from None
    document = documents[0] if documents else None
    if form == "manifest":
        document = (document or {}).get("spec") or {}
    fixtures = (document or {}).get("fixtures")
    return list(fixtures) if isinstance(fixtures, list) else []


def yaml_text(data: object) -> str:
    """A manifest as YAML, in the order given."""
    import yaml  # only when a YAML file is written: a server not recording never loads it

    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return text
