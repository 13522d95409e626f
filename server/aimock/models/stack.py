"""The stack model (= `MockStack.spec`) and the manifest documents the loader accepts.

The same YAML runs locally (`aimock serve -f`) and in a cluster (the operator packages these
documents into ConfigMaps), so the manifest shapes are defined once, here, and the operator
imports them. Kubernetes-only fields (replicas, image, service...) are accepted by the server
and ignored there; the operator gives them meaning.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    create_model,
)
from pydantic.alias_generators import to_camel

from aimock.models.base import Section, SpecModel, SpecT
from aimock.models.fixture import ChaosRates, Fixture, StreamingProfile
from aimock.models.services import SECTIONS

API_VERSION = "aimock.dev/v1alpha1"
GROUP, VERSION = API_VERSION.split("/")
ProfileName = Literal["instant", "fast", "reasoning", "overloaded"]


def known_surfaces() -> frozenset[str]:
    """What `spec.surfaces` may name: every surface (openai.chat) and provider family (openai)."""
    # The one import against the layers (documented in pyproject.toml): the names live with
    # the providers, and a typo must be refused where the file is read, not answered by 404s.
    from aimock.providers.registry import PROVIDERS

    names: set[str] = set()
    for provider in PROVIDERS:
        for surface in provider.surfaces:
            names.update((surface.name, surface.provider))
        for socket in provider.sockets:
            names.update((socket.name, socket.provider))
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

# AIMock's `--provider-<name>` names; every provider family we serve is an upstream name too.
AIMOCK_UPSTREAMS = (
    "openai",
    "anthropic",
    "gemini",
    "vertexai",
    "bedrock",
    "azure",
    "ollama",
    "cohere",
    "openrouter",
    "byteplus",
)
UPSTREAM_ALIASES = {"vertex": "vertexai"}  # a surface's provider name -> its upstream name


def known_upstreams() -> tuple[str, ...]:
    """What `--provider-<name>` and `spec.record.providers` may name: AIMock's names, then
    every other provider family we serve."""
    from aimock.providers.registry import PROVIDERS  # the one import against the layers

    served = {UPSTREAM_ALIASES.get(s.provider, s.provider) for p in PROVIDERS for s in p.surfaces}
    return (*AIMOCK_UPSTREAMS, *sorted(served - set(AIMOCK_UPSTREAMS)))


def _upstreams(value: dict[str, str]) -> dict[str, str]:
    known = known_upstreams()
    for name, url in value.items():
        if name not in known:
            raise ValueError(f"unknown provider {name!r}; known: {', '.join(known)}")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
            raise ValueError(f"providers.{name}: {url!r} is not an http(s) base URL")
    return value


class RecordSpec(SpecModel):
    """Record or proxy mode: a request no fixture matches goes to the real provider."""

    mode: Literal["record", "proxy-only"] = Field(
        "record",
        description="record: relay the answer and keep it as a fixture; proxy-only: relay only.",
    )
    providers: Annotated[dict[str, str], AfterValidator(_upstreams)] = Field(
        min_length=1,
        description="Base URL of each real API by provider name, e.g. "
        "openai: https://api.openai.com.",
    )
    full_model_version: bool = Field(
        False, description="Keep a dated model id in the recorded match instead of its family."
    )
    upstream_timeout_ms: PositiveInt = Field(
        30_000, le=600_000, description="Milliseconds to wait for the upstream to answer."
    )
    body_timeout_ms: PositiveInt = Field(
        30_000, le=600_000, description="Milliseconds to wait between two pieces of a body."
    )
    # Kubernetes-only: the operator reads these; the server ignores them.
    keys_secret: str | None = Field(
        None,
        description="Secret holding API keys, one key per provider name (openai, anthropic...); "
        "used when a caller sends none.",
    )
    service_account_name: str | None = Field(
        None,
        description="ServiceAccount of the pods, allowed to create and update Fixture "
        "resources in the namespace: recordings become Fixtures (record mode needs it).",
    )


class ServiceSpec(SpecModel):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        "ClusterIP", description="Kubernetes Service type."
    )
    port: PositiveInt = Field(4010, le=65535, description="Service port.")
    session_affinity: Literal["ClientIP", "None"] = Field(
        "ClientIP",
        description=(
            "Which pod answers a client. ClientIP (the default) keeps each client address on "
            "one pod, so sequences, turn counters and X-Test-Id scopes, which each pod keeps "
            "for itself, behave as with one replica. None spreads every connection."
        ),
    )


class TLSSpec(SpecModel):
    """HTTPS and WSS on the stack's port instead of plain HTTP (docs/tls.md)."""

    # Kubernetes-only: the operator reads it; the server makes its own certificate.
    secret_name: str | None = Field(
        None,
        description="A kubernetes.io/tls Secret (tls.crt, tls.key) the pods serve; the "
        "operator never reads it. Unset, the operator makes `<stack>-tls` once: a CA and a "
        "certificate for the Service's names, the CA published in the endpoints ConfigMap "
        "(key ca.crt).",
    )


DriftSurface = Literal["openai.chat", "openai.responses", "anthropic.messages", "gemini.generate"]
_CRON_FIELD = r"[0-9*/,?LW#A-Za-z-]+"


def _cron(value: str) -> str:
    fields = value.split()
    if value.startswith("@"):
        if value not in ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly"):
            raise ValueError(f"{value!r} is not a schedule macro Kubernetes knows")
    elif len(fields) != 5 or not all(re.fullmatch(_CRON_FIELD, f) for f in fields):
        raise ValueError(
            f"{value!r} is not a five-field cron schedule (minute hour day month weekday)"
        )
    return value


class DriftSpec(SpecModel):
    """A scheduled drift check (Kubernetes only): a CronJob runs `aimock drift --live` with the
    stack's image and writes the verdict into the MockStack's status."""

    schedule: Annotated[str, AfterValidator(_cron)] = Field(
        "17 6 * * *", description="Cron schedule of the check (default: daily, 06:17)."
    )
    keys_secret: str | None = Field(
        None,
        description="Secret whose keys are OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY: "
        "the providers with a key are asked live, the others compared with shipped captures.",
    )
    surfaces: list[DriftSurface] | None = Field(None, description="Surfaces checked; default all.")
    service_account_name: str = Field(
        description="ServiceAccount of the check's pod, allowed to patch mockstacks/status: "
        "it writes the verdict into status.drift."
    )


# `StackSpec` is `StackBase` plus one optional field per service section (`spec.mcp`,
# `spec.a2a`...), added from `aimock.models.services.SECTIONS`.
class StackBase(SpecModel):
    """How one mock stack serves: the spec of a `MockStack`, and the server's settings."""

    strict: bool = Field(False, description="Answer 503 instead of 404 when nothing matches.")
    profile: ProfileName | StreamingProfile | None = Field(
        None, description="Default stream physics for every fixture."
    )
    latency: NonNegativeFloat = Field(0.0, description="Milliseconds before every chunk.")
    chunk_size: PositiveInt = Field(20, description="Characters per streamed slice.")
    journal_max: NonNegativeInt = Field(1000, description="Journal entries kept (0 = unbounded).")
    chaos: ChaosRates | None = Field(None, description="Server-wide chaos rates.")
    chaos_seed: int | None = Field(
        None, description="Seed of the server's chaos draws: the same faults run after run."
    )
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
    service: ServiceSpec = Field(default_factory=ServiceSpec, description="How it is exposed.")
    tls: TLSSpec | None = Field(
        None,
        description="Serve HTTPS and WSS instead of plain HTTP (`tls: {}` turns it on). "
        "Read at start.",
    )

    scheduling: dict[str, Any] | None = Field(
        None, description="Pod scheduling overrides (nodeSelector, tolerations, affinity)."
    )
    admin_token_secret: str | None = Field(
        None,
        description="Secret whose `token` key guards the control API; unset, the operator "
        "generates `<stack>-admin-token`.",
    )
    api_keys: list[Annotated[str, StringConstraints(min_length=1, max_length=4096)]] | None = Field(
        None,
        description="Inbound API keys: a request without one of them is refused with its "
        "provider's own 401 (in a cluster, prefer apiKeysSecret: a spec is not secret).",
        max_length=1000,
    )
    api_keys_secret: str | None = Field(
        None,
        description="Secret whose `keys` key (comma-separated) holds the inbound API keys "
        "(Kubernetes only; the pods read it as AIMOCK_API_KEYS).",
    )
    record: RecordSpec | None = Field(
        None,
        description="Record or proxy mode: misses go to the real providers. Read at start.",
    )
    drift: DriftSpec | None = Field(
        None, description="A scheduled drift check against the live APIs (Kubernetes only)."
    )

    def section(self, section: Section[SpecT]) -> SpecT | None:
        """This spec's part for one service, if the file gives it."""
        value = getattr(self, section.key, None)
        return value if isinstance(value, section.model) else None


def _with_sections(base: type[StackBase]) -> type[StackBase]:
    fields: dict[str, Any] = {
        section.key: (
            section.model | None,
            Field(None, alias=section.key, description=section.description),
        )
        for section in SECTIONS
    }
    return create_model(
        "StackSpec", __base__=base, __module__=__name__, __doc__=base.__doc__, **fields
    )


if TYPE_CHECKING:
    StackSpec = StackBase
else:
    StackSpec = _with_sections(StackBase)


class FixtureSpec(SpecModel):
    """The spec of a `Fixture` resource: an ordered set of fixtures."""

    priority: int = Field(
        0, description="Lower numbers are consulted first; ties go by resource name."
    )
    fixtures: list[Fixture] = Field(min_length=1, description="Fixtures, first match wins.")


class ChaosMatch(SpecModel):
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
