"""Status: conditions from what was observed, times that move only on a flip, drill timing.

Every status computed here is also validated against the CRD's status models, so a field the
apiserver would prune (and silently lose) fails a test instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aimock_operator.crd.v1alpha1 import ChaosPolicyStatus, FixtureStatus, MockStackStatus
from aimock_operator.render import chaos
from aimock_operator.render.status import (
    Failure,
    Reconciliation,
    Rejected,
    Rollout,
    Serving,
    StuckPod,
    changed,
    fixture_status,
    merge_conditions,
    progressing_condition,
    ready_condition,
    serving_condition,
    serving_status,
    stack_status,
    stalled_condition,
    stuck_pods,
)
from aimock_operator.validation import Problem

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def deployment(
    replicas: int = 1, ready: int = 1, *, generation: int = 1, observed: int = 1, **extra: Any
) -> dict[str, Any]:
    available = "True" if ready >= replicas else "False"
    status = {
        "observedGeneration": observed,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [
            {"type": "Available", "status": available},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
        **extra,
    }
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": status,
    }


def by_type(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


OUTCOME = Reconciliation(
    fixtures=3,
    config_hash="0123456789abcdef",
    endpoint="http://preview.team-a.svc.cluster.local:4010",
    endpoints_config_map="preview-endpoints",
    admin_token_secret="preview-admin-token",
    selected=("checkout-assistant",),
    rejected=(),
    chaos_policies=(),
)


# --- conditions --------------------------------------------------------------------------------


def test_transition_time_moves_only_when_status_flips() -> None:
    first = merge_conditions([], [{"type": "Ready", "status": "False", "reason": "A"}], T0, 1)
    same = merge_conditions(first, [{"type": "Ready", "status": "False", "reason": "B"}], T1, 2)
    flipped = merge_conditions(same, [{"type": "Ready", "status": "True", "reason": "C"}], T1, 2)
    assert first[0]["lastTransitionTime"] == "2026-11-25T12:00:00Z"
    assert same[0]["lastTransitionTime"] == "2026-11-25T12:00:00Z"
    assert (same[0]["reason"], same[0]["observedGeneration"]) == ("B", 2)
    assert flipped[0]["lastTransitionTime"] == "2026-11-25T12:05:00Z"


def test_merge_keeps_conditions_it_was_not_given_and_orders_by_type() -> None:
    previous = [{"type": "FixturesValid", "status": "True", "reason": "AllValid"}]
    merged = merge_conditions(
        previous,
        [{"type": "Ready", "status": "True", "reason": "Available"}],
        T0,
        1,
        ("Ready", "FixturesValid"),
    )
    assert [c["type"] for c in merged] == ["Ready", "FixturesValid"]
    assert merged[1] == previous[0]


def test_ready_means_a_pod_serves() -> None:
    ready = ready_condition(Rollout.of(deployment(2, 2)))
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "True",
        "Available",
        "2/2 pods ready",
    )
    # Settled (the Deployment called its rollout complete), then short of a replica: still
    # serving what the spec declares.
    partly = ready_condition(Rollout.of(deployment(2, 1)))
    assert (partly["status"], partly["reason"]) == ("True", "PartlyAvailable")
    assert partly["message"] == "1/2 pods ready"
    none = ready_condition(Rollout.of(deployment(2, 0)))
    assert (none["status"], none["reason"], none["message"]) == (
        "False",
        "PodsNotReady",
        "0/2 pods ready",
    )
    # A Deployment whose controller has yet to see its latest spec: a rollout is about to
    # start, so the stack is not (yet) what its spec declares.
    behind = ready_condition(Rollout.of(deployment(1, 1, generation=3, observed=2)))
    assert (behind["status"], behind["reason"]) == ("False", "RollingOut")
    assert ready_condition(Rollout.of(None))["reason"] == "DeploymentMissing"
    assert ready_condition(Rollout.of(deployment(0, 0)))["reason"] == "ScaledToZero"
    fresh = {"metadata": {"generation": 1}, "spec": {"replicas": 1}}  # just applied, no status
    assert ready_condition(Rollout.of(fresh))["status"] == "False"


def test_progressing_while_the_rollout_runs() -> None:
    assert progressing_condition(Rollout.of(deployment()))["status"] == "False"
    behind = progressing_condition(Rollout.of(deployment(generation=2, observed=1)))
    assert (behind["status"], behind["reason"]) == ("True", "RollingOut")
    stalled = deployment()
    stalled["status"]["conditions"][1] = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "preview-1" has timed out progressing.',
    }
    result = progressing_condition(Rollout.of(stalled))
    assert (result["status"], result["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert "timed out" in result["message"]


def waiting(pod: str, *reasons: str, deleted: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": pod}
    if deleted:
        meta["deletionTimestamp"] = "2026-11-25T12:00:00Z"
    containers = [
        {"name": f"c{i}", "state": {"waiting": {"reason": r, "message": f"why {r}\n  more"}}}
        for i, r in enumerate(reasons)
    ]
    return {"metadata": meta, "status": {"containerStatuses": containers}}


def test_stuck_pods_are_the_back_offs_of_live_pods() -> None:
    pods = [
        waiting("b", "CrashLoopBackOff"),
        waiting("a", "ContainerCreating", "ErrImagePull"),
        waiting("c", "ImagePullBackOff", deleted=True),
        {"metadata": {"name": "d"}, "status": {}},
    ]
    assert stuck_pods(pods) == (
        StuckPod("a", "c1", "ErrImagePull", "why ErrImagePull more"),
        StuckPod("b", "c0", "CrashLoopBackOff", "why CrashLoopBackOff more"),
    )


def test_a_settled_rollout_is_not_restarted_by_lost_pods() -> None:
    settled = Rollout.of(deployment(2, 0))  # NewReplicaSetAvailable, no pod ready any more
    assert not settled.rolling
    fresh = deployment(2, 0)
    fresh["status"]["conditions"][1]["reason"] = "ReplicaSetUpdated"
    assert Rollout.of(fresh).rolling
    assert Rollout.of(deployment(2, 2, generation=2, observed=1)).rolling
    assert Rollout.of(None).rolling


@pytest.mark.parametrize(
    ("pods", "ready", "reason", "words"),
    [
        ((), 0, None, ""),
        ([waiting("a", "CrashLoopBackOff")], 0, "CrashLoopBackOff", "pod a, container c0"),
        ([waiting("a", "ImagePullBackOff")], 0, "ImagePullBackOff", "make image"),
        ([waiting("a", "CrashLoopBackOff")], 2, None, ""),  # settled, every pod ready
        (
            [waiting(p, "CrashLoopBackOff") for p in "abcd"],
            0,
            "CrashLoopBackOff",
            "pod c, container c0: CrashLoopBackOff (why CrashLoopBackOff more) (and 1 more)",
        ),
    ],
)
def test_stalled_names_the_stuck_pods(
    pods: list[dict[str, Any]], ready: int, reason: str | None, words: str
) -> None:
    rollout = Rollout.of(deployment(2, ready))
    got = stalled_condition(rollout, stuck_pods(pods), None)
    assert (got["status"], got["reason"] if reason else None) == (
        "True" if reason else "False",
        reason,
    )
    assert words in got["message"]


def test_a_stalled_rollout_or_refused_spec_is_stalled() -> None:
    late = deployment(1, 0)
    late["status"]["conditions"][1] = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "preview-1" has timed out progressing.',
    }
    got = stalled_condition(Rollout.of(late), (), None)
    assert (got["status"], got["reason"]) == ("True", "ProgressDeadlineExceeded")
    refused = {"type": "Reconciled", "status": "False", "reason": "InvalidSpec", "message": "x"}
    got = stalled_condition(Rollout.of(deployment()), (), refused)
    assert (got["status"], got["reason"], got["message"]) == ("True", "InvalidSpec", "x")
    retried = {**refused, "reason": "ApplyFailed"}  # retried by the operator: Reconciling
    assert stalled_condition(Rollout.of(deployment()), (), retried)["status"] == "False"
    ready = ready_condition(Rollout.of(deployment()), reconciled=retried)
    assert (ready["status"], ready["reason"]) == ("False", "ApplyFailed")


# --- MockStack status --------------------------------------------------------------------------


def test_reconciled_stack_status_is_complete_and_fits_the_crd() -> None:
    status = stack_status(
        generation=4, previous={}, deployment=deployment(), now=T0, outcome=OUTCOME
    )
    MockStackStatus.model_validate(status)
    assert status["observedGeneration"] == 4
    assert (status["replicas"], status["readyReplicas"], status["fixtures"]) == (1, 1, 3)
    assert status["configHash"] == "0123456789abcdef"
    assert status["endpoint"] == OUTCOME.endpoint
    assert status["endpointsConfigMap"] == "preview-endpoints"
    assert status["adminTokenSecret"] == "preview-admin-token"
    assert status["selectedFixtures"] == ["checkout-assistant"]
    conditions = by_type(status)
    assert [c["type"] for c in status["conditions"]] == [
        "Ready",
        "Reconciling",
        "Stalled",
        "Progressing",
        "ConfigServed",
        "FixturesValid",
        "ChaosActive",
        "Reconciled",
    ]
    assert {t: c["status"] for t, c in conditions.items()} == {
        "Ready": "True",
        "Reconciling": "False",
        "Stalled": "False",
        "Progressing": "False",
        "ConfigServed": "Unknown",  # a new config: no pod has reported it yet
        "FixturesValid": "True",
        "ChaosActive": "False",
        "Reconciled": "True",
    }
    assert status["servedReplicas"] == 0
    assert all(c["observedGeneration"] == 4 for c in status["conditions"])


def test_served_replicas_hold_through_a_reconcile_that_keeps_the_config() -> None:
    first = stack_status(
        generation=4, previous={}, deployment=deployment(), now=T0, outcome=OUTCOME
    )
    served = {**first, **serving_status(first, Serving(OUTCOME.config_hash, 1, 1), T0)}
    again = stack_status(
        generation=4, previous=served, deployment=deployment(), now=T0, outcome=OUTCOME
    )
    assert again["servedReplicas"] == 1
    assert by_type(again)["ConfigServed"]["status"] == "True"
    moved = Reconciliation(**{**OUTCOME.__dict__, "config_hash": "fedcba9876543210"})
    edited = stack_status(
        generation=4, previous=served, deployment=deployment(), now=T0, outcome=moved
    )
    assert edited["servedReplicas"] == 0
    waiting = by_type(edited)["ConfigServed"]
    assert (waiting["status"], waiting["reason"]) == ("Unknown", "Waiting")
    assert "fedcba9876543210" in waiting["message"]


@pytest.mark.parametrize(
    ("serving", "status", "reason", "message"),
    [
        (Serving("abc", 3, 3), "True", "Current", "3 of 3 ready pods serve config abc"),
        (
            Serving("abc", 3, 1),
            "False",
            "Stale",
            "1 of 3 ready pods serve config abc; 2 still serve an earlier one until the "
            "kubelet refreshes their ConfigMap volume",
        ),
        (Serving("abc", 0, 0), "Unknown", "NoReadyPods", "no ready pod to ask"),
        (
            Serving("abc", 5, 0, tuple((f"p{i}", "503: refused") for i in range(5))),
            "Unknown",
            "PodsUnreachable",
            "0 of 5 ready pods serve config abc; 5 did not answer /health through the API "
            "server: p0: 503: refused; p1: 503: refused; p2: 503: refused (and 2 more)",
        ),
    ],
)
def test_config_served_condition(serving: Serving, status: str, reason: str, message: str) -> None:
    got = serving_condition(serving)
    assert (got["type"], got["status"], got["reason"], got["message"]) == (
        "ConfigServed",
        status,
        reason,
        message,
    )


def test_rejected_fixture_is_named_with_its_field() -> None:
    bad = Rejected("broken", (Problem("spec.fixtures[0].match.userMessage", "invalid regex"),))
    outcome = Reconciliation(**{**OUTCOME.__dict__, "rejected": (bad,)})
    status = stack_status(
        generation=1, previous={}, deployment=deployment(), now=T0, outcome=outcome
    )
    MockStackStatus.model_validate(status)
    valid = by_type(status)["FixturesValid"]
    assert (valid["status"], valid["reason"]) == ("False", "InvalidFixture")
    assert "Fixture broken: spec.fixtures[0].match.userMessage: invalid regex" in valid["message"]
    assert status["rejectedFixtures"] == ["broken"]
    assert by_type(status)["Ready"]["status"] == "True"  # the stack keeps serving


def test_many_problems_are_summarised() -> None:
    problems = tuple(Problem(f"spec.fixtures[{i}]", "bad") for i in range(5))
    assert Rejected("x", problems).describe().endswith("(and 2 more) (left out)")
    held = Rejected("x", problems, serving=4).describe()
    assert held.endswith("(and 2 more) (serving generation 4, the last accepted)")


def test_chaos_condition_names_the_policies() -> None:
    outcome = Reconciliation(**{**OUTCOME.__dict__, "chaos_policies": ("drill",)})
    status = stack_status(
        generation=1, previous={}, deployment=deployment(), now=T0, outcome=outcome
    )
    active = by_type(status)["ChaosActive"]
    assert (active["status"], active["message"]) == ("True", "ChaosPolicy drill")


def test_failure_keeps_what_was_served_and_says_why() -> None:
    served = stack_status(
        generation=1, previous={}, deployment=deployment(), now=T0, outcome=OUTCOME
    )
    failed = stack_status(
        generation=2,
        previous=served,
        deployment=deployment(),
        now=T1,
        failure=Failure("InvalidSpec", "spec.scheduling.hostNetwork: unknown field"),
    )
    MockStackStatus.model_validate(failed)
    reconciled = by_type(failed)["Reconciled"]
    assert (reconciled["status"], reconciled["reason"]) == ("False", "InvalidSpec")
    assert "spec.scheduling.hostNetwork" in reconciled["message"]
    assert failed["configHash"] == served["configHash"]
    assert failed["observedGeneration"] == 2
    # The refused spec is not what runs: not Ready, and Stalled until it is edited.
    ready, stalled = by_type(failed)["Ready"], by_type(failed)["Stalled"]
    assert (ready["status"], ready["reason"], ready["lastTransitionTime"]) == (
        "False",
        "InvalidSpec",
        "2026-11-25T12:05:00Z",
    )
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidSpec")
    assert "spec.scheduling.hostNetwork" in stalled["message"]
    assert by_type(failed)["Reconciling"]["status"] == "False"
    # Progressing did not flip, so it keeps its time.
    assert by_type(failed)["Progressing"]["lastTransitionTime"] == "2026-11-25T12:00:00Z"
    assert by_type(failed)["FixturesValid"] == by_type(served)["FixturesValid"]


def test_refresh_after_a_deployment_change_touches_only_the_pod_side() -> None:
    pending = stack_status(
        generation=3, previous={}, deployment=deployment(ready=0), now=T0, outcome=OUTCOME
    )
    refreshed = stack_status(generation=5, previous=pending, deployment=deployment(), now=T1)
    assert by_type(pending)["Ready"]["status"] == "False"
    ready = by_type(refreshed)["Ready"]
    assert (ready["status"], ready["lastTransitionTime"]) == ("True", "2026-11-25T12:05:00Z")
    assert ready["observedGeneration"] == 3  # the generation the children were made from
    assert refreshed["observedGeneration"] == 3
    assert by_type(refreshed)["Reconciled"] == by_type(pending)["Reconciled"]
    assert changed(pending, refreshed)
    assert not changed(
        refreshed,
        stack_status(
            generation=5, previous=refreshed, deployment=deployment(), now=T1 + timedelta(hours=1)
        ),
    )


# --- Fixture status ----------------------------------------------------------------------------


def fixture(generation: int = 2, status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "orders", "namespace": "team-a", "generation": generation},
        "spec": {"fixtures": [{}, {}]},
        "status": status or {},
    }


def test_accepted_fixture_lists_the_stacks_that_load_it() -> None:
    status = fixture_status(fixture(), [], {"b-stack": 2, "a-stack": 2}, T0)
    FixtureStatus.model_validate(status)
    assert status["accepted"] is True
    assert status["stacks"] == ["a-stack", "b-stack"]
    assert status["fixtures"] == 2
    assert status["observedGeneration"] == 2
    accepted, ready, stalled = status["conditions"]
    assert (accepted["type"], accepted["status"], accepted["reason"]) == (
        "Accepted",
        "True",
        "Valid",
    )
    assert accepted["message"] == "loaded by MockStack a-stack, b-stack"
    # kstatus: Ready says the same, nothing is stalled.
    assert (ready["type"], ready["status"], ready["message"]) == (
        "Ready",
        "True",
        accepted["message"],
    )
    assert (stalled["type"], stalled["status"]) == ("Stalled", "False")
    assert status["servedGeneration"] == 2


def test_rejected_fixture_names_the_field_and_the_stacks_it_is_left_out_of() -> None:
    problems = [Problem("spec.fixtures[1].match.userMessage", "invalid regex 'a['")]
    status = fixture_status(fixture(), problems, {"preview": None}, T0)
    FixtureStatus.model_validate(status)
    assert status["accepted"] is False
    assert status["stacks"] == []
    assert status["servedGeneration"] is None
    accepted, ready, stalled = status["conditions"]
    assert (accepted["status"], accepted["reason"]) == ("False", "Invalid")
    assert accepted["message"] == (
        "spec.fixtures[1].match.userMessage: invalid regex 'a['; left out of MockStack preview"
    )
    # kstatus: not Ready, and Stalled (only an edit makes it valid), with the same words.
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "Invalid")
    assert (stalled["type"], stalled["status"]) == ("Stalled", "True")
    assert ready["message"] == stalled["message"] == accepted["message"]


def test_refused_fixture_says_which_generation_each_stack_still_serves() -> None:
    problems = [Problem("spec.fixtures[0].match.userMessage", "invalid regex '('")]
    status = fixture_status(fixture(3), problems, {"preview": 2, "late": None}, T0)
    FixtureStatus.model_validate(status)
    assert (status["accepted"], status["stacks"], status["servedGeneration"]) == (
        False,
        ["preview"],
        2,
    )
    accepted = status["conditions"][0]
    assert accepted["message"] == (
        "spec.fixtures[0].match.userMessage: invalid regex '('; MockStack preview serves "
        "generation 2, the last accepted; left out of MockStack late"
    )


# --- ChaosPolicy -------------------------------------------------------------------------------


def policy(
    generation: int = 1, status: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "drill",
            "namespace": "team-a",
            "generation": generation,
            "labels": {},
        },
        "spec": {"dropRate": 0.5, "selector": {"matchLabels": {"app": "checkout"}}, **spec},
        "status": status or {},
    }


def test_a_new_drill_starts_now_and_ends_after_its_duration() -> None:
    body = policy(durationSeconds=90)
    drill = chaos.drill(body, T0)
    assert (drill.phase, drill.started_at, drill.expires_at) == (
        "Active",
        T0,
        T0 + timedelta(seconds=90),
    )
    status = chaos.policy_status(body, drill, ["preview"], T0)
    ChaosPolicyStatus.model_validate(status)
    assert status["startedAt"] == "2026-11-25T12:00:00Z"
    assert status["expiresAt"] == "2026-11-25T12:01:30Z"
    assert status["stacks"] == ["preview"]
    assert status["conditions"][0]["message"] == "until 2026-11-25T12:01:30Z"


def test_a_drill_never_runs_short_of_its_duration() -> None:
    drill = chaos.drill(policy(durationSeconds=4), T0 + timedelta(milliseconds=300))
    assert (drill.started_at, drill.expires_at) == (
        T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=5),
    )
    assert drill.expires_at is not None
    assert drill.expires_at - (T0 + timedelta(milliseconds=300)) >= timedelta(seconds=4)


def test_a_running_drill_keeps_its_clock_and_expires_at_its_end() -> None:
    body = policy(durationSeconds=90)
    body["status"] = chaos.policy_status(body, chaos.drill(body, T0), ["preview"], T0)
    assert chaos.in_force(body, T0 + timedelta(seconds=89))
    assert chaos.drill(body, T0 + timedelta(seconds=60)).started_at == T0
    ended = chaos.drill(body, T0 + timedelta(seconds=90))
    assert ended.phase == "Expired"
    assert not chaos.in_force(body, T0 + timedelta(seconds=90))
    body["status"] = chaos.policy_status(body, ended, ["preview"], T1)
    ChaosPolicyStatus.model_validate(body["status"])
    assert body["status"]["phase"] == "Expired"
    assert body["status"]["stacks"] == []
    assert body["status"]["conditions"][0]["reason"] == "Expired"
    # An expired drill stays expired; editing the spec starts a new one.
    assert chaos.drill(body, T1 + timedelta(days=1)).phase == "Expired"
    edited = {**body, "metadata": {**body["metadata"], "generation": 2}}
    restarted = chaos.drill(edited, T1)
    assert (restarted.phase, restarted.started_at) == ("Active", T1)


def test_without_a_duration_a_drill_runs_until_deleted() -> None:
    body = policy()
    body["status"] = chaos.policy_status(body, chaos.drill(body, T0), [], T0)
    assert body["status"]["expiresAt"] is None
    assert chaos.in_force(body, T0 + timedelta(days=365))


def test_only_a_stamped_current_generation_is_in_force() -> None:
    body = policy()
    assert not chaos.in_force(body, T0)  # not stamped by the operator yet
    body["status"] = chaos.policy_status(body, chaos.drill(body, T0), [], T0)
    assert chaos.in_force(body, T0)
    body["metadata"]["generation"] = 2
    assert not chaos.in_force(body, T0)  # edited: waits for the new drill's stamp


def test_invalid_policy_is_never_in_force() -> None:
    body = policy(dropRate=3)
    drill = chaos.drill(body, T0)
    assert drill.phase == "Invalid"
    assert drill.problem is not None and drill.problem.field == "spec.dropRate"
    status = chaos.policy_status(body, drill, ["preview"], T0)
    ChaosPolicyStatus.model_validate(status)
    assert status["phase"] == "Invalid"
    assert "spec.dropRate" in status["conditions"][0]["message"]
    assert status["servedGeneration"] is None
    body["status"] = status
    assert not chaos.in_force(body, T0)


def test_an_invalid_edit_leaves_the_last_accepted_drill_running_to_its_end() -> None:
    body = policy(durationSeconds=90)
    body["status"] = chaos.policy_status(body, chaos.drill(body, T0), ["preview"], T0)
    assert chaos.serves_current(body)
    body["metadata"]["generation"] = 2
    body["spec"]["dropRate"] = 3  # refused
    later = T0 + timedelta(seconds=30)
    drill = chaos.drill(body, later)
    assert (drill.phase, drill.started_at, drill.served) == ("Active", T0, 1)
    body["status"] = chaos.policy_status(body, drill, ["preview"], later)
    ChaosPolicyStatus.model_validate(body["status"])
    status = body["status"]
    assert (status["phase"], status["servedGeneration"], status["observedGeneration"]) == (
        "Active",
        1,
        2,
    )
    assert status["expiresAt"] == "2026-11-25T12:01:30Z"  # the first drill's end
    accepted = by_type(status)["Accepted"]
    assert (accepted["status"], accepted["reason"]) == ("False", "Invalid")
    assert accepted["message"].startswith("spec.dropRate:")
    assert accepted["message"].endswith("generation 1, the last accepted, is served")
    # In force (the stacks keep what they hold), but not from the refused spec.
    assert chaos.in_force(body, later) and not chaos.serves_current(body)
    assert chaos.drill(body, T0 + timedelta(seconds=90)).phase == "Expired"
    # Fixing it starts a new drill from the fixed generation.
    body["metadata"]["generation"] = 3
    body["spec"]["dropRate"] = 0.5
    fixed = chaos.drill(body, later)
    assert (fixed.phase, fixed.started_at, fixed.served, fixed.problem) == (
        "Active",
        later,
        3,
        None,
    )


def test_policy_selects_stacks_by_label_and_all_without_a_selector() -> None:
    assert chaos.selects(policy(), {"app": "checkout"})
    assert not chaos.selects(policy(), {"app": "billing"})
    everywhere = policy()
    del everywhere["spec"]["selector"]
    assert chaos.selects(everywhere, {})
    broken = policy(selector={"matchExpressions": [{"key": "a", "operator": "Near"}]})
    assert not chaos.selects(broken, {"a": "b"})
