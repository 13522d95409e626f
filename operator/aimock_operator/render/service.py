"""The Service in front of the stack's pods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock.models.stack import StackSpec
from aimock_operator.render import names, tls


def service(
    stack: str, namespace: str, spec: StackSpec, owner: Mapping[str, Any]
) -> dict[str, Any]:
    name = names.port_name(tls.enabled(spec))
    port = {"name": name, "port": spec.service.port, "targetPort": name, "protocol": "TCP"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": names.service(stack),
            "namespace": namespace,
            "labels": names.labels(stack),
            "ownerReferences": [dict(owner)],
        },
        "spec": {
            "type": spec.service.type,
            "selector": names.selector_labels(stack),
            "ports": [port],
            # Matching state (sequences, turn counters, X-Test-Id scopes) lives in each pod;
            # kube-proxy keeps a client address on one pod (for 3 hours by default).
            "sessionAffinity": spec.service.session_affinity,
        },
    }
