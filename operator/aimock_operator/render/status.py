"""Status as Kubernetes expects it, computed from what was observed; no API access here.

Conditions follow metav1.Condition: `lastTransitionTime` moves only when a condition's status
flips, so a steady stack keeps the time it became Ready however often it is reconciled.

Every kind also follows kstatus (sigs.k8s.io/cli-utils, what Flux's health checks and
`kubectl wait` rely on): `observedGeneration` names the generation the status describes,
`Ready` True means the resource is what its spec declares, and the "abnormal-true" conditions
`Reconciling` (work under way) and `Stalled` (no progress without a change) are False whenever
`Ready` is True. Stalled wins over Reconciling: kstatus reads Reconciling first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aimock_operator.validation import Problem

READY, PROGRESSING, CONFIG_SERVED, FIXTURES_VALID, CHAOS_ACTIVE, RECONCILED = (
    "Ready",
    "Progressing",
    "ConfigServed",
    "FixturesValid",
    "ChaosActive",
    "Reconciled",
)
RECONCILING, STALLED = "Reconciling", "Stalled"  # kstatus' abnormal-true conditions
STACK_CONDITIONS = (
    READY,
    RECONCILING,
    STALLED,
    PROGRESSING,
    CONFIG_SERVED,
    FIXTURES_VALID,
    CHAOS_ACTIVE,
    RECONCILED,
)
ACCEPTED = "Accepted"
ACTIVE = "Active"
FIXTURE_CONDITIONS = (ACCEPTED, READY, STALLED)
MAX_PROBLEMS = 3  # per Fixture in a message; the Fixture's own status lists them all
MAX_PODS_NAMED = 3  # unreachable pods named in ConfigServed's message, stuck pods in Stalled's
# A container waiting for one of these does not start until something changes (the image is
# made available, the crash fixed, the Secret or ConfigMap created): the rollout is stuck.
BACK_OFF_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
    }
)
PULL_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
IMAGE_HINT = (
    "the aimock image is not published to a registry: build it with `make image` and load it "
    "into the cluster, or push it and set the chart's image.repository (docs/operator.md, "
    '"The image")'
)

_STACK_FIELDS = (
    "observedGeneration",
    "replicas",
    "readyReplicas",
    "servedReplicas",
    "fixtures",
    "configHash",
    "endpoint",
    "endpointsConfigMap",
    "adminTokenSecret",
    "selectedFixtures",
    "rejectedFixtures",
    "lastGoodFixtures",
    "servedGeneration",
)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def condition(kind: str, ok: bool | None, reason: str, message: str = "") -> dict[str, Any]:
    status = "Unknown" if ok is None else ("True" if ok else "False")
    return {"type": kind, "status": status, "reason": reason, "message": message}


def merge_conditions(
    previous: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    now: datetime,
    generation: int | None,
    order: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """`current` over `previous`; a condition whose status did not flip keeps its time.

    Types in `previous` that `current` does not mention are kept as they were.
    """
    old = {c.get("type"): c for c in previous}
    merged: dict[str, dict[str, Any]] = {str(t): dict(c) for t, c in old.items() if t}
    for new in current:
        kind = new["type"]
        before = old.get(kind)
        same = before is not None and before.get("status") == new["status"]
        stamp = before.get("lastTransitionTime") if same and before else None
        item = {**new, "lastTransitionTime": stamp or timestamp(now)}
        if generation is not None:
            item["observedGeneration"] = generation
        merged[kind] = item
    rank = {kind: i for i, kind in enumerate(order)}
    return sorted(merged.values(), key=lambda c: (rank.get(c["type"], len(rank)), c["type"]))


@dataclass(frozen=True)
class Rejected:
    """A selected Fixture whose current version is refused, and why; the stack serves its
    last accepted version (`serving`, that version's generation) or, when it never served
    one, leaves it out."""

    name: str
    problems: tuple[Problem, ...]
    serving: int | None = None

    def describe(self) -> str:
        shown = "; ".join(str(p) for p in self.problems[:MAX_PROBLEMS])
        more = len(self.problems) - MAX_PROBLEMS
        text = f"Fixture {self.name}: {shown}" + (f" (and {more} more)" if more > 0 else "")
        if self.serving is None:
            return text + " (left out)"
        return text + f" (serving generation {self.serving}, the last accepted)"


@dataclass(frozen=True)
class Rollout:
    """What a Deployment's status says about its pods."""

    found: bool
    wanted: int = 0
    ready: int = 0
    updated: int = 0
    available: int = 0
    total: int = 0
    current: bool = False  # the Deployment controller has seen the latest template
    stalled: str | None = None  # the message when the progress deadline passed
    # The Deployment controller called its latest rollout complete (NewReplicaSetAvailable);
    # pods lost afterwards (a crash, an eviction) do not start a rollout again.
    completed: bool = False

    @classmethod
    def of(cls, deployment: Mapping[str, Any] | None) -> Rollout:
        if not deployment:
            return cls(found=False)
        spec = deployment.get("spec") or {}
        status = deployment.get("status") or {}
        generation = (deployment.get("metadata") or {}).get("generation") or 0
        conditions = {c.get("type"): c for c in status.get("conditions") or []}
        progressing = conditions.get("Progressing") or {}
        stalled = None
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            stalled = str(progressing.get("message") or "progress deadline exceeded")
        completed = (
            progressing.get("status") == "True"
            and progressing.get("reason") == "NewReplicaSetAvailable"
        )
        return cls(
            found=True,
            wanted=int(spec.get("replicas", 1)),
            ready=int(status.get("readyReplicas") or 0),
            updated=int(status.get("updatedReplicas") or 0),
            available=int(status.get("availableReplicas") or 0),
            total=int(status.get("replicas") or 0),
            current=int(status.get("observedGeneration") or 0) >= int(generation),
            stalled=stalled,
            completed=completed,
        )

    @property
    def rolling(self) -> bool:
        """Pods are being created or replaced for the latest spec (a rollout under way)."""
        if not self.found:
            return True
        if self.stalled:
            return False
        settled = (
            self.current
            and self.updated >= self.wanted
            and self.total <= self.wanted
            and (self.available >= self.wanted or self.completed)
        )
        return not settled


@dataclass(frozen=True)
class StuckPod:
    """A container of a stack's pod waiting in a back-off: it will not start by itself."""

    pod: str
    container: str
    reason: str
    message: str = ""

    def describe(self) -> str:
        text = f"pod {self.pod}, container {self.container}: {self.reason}"
        if self.message:
            text += f" ({self.message})"
        return text


def stuck_pods(pods: Sequence[Mapping[str, Any]]) -> tuple[StuckPod, ...]:
    """The containers of `pods` waiting in a back-off (BACK_OFF_REASONS), by pod name."""
    found = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        status = pod.get("status") or {}
        containers = [
            *(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or []),
        ]
        for container in containers:
            waiting = (container.get("state") or {}).get("waiting") or {}
            reason = str(waiting.get("reason") or "")
            if reason in BACK_OFF_REASONS:
                message = " ".join(str(waiting.get("message") or "").split())
                name = str(container.get("name") or "")
                found.append(StuckPod(str(meta.get("name") or ""), name, reason, message))
    return tuple(sorted(found, key=lambda s: (s.pod, s.container)))


def stalled_condition(
    rollout: Rollout, stuck: Sequence[StuckPod], reconciled: Mapping[str, Any] | None
) -> dict[str, Any]:
    """kstatus' Stalled: nothing moves until someone changes something.

    True for a spec the operator refuses, a rollout past its progress deadline, and pods
    waiting in a back-off (crash loop, image pull, missing config) while the stack is short
    of ready pods or rolling out; the message says which pod, and why.
    """
    refused = reconciled is not None and reconciled.get("status") == "False"
    if refused and reconciled is not None and reconciled.get("reason") == "InvalidSpec":
        return condition(STALLED, True, "InvalidSpec", str(reconciled.get("message") or ""))
    pods = ""
    if stuck:
        pods = "; ".join(s.describe() for s in stuck[:MAX_PODS_NAMED])
        more = len(stuck) - MAX_PODS_NAMED
        pods += f" (and {more} more)" if more > 0 else ""
        if any(s.reason in PULL_REASONS for s in stuck):
            pods += f". If this is the aimock image: {IMAGE_HINT}"
    if rollout.found and rollout.stalled:
        message = rollout.stalled + (f"; {pods}" if pods else "")
        return condition(STALLED, True, "ProgressDeadlineExceeded", message)
    short = rollout.found and rollout.ready < rollout.wanted
    if stuck and (short or rollout.rolling):
        return condition(STALLED, True, stuck[0].reason, pods)
    return condition(STALLED, False, "NotStalled", "")


def ready_condition(
    rollout: Rollout,
    stalled: Mapping[str, Any] | None = None,
    reconciled: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Ready means the stack serves what its spec declares: its rollout is complete and at
    least one pod is ready, so its Service has an endpoint. A settled stack short of some
    replicas still serves (True, `PartlyAvailable`). While a rollout runs, is stuck, or the
    spec is refused or not applied, Ready is False with that reason, even while earlier pods
    still answer. Config changes roll nothing, so they never move it.
    """
    if stalled is not None and stalled.get("status") == "True":
        counts = f"{rollout.ready}/{rollout.wanted} pods ready: " if rollout.found else ""
        return condition(READY, False, str(stalled["reason"]), counts + str(stalled["message"]))
    if reconciled is not None and reconciled.get("status") == "False":
        message = str(reconciled.get("message") or "")
        return condition(READY, False, str(reconciled.get("reason")), message)
    if not rollout.found:
        return condition(READY, False, "DeploymentMissing", "the Deployment does not exist yet")
    if rollout.wanted == 0:
        return condition(READY, False, "ScaledToZero", "spec.replicas is 0")
    counts = f"{rollout.ready}/{rollout.wanted} pods ready"
    if rollout.rolling:
        message = f"{rollout_message(rollout)}; {counts}"
        return condition(READY, False, "RollingOut", message)
    if rollout.ready >= rollout.wanted:
        return condition(READY, True, "Available", counts)
    if rollout.ready > 0:
        return condition(READY, True, "PartlyAvailable", counts)
    return condition(READY, False, "PodsNotReady", counts)


def reconciling_condition(
    rollout: Rollout, stalled: Mapping[str, Any], reconciled: Mapping[str, Any] | None
) -> dict[str, Any]:
    """kstatus' Reconciling: the operator or the Deployment controller is still at work (the
    Deployment is being created, pods rolled out or replaced, a failed apply retried); never
    while Stalled."""
    if stalled.get("status") == "True":
        return condition(RECONCILING, False, "Stalled", "")
    if reconciled is not None and reconciled.get("status") == "False":
        message = f"retrying: {reconciled.get('message') or ''}"
        return condition(RECONCILING, True, str(reconciled.get("reason")), message)
    if not rollout.found:
        return condition(RECONCILING, True, "Creating", "creating the Deployment")
    if rollout.rolling:
        return condition(RECONCILING, True, "RollingOut", rollout_message(rollout))
    if rollout.wanted > 0 and rollout.ready == 0:  # lost after settling: being replaced
        message = f"0/{rollout.wanted} pods ready: waiting for the pods to be replaced"
        return condition(RECONCILING, True, "PodsNotReady", message)
    return condition(RECONCILING, False, "RolloutComplete", "")


@dataclass(frozen=True)
class Serving:
    """What a stack's ready pods said, asked which config they serve (their `/health`)."""

    config_hash: str  # the config the stack should serve: status.configHash
    ready: int  # ready pods asked
    current: int  # of them, those that serve `config_hash`
    unreachable: tuple[tuple[str, str], ...] = ()  # (pod, why it gave no answer)

    @property
    def settled(self) -> bool:
        """Every ready pod answered, and serves the stack's config."""
        return not self.unreachable and self.current == self.ready


def serving_condition(serving: Serving) -> dict[str, Any]:
    counts = f"{serving.current} of {serving.ready} ready pods serve config {serving.config_hash}"
    if serving.ready == 0:
        return condition(CONFIG_SERVED, None, "NoReadyPods", "no ready pod to ask")
    if serving.unreachable:
        named = "; ".join(f"{pod}: {why}" for pod, why in serving.unreachable[:MAX_PODS_NAMED])
        more = len(serving.unreachable) - MAX_PODS_NAMED
        named += f" (and {more} more)" if more > 0 else ""
        silent = len(serving.unreachable)
        message = f"{counts}; {silent} did not answer /health through the API server: {named}"
        return condition(CONFIG_SERVED, None, "PodsUnreachable", message)
    if serving.current < serving.ready:
        stale = serving.ready - serving.current
        message = (
            f"{counts}; {stale} still serve an earlier one until the kubelet refreshes their "
            "ConfigMap volume"
        )
        return condition(CONFIG_SERVED, False, "Stale", message)
    return condition(CONFIG_SERVED, True, "Current", counts)


def serving_status(previous: Mapping[str, Any], serving: Serving, now: datetime) -> dict[str, Any]:
    """The part of a stack's status that a probe of its pods measures."""
    conditions = merge_conditions(
        previous.get("conditions") or [],
        [serving_condition(serving)],
        now,
        previous.get("observedGeneration"),
        STACK_CONDITIONS,
    )
    return {"servedReplicas": serving.current, "conditions": conditions}


def waiting_condition(config_hash: str) -> dict[str, Any]:
    message = f"config {config_hash} is new: waiting for the pods to report serving it"
    return condition(CONFIG_SERVED, None, "Waiting", message)


def rollout_message(rollout: Rollout) -> str:
    return f"{rollout.updated}/{rollout.wanted} pods updated, {rollout.available} available"


def progressing_condition(rollout: Rollout) -> dict[str, Any]:
    if not rollout.found:
        return condition(PROGRESSING, True, "Creating", "creating the Deployment")
    if rollout.stalled:
        return condition(PROGRESSING, False, "ProgressDeadlineExceeded", rollout.stalled)
    if rollout.rolling:
        return condition(PROGRESSING, True, "RollingOut", rollout_message(rollout))
    return condition(PROGRESSING, False, "RolloutComplete", "every pod runs the latest spec")


def fixtures_condition(selected: Sequence[str], rejected: Sequence[Rejected]) -> dict[str, Any]:
    if rejected:
        message = "refused: " + " | ".join(r.describe() for r in rejected)
        return condition(FIXTURES_VALID, False, "InvalidFixture", message)
    return condition(
        FIXTURES_VALID, True, "AllValid", f"{len(selected)} Fixture resources selected and valid"
    )


def chaos_condition(policies: Sequence[str]) -> dict[str, Any]:
    if policies:
        return condition(CHAOS_ACTIVE, True, "PolicyActive", "ChaosPolicy " + ", ".join(policies))
    return condition(CHAOS_ACTIVE, False, "NoPolicy", "no active ChaosPolicy selects this stack")


@dataclass(frozen=True)
class Reconciliation:
    """What one successful reconcile of a stack served."""

    fixtures: int
    config_hash: str
    endpoint: str
    endpoints_config_map: str
    admin_token_secret: str  # the Secret whose `token` key guards the control API
    selected: tuple[str, ...]
    rejected: tuple[Rejected, ...]
    chaos_policies: tuple[str, ...]
    generation: int = 0  # the MockStack generation this config serves


@dataclass(frozen=True)
class Failure:
    """Why a reconcile did not apply; the stack keeps serving what it served before."""

    reason: str  # InvalidSpec, ApplyFailed
    message: str


def stack_status(
    *,
    generation: int,
    previous: Mapping[str, Any],
    deployment: Mapping[str, Any] | None,
    now: datetime,
    outcome: Reconciliation | None = None,
    failure: Failure | None = None,
    pods: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A MockStack's status.

    With `outcome` (applied) or `failure` (not applied) this is a reconcile's report; with
    neither, a refresh after the Deployment or a pod changed, which recomputes only the pod
    side. `pods`: the stack's pods, read when some are not ready (their back-offs say why).
    """
    status = {k: previous[k] for k in _STACK_FIELDS if k in previous}
    rollout = Rollout.of(deployment)
    fresh = [progressing_condition(rollout)]
    if outcome is not None and outcome.config_hash != previous.get("configHash"):
        # Nobody has served this config yet: the pods are asked again (Reconciler._follow).
        status["servedReplicas"] = 0
        fresh.append(waiting_condition(outcome.config_hash))
    if outcome is not None:
        status.update(
            fixtures=outcome.fixtures,
            configHash=outcome.config_hash,
            endpoint=outcome.endpoint,
            endpointsConfigMap=outcome.endpoints_config_map,
            adminTokenSecret=outcome.admin_token_secret,
            selectedFixtures=list(outcome.selected),
            rejectedFixtures=[r.name for r in outcome.rejected],
            # A list, not a map: a merge patch replaces a list whole, but would keep a map's
            # keys that are gone.
            lastGoodFixtures=[
                {"name": r.name, "generation": r.serving}
                for r in outcome.rejected
                if r.serving is not None
            ],
            servedGeneration=outcome.generation,
        )
        fresh += [
            fixtures_condition(outcome.selected, outcome.rejected),
            chaos_condition(outcome.chaos_policies),
            condition(RECONCILED, True, "Applied", "children are up to date"),
        ]
    if failure is not None:
        fresh.append(condition(RECONCILED, False, failure.reason, failure.message))
    reconciled = next((c for c in fresh if c["type"] == RECONCILED), None)
    if reconciled is None:
        reconciled = next(
            (c for c in previous.get("conditions") or [] if c.get("type") == RECONCILED), None
        )
    stalled = stalled_condition(rollout, stuck_pods(pods), reconciled)
    fresh += [
        ready_condition(rollout, stalled, reconciled),
        reconciling_condition(rollout, stalled, reconciled),
        stalled,
    ]
    if outcome is not None or failure is not None:
        status["observedGeneration"] = generation
    if rollout.found:
        status["replicas"] = rollout.wanted
        status["readyReplicas"] = rollout.ready
    observed = status.get("observedGeneration")
    status["conditions"] = merge_conditions(
        previous.get("conditions") or [], fresh, now, observed, STACK_CONDITIONS
    )
    return status


def fixture_status(
    body: Mapping[str, Any],
    problems: Sequence[Problem],
    serving: Mapping[str, int | None],
    now: datetime,
) -> dict[str, Any]:
    """A Fixture's status: accepted or not (naming fields), and which stacks load it.

    `serving`: each MockStack that selects the Fixture, with the generation of it that the
    stack serves (for a refused version, its last accepted one) or None when it serves none.
    """
    meta = body.get("metadata") or {}
    generation = int(meta.get("generation") or 0)
    if problems:
        holding = {stack: served for stack, served in serving.items() if served is not None}
        left_out = sorted(stack for stack, served in serving.items() if served is None)
        notes = [
            f"MockStack {stack} serves generation {served}, the last accepted"
            for stack, served in sorted(holding.items())
        ]
        if left_out:
            notes.append(f"left out of MockStack {', '.join(left_out)}")
        message = "; ".join([*(str(p) for p in problems), *notes])
        accepted = condition(ACCEPTED, False, "Invalid", message)
        loaded = sorted(holding)
        served_generation = max(holding.values(), default=None)
    else:
        loaded = sorted(serving)
        message = "no MockStack selects it"
        if loaded:
            message = f"loaded by MockStack {', '.join(loaded)}"
        accepted = condition(ACCEPTED, True, "Valid", message)
        served_generation = generation if loaded else None
    fixtures = (body.get("spec") or {}).get("fixtures")
    previous = (body.get("status") or {}).get("conditions") or []
    fresh = [accepted, *readiness(accepted)]
    return {
        "observedGeneration": generation,
        "accepted": not problems,
        "conditions": merge_conditions(previous, fresh, now, generation, FIXTURE_CONDITIONS),
        "fixtures": len(fixtures) if isinstance(fixtures, list) else 0,
        "stacks": loaded,
        "servedGeneration": served_generation,
    }


def readiness(accepted: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Ready and Stalled for a kind whose only work is to be checked (Fixture, ChaosPolicy):
    Ready follows `accepted`; a refused version is Stalled (kstatus Failed) until it is edited,
    since nothing the operator does makes it valid."""
    reason, message = str(accepted["reason"]), str(accepted["message"])
    if accepted["status"] == "True":
        return [condition(READY, True, reason, message), condition(STALLED, False, reason)]
    return [condition(READY, False, reason, message), condition(STALLED, True, reason, message)]


def changed(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether patching `wanted` over `current` would change anything."""
    return any(current.get(key) != value for key, value in wanted.items())
