"""Which config a stack's pods serve, asked of the pods themselves.

Each ready pod's `/health` reports `configHash`, the hash of the files its server loaded and
serves (the last good set when a later edit failed to load). The operator takes the same hash
over the ConfigMap keys it writes, so a pod serving that hash serves exactly the current
config. The pods are read through the API server's pod proxy: no network path from the
operator to the pods is needed beyond what `kubectl port-forward` needs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from aimock import kube
from aimock_operator import k8s
from aimock_operator.render import names
from aimock_operator.render.status import Serving


def is_ready(pod: Mapping[str, Any]) -> bool:
    """A pod that is not going away and whose Ready condition is True: one the Service uses."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


async def served_hash(namespace: str, pod: str, scheme: str = "http") -> tuple[str | None, str]:
    """The config hash one pod serves, or None and why it gave none."""
    try:
        raw = await k8s.pod_get(namespace, pod, names.PORT, "/health", scheme=scheme)
    except k8s.ApiError as exc:
        return None, str(exc)
    try:
        value = json.loads(raw).get("configHash")
    except (ValueError, AttributeError):
        return None, "its /health is not a JSON object"
    if not isinstance(value, str):
        return None, "its /health has no configHash (an image older than the operator?)"
    return value, ""


async def probe(namespace: str, stack: str, config_hash: str) -> Serving:
    """Ask every ready pod of `stack` which config it serves."""
    pods = [pod for pod in await k8s.list_pods(namespace, names.pod_query(stack)) if is_ready(pod)]
    pod_names = [str(pod["metadata"]["name"]) for pod in pods]
    answers = await asyncio.gather(
        *(
            served_hash(namespace, str(pod["metadata"]["name"]), kube.pod_scheme(pod))
            for pod in pods
        )
    )
    unreachable = tuple(
        (name, why)
        for name, (served, why) in zip(pod_names, answers, strict=True)
        if served is None
    )
    current = sum(1 for served, _ in answers if served == config_hash)
    return Serving(config_hash, len(pods), current, unreachable)
