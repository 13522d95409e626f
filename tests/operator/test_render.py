"""Rendering a MockStack: names, labels, owner references, the pod, the served documents."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from aimock.fixtures.loading import load_paths, load_text
from aimock.providers.registry import environment
from aimock_operator.render import (
    admin_token,
    configmaps,
    names,
    parse_stack,
    render_stack,
    selectors,
)
from aimock_operator.render.configmaps import config_hash, pack
from aimock_operator.render.errors import SpecError
from aimock_operator.render.stack import Rendered

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mockstack.yaml"
IMAGE = "registry.example/aimock:test"
UID = "0b8f6a52-5bd8-4a53-9d0e-1f3b2c4d5e6f"
ADMIN_TOKEN_ENV = {
    "name": "AIMOCK_ADMIN_TOKEN",
    "valueFrom": {"secretKeyRef": {"name": "preview-admin-token", "key": "token"}},
}


def example_documents() -> dict[str, dict[str, Any]]:
    """The example manifests by kind, as the API would return them (namespace, uid...)."""
    docs = {d["kind"]: d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d}
    for doc in docs.values():
        doc["metadata"].update(namespace="team-a", uid=UID, generation=1, resourceVersion="7")
    return docs


def stack_body(**spec: Any) -> dict[str, Any]:
    body = example_documents()["MockStack"]
    body["spec"].update(spec)
    return body


def fixture_body(
    name: str, content: str = "hello", labels: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "Fixture",
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "uid": f"uid-{name}",
            "generation": 1,
            "labels": {"app": "checkout"} if labels is None else labels,
        },
        "spec": {
            "fixtures": [{"match": {"userMessage": f"{name} q"}, "response": {"content": content}}],
            **spec,
        },
    }


def render(
    body: dict[str, Any] | None = None,
    fixtures: list[dict[str, Any]] | None = None,
    policies: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> Rendered:
    docs = example_documents()
    return render_stack(
        parse_stack(body or docs["MockStack"]),
        [docs["Fixture"]] if fixtures is None else fixtures,
        [] if policies is None else policies,
        IMAGE,
        **kwargs,
    )


def config_data(rendered: Rendered) -> dict[str, str]:
    merged: dict[str, str] = {}
    for config_map in rendered.config_maps:
        merged.update(config_map["data"])
    return merged


# --- names, labels, owners ---------------------------------------------------------------------


def test_children_are_named_after_the_stack() -> None:
    rendered = render()
    assert [(o["kind"], o["metadata"]["name"]) for o in rendered.objects] == [
        ("ConfigMap", "preview-config-0"),
        ("ConfigMap", "preview-endpoints"),
        ("Service", "preview"),
        ("Deployment", "preview"),
    ]
    assert {o["metadata"]["namespace"] for o in rendered.objects} == {"team-a"}
    assert rendered.admin_token_secret == names.admin_token("preview") == "preview-admin-token"


def test_every_child_carries_the_labels_and_a_controller_owner_reference() -> None:
    for obj in render().objects:
        component = "endpoints" if obj["metadata"]["name"].endswith("-endpoints") else "mock-server"
        assert obj["metadata"]["labels"] == {
            "app.kubernetes.io/name": "aimock",
            "app.kubernetes.io/instance": "preview",
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": "aimock-operator",
            "aimock.dev/stack": "preview",
        }
        assert obj["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "aimock.dev/v1alpha1",
                "kind": "MockStack",
                "name": "preview",
                "uid": UID,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


def test_config_map_index_reads_only_our_names() -> None:
    assert names.config_map_index("preview", "preview-config-0") == 0
    assert names.config_map_index("preview", "preview-config-12") == 12
    for other in ("preview-endpoints", "preview-config-", "preview-config-01", "x-config-1"):
        assert names.config_map_index("preview", other) is None


# --- the Deployment ----------------------------------------------------------------------------


def pod_spec(rendered: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = rendered.deployment["spec"]["template"]["spec"]
    return spec


def test_deployment_runs_serve_on_the_mounted_folder_with_probes() -> None:
    deployment = render().deployment
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["selector"] == {
        "matchLabels": {"app.kubernetes.io/name": "aimock", "app.kubernetes.io/instance": "preview"}
    }
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "aimock"
    assert container["image"] == IMAGE
    assert container["args"] == [
        "serve",
        "-f",
        "/etc/aimock/config",
        "--host",
        "0.0.0.0",
        "--port",
        "4010",
        "--watch",
    ]
    assert container["ports"] == [{"name": "http", "containerPort": 4010, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["env"] == [ADMIN_TOKEN_ENV]
    assert "resources" not in container


def test_pod_is_restricted() -> None:
    pod = pod_spec(render())
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False


def test_volumes_project_every_config_map_and_give_a_writable_tmp() -> None:
    pod = pod_spec(render())
    assert pod["volumes"] == [
        {"name": "config", "projected": {"sources": [{"configMap": {"name": "preview-config-0"}}]}},
        {"name": "tmp", "emptyDir": {}},
    ]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "config", "mountPath": "/etc/aimock/config", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]


def test_spec_sets_image_replicas_resources_scheduling_and_admin_token() -> None:
    resources = {"limits": {"memory": "256Mi"}, "requests": {"cpu": "50m"}}
    scheduling = {
        "nodeSelector": {"pool": "mocks"},
        "tolerations": [{"key": "mocks", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {}},
    }
    rendered = render(
        stack_body(
            image="mine/aimock:1",
            replicas=3,
            resources=resources,
            scheduling=scheduling,
            adminTokenSecret="mock-admin",
        )
    )
    pod = pod_spec(rendered)
    container = pod["containers"][0]
    assert rendered.deployment["spec"]["replicas"] == 3
    assert container["image"] == "mine/aimock:1"
    assert container["resources"] == resources
    assert {k: pod[k] for k in scheduling} == scheduling
    assert container["env"] == [
        {
            "name": "AIMOCK_ADMIN_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "mock-admin", "key": "token"}},
        }
    ]
    # The user's Secret wins: the operator generates none.
    assert rendered.admin_token_secret == "mock-admin"
    assert rendered.generated_token_secret is None


def test_inbound_api_keys_come_from_their_secret() -> None:
    rendered = render(stack_body(apiKeysSecret="mock-keys"))
    env = pod_spec(rendered)["containers"][0]["env"]
    assert env == [
        ADMIN_TOKEN_ENV,
        {
            "name": "AIMOCK_API_KEYS",
            "valueFrom": {"secretKeyRef": {"name": "mock-keys", "key": "keys"}},
        },
    ]


# --- the admin token ---------------------------------------------------------------------------


def test_a_stack_without_a_token_secret_gets_a_generated_one_without_its_value() -> None:
    rendered = render()
    secret = rendered.generated_token_secret
    assert secret is not None
    assert secret == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "preview-admin-token",
            "namespace": "team-a",
            "labels": {
                "app.kubernetes.io/name": "aimock",
                "app.kubernetes.io/instance": "preview",
                "app.kubernetes.io/component": "admin-token",
                "app.kubernetes.io/managed-by": "aimock-operator",
                "aimock.dev/stack": "preview",
            },
            "ownerReferences": [rendered.deployment["metadata"]["ownerReferences"][0]],
        },
        "type": "Opaque",
        "immutable": True,
    }
    # Created once by the handler, never applied: applying would rewrite the token.
    assert "Secret" not in {o["kind"] for o in rendered.objects}
    # Rendering draws nothing: the same stack renders the same Secret every time.
    assert render().generated_token_secret == secret


def test_the_token_is_added_to_a_copy_of_the_rendered_secret() -> None:
    secret = render().generated_token_secret
    assert secret is not None
    before = copy.deepcopy(secret)
    filled = admin_token.with_token(secret, "ab" * 32)
    assert filled == {**before, "stringData": {"token": "ab" * 32}}
    assert secret == before


def test_unknown_scheduling_key_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as caught:
        render(stack_body(scheduling={"hostNetwork": True}))
    assert caught.value.field == "spec.scheduling.hostNetwork"


def test_invalid_stack_spec_names_the_field() -> None:
    body = stack_body(fixtures=[{"match": {"userMessage": {"regex": "a["}}, "response": {}}])
    with pytest.raises(SpecError) as caught:
        parse_stack(body)
    assert caught.value.field.startswith("spec.fixtures[0].match.userMessage")
    assert "regex" in caught.value.reason


# --- Service and endpoints ---------------------------------------------------------------------


def test_service_exposes_the_http_port() -> None:
    service = render(stack_body(service={"type": "NodePort", "port": 8080})).service
    assert service["spec"] == {
        "type": "NodePort",
        "selector": {"app.kubernetes.io/name": "aimock", "app.kubernetes.io/instance": "preview"},
        "ports": [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}],
        "sessionAffinity": "ClientIP",
    }
    spread = render(stack_body(service={"sessionAffinity": "None"})).service
    assert spread["spec"]["sessionAffinity"] == "None"


def test_endpoints_config_map_holds_every_sdk_variable_for_the_service() -> None:
    rendered = render(stack_body(service={"port": 8080}))
    origin = "http://preview.team-a.svc.cluster.local:8080"
    assert rendered.origin == origin
    assert rendered.endpoints["data"] == {**environment(origin), "AIMOCK_URL": origin}
    assert rendered.endpoints["data"]["OPENAI_BASE_URL"] == origin + "/v1"


# --- the served documents ----------------------------------------------------------------------


def test_config_holds_one_file_per_document() -> None:
    docs = example_documents()
    rendered = render(policies=[docs["ChaosPolicy"]])
    data = config_data(rendered)
    assert list(data) == [
        "00-mockstack.yaml",
        "10-fixture-checkout-assistant.yaml",
        "20-chaospolicy-checkout-drill.yaml",
    ]
    fixture = yaml.safe_load(data["10-fixture-checkout-assistant.yaml"])
    assert fixture == {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "Fixture",
        # The generation says which version a stack serves when a later one is refused.
        "metadata": {"name": "checkout-assistant", "labels": {"app": "checkout"}, "generation": 1},
        "spec": docs["Fixture"]["spec"],
    }
    assert rendered.fixtures == ["checkout-assistant"]
    assert rendered.chaos_policies == ["checkout-drill"]


def test_kept_files_are_served_as_they_are_and_counted() -> None:
    docs = example_documents()
    served = config_data(render(policies=[docs["ChaosPolicy"]]))
    fixture_file, policy_file = (
        "10-fixture-checkout-assistant.yaml",
        "20-chaospolicy-checkout-drill.yaml",
    )
    kept = {fixture_file: served[fixture_file], policy_file: served[policy_file]}
    again = render(fixtures=[], kept=kept)
    assert config_data(again) == served  # byte for byte: the config hash stays
    assert again.config_hash == render(policies=[docs["ChaosPolicy"]]).config_hash
    assert again.fixture_count == 3  # one inline, two from the kept Fixture
    assert again.chaos_policies == ["checkout-drill"]
    assert configmaps.generation_of(served[fixture_file]) == 1
    assert configmaps.generation_of("not: [yaml") is None
    assert configmaps.fixture_count_of(served[fixture_file]) == 2


def test_server_loads_the_rendered_folder_as_it_loads_the_example(tmp_path: Path) -> None:
    docs = example_documents()
    rendered = render(policies=[docs["ChaosPolicy"]])
    for key, text in config_data(rendered).items():
        (tmp_path / key).write_text(text)
    served = load_paths([tmp_path])
    local = load_paths([EXAMPLE])
    assert rendered.fixture_count == len(served.fixtures) == 3
    assert [f.fixture for f in served.fixtures] == [f.fixture for f in local.fixtures]
    assert served.stack == local.stack
    assert [p.spec for p in served.chaos_policies] == [p.spec for p in local.chaos_policies]


def test_fixture_without_selector_is_not_served_and_counts_only_inline() -> None:
    body = stack_body()
    del body["spec"]["fixtureSelector"]
    stack = parse_stack(body)
    assert stack.fixture_selector is None
    assert render_stack(stack, [], [], IMAGE).fixture_count == 1


def test_hash_is_stable_for_the_same_documents_in_any_order() -> None:
    first = render()
    docs = example_documents()
    reordered = docs["MockStack"]
    reordered["spec"] = dict(reversed(list(reordered["spec"].items())))
    reordered["metadata"]["resourceVersion"] = "99"  # bookkeeping is not config
    reordered["status"] = {"observedGeneration": 1}
    second = render(reordered)
    assert first.config_hash == second.config_hash
    assert first.config_maps == second.config_maps
    assert first.deployment["metadata"]["annotations"] == {
        "aimock.dev/config-hash": first.config_hash
    }


def test_fixture_edit_changes_config_and_hash_but_not_the_pod_template() -> None:
    docs = example_documents()
    before = render(fixtures=[docs["Fixture"]])
    edited = copy.deepcopy(docs["Fixture"])
    edited["spec"]["fixtures"][0]["response"]["content"] = "It arrives on Friday."
    after = render(fixtures=[edited])
    assert after.config_hash != before.config_hash
    assert config_data(after) != config_data(before)
    assert after.deployment["spec"]["template"] == before.deployment["spec"]["template"]
    assert after.deployment["metadata"]["annotations"]["aimock.dev/config-hash"] == (
        after.config_hash
    )


def test_a_stack_spec_edit_changes_the_hash() -> None:
    assert render(stack_body(strict=False)).config_hash != render().config_hash


# --- splitting ---------------------------------------------------------------------------------


def big_fixture(name: str, kib: int) -> dict[str, Any]:
    return fixture_body(name, content="x" * (kib * 1024))


def test_config_over_900_kib_splits_over_several_config_maps(tmp_path: Path) -> None:
    fixtures = [big_fixture(f"big-{i}", 400) for i in range(4)]
    rendered = render(fixtures=fixtures)
    assert rendered.config_map_names == ["preview-config-0", "preview-config-1"]
    for config_map in rendered.config_maps:
        size = sum(len(k) + len(v.encode()) for k, v in config_map["data"].items())
        assert size <= 900 * 1024
    sources = pod_spec(rendered)["volumes"][0]["projected"]["sources"]
    assert sources == [{"configMap": {"name": n}} for n in rendered.config_map_names]
    # One folder again in the pod: the server sees every document.
    for key, text in config_data(rendered).items():
        (tmp_path / key).write_text(text)
    loaded = load_paths([tmp_path])
    assert len(loaded.fixtures) == rendered.fixture_count == 5
    # What the pod reports serving is what the operator wrote: servedReplicas counts on it.
    assert loaded.config_hash == rendered.config_hash
    first = tmp_path / next(iter(config_data(rendered)))
    first.write_text(first.read_text() + "# an edit the kubelet has not delivered yet\n")
    assert load_paths([tmp_path]).config_hash != rendered.config_hash
    # Deterministic: the same input packs the same way.
    assert render(fixtures=fixtures).config_maps == rendered.config_maps


def test_pack_keeps_key_order_and_gives_an_oversized_file_its_own_chunk() -> None:
    files = {"a": "1" * 5, "b": "2" * 20, "c": "3" * 4, "d": "4" * 4}
    chunks = pack(files, budget=12)
    assert chunks == [{"a": "11111"}, {"b": "2" * 20}, {"c": "3333", "d": "4444"}]
    assert config_hash(chunks) == config_hash([files])


# --- selectors ---------------------------------------------------------------------------------


def test_selector_matches_and_queries_alike() -> None:
    raw = {
        "matchLabels": {"app": "checkout"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["gold", "silver"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
            {"key": "team", "operator": "Exists"},
        ],
    }
    selector = selectors.parse(raw, "spec.fixtureSelector")
    assert selector.query() == "app=checkout,tier in (gold,silver),!legacy,env notin (prod),team"
    base = {"app": "checkout", "tier": "gold", "team": "a"}
    assert selector.matches(base)
    assert selector.matches({**base, "env": "dev"})
    assert not selector.matches({**base, "env": "prod"})
    assert not selector.matches({**base, "legacy": "yes"})
    assert not selector.matches({**base, "tier": "bronze"})
    assert not selector.matches({"app": "checkout", "tier": "gold"})
    assert selectors.parse({}, "x").matches({}) and selectors.parse({}, "x").query() == ""


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"matchLabel": {"a": "b"}}, "spec.fixtureSelector.matchLabel"),
        ({"matchExpressions": [{"key": "a", "operator": "Near"}]}, "operator"),
        ({"matchExpressions": [{"key": "a", "operator": "In"}]}, "values"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "values"),
        ({"matchLabels": {"a": 1}}, "spec.fixtureSelector.matchLabels.a"),
    ],
)
def test_bad_selector_names_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_stack(stack_body(fixtureSelector=raw))
    assert caught.value.field.endswith(field)


def test_rendered_documents_load_one_by_one() -> None:
    # Each file stands alone: a bad one would name itself in the server's reload error.
    docs = example_documents()
    for key, text in config_data(render(policies=[docs["ChaosPolicy"]])).items():
        load_text(text, key)
