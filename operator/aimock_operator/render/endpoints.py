"""The endpoints ConfigMap: every SDK's base-URL variable, for `envFrom` in apps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock.providers.registry import environment
from aimock_operator.render import names


def variables(origin: str) -> dict[str, str]:
    return {**environment(origin), "AIMOCK_URL": origin}


def endpoints_config_map(
    stack: str, namespace: str, origin: str, owner: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": names.endpoints(stack),
            "namespace": namespace,
            "labels": names.labels(stack, names.ENDPOINTS_COMPONENT),
            "ownerReferences": [dict(owner)],
        },
        "data": dict(sorted(variables(origin).items())),
    }
