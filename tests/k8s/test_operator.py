"""The operator against the real control plane: MockStack -> children -> Ready, Fixture edits
without rollouts, bad Fixtures reported, chaos drills that end by themselves, garbage
collection, and convergence after the operator dies half-way through a reconcile.

The operator runs in-process (kopf.testing.KopfRunner) with a fresh registry, scoped to the
test's namespace; kwok makes the pods Ready. Timings are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aimock.models.stack import FixtureSpec
from aimock_operator import k8s
from aimock_operator.crd.v1alpha1 import GROUP
from tests.k8s.operator_run import IMAGE, Operator, running_operator
from tests.k8s.plane import ControlPlane, wait_until
from tests.operator.test_gitops_health import health, kstatus

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mockstack.yaml"
WAIT = 60.0

# --- reading the cluster -----------------------------------------------------------------------


def path(namespace: str, kind: str, name: str) -> str:
    return {
        "configmap": f"/api/v1/namespaces/{namespace}/configmaps/{name}",
        "service": f"/api/v1/namespaces/{namespace}/services/{name}",
        "deployment": f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
        "secret": f"/api/v1/namespaces/{namespace}/secrets/{name}",
        "mockstack": f"/apis/{GROUP}/v1alpha1/namespaces/{namespace}/mockstacks/{name}",
        "fixture": f"/apis/{GROUP}/v1alpha1/namespaces/{namespace}/fixtures/{name}",
        "chaospolicy": f"/apis/{GROUP}/v1alpha1/namespaces/{namespace}/chaospolicies/{name}",
    }[kind]


def read(plane: ControlPlane, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    status, body = plane.request("GET", path(namespace, kind, name))
    if status == 404:
        return None
    assert status == 200, body
    result: dict[str, Any] = body
    return result


def items(plane: ControlPlane, namespace: str, plural: str) -> list[dict[str, Any]]:
    group = "/apis/apps/v1" if plural == "replicasets" else "/api/v1"
    status, listing = plane.request("GET", f"{group}/namespaces/{namespace}/{plural}")
    assert status == 200, listing
    found: list[dict[str, Any]] = listing["items"]
    return found


def condition(body: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    for item in ((body or {}).get("status") or {}).get("conditions") or []:
        if item["type"] == kind:
            result: dict[str, Any] = item
            return result
    return {}


def wait_for(
    plane: ControlPlane,
    namespace: str,
    ref: str,
    test: Callable[[dict[str, Any]], object],
    what: str,
) -> dict[str, Any]:
    """Poll `ref` (kind/name) until `test` holds for it; returns the object."""
    kind, name = ref.split("/")

    def probe() -> dict[str, Any] | None:
        body = read(plane, namespace, kind, name)
        return body if body is not None and test(body) else None

    def dump() -> str:
        return diagnose(plane, namespace, kind, name)

    return wait_until(probe, timeout=WAIT, what=what, interval=0.05, on_timeout=dump)


def diagnose(plane: ControlPlane, namespace: str, kind: str, name: str) -> str:
    """What a failed wait saw: the object's status, the Deployment's and the pods'."""
    body = read(plane, namespace, kind, name) or {}
    deployment = read(plane, namespace, "deployment", "preview") or {}
    pods = [
        {
            "name": p["metadata"]["name"],
            "phase": p["status"].get("phase"),
            "node": p["spec"].get("nodeName"),
            "conditions": p["status"].get("conditions"),
        }
        for p in items(plane, namespace, "pods")
    ]
    return json.dumps(
        {
            "object": body.get("status"),
            "deployment": {
                "generation": deployment.get("metadata", {}).get("generation"),
                "status": deployment.get("status"),
            },
            "pods": pods,
        },
        indent=1,
    )


def is_ready(body: dict[str, Any]) -> bool:
    return condition(body, "Ready").get("status") == "True"


def config_files(plane: ControlPlane, namespace: str, stack: str = "preview") -> dict[str, str]:
    status, listing = plane.request(
        "GET", f"/api/v1/namespaces/{namespace}/configmaps?labelSelector=aimock.dev/stack={stack}"
    )
    assert status == 200
    merged: dict[str, str] = {}
    for item in listing["items"]:
        if item["metadata"]["name"].startswith(f"{stack}-config-"):
            merged.update(item.get("data") or {})
    return merged


def apply(plane: ControlPlane, namespace: str, document: dict[str, Any] | str) -> None:
    text = document if isinstance(document, str) else yaml.safe_dump(document)
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=text)


def report(capsys: pytest.CaptureFixture[str], what: str, seconds: float) -> None:
    with capsys.disabled():  # shown in every run, not only when a test fails
        print(f"\n[operator timing] {what}: {seconds:.2f} s", flush=True)


def example(kind: str) -> dict[str, Any]:
    for doc in yaml.safe_load_all(EXAMPLE.read_text()):
        if doc and doc["kind"] == kind:
            result: dict[str, Any] = doc
            return result
    raise LookupError(kind)


def ready_example(
    plane: ControlPlane, namespace: str, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    started = time.monotonic()
    plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE))
    stack = wait_for(plane, namespace, "mockstack/preview", is_ready, "MockStack Ready")
    report(capsys, "kubectl apply -> MockStack Ready", time.monotonic() - started)
    return stack


def settled_example(plane: ControlPlane, namespace: str) -> dict[str, Any]:
    """The example stack once every document is in and its status and children agree.

    The example's Fixture and ChaosPolicy events reconcile again right after Ready (the stack
    can be Ready before the ChaosPolicy is selected, and the config change then rolls the
    Deployment): a test that reads several objects waits for this first."""

    def settled(body: dict[str, Any]) -> bool:
        deployment = read(plane, namespace, "deployment", "preview") or {}
        annotations = deployment.get("metadata", {}).get("annotations") or {}
        wanted = body.get("status", {}).get("configHash")
        return (
            is_ready(body)
            and annotations.get("aimock.dev/config-hash") == wanted
            and len(config_files(plane, namespace)) == 3
        )

    return wait_for(plane, namespace, "mockstack/preview", settled, "status matches children")


# --- the tests ---------------------------------------------------------------------------------


def test_example_becomes_ready_with_its_children(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_example(plane, namespace, capsys)
    stack = settled_example(plane, namespace)
    status = stack["status"]
    origin = f"http://preview.{namespace}.svc.cluster.local:4010"
    assert status["endpoint"] == origin
    assert status["endpointsConfigMap"] == "preview-endpoints"
    assert status["fixtures"] == 3  # one inline + two from Fixture checkout-assistant
    assert status["observedGeneration"] == stack["metadata"]["generation"]
    assert (status["replicas"], status["readyReplicas"]) == (1, 1)
    assert condition(stack, "FixturesValid")["status"] == "True"

    deployment = read(plane, namespace, "deployment", "preview")
    assert deployment is not None
    assert deployment["metadata"]["annotations"]["aimock.dev/config-hash"] == status["configHash"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGE
    assert container["args"][:3] == ["serve", "-f", "/etc/aimock/config"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    owner = deployment["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == (
        "MockStack",
        stack["metadata"]["uid"],
        True,
    )

    files = config_files(plane, namespace)
    assert sorted(files) == [
        "00-mockstack.yaml",
        "10-fixture-checkout-assistant.yaml",
        "20-chaospolicy-checkout-drill.yaml",
    ]
    served = yaml.safe_load(files["10-fixture-checkout-assistant.yaml"])
    # The same fixtures (the apiserver may have filled in schema defaults).
    assert FixtureSpec.model_validate(served["spec"]) == FixtureSpec.model_validate(
        example("Fixture")["spec"]
    )
    endpoints = read(plane, namespace, "configmap", "preview-endpoints")
    assert endpoints is not None
    assert endpoints["data"]["OPENAI_BASE_URL"] == origin + "/v1"
    assert endpoints["data"]["AIMOCK_URL"] == origin
    service = read(plane, namespace, "service", "preview")
    assert service is not None
    assert service["spec"]["ports"][0]["targetPort"] == "http"

    fixture = read(plane, namespace, "fixture", "checkout-assistant")
    assert fixture is not None
    assert (fixture["status"]["accepted"], fixture["status"]["stacks"]) == (True, ["preview"])
    row = plane.kubectl("get", "mockstacks", "-n", namespace, "--no-headers").split()
    assert row[:3] + row[4:5] == ["preview", "True", "1", "3"]  # row[3]: Served


def test_fixture_edit_changes_the_config_without_a_rollout(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = ready_example(plane, namespace, capsys)
    before = read(plane, namespace, "deployment", "preview")
    assert before is not None
    sets = [rs["metadata"]["uid"] for rs in items(plane, namespace, "replicasets")]
    pods = [pod["metadata"]["uid"] for pod in items(plane, namespace, "pods")]
    assert len(sets) == len(pods) == 1
    fixture = example("Fixture")
    fixture["spec"]["fixtures"][0]["response"]["content"] = "It arrives on Friday."
    started = time.monotonic()
    apply(plane, namespace, fixture)
    wait_until(
        lambda: (
            "It arrives on Friday."
            in config_files(plane, namespace).get("10-fixture-checkout-assistant.yaml", "")
        ),
        timeout=WAIT,
        interval=0.05,
        what="the edited Fixture in the ConfigMap",
    )
    report(capsys, "Fixture edit -> ConfigMap updated", time.monotonic() - started)
    old_hash = stack["status"]["configHash"]
    edited = wait_for(
        plane,
        namespace,
        "mockstack/preview",
        lambda body: body["status"].get("configHash") != old_hash,
        "a new configHash",
    )
    after = read(plane, namespace, "deployment", "preview")
    assert after is not None
    assert (
        after["metadata"]["annotations"]["aimock.dev/config-hash"]
        == (edited["status"]["configHash"])
    )
    # No rollout: the same pod template, still one ReplicaSet, the same pod. (The Deployment's
    # generation does move: the apiserver bumps it for annotation changes too, because the
    # Deployment controller copies annotations onto its ReplicaSet.)
    assert after["spec"]["template"] == before["spec"]["template"]
    assert [rs["metadata"]["uid"] for rs in items(plane, namespace, "replicasets")] == sets
    assert [pod["metadata"]["uid"] for pod in items(plane, namespace, "pods")] == pods

    # The pod (the object, not the template) is annotated with the new hash, then again a
    # moment later: each update makes a real kubelet sync the pod and re-project the
    # ConfigMap volume at once (kwok has no kubelet: this checks the operator's half).
    new_hash = edited["status"]["configHash"]

    def nudged(key: str) -> bool:
        found = items(plane, namespace, "pods")
        return all((p["metadata"].get("annotations") or {}).get(key) == new_hash for p in found)

    wait_until(lambda: nudged("aimock.dev/config-hash"), timeout=WAIT, what="the pod nudged")
    report(capsys, "Fixture edit -> pod annotated (kubelet nudge)", time.monotonic() - started)
    wait_until(lambda: nudged("aimock.dev/config-nudge"), timeout=WAIT, what="the second nudge")
    assert [pod["metadata"]["uid"] for pod in items(plane, namespace, "pods")] == pods


def test_bad_fixture_is_reported_while_the_stack_keeps_serving(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_example(plane, namespace, capsys)
    settled_example(plane, namespace)
    served = config_files(plane, namespace)
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
    apply(plane, namespace, bad)
    stack = wait_for(
        plane,
        namespace,
        "mockstack/preview",
        # Still Ready: the bad Fixture is refused, not served, so nothing rolls.
        lambda body: condition(body, "FixturesValid").get("status") == "False" and is_ready(body),
        "FixturesValid False, still Ready",
    )
    message = condition(stack, "FixturesValid")["message"]
    assert "Fixture bad-regex: spec.fixtures[0].match.userMessage" in message
    assert stack["status"]["rejectedFixtures"] == ["bad-regex"]
    assert config_files(plane, namespace) == served
    fixture = wait_for(
        plane,
        namespace,
        "fixture/bad-regex",
        lambda body: (body.get("status") or {}).get("accepted") is False,
        "Fixture Accepted False",
    )
    accepted = condition(fixture, "Accepted")
    assert accepted["status"] == "False"
    assert accepted["message"].startswith("spec.fixtures[0].match.userMessage")


def test_chaos_policy_applies_and_expires(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_example(plane, namespace, capsys)
    drill = example("ChaosPolicy")
    drill["metadata"]["name"] = "short-drill"
    drill["spec"].update(dropRate=0.5, durationSeconds=4)
    started = time.monotonic()
    apply(plane, namespace, drill)
    policy = wait_for(
        plane,
        namespace,
        "chaospolicy/short-drill",
        lambda body: (body.get("status") or {}).get("phase") == "Active",
        "ChaosPolicy Active",
    )
    assert policy["status"]["stacks"] == ["preview"]
    assert policy["status"]["expiresAt"] > policy["status"]["startedAt"]
    # What Argo CD's health check (charts/aimock/argocd-health.yaml) makes of the live object.
    state, message = health("ChaosPolicy", policy)
    assert (state, message.startswith("until ")) == ("Healthy", True), message
    wait_until(
        lambda: "20-chaospolicy-short-drill.yaml" in config_files(plane, namespace),
        timeout=WAIT,
        interval=0.05,
        what="the drill in the config",
    )
    served = yaml.safe_load(config_files(plane, namespace)["20-chaospolicy-short-drill.yaml"])
    assert served["spec"]["dropRate"] == 0.5
    wait_for(
        plane,
        namespace,
        "mockstack/preview",
        lambda body: "short-drill" in condition(body, "ChaosActive").get("message", ""),
        "ChaosActive naming the drill",
    )

    expired = wait_for(
        plane,
        namespace,
        "chaospolicy/short-drill",
        lambda body: body["status"].get("phase") == "Expired",
        "ChaosPolicy Expired",
    )
    report(capsys, "ChaosPolicy (4 s) apply -> Expired", time.monotonic() - started)
    assert condition(expired, "Active")["reason"] == "Expired"
    state, message = health("ChaosPolicy", expired)
    assert (state, "the drill ended at" in message) == ("Healthy", True), message
    assert kstatus(expired) == "Current"
    wait_until(
        lambda: "20-chaospolicy-short-drill.yaml" not in config_files(plane, namespace),
        timeout=WAIT,
        interval=0.05,
        what="the expired drill out of the config",
    )
    # The example's own (900 s) drill is still in force.
    assert "20-chaospolicy-checkout-drill.yaml" in config_files(plane, namespace)


def test_deleting_the_stack_collects_its_children(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_example(plane, namespace, capsys)
    plane.kubectl("delete", "mockstack", "preview", "-n", namespace, "--wait=true")
    children = [
        ("deployment", "preview"),
        ("service", "preview"),
        ("configmap", "preview-config-0"),
        ("configmap", "preview-endpoints"),
        ("secret", "preview-admin-token"),
    ]
    wait_until(
        lambda: all(read(plane, namespace, kind, name) is None for kind, name in children),
        timeout=WAIT,
        what="the garbage collector to delete the children",
    )
    fixture = wait_for(
        plane,
        namespace,
        "fixture/checkout-assistant",
        lambda body: body["status"].get("stacks") == [],
        "the Fixture to list no stacks",
    )
    assert fixture["status"]["accepted"] is True


def children_state(plane: ControlPlane, namespace: str) -> dict[str, Any]:
    """What the operator made, with the bookkeeping that differs between equal objects."""
    state: dict[str, Any] = {}
    for kind, name in (
        ("configmap", "preview-config-0"),
        ("configmap", "preview-endpoints"),
        ("service", "preview"),
        ("deployment", "preview"),
        ("secret", "preview-admin-token"),  # the token, too, survives the restarts
    ):
        body = read(plane, namespace, kind, name)
        assert body is not None, f"{kind} {name} is missing"
        state[f"{kind}/{name}"] = {
            "resourceVersion": body["metadata"]["resourceVersion"],
            "content": body.get("data") or body["spec"],
        }
    return state


def test_operator_killed_mid_reconcile_converges_on_restart(
    plane: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # First run: dies after applying the first ConfigMap, before the Deployment exists.
    real_apply = k8s.apply
    stuck = threading.Event()

    async def apply_then_die(obj: Any) -> dict[str, Any]:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-endpoints"):
            stuck.set()
            await asyncio.Event().wait()  # never returns: cancelled when the operator stops
        return await real_apply(obj)

    with monkeypatch.context() as patched:
        patched.setattr(k8s, "apply", apply_then_die)
        with running_operator(plane, namespace, monkeypatch):
            plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE))
            wait_until(stuck.is_set, timeout=WAIT, what="the reconcile to reach the endpoints")
    assert read(plane, namespace, "configmap", "preview-config-0") is not None
    assert read(plane, namespace, "deployment", "preview") is None

    # Second run: resumes and finishes.
    with running_operator(plane, namespace, monkeypatch):
        wait_for(plane, namespace, "mockstack/preview", is_ready, "Ready after restart")
        converged = children_state(plane, namespace)

    # Third run: nothing left to do; every child keeps its resourceVersion.
    with running_operator(plane, namespace, monkeypatch) as third:
        wait_until(
            lambda: third.reconciler.reconciles >= 1, timeout=WAIT, what="the resume reconcile"
        )
        again = children_state(plane, namespace)
    assert again == converged
    stack = read(plane, namespace, "mockstack", "preview")
    assert stack is not None and is_ready(stack)
    assert copy.deepcopy(stack["status"]["fixtures"]) == 3
