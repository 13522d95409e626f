"""The endpoints ConfigMap: every SDK's base-URL variable, for `envFrom` in apps, and with
`spec.tls` the CA that apps trust (key `ca.crt`, to mount as a file: docs/tls.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock.providers.registry import environment
from aimock_operator.render import names, tls


def variables(origin: str) -> dict[str, str]:
    return {**environment(origin), "AIMOCK_URL": origin}


def endpoints_config_map(
    stack: str, namespace: str, origin: str, owner: Mapping[str, Any], ca: str | None = None
) -> dict[str, Any]:
    data = variables(origin)
    if ca:
        data[tls.CA] = ca
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": names.endpoints(stack),
            "namespace": namespace,
            "labels": names.labels(stack, names.ENDPOINTS_COMPONENT),
            "ownerReferences": [dict(owner)],
        },
        "data": dict(sorted(data.items())),
    }
