"""The Helm chart in a real cluster: `helm install`, RBAC proven by impersonation, and the real
`aimock-operator` reconciling an example under the chart's ServiceAccount token.

Kubelets are kwok fakes, so the operator pod the chart deploys never runs code; the operator is
run on this host instead, with the chart's own arguments and a kubeconfig holding nothing but the
ServiceAccount's token. What it can do there is exactly what the chart granted it.

The aimock CRDs belong to one Helm release at a time (they are templates). Other tests may have
applied them without Helm, so each install first hands them to its release the way the chart's
README tells users to (Helm's ownership annotations), and uninstalls afterwards (the CRDs stay:
helm.sh/resource-policy keep).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.plane import ControlPlane, ToolError, wait_until

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "aimock"
EXAMPLE = ROOT / "examples" / "mockstack.yaml"
OPERATOR = Path(sys.executable).parent / "aimock-operator"
AIMOCK_CRDS = ("mockstacks.aimock.dev", "fixtures.aimock.dev", "chaospolicies.aimock.dev")
KOPF_CRDS = ("clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev")
# The chart requires image.repository (the image is not published): what `make image` tags.
IMAGE = "image.repository=ghcr.io/aimock/aimock"

# Everything the operator does in a namespace it watches (kubectl auth can-i VERB RESOURCE).
NEEDED: list[tuple[str, ...]] = [
    *[
        (verb, f"{plural}.aimock.dev")
        for plural in ("mockstacks", "fixtures", "chaospolicies")
        for verb in ("get", "list", "watch", "patch", "update")
    ],
    *[
        (verb, f"{plural}.aimock.dev/status")
        for plural in ("mockstacks", "fixtures", "chaospolicies")
        for verb in ("patch", "update")
    ],
    *[
        (verb, resource)
        for resource in ("configmaps", "services", "deployments.apps", "cronjobs.batch")
        for verb in ("create", "get", "list", "watch", "patch", "update", "delete")
    ],
    ("create", "events"),
    ("patch", "events"),
    # A stack's pods: annotated after a config change; watched for back-offs (Stalled).
    ("list", "pods"),
    ("watch", "pods"),
    ("patch", "pods"),
    # A stack's generated admin-token Secret: created once, then looked up by name.
    ("create", "secrets"),
    ("get", "secrets"),
]
# What it must not do in such a namespace.
REFUSED_IN_NAMESPACE: list[tuple[str, ...]] = [
    ("list", "secrets"),
    ("watch", "secrets"),
    ("update", "secrets"),
    ("patch", "secrets"),
    ("delete", "secrets"),
    ("create", "pods"),
    ("delete", "pods"),
    ("create", "mockstacks.aimock.dev"),
    ("delete", "fixtures.aimock.dev"),
    ("create", "roles.rbac.authorization.k8s.io"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
    ("create", "serviceaccounts/token"),
    ("patch", "statefulsets.apps"),
    ("impersonate", "serviceaccounts"),
]
# And never anywhere.
REFUSED_CLUSTER_WIDE: list[tuple[str, ...]] = [
    ("list", "secrets", "--all-namespaces"),
    ("create", "namespaces"),
    ("delete", "namespaces"),
    ("create", "clusterroles.rbac.authorization.k8s.io"),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ("create", "validatingwebhookconfigurations.admissionregistration.k8s.io"),
    ("patch", "customresourcedefinitions.apiextensions.k8s.io"),
    ("list", "nodes"),
    ("*", "*", "--all-namespaces"),
]


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    service_account: str

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    @property
    def deployment(self) -> str:
        return f"{self.name}-aimock"


Install = Callable[..., Release]


def can_i(
    cluster: ControlPlane, release: Release, *check: str, namespace: str | None = None
) -> bool:
    """`kubectl auth can-i` as the release's ServiceAccount (the admin impersonates it)."""
    scope = ["--namespace", namespace] if namespace else []
    answer = cluster.kubectl("auth", "can-i", *check, *scope, "--as", release.user, check=False)
    return answer.strip() == "yes"


def allowed_but_refused(
    cluster: ControlPlane, release: Release, namespace: str, *cluster_wide: tuple[str, ...]
) -> list[tuple[str, ...]]:
    """The REFUSED_* checks (plus CLUSTER_WIDE extras) the ServiceAccount passes: none, ideally."""
    extra = [
        check
        for check in REFUSED_IN_NAMESPACE
        if can_i(cluster, release, *check, namespace=namespace)
    ]
    extra += [
        check for check in (*REFUSED_CLUSTER_WIDE, *cluster_wide) if can_i(cluster, release, *check)
    ]
    return extra


def adopt_crds(cluster: ControlPlane, release: str, namespace: str) -> None:
    """Hand existing aimock (and kopf) CRDs to RELEASE so Helm can upgrade them.

    A CRD an earlier release's uninstall is still deleting is waited out first: annotating it
    races its removal, and Helm cannot create one that is being deleted."""
    listed = json.loads(cluster.kubectl("get", "crd", "-o", "json"))["items"]
    ours = set(AIMOCK_CRDS) | set(KOPF_CRDS)
    existing = set()
    for item in listed:
        crd = item["metadata"]["name"]
        if crd not in ours:
            continue
        if item["metadata"].get("deletionTimestamp"):
            cluster.kubectl("wait", "--for=delete", f"crd/{crd}", "--timeout=120s", check=False)
        else:
            existing.add(crd)
    for crd in (*AIMOCK_CRDS, *KOPF_CRDS):
        if crd not in existing:
            continue
        cluster.kubectl(
            "annotate",
            "--overwrite",
            "crd",
            crd,
            f"meta.helm.sh/release-name={release}",
            f"meta.helm.sh/release-namespace={namespace}",
        )
        cluster.kubectl("label", "--overwrite", "crd", crd, "app.kubernetes.io/managed-by=Helm")


@pytest.fixture
def install(cluster: ControlPlane) -> Iterator[Install]:
    """Install the chart (into a fresh namespace enforcing the restricted Pod Security level)."""
    installed: list[Release] = []

    def factory(*settings: str) -> Release:
        name = f"rel{uuid.uuid4().hex[:6]}"
        namespace = cluster.new_namespace("aimock-system")
        # The operator pod is admitted only if it meets the restricted Pod Security Standard.
        cluster.kubectl(
            "label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"
        )
        adopt_crds(cluster, name, namespace)
        args = [arg for setting in (IMAGE, *settings) for arg in ("--set", setting)]
        cluster.helm("install", name, str(CHART), "--namespace", namespace, *args)
        release = Release(name, namespace, f"{name}-aimock")
        installed.append(release)
        return release

    yield factory
    for release in installed:
        cluster.helm("uninstall", release.name, "--namespace", release.namespace, check=False)
        cluster.kubectl("delete", "namespace", release.namespace, "--wait=false", check=False)


def operator_container(cluster: ControlPlane, release: Release) -> dict[str, Any]:
    deployment = json.loads(
        cluster.kubectl(
            "get", "deployment", release.deployment, "-n", release.namespace, "-o", "json"
        )
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = container
    return result


# --- install ----------------------------------------------------------------------------------


def test_install_rolls_out_the_operator_and_its_crds(
    cluster: ControlPlane, install: Install
) -> None:
    release = install()
    # kwok runs the pod: the Deployment (restricted pod security, enforced) becomes available.
    cluster.kubectl(
        "rollout",
        "status",
        f"deployment/{release.deployment}",
        "-n",
        release.namespace,
        "--timeout=60s",
    )
    container = operator_container(cluster, release)
    assert container["command"] == ["aimock-operator"]
    assert "--all-namespaces" in container["args"]
    for crd in AIMOCK_CRDS:
        cluster.wait_established(crd, timeout=30)
        meta = json.loads(cluster.kubectl("get", "crd", crd, "-o", "json"))["metadata"]
        assert meta["annotations"]["helm.sh/resource-policy"] == "keep"
        assert meta["annotations"]["meta.helm.sh/release-name"] == release.name
    # The example applies against the installed CRDs (server-side validation, nothing stored).
    cluster.kubectl("apply", "--dry-run=server", "-n", release.namespace, "-f", str(EXAMPLE))


def test_install_with_the_defaults_says_how_to_get_the_image(cluster: ControlPlane) -> None:
    """The image is not published: the defaults stop `helm install` with what to do, and
    nothing is installed (no operator pod left in ImagePullBackOff)."""
    name, namespace = f"rel{uuid.uuid4().hex[:6]}", cluster.new_namespace("aimock-system")
    with pytest.raises(ToolError) as refused:
        cluster.helm("install", name, str(CHART), "--namespace", namespace)
    error = " ".join(refused.value.stderr.split())
    assert "image.repository is not set" in error
    assert "build it from the aimock checkout with `make image`" in error
    assert "--set image.repository=ghcr.io/aimock/aimock" in error
    assert "docs/operator.md#the-image" in error
    with pytest.raises(ToolError) as missing:
        cluster.helm("status", name, "--namespace", namespace)
    assert "not found" in missing.value.stderr
    deployments = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json"))
    assert deployments["items"] == []
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_uninstall_keeps_the_crds(cluster: ControlPlane, install: Install) -> None:
    release = install()
    cluster.helm("uninstall", release.name, "--namespace", release.namespace)
    names = cluster.kubectl("get", "crd", "-o", "name")
    for crd in AIMOCK_CRDS:
        assert crd in names
    with pytest.raises(ToolError):
        cluster.kubectl("get", "deployment", release.deployment, "-n", release.namespace)


# --- RBAC, proven by impersonation ------------------------------------------------------------


def test_cluster_wide_rbac_is_enough_and_no_more(
    cluster: ControlPlane, install: Install, namespace: str
) -> None:
    release = install()
    missing = [
        check for check in NEEDED if not can_i(cluster, release, *check, namespace=namespace)
    ]
    assert missing == [], f"the operator cannot: {missing}"
    extra = allowed_but_refused(cluster, release, namespace)
    assert extra == [], f"the operator may, but must not: {extra}"
    # Cluster-wide it reads CRDs (kopf's scanning) but needs no namespaces at all.
    assert can_i(cluster, release, "watch", "customresourcedefinitions.apiextensions.k8s.io")
    assert not can_i(cluster, release, "list", "namespaces")


def test_namespaced_rbac_stays_in_the_watched_namespaces(
    cluster: ControlPlane, install: Install
) -> None:
    watched, other = cluster.new_namespace("watched"), cluster.new_namespace("other")
    release = install(f"watch.namespaces={{{watched}}}")
    missing = [check for check in NEEDED if not can_i(cluster, release, *check, namespace=watched)]
    assert missing == [], f"the operator cannot: {missing}"
    elsewhere = [check for check in NEEDED if can_i(cluster, release, *check, namespace=other)]
    assert elsewhere == [], f"the operator may act outside its namespaces: {elsewhere}"
    extra = allowed_but_refused(
        cluster,
        release,
        watched,
        ("list", "configmaps", "--all-namespaces"),
        ("watch", "mockstacks.aimock.dev", "--all-namespaces"),
    )
    assert extra == [], f"the operator may, but must not: {extra}"


# --- the real operator under the ServiceAccount's token ---------------------------------------


def token_kubeconfig(cluster: ControlPlane, release: Release, path: Path) -> Path:
    """A kubeconfig for the API server whose only credential is the ServiceAccount's token."""
    token = cluster.kubectl(
        "create", "token", release.service_account, "-n", release.namespace, "--duration=1h"
    ).strip()
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["users"] = [{"name": "operator", "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = "operator"
    path.write_text(yaml.safe_dump(config))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningOperator:
    process: subprocess.Popen[bytes]
    log: Path
    liveness: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def run_operator(cluster: ControlPlane, tmp_path: Path) -> Iterator[Callable[..., RunningOperator]]:
    """Start `aimock-operator` as the chart's Deployment would, but on this host."""
    started: list[RunningOperator] = []

    def start(release: Release, pod: str = "operator-0") -> RunningOperator:
        container = operator_container(cluster, release)
        port = free_port()
        # Only the liveness address changes: loopback and a free port instead of the pod's.
        args = [
            f"--liveness=http://127.0.0.1:{port}/healthz" if arg.startswith("--liveness=") else arg
            for arg in container["args"]
        ]
        env = {item["name"]: item["value"] for item in container["env"] if "value" in item}
        kubeconfig = token_kubeconfig(cluster, release, tmp_path / f"{pod}.kubeconfig")
        log = tmp_path / f"{pod}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(OPERATOR), *args],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    **env,
                    "KUBECONFIG": str(kubeconfig),
                    "POD_ID": pod,
                    "AIMOCK_OPERATOR_BACKOFF": "1",
                },
            )
        running = RunningOperator(process, log, f"http://127.0.0.1:{port}/healthz")
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def condition(cluster: ControlPlane, namespace: str, name: str, kind: str = "Ready") -> str | None:
    stack = json.loads(cluster.kubectl("get", "mockstack", name, "-n", namespace, "-o", "json"))
    for item in stack.get("status", {}).get("conditions", []):
        if item["type"] == kind:
            status: str = item["status"]
            return status
    return None


def permission_problems(log: str) -> list[str]:
    markers = ("Forbidden", "forbidden", "Not enough permissions", " 403")
    return [line for line in log.splitlines() if any(marker in line for marker in markers)]


def test_operator_reconciles_the_example_under_its_service_account(
    cluster: ControlPlane, install: Install, run_operator: Callable[..., RunningOperator]
) -> None:
    watched = cluster.new_namespace("watched")
    release = install(f"watch.namespaces={{{watched}}}", "operator.logLevel=verbose")
    operator = run_operator(release)
    cluster.kubectl("apply", "-n", watched, "-f", str(EXAMPLE))
    wait_until(
        lambda: condition(cluster, watched, "preview") == "True",
        timeout=60,
        what="MockStack preview Ready under the chart's ServiceAccount",
        on_timeout=operator.output,
    )
    # Everything a MockStack is reconciled into, made by the operator with its own token.
    for kind, name in [
        ("deployment", "preview"),
        ("service", "preview"),
        ("configmap", "preview-config-0"),
        ("configmap", "preview-endpoints"),
        ("secret", "preview-admin-token"),
    ]:
        managers = json.loads(
            cluster.kubectl("get", kind, name, "-n", watched, "-o", "json", "--show-managed-fields")
        )["metadata"]["managedFields"]
        assert "aimock-operator" in {entry["manager"] for entry in managers}, (kind, name)
    # The image it deploys comes from the chart's AIMOCK_IMAGE.
    image = json.loads(
        cluster.kubectl("get", "deployment", "preview", "-n", watched, "-o", "json")
    )["spec"]["template"]["spec"]["containers"][0]["image"]
    chart_env = {
        item["name"]: item.get("value") for item in operator_container(cluster, release)["env"]
    }
    assert image == chart_env["AIMOCK_IMAGE"]
    # kopf's liveness endpoint (the chart's probe) answers.
    with urllib.request.urlopen(operator.liveness, timeout=10) as reply:
        assert reply.status == 200
    assert permission_problems(operator.output()) == []


def test_two_peered_replicas_reconcile(
    cluster: ControlPlane, install: Install, run_operator: Callable[..., RunningOperator]
) -> None:
    watched = cluster.new_namespace("watched")
    release = install(f"watch.namespaces={{{watched}}}", "operator.replicas=2")
    # The post-install hook created the peering object the replicas coordinate through.
    cluster.kubectl("get", "kopfpeering", "aimock", "-n", watched)
    replicas = [run_operator(release, pod=f"operator-{index}") for index in range(2)]

    def peers() -> int:
        peering = json.loads(
            cluster.kubectl("get", "kopfpeering", "aimock", "-n", watched, "-o", "json")
        )
        return len(peering.get("status") or {})

    wait_until(lambda: peers() == 2, timeout=30, what="both replicas in the peering object")
    cluster.kubectl("apply", "-n", watched, "-f", str(EXAMPLE))
    # kopf pauses every peer that sees another with the same priority: one must still work.
    wait_until(
        lambda: condition(cluster, watched, "preview") == "True",
        timeout=60,
        what="MockStack preview Ready with two peered replicas",
        on_timeout=lambda: "\n\n".join(replica.output()[-3000:] for replica in replicas),
    )
    for replica in replicas:
        assert permission_problems(replica.output()) == []


# --- the webhook configuration ----------------------------------------------------------------


def test_webhook_configuration_covers_only_the_watched_namespaces(
    cluster: ControlPlane, install: Install
) -> None:
    watched, other = cluster.new_namespace("watched"), cluster.new_namespace("other")
    release = install(f"watch.namespaces={{{watched}}}", "webhook.enabled=true")
    # Nothing serves the webhook (kwok pods run no code): with failurePolicy Fail, the API server
    # refuses MockStacks in the watched namespace because it cannot reach it...
    with pytest.raises(ToolError) as refused:
        cluster.kubectl("apply", "--dry-run=server", "-n", watched, "-f", str(EXAMPLE))
    assert "mockstacks.validate.aimock.dev" in refused.value.stderr
    # ...and never consults it for namespaces the operator does not watch.
    cluster.kubectl("apply", "--dry-run=server", "-n", other, "-f", str(EXAMPLE))

    # The generated certificate survives an upgrade (looked up, not regenerated), and the
    # caBundle keeps naming the CA in the Secret the operator serves with.
    before = webhook_tls(cluster, release)
    cluster.helm(
        "upgrade", release.name, str(CHART), "--namespace", release.namespace, "--reuse-values"
    )
    after = webhook_tls(cluster, release)
    assert after == before
    configuration = json.loads(
        cluster.kubectl("get", "validatingwebhookconfiguration", release.deployment, "-o", "json")
    )
    bundles = {hook["clientConfig"]["caBundle"] for hook in configuration["webhooks"]}
    assert bundles == {after["ca.crt"]}


def webhook_tls(cluster: ControlPlane, release: Release) -> dict[str, str]:
    secret = json.loads(
        cluster.kubectl(
            "get",
            "secret",
            f"{release.deployment}-webhook-tls",
            "-n",
            release.namespace,
            "-o",
            "json",
        )
    )
    data: dict[str, str] = secret["data"]
    return data
