"""The stack model (= `MockStack.spec`) and the manifest documents the loader accepts.

The same YAML runs locally (`aimock serve -f`) and in a cluster (the operator packages these
documents into ConfigMaps), so the manifest shapes are defined once, here, and the operator
imports them. Kubernetes-only fields (replicas, image, service...) are accepted by the server
and ignored there; the operator gives them meaning.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
)
from pydantic.alias_generators import to_camel

from aimock.fixtures.model import ChaosRates, Fixture, StreamingProfile
from aimock.services.a2a_model import A2ASpec
from aimock.services.mcp_model import McpSpec
from aimock.services.vector.vector_model import VectorSpec

API_VERSION = "aimock.dev/v1alpha1"
ProfileName = Literal["instant", "fast", "reasoning", "overloaded"]


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


def known_surfaces() -> frozenset[str]:
    """What `spec.surfaces` may name: every surface (openai.chat) and provider family (openai)."""
    from aimock.providers.registry import PROVIDERS  # the registry imports this module's users

    names: set[str] = set()
    for provider in PROVIDERS:
        for surface in provider.surfaces:
            names.update((surface.name, surface.provider))
    return frozenset(names)


def _known_surface(name: str) -> str:
    # A typo would silently answer 404 on every route, so it is an error instead.
    known = known_surfaces()
    if name not in known:
        raise ValueError(f"unknown surface {name!r}; known: {', '.join(sorted(known))}")
    return name


SurfaceName = Annotated[str, AfterValidator(_known_surface)]

_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
RESERVED_PREFIX = "/__aimock"


def check_openai_prefix(value: str) -> str:
    """An extra base path for OpenAI-compatible clients, e.g. `/my-gateway/v1`: it starts with
    '/', has no trailing '/', and holds plain path segments only (no route variables)."""
    if not value.startswith("/"):
        raise ValueError(f"openai prefix {value!r} must start with '/'")
    if value.endswith("/"):
        raise ValueError(f"openai prefix {value!r} must not end with '/'")
    for segment in value[1:].split("/"):
        if not _PREFIX_SEGMENT.fullmatch(segment):
            raise ValueError(
                f"openai prefix {value!r}: segment {segment!r} may hold only letters, digits "
                "and . _ ~ -"
            )
    if value == RESERVED_PREFIX or value.startswith(RESERVED_PREFIX + "/"):
        raise ValueError(f"openai prefix {value!r} is reserved for the control API")
    return value


OpenAIPrefix = Annotated[str, AfterValidator(check_openai_prefix)]


class ServiceSpec(_Spec):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        "ClusterIP", description="Kubernetes Service type."
    )
    port: PositiveInt = Field(4010, le=65535, description="Service port.")


class StackSpec(_Spec):
    """How one mock stack serves: the spec of a `MockStack`, and the server's settings."""

    strict: bool = Field(False, description="Answer 503 instead of 404 when nothing matches.")
    profile: ProfileName | StreamingProfile | None = Field(
        None, description="Default stream physics for every fixture."
    )
    latency: NonNegativeFloat = Field(0.0, description="Milliseconds before every chunk.")
    chunk_size: PositiveInt = Field(20, description="Characters per streamed slice.")
    journal_max: NonNegativeInt = Field(1000, description="Journal entries kept (0 = unbounded).")
    chaos: ChaosRates | None = Field(None, description="Server-wide chaos rates.")
    fixtures: list[Fixture] = Field(
        default_factory=list, description="Inline fixtures, served before selected ones."
    )
    # Kubernetes-only: the operator reads these; the server ignores them.
    replicas: NonNegativeInt = Field(1, description="Pods serving this stack.")
    image: str | None = Field(None, description="Server image (default: the operator's own).")
    resources: dict[str, Any] | None = Field(None, description="Container resources.")
    fixture_selector: dict[str, Any] | None = Field(
        None, description="Label selector choosing Fixture resources in the namespace."
    )
    surfaces: list[SurfaceName] | None = Field(
        None,
        description="Surfaces (openai.chat) or provider families (openai) to serve; "
        "default: all. Others answer 404.",
    )
    openai_prefixes: list[OpenAIPrefix] | None = Field(
        None,
        description="Extra base paths answering every OpenAI route (chat/completions, "
        "responses, embeddings, models...), e.g. /my-gateway/v1. Read at start.",
    )
    mcp: McpSpec | None = Field(
        None,
        description="MCP servers (Streamable HTTP) on /mcp/{name}: tools, resources, prompts. "
        "Read at start for custom paths; definitions reload.",
    )
    a2a: A2ASpec | None = Field(
        None,
        alias="a2a",  # to_camel would spell it a2A
        description="A2A agents (JSON-RPC, v1.0 or v0.3) on /a2a/{name}: agent cards, "
        "responses matched on the message text, tasks. Read at start for custom paths.",
    )
    vector: VectorSpec | None = Field(
        None,
        description="Vector collections served by the Qdrant (/collections), Chroma (/api/v2) "
        "and Pinecone (/indexes) dialects: dimension, metric, seed points, static results.",
    )
    service: ServiceSpec = Field(default_factory=ServiceSpec, description="How it is exposed.")

    scheduling: dict[str, Any] | None = Field(
        None, description="Pod scheduling overrides (nodeSelector, tolerations, affinity)."
    )
    admin_token_secret: str | None = Field(
        None, description="Secret whose `token` key guards the control API."
    )


class FixtureSpec(_Spec):
    """The spec of a `Fixture` resource: an ordered set of fixtures."""

    priority: int = Field(
        0, description="Lower numbers are consulted first; ties go by resource name."
    )
    fixtures: list[Fixture] = Field(min_length=1, description="Fixtures, first match wins.")


class ChaosMatch(_Spec):
    surface: str | None = Field(None, description="Only this surface, e.g. openai.chat.")
    provider: str | None = Field(None, description="Only this provider, e.g. openai.")
    model: str | None = Field(None, description="Only requests for this model.")


class ChaosPolicySpec(ChaosRates):
    """A chaos drill: rates, an optional request filter, an optional end."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )

    selector: dict[str, Any] | None = Field(
        None, description="Label selector choosing MockStacks (operator only)."
    )
    match: ChaosMatch | None = Field(None, description="Only requests like this.")
    duration_seconds: PositiveInt | None = Field(
        None, description="The drill ends by itself this long after it starts."
    )
    seed: int | None = Field(None, description="Seed for reproducible draws.")


class Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    api_version: Literal["aimock.dev/v1alpha1"] = Field(alias="apiVersion")
    metadata: Metadata
    status: dict[str, Any] | None = None  # present in `kubectl get -o yaml` output; ignored


class MockStackManifest(_Manifest):
    kind: Literal["MockStack"]
    spec: StackSpec = Field(default_factory=StackSpec)


class FixtureManifest(_Manifest):
    kind: Literal["Fixture"]
    spec: FixtureSpec


class ChaosPolicyManifest(_Manifest):
    kind: Literal["ChaosPolicy"]
    spec: ChaosPolicySpec


MANIFEST_KINDS: dict[str, type[_Manifest]] = {
    "MockStack": MockStackManifest,
    "Fixture": FixtureManifest,
    "ChaosPolicy": ChaosPolicyManifest,
}
