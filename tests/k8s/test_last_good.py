"""Issue 14 on the real control plane: an invalid edit keeps the last accepted version in
service (a Fixture, a ChaosPolicy, the stack's own spec), and Ready does not move while a
Fixture edit goes through (sampled every 50 ms).

The operator runs in-process (tests.k8s.test_operator's `operator` fixture); kwok makes the
pods Ready. What is served is read from the stack's ConfigMaps, which the pods mount.
"""

from __future__ import annotations

import threading

import pytest
import yaml

from tests.k8s.operator_run import Operator
from tests.k8s.plane import ControlPlane, wait_until
from tests.k8s.test_operator import (
    WAIT,
    apply,
    condition,
    config_files,
    example,
    is_ready,
    items,
    read,
    ready_example,
    settled_example,
    wait_for,
)

FIXTURE_FILE = "10-fixture-checkout-assistant.yaml"


def test_a_fixture_edited_into_an_invalid_one_keeps_serving_its_last_version(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_example(plane, namespace, capsys)
    settled_example(plane, namespace)
    served = config_files(plane, namespace)[FIXTURE_FILE]
    broken = example("Fixture")
    broken["spec"]["fixtures"][0]["match"]["userMessage"] = {"regex": "(oops"}
    apply(plane, namespace, broken)
    fixture = wait_for(
        plane,
        namespace,
        "fixture/checkout-assistant",
        lambda body: (body.get("status") or {}).get("accepted") is False,
        "Fixture Accepted False",
    )
    assert fixture["metadata"]["generation"] == 2
    assert fixture["status"]["servedGeneration"] == 1
    assert fixture["status"]["stacks"] == ["preview"]
    message = condition(fixture, "Accepted")["message"]
    assert message.startswith("spec.fixtures[0].match.userMessage")
    assert "MockStack preview serves generation 1, the last accepted" in message
    stack = wait_for(
        plane,
        namespace,
        "mockstack/preview",
        lambda body: condition(body, "FixturesValid").get("status") == "False",
        "FixturesValid False",
    )
    assert stack["status"]["lastGoodFixtures"] == [{"name": "checkout-assistant", "generation": 1}]
    assert is_ready(stack)
    assert config_files(plane, namespace)[FIXTURE_FILE] == served  # what the pods read


def test_a_policy_edited_into_an_invalid_one_keeps_its_drill(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_example(plane, namespace, capsys)
    settled_example(plane, namespace)
    served = config_files(plane, namespace)["20-chaospolicy-checkout-drill.yaml"]
    broken = example("ChaosPolicy")
    # Past what the schema checks (the webhook is off here): the operator's checks refuse it.
    broken["spec"]["selector"] = {"matchLabels": {"app": "checkout!"}}
    broken["spec"]["dropRate"] = 0.5
    apply(plane, namespace, broken)
    policy = wait_for(
        plane,
        namespace,
        "chaospolicy/checkout-drill",
        lambda body: condition(body, "Accepted").get("status") == "False",
        "ChaosPolicy Accepted False",
    )
    assert (policy["status"]["phase"], policy["status"]["servedGeneration"]) == ("Active", 1)
    assert "spec.selector.matchLabels.app" in condition(policy, "Accepted")["message"]
    assert config_files(plane, namespace)["20-chaospolicy-checkout-drill.yaml"] == served


def test_an_invalid_stack_spec_keeps_the_last_applied_one(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_example(plane, namespace, capsys)
    settled_example(plane, namespace)
    served = config_files(plane, namespace)
    stack = example("MockStack")
    stack["spec"]["fixtures"][0]["match"]["userMessage"] = {"regex": "(oops"}
    apply(plane, namespace, stack)
    body = wait_for(
        plane,
        namespace,
        "mockstack/preview",
        lambda body: condition(body, "Reconciled").get("reason") == "InvalidSpec",
        "Reconciled False InvalidSpec",
    )
    assert (body["status"]["observedGeneration"], body["status"]["servedGeneration"]) == (2, 1)
    assert condition(body, "Reconciled")["message"].endswith(
        "generation 1, the last applied, is served"
    )
    # Still answering from generation 1, but not what the spec declares: not Ready, and
    # Stalled (kstatus Failed) until the spec is fixed.
    assert body["status"]["readyReplicas"] == 1
    assert (condition(body, "Ready")["status"], condition(body, "Ready")["reason"]) == (
        "False",
        "InvalidSpec",
    )
    assert condition(body, "Stalled")["status"] == "True"
    assert config_files(plane, namespace) == served


def test_ready_holds_through_a_fixture_edit(
    plane: ControlPlane, namespace: str, operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_example(plane, namespace, capsys)
    before = settled_example(plane, namespace)["status"]["configHash"]
    samples: list[tuple[str | None, object]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            body = read(plane, namespace, "mockstack", "preview") or {}
            ready = condition(body, "Ready")
            samples.append((ready.get("status"), (body.get("status") or {}).get("readyReplicas")))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        edited = example("Fixture")
        edited["spec"]["fixtures"][0]["response"]["content"] = "It arrives on Friday."
        apply(plane, namespace, edited)
        edited_hash = wait_for(
            plane,
            namespace,
            "mockstack/preview",
            lambda body: body["status"].get("configHash") not in (None, before),
            "the edit's config hash",
        )["status"]["configHash"]
        # The operator's last act for the edit: the pods' second nudge (and the Deployment
        # events before it).
        wait_until(
            lambda: all(
                (pod["metadata"].get("annotations") or {}).get("aimock.dev/config-nudge")
                == edited_hash
                for pod in items(plane, namespace, "pods")
            ),
            timeout=WAIT,
            what="the second nudge",
        )
    finally:
        stop.set()
        sampler.join(timeout=WAIT)
    assert len(samples) > 10
    assert {status for status, _ in samples} == {"True"}, samples
    assert {replicas for _, replicas in samples} == {1}, samples
    served = yaml.safe_load(config_files(plane, namespace)[FIXTURE_FILE])
    assert served["spec"]["fixtures"][0]["response"]["content"] == "It arrives on Friday."
    assert served["metadata"]["generation"] == 2
