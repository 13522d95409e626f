"""Every stack's control API gets a token: the operator generates `<stack>-admin-token` once (an
owned, immutable Secret), keeps it across reconciles and restarts, leaves it alone when the
stack names its own `spec.adminTokenSecret`, never takes over a Secret it does not own, and the
garbage collector deletes it with the stack.

The operator runs in-process, as in test_operator.py; the pods are kwok's, so what is checked
is what the kubelet would be given (the Deployment's env), not a running server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import pytest

from aimock_operator import k8s
from aimock_operator.crd.v1alpha1 import API_VERSION
from tests.k8s.plane import ControlPlane, wait_until
from tests.k8s.test_operator import WAIT, condition, read, running_operator, wait_for

STACK = "solo"
GENERATED = f"{STACK}-admin-token"


def apply_stack(plane: ControlPlane, namespace: str, **spec: Any) -> None:
    stack = {"apiVersion": API_VERSION, "kind": "MockStack", "metadata": {"name": STACK}}
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps({**stack, "spec": spec}))


def reconciled(generation: int = 1) -> Any:
    """A test for wait_for: the stack's `generation` is reconciled, and with what outcome."""

    def test(body: dict[str, Any]) -> bool:
        status = body.get("status") or {}
        done = condition(body, "Reconciled").get("observedGeneration") == generation
        return done and status.get("observedGeneration") == generation

    return test


def token_of(secret: dict[str, Any]) -> str:
    return base64.b64decode(secret["data"]["token"]).decode()


def token_reference(plane: ControlPlane, namespace: str) -> dict[str, Any]:
    """Where the stack's server container takes AIMOCK_ADMIN_TOKEN from."""
    deployment = read(plane, namespace, "deployment", STACK)
    assert deployment is not None
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    ref: dict[str, Any] = env["AIMOCK_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"]
    return ref


def create_secret(plane: ControlPlane, namespace: str, name: str, token: str) -> None:
    plane.kubectl(
        "create", "secret", "generic", name, "-n", namespace, f"--from-literal=token={token}"
    )


def test_a_new_stack_gets_a_token_that_reconciles_and_restarts_keep(
    plane: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_operator(plane, namespace, monkeypatch):
        apply_stack(plane, namespace)
        stack = wait_for(plane, namespace, f"mockstack/{STACK}", reconciled(1), "reconciled")
        assert condition(stack, "Reconciled")["status"] == "True"
        assert stack["status"]["adminTokenSecret"] == GENERATED
        secret = read(plane, namespace, "secret", GENERATED)
        assert secret is not None
        meta = secret["metadata"]
        assert meta["ownerReferences"] == [
            {
                "apiVersion": API_VERSION,
                "kind": "MockStack",
                "name": STACK,
                "uid": stack["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert meta["labels"]["app.kubernetes.io/component"] == "admin-token"
        assert meta["labels"]["aimock.dev/stack"] == STACK
        assert (secret["type"], secret["immutable"]) == ("Opaque", True)
        assert re.fullmatch(r"[0-9a-f]{64}", token_of(secret))
        assert token_reference(plane, namespace) == {"name": GENERATED, "key": "token"}
        # What the operator reads back on each reconcile: who owns it, never the token.
        seen = asyncio.run(k8s.get_secret_metadata(namespace, GENERATED))
        assert seen is not None and seen["kind"] == "PartialObjectMetadata"
        assert "data" not in seen and seen["metadata"]["uid"] == meta["uid"]

        # A spec edit reconciles again: the Secret is not written (same resourceVersion).
        plane.kubectl(
            "patch", "mockstack", STACK, "-n", namespace, "--type=merge",
            "-p", '{"spec": {"replicas": 2}}',
        )  # fmt: skip
        wait_for(plane, namespace, f"mockstack/{STACK}", reconciled(2), "generation 2 reconciled")
        assert read(plane, namespace, "secret", GENERATED) == secret

    # A restarted operator resumes the stack and keeps its token.
    with running_operator(plane, namespace, monkeypatch) as restarted:
        wait_until(
            lambda: restarted.reconciler.reconciles >= 1, timeout=WAIT, what="the resume reconcile"
        )
        assert read(plane, namespace, "secret", GENERATED) == secret

    # Deleting the stack deletes its Secret (owner reference; the garbage collector does it).
    plane.kubectl("delete", "mockstack", STACK, "-n", namespace, "--wait=true")
    wait_until(
        lambda: read(plane, namespace, "secret", GENERATED) is None,
        timeout=WAIT,
        what="the garbage collector to delete the token Secret",
    )


def test_a_named_token_secret_wins_and_none_is_generated(
    plane: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_secret(plane, namespace, "team-token", "s3cret")
    before = read(plane, namespace, "secret", "team-token")
    with running_operator(plane, namespace, monkeypatch):
        apply_stack(plane, namespace, adminTokenSecret="team-token")
        stack = wait_for(plane, namespace, f"mockstack/{STACK}", reconciled(1), "reconciled")
        assert condition(stack, "Reconciled")["status"] == "True"
        assert stack["status"]["adminTokenSecret"] == "team-token"
        assert token_reference(plane, namespace) == {"name": "team-token", "key": "token"}
        assert read(plane, namespace, "secret", GENERATED) is None
        assert read(plane, namespace, "secret", "team-token") == before  # not even adopted


def test_a_secret_the_stack_does_not_own_is_never_taken_over(
    plane: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_secret(plane, namespace, GENERATED, "theirs")
    with running_operator(plane, namespace, monkeypatch):
        apply_stack(plane, namespace)
        stack = wait_for(
            plane,
            namespace,
            f"mockstack/{STACK}",
            lambda body: condition(body, "Reconciled").get("status") == "False",
            "Reconciled False",
        )
        refused = condition(stack, "Reconciled")
        assert refused["reason"] == "ApplyFailed"
        assert (
            f"Secret {GENERATED} exists and is not owned by MockStack {STACK}"
            in (refused["message"])
        )
        assert read(plane, namespace, "deployment", STACK) is None  # no pod reads their token
        foreign = read(plane, namespace, "secret", GENERATED)
        assert foreign is not None and token_of(foreign) == "theirs"
        # Once it is gone, the retried reconcile makes the stack's own.
        plane.kubectl("delete", "secret", GENERATED, "-n", namespace)
        wait_for(
            plane,
            namespace,
            f"mockstack/{STACK}",
            lambda body: condition(body, "Reconciled").get("status") == "True",
            "Reconciled True after the foreign Secret went",
        )
        own = read(plane, namespace, "secret", GENERATED)
        assert own is not None and token_of(own) != "theirs"
        assert own["metadata"]["ownerReferences"][0]["uid"] == stack["metadata"]["uid"]
