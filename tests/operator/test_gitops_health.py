"""GitOps health: the Argo CD Lua checks of charts/aimock/argocd-health.yaml, run by a real Lua
interpreter (lupa's Lua 5.1, the dialect of Argo CD's gopher-lua), kstatus (what Flux's
`healthChecks` compute) reimplemented from its documented rules, and the Flux
`healthCheckExprs` of docs/gitops.md run by a real CEL interpreter (cel-python).

Every object here carries a status the operator's own rendering code produced
(render/status.py, render/chaos.py), so the checks follow the real shapes.
docs/gitops.md shows the same file, byte for byte.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from lupa import lua51

from aimock_operator.render import chaos
from aimock_operator.render.status import (
    Failure,
    Reconciliation,
    Rejected,
    Serving,
    fixture_status,
    serving_status,
    stack_status,
)
from aimock_operator.validation import Problem

ROOT = Path(__file__).resolve().parents[2]
CHART_FILE = ROOT / "charts" / "aimock" / "argocd-health.yaml"
DOC = ROOT / "docs" / "gitops.md"
KEY = "resource.customizations.health.aimock.dev_{}"
ARGO_STATES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
HASH = "0123456789abcdef"


def scripts() -> dict[str, str]:
    data = yaml.safe_load(CHART_FILE.read_text())["data"]
    return {kind: data[KEY.format(kind)] for kind in ("MockStack", "Fixture", "ChaosPolicy")}


SCRIPTS = scripts()


def _plain(value: Any) -> Any:
    """As Argo CD hands the object to Lua: JSON, where a null field is simply absent."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(_plain(obj), recursive=True)
    result = lua.execute(SCRIPTS[kind])
    found = dict(result.items())
    assert set(found) == {"status", "message"}, found
    assert found["status"] in ARGO_STATES
    assert isinstance(found["message"], str) and found["message"]
    return found["status"], found["message"]


# --- objects with statuses the operator renders -------------------------------------------------


def deployment(
    replicas: int = 1,
    ready: int = 1,
    updated: int | None = None,
    stalled: bool = False,
    settled: bool = False,
) -> dict[str, Any]:
    """A Deployment's object; `settled`: its controller called the rollout complete once
    (NewReplicaSetAvailable), whatever its pods do since."""
    progressing: dict[str, Any] = {"type": "Progressing", "status": "True"}
    if settled:
        progressing["reason"] = "NewReplicaSetAvailable"
    if stalled:
        progressing = {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "preview-7d9" has timed out progressing.',
        }
    return {
        "metadata": {"generation": 1},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas if updated is None else updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [progressing],
        },
    }


def outcome(rejected: tuple[Rejected, ...] = ()) -> Reconciliation:
    return Reconciliation(
        fixtures=2,
        config_hash=HASH,
        endpoint="http://preview.team-a.svc.cluster.local:4010",
        endpoints_config_map="preview-endpoints",
        admin_token_secret="preview-admin-token",
        selected=("orders", "refunds"),
        rejected=rejected,
        chaos_policies=(),
        generation=1,
    )


def stack(
    *,
    generation: int = 1,
    dep: dict[str, Any] | None = None,
    result: Reconciliation | None = None,
    failure: Failure | None = None,
    served: bool = True,
    status: bool = True,
) -> dict[str, Any]:
    """A MockStack after one reconcile of generation 1 (and, `served`, its pods' answer);
    `generation` is the object's, which an edit the operator has yet to see moves ahead."""
    body: dict[str, Any] = {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "MockStack",
        "metadata": {"name": "preview", "namespace": "team-a", "generation": generation},
        "spec": {"replicas": 1},
    }
    if not status:
        return body
    if result is None and failure is None:
        result = outcome()
    rendered = stack_status(
        generation=1, previous={}, deployment=dep, now=T0, outcome=result, failure=failure
    )
    if served and dep is not None:
        ready = int(dep["status"]["readyReplicas"])
        rendered.update(serving_status(rendered, Serving(HASH, ready, ready), T0))
    body["status"] = rendered
    return body


def waiting_pod(name: str, reason: str, message: str) -> dict[str, Any]:
    """A stack's pod whose container waits, as the kubelet reports it."""
    waiting = {"reason": reason, "message": message}
    container = {"name": "aimock", "ready": False, "restartCount": 4, "state": {"waiting": waiting}}
    return {"metadata": {"name": name}, "status": {"containerStatuses": [container]}}


CRASH = waiting_pod(
    "preview-7d9-x2x", "CrashLoopBackOff", "back-off 40s restarting failed container=aimock"
)
PULL = waiting_pod(
    "preview-7d9-x2x",
    "ImagePullBackOff",
    'Back-off pulling image "ghcr.io/aimock/aimock:0.1.0"',
)


def later(body: dict[str, Any], dep: dict[str, Any], *pods: dict[str, Any]) -> dict[str, Any]:
    """`body` after the operator refreshed it from the Deployment `dep` and the stack's pods."""
    body = copy.deepcopy(body)
    body["status"] = stack_status(
        generation=1, previous=body["status"], deployment=dep, now=T0, pods=pods
    )
    return body


def crashed_after_settling() -> dict[str, Any]:
    """A stack that served, whose only pod then went into a crash loop."""
    return later(stack(dep=deployment(settled=True)), deployment(ready=0, settled=True), CRASH)


def fixture(
    *, generation: int = 2, problems: tuple[Problem, ...] = (), status: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "Fixture",
        "metadata": {"name": "orders", "namespace": "team-a", "generation": 2},
        "spec": {"fixtures": [{}, {}]},
    }
    if status:
        serving = {"preview": 1 if problems else 2}
        body["status"] = fixture_status(body, problems, serving, T0)
    body["metadata"]["generation"] = generation
    return body


def policy(generation: int = 1, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "ChaosPolicy",
        "metadata": {"name": "drill", "namespace": "team-a", "generation": generation},
        "spec": {"dropRate": 0.5, "selector": {"matchLabels": {"app": "checkout"}}, **spec},
    }


def stamped(body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`body` as the operator stamps it at `now`."""
    body["status"] = chaos.policy_status(body, chaos.drill(body, now), ["preview"], now)
    return body


def active_drill() -> dict[str, Any]:
    return stamped(policy(durationSeconds=90), T0)


def expired_drill() -> dict[str, Any]:
    return stamped(active_drill(), T0 + timedelta(seconds=120))


def refused_edit() -> dict[str, Any]:
    body = active_drill()
    body["metadata"]["generation"] = 2
    body["spec"]["dropRate"] = 3  # refused: the drill of generation 1 goes on
    return stamped(body, T0 + timedelta(seconds=10))


def invalid_policy() -> dict[str, Any]:
    return stamped(policy(dropRate=3), T0)


BAD_FIXTURE = Rejected("orders", (Problem("spec.fixtures[0].match", "required"),), serving=1)

# --- Argo CD ------------------------------------------------------------------------------------

CASES: list[tuple[str, str, dict[str, Any], str, str]] = [
    # (case, kind, object, Argo CD state, words of the message)
    ("stack healthy", "MockStack", stack(dep=deployment()), "Healthy", "1/1 pods ready"),
    (
        "stack fixtures invalid, pods ready",
        "MockStack",
        stack(dep=deployment(), result=outcome((BAD_FIXTURE,))),
        "Degraded",
        "refused: Fixture orders: spec.fixtures[0].match: required (serving generation 1",
    ),
    (
        "stack fixtures invalid, no pod ready",
        "MockStack",
        stack(dep=deployment(ready=0), result=outcome((BAD_FIXTURE,)), served=False),
        "Degraded",
        "refused: Fixture orders",
    ),
    (
        "stack generation ahead",
        "MockStack",
        stack(generation=2, dep=deployment()),
        "Progressing",
        "generation 2 not reconciled yet (observed 1)",
    ),
    ("stack without status", "MockStack", stack(status=False), "Progressing", "operator"),
    (
        "stack rolling out",
        "MockStack",
        stack(dep=deployment(replicas=2, ready=1, updated=1)),
        "Progressing",
        "1/2 pods updated, 1 available",
    ),
    (
        "stack with no pod ready yet",
        "MockStack",
        stack(dep=deployment(ready=0, updated=0), served=False),
        "Progressing",
        "0/1 pods updated",
    ),
    (
        "stack config not served yet",
        "MockStack",
        stack(dep=deployment(), served=False),
        "Progressing",
        f"config {HASH} is new",
    ),
    (
        "stack rollout stalled",
        "MockStack",
        stack(dep=deployment(ready=0, stalled=True), served=False),
        "Degraded",
        "has timed out progressing",
    ),
    (
        "stack crash loop after settling",
        "MockStack",
        crashed_after_settling(),
        "Degraded",
        "pod preview-7d9-x2x, container aimock: CrashLoopBackOff (back-off 40s",
    ),
    (
        "stack image not pulled",
        "MockStack",
        later(stack(dep=deployment(ready=0, updated=0)), deployment(ready=0, updated=0), PULL),
        "Degraded",
        "ImagePullBackOff (Back-off pulling image",
    ),
    (
        "stack spec refused",
        "MockStack",
        stack(dep=deployment(), failure=Failure("InvalidSpec", "spec.port: must be > 0")),
        "Degraded",
        "spec.port: must be > 0",
    ),
    (
        "stack without Deployment",
        "MockStack",
        stack(dep=None),
        "Progressing",
        "the Deployment does not exist yet",
    ),
    (
        "stack scaled to zero",
        "MockStack",
        stack(dep=deployment(replicas=0, ready=0), served=False),
        "Healthy",
        "spec.replicas is 0",
    ),
    ("fixture valid", "Fixture", fixture(), "Healthy", "loaded by MockStack preview"),
    (
        "fixture invalid",
        "Fixture",
        fixture(problems=(Problem("spec.fixtures[0].match", "required"),)),
        "Degraded",
        "spec.fixtures[0].match: required; MockStack preview serves generation 1",
    ),
    ("fixture without status", "Fixture", fixture(status=False), "Progressing", "operator"),
    (
        "fixture generation ahead",
        "Fixture",
        fixture(generation=3),
        "Progressing",
        "generation 3 not checked yet (observed 2)",
    ),
    ("drill active", "ChaosPolicy", active_drill(), "Healthy", "until 2026-11-25T12:01:30Z"),
    (
        "drill expired",
        "ChaosPolicy",
        expired_drill(),
        "Healthy",
        "the drill ended at 2026-11-25T12:01:30Z",
    ),
    ("policy invalid", "ChaosPolicy", invalid_policy(), "Degraded", "spec.dropRate"),
    (
        "policy edit refused, drill goes on",
        "ChaosPolicy",
        refused_edit(),
        "Degraded",
        "generation 1, the last accepted, is served",
    ),
    ("policy without status", "ChaosPolicy", policy(), "Progressing", "operator"),
    (
        "policy generation ahead",
        "ChaosPolicy",
        {**active_drill(), "metadata": {"name": "drill", "generation": 2}},
        "Progressing",
        "generation 2 not stamped yet (observed 1)",
    ),
]


@pytest.mark.parametrize(
    ("kind", "obj", "state", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_argocd_health(kind: str, obj: dict[str, Any], state: str, words: str) -> None:
    found, message = health(kind, obj)
    assert (found, words in message) == (state, True), message


def test_a_degraded_stack_says_which_condition() -> None:
    """The message is the condition's own, word for word."""
    obj = stack(dep=deployment(), result=outcome((BAD_FIXTURE,)))
    fixtures_valid = next(c for c in obj["status"]["conditions"] if c["type"] == "FixturesValid")
    assert health("MockStack", obj) == ("Degraded", fixtures_valid["message"])


def test_the_chart_file_holds_one_check_per_kind() -> None:
    data = yaml.safe_load(CHART_FILE.read_text())
    assert set(data) == {"data"}  # a fragment of argocd-cm, merged by `kubectl patch`
    assert set(data["data"]) == {KEY.format(k) for k in ("MockStack", "Fixture", "ChaosPolicy")}


def test_the_docs_show_the_chart_file_as_it_is() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert CHART_FILE.read_text() in blocks


# --- Flux: kstatus ------------------------------------------------------------------------------


def kstatus(obj: dict[str, Any]) -> str:
    """kstatus `Compute` for a kind it has no built-in rules for (sigs.k8s.io/cli-utils
    pkg/kstatus/status: checkGenericProperties, then Current): deletion -> Terminating;
    status.observedGeneration present and != metadata.generation -> InProgress; condition
    Reconciling True -> InProgress; Stalled True -> Failed; anything else -> Current. Ready is
    not read at all."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if generation is not None and observed is not None and observed != generation:
        return "InProgress"
    for c in status.get("conditions") or []:
        if c.get("type") == "Reconciling" and c.get("status") == "True":
            return "InProgress"
        if c.get("type") == "Stalled" and c.get("status") == "True":
            return "Failed"
    return "Current"


KSTATUS_HOLDS = [
    ("stack healthy", stack(dep=deployment()), "Current"),
    ("stack generation ahead", stack(generation=2, dep=deployment()), "InProgress"),
    ("stack without Deployment", stack(dep=None), "InProgress"),
    ("stack with no pod ready yet", stack(dep=deployment(ready=0, updated=0)), "InProgress"),
    ("stack rolling out", stack(dep=deployment(replicas=2, ready=1, updated=1)), "InProgress"),
    (
        "stack config not served yet",  # config reloads are not a rollout: ConfigServed says
        stack(dep=deployment(), served=False),
        "Current",
    ),
    (
        "stack apply failed, retried",
        stack(dep=deployment(), failure=Failure("ApplyFailed", "services is forbidden")),
        "InProgress",
    ),
    ("stack rollout stalled", stack(dep=deployment(ready=0, stalled=True)), "Failed"),
    ("stack crash loop after settling", crashed_after_settling(), "Failed"),
    (
        "stack image not pulled",
        later(stack(dep=deployment(ready=0, updated=0)), deployment(ready=0, updated=0), PULL),
        "Failed",
    ),
    (
        "stack spec refused",
        stack(dep=deployment(), failure=Failure("InvalidSpec", "spec.port: must be > 0")),
        "Failed",
    ),
    (
        "stack serving with a refused Fixture",  # the Fixture itself is Failed
        stack(dep=deployment(), result=outcome((BAD_FIXTURE,))),
        "Current",
    ),
    ("stack scaled to zero", stack(dep=deployment(replicas=0, ready=0)), "Current"),
    ("fixture valid", fixture(), "Current"),
    (
        "fixture invalid",
        fixture(problems=(Problem("spec.fixtures[0].match", "required"),)),
        "Failed",
    ),
    ("fixture generation ahead", fixture(generation=3), "InProgress"),
    ("drill active", active_drill(), "Current"),
    ("drill expired", expired_drill(), "Current"),
    ("policy invalid", invalid_policy(), "Failed"),
    ("policy edit refused, drill goes on", refused_edit(), "Failed"),
    (
        "policy generation ahead",
        {**active_drill(), "metadata": {"name": "drill", "generation": 2}},
        "InProgress",
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [c[1:] for c in KSTATUS_HOLDS], ids=[c[0] for c in KSTATUS_HOLDS]
)
def test_kstatus(obj: dict[str, Any], expected: str) -> None:
    assert kstatus(obj) == expected


def conditions(obj: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}


def test_what_kstatus_relies_on() -> None:
    """Every kind records observedGeneration once the operator has seen it, and each
    condition carries it too; every kind has Ready, Stalled and (MockStack) Reconciling."""
    objects = [stack(dep=deployment()), fixture(), active_drill()]
    for obj in objects:
        status = obj["status"]
        assert status["observedGeneration"] == obj["metadata"]["generation"]
        assert all(
            c["observedGeneration"] == status["observedGeneration"] for c in status["conditions"]
        )
    found = [conditions(obj) for obj in objects]
    assert [{k: c.get(k) for k in ("Ready", "Reconciling", "Stalled")} for c in found] == [
        {"Ready": "True", "Reconciling": "False", "Stalled": "False"},
        {"Ready": "True", "Reconciling": None, "Stalled": "False"},
        {"Ready": "True", "Reconciling": None, "Stalled": "False"},
    ]


ALL_OBJECTS = [(c[0], c[2]) for c in CASES] + [(c[0], c[1]) for c in KSTATUS_HOLDS]


@pytest.mark.parametrize(
    "obj", [o for _, o in ALL_OBJECTS], ids=[f"{n} ({i})" for i, (n, _) in enumerate(ALL_OBJECTS)]
)
def test_ready_and_the_abnormal_conditions_agree(obj: dict[str, Any]) -> None:
    """kstatus' convention: Reconciling and Stalled are never True with Ready, never both
    True; and with the generation observed, kstatus Current with a Ready condition means
    Ready True, or a state that needs nobody (scaled to zero, a stack serving while one of
    its Fixtures is refused, a config the pods are picking up)."""
    found = conditions(obj)
    if found.get("Ready") == "True":
        assert "True" not in (found.get("Reconciling"), found.get("Stalled"))
    assert not (found.get("Reconciling") == found.get("Stalled") == "True")
    ready = next(
        (c for c in obj.get("status", {}).get("conditions", []) if c["type"] == "Ready"), None
    )
    if kstatus(obj) == "Current" and ready is not None:
        assert ready["status"] == "True" or ready["reason"] == "ScaledToZero", ready


def test_a_stack_that_crashes_after_settling_stops_progressing() -> None:
    """The Deployment stays NewReplicaSetAvailable after its pods crash: the stack is not
    rolling out, it is stuck, and says so with the kubelet's words."""
    obj = crashed_after_settling()
    assert {k: conditions(obj)[k] for k in ("Ready", "Reconciling", "Stalled", "Progressing")} == {
        "Ready": "False",
        "Reconciling": "False",
        "Stalled": "True",
        "Progressing": "False",
    }
    stalled = next(c for c in obj["status"]["conditions"] if c["type"] == "Stalled")
    assert stalled["reason"] == "CrashLoopBackOff"
    assert "make image" not in stalled["message"]  # no image hint for a crash


def test_a_pull_back_off_says_how_to_get_the_image() -> None:
    obj = later(stack(dep=deployment(ready=0, updated=0)), deployment(ready=0, updated=0), PULL)
    stalled = next(c for c in obj["status"]["conditions"] if c["type"] == "Stalled")
    assert stalled["reason"] == "ImagePullBackOff"
    assert "build it with `make image` and load it into the cluster" in stalled["message"]
    assert 'docs/operator.md, "The image"' in stalled["message"]
    assert health("MockStack", obj) == ("Degraded", stalled["message"])


# --- Flux: the healthCheckExprs of docs/gitops.md, run by a real CEL interpreter --------------


def flux_exprs() -> dict[str, dict[str, str]]:
    """The Kustomization's healthCheckExprs in docs/gitops.md, by kind."""
    for block in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S):
        body = yaml.safe_load(block)
        if isinstance(body, dict) and "healthCheckExprs" in (body.get("spec") or {}):
            exprs = body["spec"]["healthCheckExprs"]
            return {e["kind"]: {k: v for k, v in e.items() if k != "kind"} for e in exprs}
    raise AssertionError("docs/gitops.md shows no Kustomization with healthCheckExprs")


FLUX_EXPRS = flux_exprs()
CEL = celpy.Environment()
ARGO_TO_FLUX = {"Healthy": "Current", "Progressing": "InProgress", "Degraded": "Failed"}


def flux(kind: str, obj: dict[str, Any]) -> str:
    """What Flux's kustomize-controller makes of `obj` with the expressions: generation ahead
    of observedGeneration is InProgress; then inProgress, failed and current, in that order;
    none true, or an expression that cannot evaluate (a field missing), is InProgress."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    observed = status.get("observedGeneration")
    if observed is not None and observed != meta.get("generation"):
        return "InProgress"
    activation = {key: celpy.json_to_cel(value) for key, value in _plain(obj).items()}
    for verdict, key in (
        ("InProgress", "inProgress"),
        ("Failed", "failed"),
        ("Current", "current"),
    ):
        expression = FLUX_EXPRS[kind].get(key)
        if expression is None:
            continue
        try:
            result = CEL.program(CEL.compile(expression)).evaluate(activation)
        except celpy.CELEvalError:
            return "InProgress"
        if isinstance(result, celpy.CELEvalError):
            return "InProgress"
        if result:
            return verdict
    return "InProgress"


def test_the_docs_give_flux_expressions_for_each_kind() -> None:
    assert set(FLUX_EXPRS) == {"MockStack", "Fixture", "ChaosPolicy"}
    for kind, exprs in FLUX_EXPRS.items():
        assert exprs["apiVersion"] == "aimock.dev/v1alpha1"
        assert "current" in exprs, kind  # Flux requires it
        for key in ("inProgress", "failed", "current"):
            if key in exprs:
                CEL.compile(exprs[key])  # parses


@pytest.mark.parametrize(
    ("kind", "obj", "state"), [(c[1], c[2], c[3]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_flux_expressions_agree_with_the_argocd_checks(
    kind: str, obj: dict[str, Any], state: str
) -> None:
    assert flux(kind, obj) == ARGO_TO_FLUX[state]
