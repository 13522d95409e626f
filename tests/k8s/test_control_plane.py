"""Smoke tests: the control plane of tests/k8s behaves like a real cluster where we rely on it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.k8s.plane import K8S_VERSION, ControlPlane, ToolError, wait_until


def _exists(read: Any, *args: str) -> bool:
    try:
        read(*args)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def test_apiserver_reports_the_built_version(cluster: ControlPlane) -> None:
    with cluster.api_client() as api:
        info = client.VersionApi(api).get_code()
    assert info.git_version == f"v{K8S_VERSION}"
    assert (info.major, info.minor) == ("1", K8S_VERSION.split(".")[1])


def test_configmap_round_trips(cluster: ControlPlane, namespace: str) -> None:
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="settings"), data={"model": "gpt-mock", "n": "3"}
    )
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespaced_config_map(namespace, body)
        stored = core.read_namespaced_config_map("settings", namespace)
    assert stored.data == {"model": "gpt-mock", "n": "3"}
    assert stored.metadata is not None
    assert stored.metadata.namespace == namespace
    assert stored.metadata.uid


def test_deployment_pods_become_ready_on_kwok_nodes(cluster: ControlPlane, namespace: str) -> None:
    labels = {"app": "smoke"}
    container = client.V1Container(name="main", image="example.invalid/aimock:smoke")
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="smoke"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[container]),
            ),
        ),
    )
    with cluster.api_client() as api:
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        apps.create_namespaced_deployment(namespace, deployment)

        def ready() -> bool:
            status = apps.read_namespaced_deployment_status("smoke", namespace).status
            return status is not None and status.ready_replicas == status.available_replicas == 2

        wait_until(ready, timeout=90, what="2 ready replicas", on_timeout=cluster.log_tails)
        pods = core.list_namespaced_pod(namespace, label_selector="app=smoke").items
    assert len(pods) == 2
    assert {pod.spec.node_name for pod in pods if pod.spec} <= set(cluster.nodes)
    assert [pod.status.phase for pod in pods if pod.status] == ["Running", "Running"]


def test_deleting_an_owner_garbage_collects_its_dependent(
    cluster: ControlPlane, namespace: str
) -> None:
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        owner = core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
        )
        assert owner.metadata is not None
        reference = client.V1OwnerReference(
            api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid
        )
        core.create_namespaced_config_map(
            namespace,
            client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name="dependent", owner_references=[reference])
            ),
        )
        core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="bystander"))
        )
        core.delete_namespaced_config_map("owner", namespace)
        wait_until(
            lambda: not _exists(core.read_namespaced_config_map, "dependent", namespace),
            timeout=60,
            what="the garbage collector to delete the dependent ConfigMap",
            on_timeout=cluster.log_tails,
        )
        # The collector follows owner references: an unowned neighbour survives.
        assert _exists(core.read_namespaced_config_map, "bystander", namespace)


def _apply(cluster: ControlPlane, namespace: str, manager: str, mode: str, *flags: str) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": namespace},
        "data": {"mode": mode},
    }
    cluster.kubectl(
        "apply", "--server-side", f"--field-manager={manager}", *flags, "-f", "-",
        input=json.dumps(manifest),
    )  # fmt: skip


def _applied(cluster: ControlPlane, namespace: str) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(
        cluster.kubectl(
            "get", "configmap", "applied", "-n", namespace, "-o", "json", "--show-managed-fields"
        )
    )
    return stored


def test_server_side_apply_tracks_field_owners(cluster: ControlPlane, namespace: str) -> None:
    _apply(cluster, namespace, "aimock-a", "first")
    stored = _applied(cluster, namespace)
    owners = {
        (entry["manager"], entry["operation"]) for entry in stored["metadata"]["managedFields"]
    }
    assert ("aimock-a", "Apply") in owners
    assert stored["data"] == {"mode": "first"}

    # A second manager changing a field the first one owns is a conflict unless forced.
    with pytest.raises(ToolError, match="conflict"):
        _apply(cluster, namespace, "aimock-b", "second")
    assert _applied(cluster, namespace)["data"] == {"mode": "first"}
    _apply(cluster, namespace, "aimock-b", "second", "--force-conflicts")
    assert _applied(cluster, namespace)["data"] == {"mode": "second"}


def test_deleting_a_namespace_completes(cluster: ControlPlane) -> None:
    name = cluster.new_namespace("gone")
    cluster.kubectl("create", "configmap", "inside", "-n", name)
    cluster.kubectl("delete", "namespace", name, "--wait=false")
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        wait_until(
            lambda: not _exists(core.read_namespace, name),
            timeout=90,
            what=f"namespace {name} to finish terminating (namespace controller)",
            on_timeout=cluster.log_tails,
        )


def test_helm_runs_against_the_cluster(cluster: ControlPlane, namespace: str) -> None:
    assert cluster.helm("version", "--short").startswith("v4.3.1")
    assert json.loads(cluster.helm("list", "-n", namespace, "-o", "json")) == []
