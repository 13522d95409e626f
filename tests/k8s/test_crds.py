"""The generated CRDs on a real apiserver: they install, explain themselves, accept every
fixture the project ships unchanged in meaning, and refuse bad input with the loader's words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml
from kopf.testing import KopfRunner

from aimock.models.stack import FixtureSpec
from aimock_operator import webhook
from aimock_operator.crd.v1alpha1 import GROUP, KINDS
from tests.k8s.plane import ControlPlane, ToolError, free_ports, wait_until

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/mockstack.yaml"


@pytest.fixture(scope="module")
def crds(cluster: ControlPlane) -> ControlPlane:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    cluster.wait_established(*(f"{kind.plural}.{GROUP}" for kind in KINDS))
    # Established comes before the schema is published in the OpenAPI document `kubectl
    # explain` (and client-side tooling) reads; wait for that too.
    for kind in KINDS:
        wait_until(
            lambda kind=kind: cluster.kubectl("explain", f"{kind.singular}.spec"),
            timeout=60,
            what=f"the {kind.kind} schema in the apiserver's OpenAPI document",
        )
    return cluster


def _dry_run(cluster: ControlPlane, namespace: str, document: dict[str, Any]) -> dict[str, Any]:
    out = cluster.kubectl(
        "apply", "-n", namespace, "--dry-run=server", "-o", "json", "-f", "-",
        input=json.dumps(document),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out)
    return result


def _fixture(name: str, fixtures: list[Any]) -> dict[str, Any]:
    return {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "Fixture",
        "metadata": {"name": name},
        "spec": {"fixtures": fixtures},
    }


def test_crds_are_established_with_their_names(crds: ControlPlane) -> None:
    for kind in KINDS:
        crd = json.loads(crds.kubectl("get", f"crd/{kind.plural}.{GROUP}", "-o", "json"))
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions["Established"] == "True"
        assert conditions["NamesAccepted"] == "True"
        assert crd["status"]["acceptedNames"]["shortNames"] == list(kind.short_names)
        assert crd["status"]["acceptedNames"]["categories"] == ["aimock"]


def test_kubectl_explain_shows_the_model_descriptions(crds: ControlPlane) -> None:
    strict = crds.kubectl("explain", "mockstack.spec.strict")
    assert "Answer 503 instead of 404 when nothing matches." in strict
    assert "<boolean>" in strict
    user_message = crds.kubectl("explain", "fixture.spec.fixtures.match.userMessage")
    assert "A plain string in a fixture means" in user_message
    drop = crds.kubectl("explain", "chaospolicy.spec.dropRate")
    assert "Answer 500 instead (0-1)." in drop


def test_the_example_manifests_are_accepted(crds: ControlPlane, namespace: str) -> None:
    out = crds.kubectl("apply", "-n", namespace, "--dry-run=server", "-f", str(EXAMPLE))
    assert out.splitlines() == [
        "mockstack.aimock.dev/preview created (server dry run)",
        "fixture.aimock.dev/checkout-assistant created (server dry run)",
        "chaospolicy.aimock.dev/checkout-drill created (server dry run)",
    ]


MANIFEST_EXAMPLES = [
    ROOT / "examples/mockstack.yaml",
    ROOT / "examples/chaos-drill.yaml",
    *sorted(
        p for p in (ROOT / "examples/gitops").rglob("*.yaml") if p.name != "kustomization.yaml"
    ),
]


@pytest.mark.parametrize("path", MANIFEST_EXAMPLES, ids=lambda p: p.name)
def test_every_example_manifest_is_accepted(crds: ControlPlane, namespace: str, path: Path) -> None:
    out = crds.kubectl("apply", "-n", namespace, "--dry-run=server", "-f", str(path))
    assert out.strip() and all(line.endswith("(server dry run)") for line in out.splitlines())


def _shipped_fixture_files() -> Iterator[Path]:
    yield from sorted((ROOT / "examples/fixtures").glob("*.yaml"))
    yield from sorted((ROOT / "tests/sdk/fixtures").glob("*.yaml"))
    yield ROOT / "examples/aimock-json/aimock-fixtures.json"
    yield ROOT / "server/aimock/defaults/default.yaml"


@pytest.mark.parametrize("path", list(_shipped_fixture_files()), ids=lambda p: p.name)
def test_every_shipped_fixture_file_round_trips_through_the_apiserver(
    crds: ControlPlane, namespace: str, path: Path
) -> None:
    """Nothing the loader accepts is refused or pruned: the stored spec means the same."""
    raw = path.read_text(encoding="utf-8")
    fixtures = (json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw))["fixtures"]
    stored = _dry_run(crds, namespace, _fixture("shipped", fixtures))
    assert _meaning(stored["spec"]) == _meaning({"fixtures": fixtures})


def _meaning(spec: dict[str, Any]) -> Any:
    """The validated spec, with JSON text parsed: Kubernetes keeps objects, not their key order,
    so structured `content` comes back with sorted keys (documented in docs/crds.md)."""

    def parse(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: parse(item) for key, item in value.items()}
        if isinstance(value, list):
            return [parse(item) for item in value]
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    return parse(FixtureSpec.model_validate(spec).model_dump())


BAD = {
    "no-response": (
        _fixture("bad", [{"match": {"userMessage": "x"}}]),
        "spec.fixtures[0]: Invalid value: response is missing: give a response (or a sequence)",
    ),
    "response-and-sequence": (
        _fixture("bad", [{"response": {"content": "a"}, "sequence": [{"content": "b"}]}]),
        "spec.fixtures[0]: Invalid value: give either response or sequence, not both",
    ),
    "empty-sequence": (
        _fixture("bad", [{"sequence": []}]),
        "spec.fixtures[0]: Invalid value: sequence is an empty list",
    ),
    "empty-tool-calls": (
        _fixture("bad", [{"response": {"toolCalls": []}}]),
        "spec.fixtures[0].response: Invalid value: toolCalls is an empty list",
    ),
    "no-fixtures": (
        _fixture("bad", []),
        "spec.fixtures in body should have at least 1 items",
    ),
    "fixture-without-spec": (
        {"apiVersion": "aimock.dev/v1alpha1", "kind": "Fixture", "metadata": {"name": "bad"}},
        "spec: Required value",
    ),
    "rate-above-one": (
        {
            "apiVersion": "aimock.dev/v1alpha1",
            "kind": "ChaosPolicy",
            "metadata": {"name": "bad"},
            "spec": {"dropRate": 1.5},
        },
        "spec.dropRate in body should be less than or equal to 1",
    ),
    "bad-service-type": (
        {
            "apiVersion": "aimock.dev/v1alpha1",
            "kind": "MockStack",
            "metadata": {"name": "bad"},
            "spec": {"service": {"type": "Internal"}},
        },
        'spec.service.type: Unsupported value: "Internal"',
    ),
    "unknown-field": (
        {
            "apiVersion": "aimock.dev/v1alpha1",
            "kind": "MockStack",
            "metadata": {"name": "bad"},
            "spec": {"strictt": True},
        },
        'unknown field "spec.strictt"',
    ),
    "replicas-as-text": (
        {
            "apiVersion": "aimock.dev/v1alpha1",
            "kind": "MockStack",
            "metadata": {"name": "bad"},
            "spec": {"replicas": "two"},
        },
        "spec.replicas in body must be of type integer",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_with_a_clear_message(
    crds: ControlPlane, namespace: str, case: str
) -> None:
    document, message = BAD[case]
    with pytest.raises(ToolError) as refused:
        _dry_run(crds, namespace, document)
    assert message in refused.value.stderr


def test_an_explicit_null_means_absent(crds: ControlPlane, namespace: str) -> None:
    """Optional fields are not `nullable`: the apiserver prunes a null, as pydantic reads it."""
    stored = _dry_run(
        crds,
        namespace,
        _fixture("nulls", [{"response": None, "sequence": [{"content": "a", "refusal": None}]}]),
    )
    (fixture,) = stored["spec"]["fixtures"]
    assert "response" not in fixture
    assert fixture["sequence"] == [{"content": "a"}]


def test_defaults_are_filled_in_by_the_apiserver(crds: ControlPlane, namespace: str) -> None:
    stored = _dry_run(
        crds,
        namespace,
        {
            "apiVersion": "aimock.dev/v1alpha1",
            "kind": "MockStack",
            "metadata": {"name": "defaults"},
            "spec": {"service": {}},
        },
    )
    spec = stored["spec"]
    assert (spec["replicas"], spec["strict"], spec["chunkSize"]) == (1, False, 20)
    assert spec["service"] == {"type": "ClusterIP", "port": 4010, "sessionAffinity": "ClientIP"}


def test_printer_columns_short_names_and_scale(crds: ControlPlane, namespace: str) -> None:
    crds.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE))
    stacks = crds.kubectl("get", "ms", "-n", namespace)
    assert stacks.split("\n")[0].split() == [
        "NAME",
        "READY",
        "REPLICAS",
        "SERVED",
        "FIXTURES",
        "ENDPOINT",
        "AGE",
    ]
    fixtures = crds.kubectl("get", "fx", "-n", namespace)
    assert fixtures.split("\n")[0].split() == ["NAME", "ACCEPTED", "FIXTURES", "PRIORITY", "AGE"]
    assert "checkout-assistant" in fixtures and " 10 " in fixtures
    everything = crds.kubectl("get", "aimock", "-n", namespace, "-o", "name")
    assert sorted(everything.split()) == [
        "chaospolicy.aimock.dev/checkout-drill",
        "fixture.aimock.dev/checkout-assistant",
        "mockstack.aimock.dev/preview",
    ]
    crds.kubectl("scale", "ms/preview", "-n", namespace, "--replicas=3")
    replicas = crds.kubectl("get", "ms/preview", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
    assert replicas == "3"


def test_status_is_a_subresource_with_conditions_keyed_by_type(
    crds: ControlPlane, namespace: str
) -> None:
    crds.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE))
    condition = {
        "type": "Ready",
        "status": "True",
        "reason": "Available",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    patch = {"status": {"conditions": [condition], "readyReplicas": 1, "bogus": 1}}
    crds.kubectl(
        "patch", "ms/preview", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps(patch),
    )  # fmt: skip
    stored = json.loads(crds.kubectl("get", "ms/preview", "-n", namespace, "-o", "json"))
    assert stored["status"]["conditions"] == [{**condition, "message": ""}]  # message defaulted
    assert "bogus" not in stored["status"]  # unknown status fields are pruned
    row = crds.kubectl("get", "ms/preview", "-n", namespace, "--no-headers").split()
    assert row[1:3] == ["True", "1"]
    # A spec change through the main resource cannot touch status, and vice versa.
    crds.kubectl("patch", "ms/preview", "-n", namespace, "--type=merge", "-p", '{"status":null}')
    again = json.loads(crds.kubectl("get", "ms/preview", "-n", namespace, "-o", "json"))
    assert again["status"]["readyReplicas"] == 1


# --- the admission webhook, called by the real apiserver ----------------------------------------


@pytest.fixture
def webhook_operator(
    crds: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """kopf serving only the validating webhooks, with a managed webhook configuration that
    points the apiserver at https://127.0.0.1:<port>; removed afterwards (it is cluster-wide)."""
    (port,) = free_ports(1)
    managed = f"aimock-test-{namespace}.aimock.dev"
    registry = kopf.OperatorRegistry()
    webhook.register(registry)
    kopf.on.login(registry=registry)(kopf.login_with_kubeconfig)  # a fresh registry has none
    settings = kopf.OperatorSettings()
    settings.admission.server = webhook.webhook_server("127.0.0.1", port, tmp_path / "certs")
    settings.admission.managed = managed
    settings.posting.enabled = False
    monkeypatch.setenv("KUBECONFIG", str(crds.kubeconfig))
    args = ["run", "--standalone", "--namespace", namespace]
    try:
        with KopfRunner(args, registry=registry, settings=settings, timeout=60):
            wait_until(
                lambda: (
                    crds.request(
                        "GET",
                        f"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{managed}",
                    )[0]
                    == 200
                ),
                timeout=30,
                what="kopf's ValidatingWebhookConfiguration",
            )
            yield managed
    finally:
        for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
            crds.kubectl("delete", kind, managed, "--ignore-not-found")


BAD_REGEX = _fixture(
    "bad-regex", [{"match": {"userMessage": {"regex": "(oops"}}, "response": {"content": "x"}}]
)


def test_the_schema_alone_admits_what_needs_the_fixture_model(
    crds: ControlPlane, namespace: str
) -> None:
    """userMessage is a string or an object: only the fixture model can judge a regex."""
    # (wait_until: a webhook configuration another test just removed may linger a moment)
    stored = wait_until(
        lambda: _dry_run(crds, namespace, BAD_REGEX), timeout=30, what="schema-only admission"
    )
    assert stored["metadata"]["name"] == "bad-regex"


def test_the_webhook_refuses_what_only_the_fixture_model_can_judge(
    crds: ControlPlane, namespace: str, webhook_operator: str
) -> None:
    def refused() -> str | None:
        # The apiserver may take a moment to see the new webhook configuration.
        try:
            _dry_run(crds, namespace, BAD_REGEX)
        except ToolError as error:
            return error.stderr
        return None

    message = wait_until(refused, timeout=30, what="the webhook to refuse a bad regex")
    assert 'admission webhook "validate-fixture.' in message
    assert (
        "Fixture bad-regex is invalid: spec.fixtures[0].match.userMessage: invalid regex '(oops'"
        in message
    )
    good = _fixture(
        "good", [{"match": {"userMessage": {"regex": "^ok"}}, "response": {"content": "x"}}]
    )
    assert _dry_run(crds, namespace, good)["metadata"]["name"] == "good"
    stack = {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "MockStack",
        "metadata": {"name": "typo"},
        "spec": {"surfaces": ["opneai"]},
    }
    with pytest.raises(ToolError) as caught:
        _dry_run(crds, namespace, stack)
    assert (
        "MockStack typo is invalid: spec.surfaces[0]: unknown surface 'opneai'"
        in caught.value.stderr
    )


def test_a_mockstack_name_longer_than_a_service_name_is_refused(
    crds: ControlPlane, namespace: str
) -> None:
    manifest = {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "MockStack",
        "metadata": {"name": "m" * 64},
        "spec": {},
    }
    with pytest.raises(ToolError) as refused:
        _dry_run(crds, namespace, manifest)
    assert "at most 63 characters" in refused.value.stderr
