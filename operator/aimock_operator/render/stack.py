"""A MockStack and what it selects -> every object the operator applies for it.

Pure: resource bodies (plain mappings, as the API returns them) in, manifest dicts out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from aimock.fixtures.loading import validation_problems
from aimock.models.stack import StackSpec
from aimock_operator.crd.v1alpha1 import API_VERSION
from aimock_operator.render import admin_token, configmaps, names, selectors, tls
from aimock_operator.render.deployment import deployment
from aimock_operator.render.drift import cron_job
from aimock_operator.render.endpoints import endpoints_config_map
from aimock_operator.render.errors import SpecError
from aimock_operator.render.service import service


@dataclass(frozen=True)
class Resource:
    """The parts of a custom resource's body the operator reads."""

    kind: str
    name: str
    namespace: str
    uid: str
    generation: int
    labels: dict[str, str]
    spec: dict[str, Any]
    status: dict[str, Any]

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Resource:
        meta = body.get("metadata") or {}
        return cls(
            kind=str(body.get("kind", "")),
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace") or ""),
            uid=str(meta.get("uid", "")),
            generation=int(meta.get("generation") or 0),
            labels=dict(meta.get("labels") or {}),
            spec=dict(body.get("spec") or {}),
            status=dict(body.get("status") or {}),
        )


@dataclass(frozen=True)
class Stack:
    resource: Resource
    spec: StackSpec
    fixture_selector: selectors.Selector | None  # None: no Fixture resources, inline only

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def namespace(self) -> str:
        return self.resource.namespace


def parse_stack(body: Mapping[str, Any]) -> Stack:
    """Read a MockStack body; a spec the server would refuse raises SpecError."""
    resource = Resource.from_body(body)
    try:
        spec = StackSpec.model_validate(resource.spec)
    except ValidationError as exc:
        first = validation_problems(exc, "")[0]
        raise SpecError(_join("spec", first.field), first.reason) from None
    raw_selector = resource.spec.get("fixtureSelector")
    selector = None
    if raw_selector is not None:
        selector = selectors.parse(raw_selector, "spec.fixtureSelector")
    return Stack(resource, spec, selector)


def _join(prefix: str, field: str) -> str:
    if not field:
        return prefix
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"


def owner_reference(stack: Stack) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "MockStack",
        "name": stack.name,
        "uid": stack.resource.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def fixture_count(body: Mapping[str, Any]) -> int:
    fixtures = (body.get("spec") or {}).get("fixtures")
    return len(fixtures) if isinstance(fixtures, list) else 0


@dataclass(frozen=True)
class Rendered:
    config_maps: list[dict[str, Any]]
    endpoints: dict[str, Any]
    service: dict[str, Any]
    deployment: dict[str, Any]
    config_hash: str
    fixture_count: int
    origin: str
    fixtures: list[str] = field(default_factory=list)  # Fixture resources served
    chaos_policies: list[str] = field(default_factory=list)  # ChaosPolicies in force
    drift_job: dict[str, Any] | None = None  # the scheduled drift check, with spec.drift
    admin_token_secret: str = ""  # the Secret whose `token` the pods read
    # Without spec.adminTokenSecret: the Secret to create if it does not exist yet, minus its
    # value. Not in `objects`: it is created once, never applied (that would rewrite the token).
    generated_token_secret: dict[str, Any] | None = None
    tls_secret: str | None = None  # with spec.tls: the Secret whose certificate the pods serve

    @property
    def objects(self) -> list[dict[str, Any]]:
        """Apply order: the ConfigMaps exist before the Deployment mounts them; the
        Deployment comes last (its status is the stack's Ready)."""
        optional = [self.drift_job] if self.drift_job is not None else []
        return [*self.config_maps, self.endpoints, self.service, *optional, self.deployment]

    @property
    def config_map_names(self) -> list[str]:
        return [cm["metadata"]["name"] for cm in self.config_maps]


def config_files(
    stack: Stack,
    fixtures: Sequence[Mapping[str, Any]],
    policies: Sequence[Mapping[str, Any]],
    kept: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every served document as a file, by file name. `kept`: files served as they are, the
    last accepted versions of resources whose current version is refused."""
    resource = stack.resource
    files = {
        names.mockstack_file(): configmaps.to_yaml(
            configmaps.manifest("MockStack", resource.name, resource.labels, resource.spec)
        )
    }
    for kind, bodies, file_name in (
        ("Fixture", fixtures, names.fixture_file),
        ("ChaosPolicy", policies, names.chaos_policy_file),
    ):
        for body in bodies:
            item = Resource.from_body(body)
            document = configmaps.manifest(kind, item.name, item.labels, item.spec, item.generation)
            files[file_name(item.name)] = configmaps.to_yaml(document)
    return {**files, **(kept or {})}


def render_stack(
    stack: Stack,
    fixtures: Sequence[Mapping[str, Any]],
    policies: Sequence[Mapping[str, Any]],
    operator_image: str,
    *,
    budget: int = names.CONFIG_MAP_BUDGET,
    kept: Mapping[str, str] | None = None,
    ca: str | None = None,
) -> Rendered:
    """Everything applied for `stack`, serving the valid `fixtures` and active `policies`,
    plus the `kept` files (last accepted versions, see `config_files`). `ca`: with
    `spec.tls`, the CA certificate (PEM) published in the endpoints ConfigMap."""
    name, namespace, owner = stack.name, stack.namespace, owner_reference(stack)
    kept = kept or {}
    chunks = configmaps.pack(config_files(stack, fixtures, policies, kept), budget)
    config_hash = configmaps.config_hash(chunks)
    labels = names.labels(name)
    config_maps = [
        configmaps.config_map(names.config_map(name, i), namespace, labels, owner, chunk)
        for i, chunk in enumerate(chunks)
    ]
    cm_names = [cm["metadata"]["name"] for cm in config_maps]
    secure = tls.enabled(stack.spec)
    origin = names.origin(name, namespace, stack.spec.service.port, secure)
    image = stack.spec.image or operator_image
    served = len(stack.spec.fixtures) + sum(fixture_count(body) for body in fixtures)
    served += sum(
        configmaps.fixture_count_of(text)
        for file, text in kept.items()
        if names.is_fixture_file(file)
    )
    return Rendered(
        config_maps=config_maps,
        endpoints=endpoints_config_map(name, namespace, origin, owner, ca if secure else None),
        service=service(name, namespace, stack.spec, owner),
        deployment=deployment(
            name,
            namespace=namespace,
            spec=stack.spec,
            image=image,
            config_maps=cm_names,
            config_hash=config_hash,
            owner=owner,
        ),
        config_hash=config_hash,
        fixture_count=served,
        origin=origin,
        fixtures=sorted(Resource.from_body(body).name for body in fixtures),
        chaos_policies=sorted(
            [Resource.from_body(body).name for body in policies]
            + [names.chaos_policy_of(file) for file in kept if names.is_chaos_policy_file(file)]
        ),
        drift_job=cron_job(
            name, namespace=namespace, drift=stack.spec.drift, image=image, owner=owner
        )
        if stack.spec.drift is not None
        else None,
        admin_token_secret=admin_token.secret_name(name, stack.spec),
        generated_token_secret=None
        if stack.spec.admin_token_secret
        else admin_token.generated_secret(name, namespace=namespace, owner=owner),
        tls_secret=tls.secret_name(name, stack.spec),
    )
