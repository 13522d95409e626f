"""The scheduled drift check on the real control plane: examples/drift/ applied as a user
would, the operator's CronJob, and the check itself run here (kwok's pods run nothing) with
the CronJob's own arguments and the ServiceAccount's token as its only credential: its
verdict lands in the MockStack's status and stays there through the operator's reconciles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.k8s.plane import ControlPlane
from tests.k8s.test_operator import apply, read, running_operator, wait_for
from tests.k8s.test_recording import token_kubeconfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "drift"


def test_the_drift_check_writes_its_verdict_into_the_stack_status(
    plane: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE / "rbac.yaml"))
    with running_operator(plane, namespace, monkeypatch):
        plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE / "stack.yaml"))
        wait_for(plane, namespace, "mockstack/checked", lambda s: "status" in s, "a status")
        status, job = plane.request(
            "GET", f"/apis/batch/v1/namespaces/{namespace}/cronjobs/checked-drift"
        )
        assert status == 200, job
        [container] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        args = [*container["args"], "--surface", "openai.chat"]  # one surface: quick
        kubeconfig = token_kubeconfig(plane, namespace, "aimock-drift", tmp_path / "kubeconfig")
        # No key in the environment: compared with the shipped captures, and said so.
        environ = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        done = subprocess.run(
            [sys.executable, "-m", "aimock", *args],
            capture_output=True,
            text=True,
            env={**environ, "KUBECONFIG": str(kubeconfig)},
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "status.drift" in done.stdout
        stack = wait_for(
            plane,
            namespace,
            "mockstack/checked",
            lambda s: "drift" in (s.get("status") or {}),
            "the verdict in the status",
        )
        drift = stack["status"]["drift"]
        assert drift["verdict"] == "warning"  # no key: the captures, with a warning each
        assert drift["live"] == [] and drift["critical"] == []
        assert set(drift["cases"]) == {"openai.chat/text/plain", "openai.chat/text/stream"}
        # The operator's next reconcile leaves the verdict alone.
        stack_doc = {**stack, "spec": {**stack["spec"], "replicas": 2}}
        stack_doc["metadata"] = {"name": "checked"}
        stack_doc.pop("status")
        apply(plane, namespace, stack_doc)
        wait_for(
            plane,
            namespace,
            "deployment/checked",
            lambda d: d["spec"]["replicas"] == 2,
            "the edit applied",
        )
    after = read(plane, namespace, "mockstack", "checked")
    assert after is not None and after["status"]["drift"] == drift
    table = plane.kubectl("get", "ms", "checked", "-n", namespace, "-o", "wide")
    assert "DRIFT" in table and "warning" in table
    # The check's ServiceAccount may write statuses, nothing else.
    user = f"system:serviceaccount:{namespace}:aimock-drift"
    answer = plane.kubectl(
        "auth",
        "can-i",
        "patch",
        "mockstacks.aimock.dev",
        "-n",
        namespace,
        "--as",
        user,
        check=False,
    )
    assert answer.strip() == "no"
