"""`aimock journal --stack NAME`: the journal of every pod of a MockStack, as one.

Each pod keeps its own journal (as it keeps its own sequences and turn counters). This reads
them all through the API server's pod proxy, with the caller's kubeconfig, and merges them in
time order, each entry naming its pod. The control API's token comes from the Secret the
stack's status names (`status.adminTokenSecret`), so the caller needs: get on the MockStack,
get on that Secret, list on pods, get on pods/proxy.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aimock.kube import (
    POD_PORT,
    KubeError,
    core,
    custom_objects,
    pod_query,
    pod_scheme,
    proxy_target,
)
from aimock.models.stack import GROUP, VERSION

TIMEOUT_SECONDS = 10.0


@dataclass
class StackJournal:
    entries: list[dict[str, Any]] = field(default_factory=list)  # each with "pod"
    pods: list[str] = field(default_factory=list)  # the pods read
    failed: dict[str, str] = field(default_factory=dict)  # pod -> why it could not be read


def _api_message(exc: Exception) -> str:
    """The API's own explanation of a failed call (its Status message), else the error."""
    status = getattr(exc, "status", None)
    try:
        body = json.loads(getattr(exc, "body", None) or "")
        message = body.get("message") or body.get("error")
    except (ValueError, AttributeError, TypeError):
        message = None
    reason = message or getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
    return f"{status}: {reason}" if status else str(reason)


def _get(what: str, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """One client call's JSON body (raw, so no model classes come between); any failure, the
    API's refusal or no API at all, is a KubeError naming `what` was asked for."""
    try:
        response = call(*args, _preload_content=False, _request_timeout=TIMEOUT_SECONDS, **kwargs)
        body = json.loads(response.data or b"{}")
    except Exception as exc:  # ApiException, urllib3's network errors, a body that is not JSON
        raise KubeError(f"{what}: {_api_message(exc)}") from None
    return body if isinstance(body, dict) else {}


def _token(namespace: str, stack: str) -> str:
    what = f"MockStack {namespace}/{stack}"
    mockstack = custom_objects().get_namespaced_custom_object
    body = _get(what, mockstack, GROUP, VERSION, namespace, "mockstacks", stack)
    secret_name = (body.get("status") or {}).get("adminTokenSecret")
    if not secret_name:
        raise KubeError(f"{what} has no status.adminTokenSecret yet")
    what = f"Secret {namespace}/{secret_name}"
    secret = _get(what, core().read_namespaced_secret, secret_name, namespace)
    raw = (secret.get("data") or {}).get("token")
    if not raw:
        raise KubeError(f"{what} has no `token` key")
    return base64.b64decode(raw).decode()


def _pods(namespace: str, stack: str) -> dict[str, str]:
    """The stack's pods that have an address and are not going away, each with the scheme
    it serves (https with `spec.tls`)."""
    what = f"pods of MockStack {namespace}/{stack}"
    listing = _get(what, core().list_namespaced_pod, namespace, label_selector=pod_query(stack))
    return {
        str(pod["metadata"]["name"]): pod_scheme(pod)
        for pod in sorted(listing.get("items") or [], key=lambda pod: pod["metadata"]["name"])
        if (pod.get("status") or {}).get("podIP") and not pod["metadata"].get("deletionTimestamp")
    }


def _pod_journal(namespace: str, pod: str, token: str, scheme: str) -> list[dict[str, Any]]:
    """One pod's whole journal (bounded by the server's cap), through the pod proxy."""
    response = core().connect_get_namespaced_pod_proxy_with_path(
        proxy_target(pod, POD_PORT, scheme),
        namespace,
        "__aimock/journal",
        _headers={"Accept": "application/json", "X-AIMock-Admin-Token": token},
        _preload_content=False,
        _request_timeout=TIMEOUT_SECONDS,
    )
    raw: bytes = response.data  # type: ignore[attr-defined]  # the raw response, not preloaded
    entries = json.loads(raw)
    if not isinstance(entries, list):
        raise ValueError("the journal is not a JSON list")
    return [dict(entry, pod=pod) for entry in entries if isinstance(entry, dict)]


def _chosen(entry: Mapping[str, Any], filters: Mapping[str, object]) -> bool:
    """Whether an entry passes the filters: testId, surface, status (of the response)."""
    response = entry.get("response") or {}
    values = {"testId": entry.get("testId"), "surface": entry.get("surface")}
    values["status"] = response.get("status") if isinstance(response, dict) else None
    return all(values.get(key) == wanted for key, wanted in filters.items())


def read(
    namespace: str, stack: str, filters: Mapping[str, object], limit: int | None = None
) -> StackJournal:
    """Every pod's journal entries that pass `filters` (testId, surface, status), merged
    oldest first; at most the last `limit` of them. A pod that cannot be read is named in
    `failed`, the others are still read."""
    token = _token(namespace, stack)
    schemes = _pods(namespace, stack)
    result = StackJournal(pods=list(schemes))
    for pod, scheme in schemes.items():
        try:
            entries = _pod_journal(namespace, pod, token, scheme)
        except Exception as exc:  # the API's refusal, a pod gone, a network error
            result.failed[pod] = _api_message(exc)
            continue
        result.entries.extend(entry for entry in entries if _chosen(entry, filters))
    result.entries.sort(key=lambda entry: (entry.get("timestamp") or 0, entry["pod"]))
    if limit:
        result.entries = result.entries[-limit:]
    return result


def render_line(entry: Mapping[str, Any]) -> str:
    """One entry as a line: time, pod, status, surface, model, request, test id."""
    moment = datetime.fromtimestamp((entry.get("timestamp") or 0) / 1000, UTC)
    response = entry.get("response") or {}
    parts: Sequence[object] = (
        moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        entry.get("pod"),
        response.get("status"),
        entry.get("surface") or "-",
        entry.get("model") or "-",
        f"{entry.get('method')} {entry.get('path')}",
        f"testId={entry['testId']}" if entry.get("testId") else "",
    )
    return "  ".join(str(part) for part in parts).rstrip()
