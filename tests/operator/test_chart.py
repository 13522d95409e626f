"""The Helm chart, rendered offline with the real `helm` (v4) binary: `helm template`/`helm lint`.

helm comes from the control-plane cache that scripts/k8s-bin.sh fills (tests/k8s/plane.py knows
where). When it is missing the `helm` fixture runs that script, exactly as tests/k8s does; the
build is a fixture setup, outside the per-test timeout (func_only below), since a cold build
takes many minutes. tests/k8s/test_chart.py installs the same chart into a real API server.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

import aimock
from aimock_operator import webhook
from tests.k8s.plane import bin_dir, build_binaries

pytestmark = pytest.mark.timeout(120, func_only=True)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "aimock"
RELEASE, NAMESPACE = "demo", "aimock-system"
IMAGE_REPOSITORY = "ghcr.io/aimock/aimock"  # what `make image` tags
FULLNAME = "demo-aimock"
KOPF_CRDS = {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"}
AIMOCK_CRDS = {"mockstacks.aimock.dev", "fixtures.aimock.dev", "chaospolicies.aimock.dev"}

# What the operator does in a namespace it watches: (apiGroup, resource) -> verbs. Anything not
# here (other Secret verbs, Pods, Namespaces, admission configurations, wildcards) it must not get.
ALL_VERBS = ["create", "get", "list", "watch", "patch", "update", "delete"]
OPERATOR_RULES = {
    ("aimock.dev", "mockstacks"): ["get", "list", "watch", "patch", "update"],
    ("aimock.dev", "fixtures"): ["get", "list", "watch", "patch", "update"],
    ("aimock.dev", "chaospolicies"): ["get", "list", "watch", "patch", "update"],
    ("aimock.dev", "mockstacks/status"): ["get", "patch", "update"],
    ("aimock.dev", "fixtures/status"): ["get", "patch", "update"],
    ("aimock.dev", "chaospolicies/status"): ["get", "patch", "update"],
    ("", "configmaps"): ALL_VERBS,
    ("", "services"): ALL_VERBS,
    ("apps", "deployments"): ALL_VERBS,
    ("batch", "cronjobs"): ALL_VERBS,
    # the config-hash nudge after a config change; back-offs (Stalled) seen by a watch
    ("", "pods"): ["list", "watch", "patch"],
    ("", "pods/proxy"): ["get"],  # each pod's /health: which config it serves
    ("", "events"): ["create", "patch"],
    ("", "secrets"): ["create", "get"],  # each stack's generated admin token
}
CRD_SCAN = {("apiextensions.k8s.io", "customresourcedefinitions"): ["list", "watch"]}
NAMESPACE_SCAN = {("", "namespaces"): ["list", "watch"]}


# --- helm ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Helm:
    """The helm binary, with its cache, config and data directories kept out of $HOME."""

    binary: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """helm from the control-plane cache, built once by scripts/k8s-bin.sh if it is absent."""
    binary = bin_dir() / "helm"
    if not binary.is_file():
        build_binaries()
    home = tmp_path_factory.mktemp("helm-home")
    dirs = {f"HELM_{name.upper()}_HOME": str(home / name) for name in ("cache", "config", "data")}
    return Helm(binary, {**os.environ, **dirs})


def set_args(values: dict[str, str]) -> list[str]:
    """--set arguments, with the one value the chart requires (image.repository) unless given."""
    values = {"image.repository": IMAGE_REPOSITORY, **values}
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


def render(helm: Helm, **values: str) -> list[dict[str, Any]]:
    """`helm template` with --set KEY=VALUE pairs (dots in keys as `__`); the documents."""
    result = helm.run(
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        *set_args({key.replace("__", "."): value for key, value in values.items()}),
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def refused(helm: Helm, *args: str) -> str:
    """Render with raw --set arguments that must fail; returns helm's error."""
    required = ("--set", f"image.repository={IMAGE_REPOSITORY}")
    result = helm.run("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *required, *args)
    assert result.returncode != 0, f"helm template {args} was accepted"
    return result.stderr


def of_kind(docs: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: Iterable[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def container(docs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert len(pod["containers"]) == 1
    result: dict[str, Any] = pod["containers"][0]
    return result


def env_of(docs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {
        item["name"]: item.get("value", item.get("valueFrom")) for item in container(docs)["env"]
    }


def rules_table(role: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """A role's rules as (apiGroup, resource) -> verbs, refusing wildcards and duplicates."""
    table: dict[tuple[str, str], list[str]] = {}
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule, rule
        for group in rule["apiGroups"]:
            assert group != "*", rule
            for resource in rule["resources"]:
                assert (group, resource) not in table, f"{group}/{resource} granted twice"
                table[group, resource] = sorted(rule["verbs"])
    return table


def sorted_table(table: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str], list[str]]:
    return {key: sorted(verbs) for key, verbs in table.items()}


# --- lint, metadata, documentation ------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"watch.namespaces": "{team-a,team-b}", "webhook.enabled": "true"},
        {"operator.replicas": "2", "rbac.scanning": "false"},
    ],
    ids=["defaults", "namespaced-webhook", "peering"],
)
def test_helm_lint_strict_passes(helm: Helm, values: dict[str, str]) -> None:
    result = helm.run("lint", "--strict", str(CHART), *set_args(values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


def test_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == aimock.__version__
    assert chart["apiVersion"] == "v2" and chart["name"] == "aimock"


def schema_leaves(schema: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, bool]]:
    """(dotted path, is_leaf) for every property the schema names."""
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        inner = "properties" in sub
        yield path, not inner
        if inner:
            yield from schema_leaves(sub, path + ".")


def test_every_value_is_commented_and_in_the_readme() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    lines = (CHART / "values.yaml").read_text().splitlines()
    values = yaml.safe_load("\n".join(lines))
    readme = (CHART / "README.md").read_text()
    for path, is_leaf in schema_leaves(schema):
        if path == "global":  # Helm's reserved key for parent charts, not a value of ours
            continue
        node: Any = values
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        assert node is not None, f"{path} is in the schema but has no default in values.yaml"
        assert _commented(lines, path), f"values.yaml: {path} has no comment above it"
        if is_leaf:
            assert f"`{path}`" in readme, f"README.md: the values table lacks {path}"


def _commented(lines: list[str], path: str) -> bool:
    """True when the line holding PATH's key (found by walking indentation) follows a comment."""
    start, indent = 0, 0
    for part in path.split("."):
        pattern = re.compile(rf"^{' ' * indent}{re.escape(part)}:")
        for index in range(start, len(lines)):
            if pattern.match(lines[index]):
                start, indent = index + 1, indent + 2
                break
        else:
            return False
    previous = lines[start - 2].strip() if start >= 2 else ""
    return previous.startswith("#")


# --- RBAC -------------------------------------------------------------------------------------


def test_cluster_wide_rbac_is_one_cluster_role(helm: Helm) -> None:
    docs = render(helm)
    assert of_kind(docs, "Role") == [] and of_kind(docs, "RoleBinding") == []
    role = one(docs, "ClusterRole")
    assert rules_table(role) == sorted_table({**OPERATOR_RULES, **CRD_SCAN})
    binding = one(docs, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    account = one(docs, "ServiceAccount")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": NAMESPACE}
    ]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]


def test_cluster_wide_without_scanning_has_only_the_operator_rules(helm: Helm) -> None:
    role = one(render(helm, rbac__scanning="false"), "ClusterRole")
    assert rules_table(role) == sorted_table(OPERATOR_RULES)


def test_secrets_can_be_left_out_when_every_stack_names_its_own_token(helm: Helm) -> None:
    without = {key: verbs for key, verbs in OPERATOR_RULES.items() if key != ("", "secrets")}
    for scope in ({}, {"watch__namespaces": "{team-a}"}):
        docs = render(helm, rbac__adminTokenSecrets="false", rbac__scanning="false", **scope)
        (role,) = of_kind(docs, "Role") or of_kind(docs, "ClusterRole")
        assert rules_table(role) == sorted_table(without)


def test_namespaced_rbac_is_a_role_per_namespace(helm: Helm) -> None:
    docs = render(helm, watch__namespaces="{team-a,team-b}")
    roles = of_kind(docs, "Role")
    bindings = of_kind(docs, "RoleBinding")
    assert sorted(role["metadata"]["namespace"] for role in roles) == ["team-a", "team-b"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    for role in roles:
        assert rules_table(role) == sorted_table(OPERATOR_RULES)
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}
        ]
    # Cluster-wide: only kopf's read-only scanning of CRDs and namespace names.
    scanning = one(docs, "ClusterRole")
    assert rules_table(scanning) == sorted_table({**CRD_SCAN, **NAMESPACE_SCAN})
    assert one(docs, "ClusterRoleBinding")["roleRef"]["name"] == scanning["metadata"]["name"]


def test_namespaced_without_scanning_grants_nothing_cluster_wide(helm: Helm) -> None:
    docs = render(helm, watch__namespaces="{team-a}", rbac__scanning="false")
    assert of_kind(docs, "ClusterRole") == [] and of_kind(docs, "ClusterRoleBinding") == []
    assert len(of_kind(docs, "Role")) == 1


def test_rbac_and_service_account_can_be_left_to_the_user(helm: Helm) -> None:
    docs = render(
        helm, rbac__create="false", serviceAccount__create="false", serviceAccount__name="mine"
    )
    kinds = {doc["kind"] for doc in docs}
    assert not kinds & {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role"}
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "mine"
    error = refused(helm, "--set", "serviceAccount.create=false")
    assert "serviceAccount.name is required" in error


# --- the operator Deployment ------------------------------------------------------------------


def test_operator_runs_cluster_wide_by_default(helm: Helm) -> None:
    docs = render(helm)
    operator = container(docs)
    assert operator["command"] == ["aimock-operator"]
    args = operator["args"]
    assert "--all-namespaces" in args
    assert not any(arg.startswith(("--namespace", "-n")) for arg in args)
    assert not any(arg.startswith("--peering") for arg in args)
    assert "--liveness=http://0.0.0.0:8080/healthz" in args


def test_operator_watches_the_listed_namespaces(helm: Helm) -> None:
    args = container(render(helm, watch__namespaces="{team-a,team-b}"))["args"]
    assert [arg for arg in args if arg.startswith("--namespace")] == [
        "--namespace=team-a",
        "--namespace=team-b",
    ]
    assert "--all-namespaces" not in args


def test_liveness_probe_targets_kopfs_endpoint(helm: Helm) -> None:
    operator = container(render(helm, operator__livenessPort="9000"))
    assert "--liveness=http://0.0.0.0:9000/healthz" in operator["args"]
    ports = {port["name"]: port["containerPort"] for port in operator["ports"]}
    probe = operator["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz" and ports[probe["port"]] == 9000


def test_log_options_and_extra_args(helm: Helm) -> None:
    args = container(
        render(
            helm,
            operator__logFormat="json",
            operator__logLevel="debug",
            **{"operator.extraArgs[0]": "--log-refkey=ref"},
        )
    )["args"]
    assert args[-3:] == ["--log-format=json", "--debug", "--log-refkey=ref"]
    assert not any(arg in ("--verbose", "--quiet", "--info") for arg in args)


def test_the_defaults_refuse_to_install_an_image_nobody_published(helm: Helm) -> None:
    """No default repository: the image is not published, so the defaults stop `helm template`
    and `helm install` with what to do, instead of an operator pod left in ImagePullBackOff
    (tests/k8s/test_chart.py runs the install)."""
    result = helm.run("template", RELEASE, str(CHART), "--namespace", NAMESPACE)
    assert result.returncode != 0
    error = " ".join(result.stderr.split())
    for words in (
        "image.repository is not set",
        "The aimock image is not published to any registry",
        f"`make image` (it tags ghcr.io/aimock/aimock:{aimock.__version__})",
        "kind load docker-image, k3d image import, minikube image load",
        "--set image.repository=ghcr.io/aimock/aimock",
        "docs/operator.md#the-image",
    ):
        assert words in error, error
    # helm lint renders with required values relaxed, and warns with the same words.
    lint = helm.run("lint", str(CHART))
    assert "missing required values" in lint.stderr
    assert "image.repository is not set" in lint.stderr


def test_image_defaults_to_the_app_version_for_both_commands(helm: Helm) -> None:
    docs = render(helm)
    image = f"ghcr.io/aimock/aimock:{aimock.__version__}"
    assert container(docs)["image"] == image
    env = env_of(docs)
    assert env["AIMOCK_IMAGE"] == image
    assert env["POD_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_image_tag_digest_and_server_image(helm: Helm) -> None:
    digest = "sha256:" + "ab" * 32
    docs = render(helm, image__repository="registry.example/ai/aimock", image__tag="1.2.3")
    assert container(docs)["image"] == "registry.example/ai/aimock:1.2.3"
    assert env_of(docs)["AIMOCK_IMAGE"] == "registry.example/ai/aimock:1.2.3"
    docs = render(helm, image__digest=digest, serverImage="registry.example/server:9")
    assert container(docs)["image"] == f"ghcr.io/aimock/aimock:{aimock.__version__}@{digest}"
    assert env_of(docs)["AIMOCK_IMAGE"] == "registry.example/server:9"


def test_pod_security_is_restricted(helm: Helm) -> None:
    docs = render(helm)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container(docs)["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container(docs)["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "a writable /tmp on a read-only root"


def test_resources_and_scheduling_come_from_values(helm: Helm) -> None:
    docs = render(
        helm,
        operator__resources__limits__cpu="1",
        operator__nodeSelector__pool="ops",
        **{
            "operator.tolerations[0].key": "dedicated",
            "operator.tolerations[0].operator": "Exists",
            "operator.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
            ".nodeSelectorTerms[0].matchExpressions[0].key": "zone",
            "operator.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
            ".nodeSelectorTerms[0].matchExpressions[0].operator": "Exists",
        },
    )
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert container(docs)["resources"]["limits"] == {"cpu": 1, "memory": "256Mi"}
    assert pod["nodeSelector"] == {"pool": "ops"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert "nodeAffinity" in pod["affinity"]


def test_operator_pod_is_not_selected_by_a_mockstack_named_like_the_release(helm: Helm) -> None:
    # A MockStack's Service selects app.kubernetes.io/name=aimock + instance=<stack>.
    labels = one(render(helm), "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] != "aimock"


# --- peering ----------------------------------------------------------------------------------


def test_one_replica_is_standalone_with_recreate(helm: Helm) -> None:
    docs = render(helm)
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    crds = {doc["metadata"]["name"] for doc in of_kind(docs, "CustomResourceDefinition")}
    assert not crds & KOPF_CRDS
    assert not [doc for doc in docs if doc["apiVersion"].startswith("kopf.dev/")]


def test_replicas_turn_on_cluster_peering(helm: Helm) -> None:
    docs = render(helm, operator__replicas="3")
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert "--peering=aimock" in container(docs)["args"]
    crds = {doc["metadata"]["name"] for doc in of_kind(docs, "CustomResourceDefinition")}
    assert crds >= KOPF_CRDS
    peering = one(docs, "ClusterKopfPeering")
    assert peering["metadata"]["name"] == "aimock"
    # A hook: created after the CRDs exist (a CR cannot share a manifest with its CRD).
    assert "post-install" in peering["metadata"]["annotations"]["helm.sh/hook"]
    table = rules_table(one(docs, "ClusterRole"))
    assert table[("kopf.dev", "clusterkopfpeerings")] == ["get", "list", "patch", "watch"]


def test_namespaced_peering_uses_a_peering_object_per_namespace(helm: Helm) -> None:
    docs = render(helm, operator__replicas="2", watch__namespaces="{team-a,team-b}")
    peerings = of_kind(docs, "KopfPeering")
    assert sorted(p["metadata"]["namespace"] for p in peerings) == ["team-a", "team-b"]
    assert of_kind(docs, "ClusterKopfPeering") == []
    for role in of_kind(docs, "Role"):
        assert rules_table(role)[("kopf.dev", "kopfpeerings")] == ["get", "list", "patch", "watch"]
    docs = render(helm, operator__replicas="2", peering__installCRDs="false")
    crds = {doc["metadata"]["name"] for doc in of_kind(docs, "CustomResourceDefinition")}
    assert not crds & KOPF_CRDS and crds >= AIMOCK_CRDS


# --- webhook ----------------------------------------------------------------------------------


def test_webhook_is_off_by_default(helm: Helm) -> None:
    docs = render(helm)
    assert of_kind(docs, "ValidatingWebhookConfiguration") == []
    assert of_kind(docs, "Service") == [] and of_kind(docs, "Secret") == []
    assert not [name for name in env_of(docs) if name.startswith("AIMOCK_WEBHOOK")]
    groups = {group for group, _ in rules_table(one(docs, "ClusterRole"))}
    assert "admissionregistration.k8s.io" not in groups


def test_webhook_on_serves_each_kind_at_the_operators_path(helm: Helm) -> None:
    docs = render(helm, webhook__enabled="true")
    configuration = one(docs, "ValidatingWebhookConfiguration")
    service = one(docs, "Service")
    paths = {}
    for hook in configuration["webhooks"]:
        (rule,) = hook["rules"]
        assert rule["apiGroups"] == ["aimock.dev"] and rule["apiVersions"] == ["v1alpha1"]
        assert rule["operations"] == ["CREATE", "UPDATE"]
        assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
        assert "namespaceSelector" not in hook  # cluster-wide
        client = hook["clientConfig"]["service"]
        assert client["name"] == service["metadata"]["name"] and client["namespace"] == NAMESPACE
        assert client["port"] == service["spec"]["ports"][0]["port"]
        (plural,) = rule["resources"]
        paths[plural] = client["path"]
    # The paths the operator's kopf handlers are served at (their ids).
    assert paths == webhook.WEBHOOK_PATHS
    operator = container(docs)
    ports = {port["name"]: port["containerPort"] for port in operator["ports"]}
    assert ports[service["spec"]["ports"][0]["targetPort"]] == 9443
    env = env_of(docs)
    assert env["AIMOCK_WEBHOOK_PORT"] == "9443"
    mounts = {mount["name"]: mount["mountPath"] for mount in operator["volumeMounts"]}
    cert_dir = Path(env["AIMOCK_WEBHOOK_CERT"]).parent
    assert mounts["webhook-tls"] == str(cert_dir)
    # No admissionregistration RBAC: the chart, not the operator, owns the configuration.
    groups = {group for group, _ in rules_table(one(docs, "ClusterRole"))}
    assert "admissionregistration.k8s.io" not in groups


def test_generated_certificate_is_signed_by_the_ca_bundle(helm: Helm) -> None:
    docs = render(helm, webhook__enabled="true")
    secret = one(docs, "Secret")
    assert secret["type"] == "kubernetes.io/tls"
    data = {key: base64.b64decode(value) for key, value in secret["data"].items()}
    assert set(data) == {"tls.crt", "tls.key", "ca.crt"}  # what the operator reads
    ca = x509.load_pem_x509_certificate(data["ca.crt"])
    cert = x509.load_pem_x509_certificate(data["tls.crt"])
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    service = one(docs, "Service")["metadata"]["name"]
    assert f"{service}.{NAMESPACE}.svc" in names.get_values_for_type(x509.DNSName)
    for hook in one(docs, "ValidatingWebhookConfiguration")["webhooks"]:
        assert base64.b64decode(hook["clientConfig"]["caBundle"]) == data["ca.crt"]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["webhook-tls"]["secret"]["secretName"] == secret["metadata"]["name"]


def test_webhook_with_an_existing_secret(helm: Helm) -> None:
    bundle = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    docs = render(
        helm,
        webhook__enabled="true",
        webhook__certificate__secretName="issued-by-cert-manager",
        webhook__certificate__caBundle=bundle,
        webhook__failurePolicy="Ignore",
        watch__namespaces="{team-a}",
    )
    assert of_kind(docs, "Secret") == []
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["webhook-tls"]["secret"]["secretName"] == "issued-by-cert-manager"
    for hook in one(docs, "ValidatingWebhookConfiguration")["webhooks"]:
        assert hook["clientConfig"]["caBundle"] == bundle
        assert hook["failurePolicy"] == "Ignore"
        # Only the watched namespaces are sent to the webhook.
        expression = hook["namespaceSelector"]["matchExpressions"][0]
        assert expression["key"] == "kubernetes.io/metadata.name"
        assert expression["operator"] == "In" and expression["values"] == ["team-a"]
    error = refused(
        helm,
        "--set",
        "webhook.enabled=true",
        "--set",
        "webhook.certificate.secretName=issued-by-cert-manager",
    )
    assert "needs webhook.certificate.caBundle" in error


def test_webhook_ca_injection_by_cert_manager(helm: Helm) -> None:
    docs = render(
        helm,
        webhook__enabled="true",
        webhook__certificate__secretName="tls",
        webhook__certificate__caInjectFrom="aimock-system/aimock-webhook",
    )
    configuration = one(docs, "ValidatingWebhookConfiguration")
    annotations = configuration["metadata"]["annotations"]
    assert annotations["cert-manager.io/inject-ca-from"] == "aimock-system/aimock-webhook"
    assert all("caBundle" not in hook["clientConfig"] for hook in configuration["webhooks"])


# --- values.schema.json -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "path"),
    [
        ("operator.replicas=-1", "/operator/replicas"),
        ("operator.replicas=0", "/operator/replicas"),
        ("operator.replicas=two", "/operator/replicas"),
        ("replicas=2", "replicas"),
        ("watch.namespaces={Team_A}", "/watch/namespaces/0"),
        ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
        ("webhook.failurePolicy=Maybe", "/webhook/failurePolicy"),
        ("webhook.timeoutSeconds=31", "/webhook/timeoutSeconds"),
        ("operator.logFormat=xml", "/operator/logFormat"),
        ("operator.livenessPort=70000", "/operator/livenessPort"),
        ("image.digest=latest", "/image/digest"),
    ],
)
def test_schema_refuses_bad_values(helm: Helm, setting: str, path: str) -> None:
    error = refused(helm, "--set", setting)
    assert "values don't meet the specifications of the schema" in error, error
    assert path in error, error
