"""The admin token that guards a stack's control API (`/__aimock/*`).

The server listens on 0.0.0.0 in its pod, where it refuses the control API unless
`AIMOCK_ADMIN_TOKEN` is set, so every stack gets a token: from the Secret the user names in
`spec.adminTokenSecret`, or else from a Secret `<stack>-admin-token` the operator creates once.

Pure, like the rest of render/: the token value is the caller's (handlers.py draws it, and
only when the Secret does not exist yet), so nothing here is random.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock.models.stack import StackSpec
from aimock_operator.render import names

ENV = "AIMOCK_ADMIN_TOKEN"
KEY = "token"
TOKEN_BYTES = 32  # random bytes in a generated token: 64 hex digits


def secret_name(stack: str, spec: StackSpec) -> str:
    """The Secret whose `token` key the stack's pods read: the user's, else the generated one."""
    return spec.admin_token_secret or names.admin_token(stack)


def env(stack: str, spec: StackSpec) -> dict[str, Any]:
    """The container variable; the kubelet resolves it, so the operator never handles it."""
    ref = {"name": secret_name(stack, spec), "key": KEY}
    return {"name": ENV, "valueFrom": {"secretKeyRef": ref}}


def generated_secret(stack: str, *, namespace: str, owner: Mapping[str, Any]) -> dict[str, Any]:
    """The Secret the operator makes for a stack without `spec.adminTokenSecret`, minus its
    value (`with_token` adds it). Immutable: a token is never rewritten; deleting the Secret
    is how to rotate it."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": names.admin_token(stack),
            "namespace": namespace,
            "labels": names.labels(stack, names.ADMIN_TOKEN_COMPONENT),
            "ownerReferences": [dict(owner)],
        },
        "type": "Opaque",
        "immutable": True,
    }


def with_token(manifest: Mapping[str, Any], token: str) -> dict[str, Any]:
    """A rendered `generated_secret` holding `token`."""
    return {**manifest, "stringData": {KEY: token}}
