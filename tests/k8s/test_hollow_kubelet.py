"""The kubelet's own code brings a Fixture edit into a running pod when the operator nudges it.

The hollow kubelet (tests/k8s/hollow_kubelet, kubemark's: the real kubelet with a fake
container runtime) runs the stack's pod on a node of its own. Its container is fake, but its
ConfigMap volume is real: the kubelet's projected-volume plugin writes it under the kubelet's
root directory, as on any node. A real `aimock serve --watch` serves that folder, reached
through the plane's pod network, so the operator asks it which config it serves as in a
cluster. The kubelet runs with its default one-minute periodic pod sync, so an edit that is
served within seconds was brought by the operator's nudge (a pod update makes the kubelet sync
the pod and re-project its volume). Timings are printed, never asserted.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import serving
from tests.k8s.operator_run import Operator
from tests.k8s.plane import ControlPlane, wait_until
from tests.k8s.test_operator import (
    EXAMPLE,
    WAIT,
    apply,
    condition,
    config_files,
    example,
    items,
    report,
    wait_for,
)
from tests.k8s.test_serving import AFTER, BEFORE, answer

NODE = "hollow-0"
NODE_LABEL = "aimock.dev/test-kubelet"


@pytest.fixture(scope="module")
def hollow_root(plane: ControlPlane) -> Path:
    """The hollow node, started once for this file; its pods' volumes are below this root."""
    return plane.start_hollow_node(NODE, (NODE_LABEL, "hollow"))


def running_pod(plane: ControlPlane, namespace: str) -> dict[str, Any] | None:
    for pod in items(plane, namespace, "pods"):
        status = pod.get("status") or {}
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
        )
        if pod["spec"].get("nodeName") == NODE and ready and status.get("podIP"):
            return pod
    return None


def served_by_one(body: dict[str, Any]) -> bool:
    served = condition(body, "ConfigServed")
    return (body.get("status") or {}).get("servedReplicas") == 1 and served.get("status") == "True"


def test_an_edit_reaches_the_pod_through_the_kubelet_when_nudged(
    plane: ControlPlane,
    namespace: str,
    operator: Operator,
    hollow_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    for document in documents:
        if document["kind"] == "MockStack":
            document["spec"]["scheduling"] = {
                "nodeSelector": {NODE_LABEL: "hollow"},
                "tolerations": [{"key": NODE_LABEL, "value": "hollow", "effect": "NoSchedule"}],
            }
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(documents))
    pod = wait_until(
        lambda: running_pod(plane, namespace), timeout=WAIT, what=f"the stack's pod on {NODE}"
    )
    volume = hollow_root / "pods" / pod["metadata"]["uid"] / "volumes"
    volume = volume / "kubernetes.io~projected" / "config"
    # The kubelet wrote the stack's ConfigMaps into the pod's volume, file for file.
    wait_until(
        lambda: volume.is_dir() and {p.name for p in volume.iterdir()} >= {"..data"},
        timeout=WAIT,
        what="the kubelet's projection of the config volume",
    )
    files = config_files(plane, namespace)
    assert {key: (volume / key).read_text() for key in files} == files
    first_projection = (volume / "..data").readlink()

    secret = plane.request("GET", f"/api/v1/namespaces/{namespace}/secrets/preview-admin-token")[1]
    token = base64.b64decode(secret["data"]["token"]).decode()
    with serving("-f", str(volume), "--watch", env={"AIMOCK_ADMIN_TOKEN": token}) as server:
        ip = pod["status"]["podIP"]
        plane.pod_network.expose(ip, 4010, int(server.url.rsplit(":", 1)[1]))
        try:
            wait_for(plane, namespace, "mockstack/preview", served_by_one, "the pod serves")
            assert answer(server.base_url) == BEFORE

            fixture = example("Fixture")
            fixture["spec"]["fixtures"][0]["response"]["content"] = AFTER
            started = time.monotonic()
            apply(plane, namespace, fixture)
            wait_until(
                lambda: answer(server.base_url) == AFTER,
                timeout=WAIT,
                interval=0.05,
                what="the edit served from the kubelet's volume",
            )
            report(capsys, "Fixture edit -> served (real kubelet code)", time.monotonic() - started)
            edited = config_files(plane, namespace)
            wait_for(
                plane,
                namespace,
                "mockstack/preview",
                lambda body: (
                    served_by_one(body)
                    and body["status"]["configHash"] in condition(body, "ConfigServed")["message"]
                    and edited == config_files(plane, namespace)
                ),
                "status: the pod serves the edit",
            )
            report(capsys, "Fixture edit -> servedReplicas 1 again", time.monotonic() - started)
        finally:
            plane.pod_network.withdraw(ip, 4010)

    # The kubelet re-projected the volume (a new ..data), and nothing restarted the pod.
    assert (volume / "..data").readlink() != first_projection
    assert {key: (volume / key).read_text() for key in edited} == edited
    after = running_pod(plane, namespace)
    assert after is not None and after["metadata"]["uid"] == pod["metadata"]["uid"]
    assert all(s.get("restartCount", 0) == 0 for s in after["status"]["containerStatuses"])
