"""kstatus on the test plane: `kubectl wait --for=condition=Ready` on every aimock kind, and
kstatus' rules and the Argo CD health checks (tests/operator/test_gitops_health.py: Lua run by
a real interpreter) over the objects the operator wrote.

What Flux's health checks and `kubectl wait` read: `Ready` on all three kinds, `Stalled` on a
refused Fixture, observedGeneration equal to the generation once the operator has seen it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.operator_run import Operator
from tests.k8s.plane import ControlPlane
from tests.k8s.test_operator import condition, items, ready_example
from tests.operator.test_gitops_health import health, kstatus

ROOT = Path(__file__).resolve().parents[2]
STAGING = ROOT / "examples" / "gitops" / "overlays" / "staging"
TIMEOUT = "--timeout=60s"
STAGING_OBJECTS = [
    "mockstack/checkout",
    "fixture/checkout-faq",
    "fixture/checkout-failures",
    "fixture/checkout-staging",
    "chaospolicy/checkout-staging-drill",
]


def live(plane: ControlPlane, namespace: str, *refs: str) -> list[dict[str, Any]]:
    found = json.loads(plane.kubectl("get", "-n", namespace, "-o", "json", *refs))
    items: list[dict[str, Any]] = found.get("items", [found])
    return items


def test_kubectl_wait_for_ready_on_each_kind(
    plane: ControlPlane, namespace: str, operator: Operator
) -> None:
    plane.kubectl("apply", "-n", namespace, "-k", str(STAGING))
    out = plane.kubectl("wait", "-n", namespace, "--for=condition=Ready", TIMEOUT, *STAGING_OBJECTS)
    met = {line.split()[0] for line in out.splitlines() if line.endswith("condition met")}
    assert met == {ref.replace("/", ".aimock.dev/", 1) for ref in STAGING_OBJECTS}, out
    objects = live(plane, namespace, *STAGING_OBJECTS)
    assert len(objects) == len(STAGING_OBJECTS)
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"], name
        assert condition(obj, "Stalled")["status"] == "False", name
        assert condition(obj, "Reconciling").get("status") in (None, "False"), name
        assert kstatus(obj) == "Current", name
        # Argo CD: healthy stack, valid fixtures, the drill running.
        assert health(obj["kind"], obj)[0] == "Healthy", name


def test_a_refused_fixture_is_stalled_not_ready(
    plane: ControlPlane, namespace: str, operator: Operator
) -> None:
    bad = {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "Fixture",
        "metadata": {"name": "bad-regex", "labels": {"app": "checkout"}},
        "spec": {
            "fixtures": [
                {"match": {"userMessage": {"regex": "(oops"}}, "response": {"content": "x"}}
            ]
        },
    }
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(bad))
    plane.kubectl("wait", "-n", namespace, "--for=condition=Stalled", TIMEOUT, "fixture/bad-regex")
    out = plane.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready=False", TIMEOUT, "fixture/bad-regex"
    )
    assert "condition met" in out
    (obj,) = live(plane, namespace, "fixture/bad-regex")
    assert kstatus(obj) == "Failed"
    state, message = health("Fixture", obj)
    assert state == "Degraded" and "invalid regex" in message
    stalled = condition(obj, "Stalled")
    assert stalled["reason"] == "Invalid"
    assert "spec.fixtures[0].match.userMessage: invalid regex '(oops'" in stalled["message"]


def test_a_settled_stack_whose_pod_crashes_is_stalled_not_progressing(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    """kwok's pods run nothing, so the crash is written into the pod's status as a kubelet
    would write it; the Deployment controller and the operator take it from there."""
    ready_example(plane, namespace, capsys)
    (pod,) = items(plane, namespace, "pods")
    name = pod["metadata"]["name"]
    waiting = {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}
    crashed = {
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
            ],
            "containerStatuses": [
                {
                    **container,
                    "ready": False,
                    "started": False,
                    "restartCount": 3,
                    "state": {"waiting": waiting},
                }
                for container in pod["status"]["containerStatuses"]
            ],
        }
    }
    plane.kubectl(
        "patch",
        "pod",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=strategic",
        "-p",
        json.dumps(crashed),
    )
    out = plane.kubectl(
        "wait", "-n", namespace, "--for=condition=Stalled", TIMEOUT, "mockstack/preview"
    )
    assert "condition met" in out
    (stack,) = live(plane, namespace, "mockstack/preview")
    assert kstatus(stack) == "Failed"
    state, message = health("MockStack", stack)
    assert state == "Degraded" and "CrashLoopBackOff" in message
    stalled = condition(stack, "Stalled")
    assert stalled["reason"] == "CrashLoopBackOff"
    assert f"pod {name}, container aimock: CrashLoopBackOff" in stalled["message"]
    assert (condition(stack, "Ready")["status"], condition(stack, "Progressing")["status"]) == (
        "False",
        "False",
    )
