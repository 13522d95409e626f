"""MockStack, Fixture and ChaosPolicy, version v1alpha1, as pydantic models.

The specs ARE the server's models (`aimock.models.stack`): a Fixture's spec is validated by the same
fixture model `aimock serve -f` loads, so the cluster and the laptop cannot disagree. Statuses
follow Kubernetes conventions: `observedGeneration` and `metav1.Condition`-shaped conditions.
The CRD schemas in `crds/` are generated from these models (`crd/generate.py`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aimock.models import stack as server_stack
from aimock.models.stack import ChaosPolicySpec, FixtureSpec, StackSpec

# The server owns the apiVersion string (`aimock serve -f` reads the same manifests); the
# rest of the operator imports it, and its group and version, from here.
API_VERSION = server_stack.API_VERSION
GROUP, VERSION = API_VERSION.split("/")

# Conditions form a map keyed by type (metav1.Condition): server-side apply merges them by type.
_CONDITION_LIST: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}


class _Status(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Condition(_Status):
    """One condition, shaped like metav1.Condition."""

    type: str = Field(description="Condition type in CamelCase, e.g. Ready.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(description="A CamelCase word saying why.")
    message: str = Field("", description="A human-readable explanation.")
    last_transition_time: str = Field(
        alias="lastTransitionTime", description="When status last changed (RFC 3339)."
    )
    observed_generation: int | None = Field(
        None, alias="observedGeneration", description="The generation this was computed from."
    )


class DriftStatus(_Status):
    verdict: Literal["ok", "warning", "critical"] = Field(description="The last check's verdict.")
    checked_at: str = Field(alias="checkedAt", description="When it ran (RFC 3339).")
    cases: dict[str, str] = Field(
        default_factory=dict, description="Each case's verdict, e.g. openai.chat/text/stream."
    )
    findings: int = Field(0, description="Findings of every severity.")
    critical: list[str] = Field(
        default_factory=list, description="The first critical findings (the job log has all)."
    )
    live: list[str] = Field(
        default_factory=list, description="Cases compared with a live answer (others: captures)."
    )


class LastGood(_Status):
    name: str = Field(description="The Fixture.")
    generation: int = Field(description="The generation of it that is served.")


class MockStackStatus(_Status):
    observed_generation: int | None = Field(
        None, alias="observedGeneration", description="The generation last reconciled."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description=(
            "Ready (serves what the spec declares), Reconciling and Stalled (kstatus), "
            "Progressing, ConfigServed, FixturesValid, ChaosActive, Reconciled."
        ),
        json_schema_extra=_CONDITION_LIST,
    )
    replicas: int | None = Field(None, description="Pods wanted.")
    ready_replicas: int | None = Field(None, alias="readyReplicas", description="Pods ready.")
    served_replicas: int | None = Field(
        None,
        alias="servedReplicas",
        description=(
            "Ready pods that report serving the current config (configHash), asked through "
            "the API server's pod proxy after each change; see the ConfigServed condition."
        ),
    )
    fixtures: int | None = Field(None, description="Fixtures served.")
    config_hash: str | None = Field(
        None, alias="configHash", description="Hash of the served configuration."
    )
    endpoint: str | None = Field(None, description="In-cluster base URL of the mock.")
    endpoints_config_map: str | None = Field(
        None,
        alias="endpointsConfigMap",
        description="ConfigMap with each SDK's base-URL variables, for envFrom.",
    )
    admin_token_secret: str | None = Field(
        None,
        alias="adminTokenSecret",
        description=(
            "Secret whose `token` key guards the control API (/__aimock): spec.adminTokenSecret,"
            " or <name>-admin-token, which the operator generates once."
        ),
    )
    selected_fixtures: list[str] = Field(
        default_factory=list, alias="selectedFixtures", description="Fixture resources loaded."
    )
    rejected_fixtures: list[str] = Field(
        default_factory=list,
        alias="rejectedFixtures",
        description=(
            "Selected Fixture resources whose current version is invalid: served at their last "
            "accepted version (lastGoodFixtures), else left out."
        ),
    )
    last_good_fixtures: list[LastGood] = Field(
        default_factory=list,
        alias="lastGoodFixtures",
        description="Refused Fixture resources served at their last accepted generation.",
    )
    served_generation: int | None = Field(
        None,
        alias="servedGeneration",
        description="The spec generation whose config is served (older while the spec is invalid).",
    )
    drift: DriftStatus | None = Field(
        None, description="The last scheduled drift check (spec.drift), written by its job."
    )


class FixtureStatus(_Status):
    observed_generation: int | None = Field(
        None, alias="observedGeneration", description="The generation last checked."
    )
    accepted: bool | None = Field(None, description="Whether the fixtures are valid.")
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Accepted; Ready and Stalled (kstatus) follow it.",
        json_schema_extra=_CONDITION_LIST,
    )
    fixtures: int | None = Field(None, description="How many fixtures this resource holds.")
    stacks: list[str] = Field(default_factory=list, description="MockStacks that load it.")
    served_generation: int | None = Field(
        None,
        alias="servedGeneration",
        description="The generation the stacks serve: the current one, or while it is invalid the "
        "last accepted one.",
    )


class ChaosPolicyStatus(_Status):
    observed_generation: int | None = Field(
        None, alias="observedGeneration", description="The generation last applied."
    )
    phase: Literal["Active", "Expired", "Invalid"] | None = Field(
        None, description="Active, Expired or Invalid."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Active, Accepted; Ready and Stalled (kstatus).",
        json_schema_extra=_CONDITION_LIST,
    )
    stacks: list[str] = Field(default_factory=list, description="MockStacks it applies to.")
    started_at: str | None = Field(None, alias="startedAt", description="When it started.")
    expires_at: str | None = Field(None, alias="expiresAt", description="When it ends.")
    served_generation: int | None = Field(
        None,
        alias="servedGeneration",
        description="The generation whose drill runs: the current one, or while it is invalid "
        "the last accepted one.",
    )


class Kind(BaseModel):
    """How one custom resource is named and shown."""

    model_config = ConfigDict(frozen=True)

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    spec: type[BaseModel]
    status: type[BaseModel]
    description: str
    # (name, type, jsonPath, description, priority)
    columns: tuple[tuple[str, str, str, str, int], ...]


KINDS: tuple[Kind, ...] = (
    Kind(
        kind="MockStack",
        plural="mockstacks",
        singular="mockstack",
        short_names=("ms", "mock"),
        spec=StackSpec,
        status=MockStackStatus,
        description="A running aimock server: its settings, fixtures and how it is exposed.",
        columns=(
            ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status', "Serving", 0),
            ("Replicas", "string", ".status.readyReplicas", "Ready pods", 0),
            ("Served", "string", ".status.servedReplicas", "Ready pods serving the config", 0),
            ("Fixtures", "integer", ".status.fixtures", "Fixtures served", 0),
            ("Endpoint", "string", ".status.endpoint", "In-cluster base URL", 0),
            ("Drift", "string", ".status.drift.verdict", "Last drift check's verdict", 1),
            (
                "Token-Secret",
                "string",
                ".status.adminTokenSecret",
                "Secret holding the control API token",
                1,
            ),
            ("Age", "date", ".metadata.creationTimestamp", "", 0),
        ),
    ),
    Kind(
        kind="Fixture",
        plural="fixtures",
        singular="fixture",
        short_names=("fx",),
        spec=FixtureSpec,
        status=FixtureStatus,
        description="An ordered set of fixtures, loaded by the MockStacks that select it.",
        columns=(
            ("Accepted", "boolean", ".status.accepted", "Whether it is valid", 0),
            ("Fixtures", "integer", ".status.fixtures", "Fixtures held", 0),
            ("Priority", "integer", ".spec.priority", "Lower loads first", 0),
            ("Age", "date", ".metadata.creationTimestamp", "", 0),
        ),
    ),
    Kind(
        kind="ChaosPolicy",
        plural="chaospolicies",
        singular="chaospolicy",
        short_names=("chaos",),
        spec=ChaosPolicySpec,
        status=ChaosPolicyStatus,
        description="A chaos drill: fault rates for the MockStacks it selects, for a while.",
        columns=(
            ("Phase", "string", ".status.phase", "Active or Expired", 0),
            ("Drop", "number", ".spec.dropRate", "Drop rate", 0),
            ("Expires", "string", ".status.expiresAt", "When the drill ends", 0),
            ("Age", "date", ".metadata.creationTimestamp", "", 0),
        ),
    ),
)

PLURALS: dict[str, str] = {kind.kind: kind.plural for kind in KINDS}

CATEGORY = "aimock"
