"""The inbound API keys of a stack (`spec.apiKeysSecret`): the pods read the Secret's `keys`
(comma-separated) as `AIMOCK_API_KEYS`, so a key never sits in the stack's ConfigMap. The
kubelet resolves the variable: the operator never handles a key."""

from __future__ import annotations

from typing import Any

ENV = "AIMOCK_API_KEYS"
KEY = "keys"


def env(secret: str) -> dict[str, Any]:
    """The container variable reading `secret`'s `keys`."""
    return {"name": ENV, "valueFrom": {"secretKeyRef": {"name": secret, "key": KEY}}}
