"""Several replicas on the real control plane (issue 14): which config each pod serves, edits
reaching every replica through the operator's nudge, and the journal of the whole stack.

kwok's pods run nothing, so tests/k8s/kubelet.py runs each ready pod as a real `aimock serve`
on 127.0.0.1, refreshing its ConfigMap volume only when the pod's annotations change (as the
kubelet syncs a pod on an update, leaving out its periodic resync), and the plane's pod
network leads each pod's IP there, so the API server's pod proxy reaches it as in a cluster.
The operator then asks the pods which config they serve exactly as in a cluster. Timings are
printed, never asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from tests.k8s.kubelet import KubeletStandIn
from tests.k8s.operator_run import Operator
from tests.k8s.plane import ControlPlane
from tests.k8s.test_operator import EXAMPLE, WAIT, apply, condition, example, report, wait_for

REPLICAS = 3
QUESTION = "where is my order"
BEFORE = "Your order shipped yesterday and arrives tomorrow."
AFTER = "Your order arrives on Friday."


def serves_every_replica(body: dict[str, Any], replicas: int = REPLICAS) -> bool:
    status = body.get("status") or {}
    served = condition(body, "ConfigServed")
    return status.get("servedReplicas") == replicas and served.get("status") == "True"


def answer(base_url: str, test_id: str = "t") -> str:
    with openai.OpenAI(
        base_url=base_url, api_key="k", max_retries=0, default_headers={"X-Test-Id": test_id}
    ) as client:
        reply = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    return reply.choices[0].message.content or ""


def journal(plane: ControlPlane, *args: str) -> subprocess.CompletedProcess[str]:
    """`aimock journal ARGS` as a user runs it: its own process, the cluster's kubeconfig."""
    return subprocess.run(
        [sys.executable, "-m", "aimock", "journal", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": str(plane.kubeconfig)},
        check=False,
    )


def three_replicas(plane: ControlPlane, namespace: str) -> None:
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    for document in documents:
        if document["kind"] == "MockStack":
            document["spec"]["replicas"] = REPLICAS
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(documents))


def test_every_replica_serves_an_edit_and_status_counts_them(
    plane: ControlPlane,
    namespace: str,
    operator: Operator,
    *,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    three_replicas(plane, namespace)
    with KubeletStandIn(plane, namespace, "preview", tmp_path) as kubelet:
        stack = wait_for(
            plane, namespace, "mockstack/preview", serves_every_replica, "3 replicas served"
        )
        assert kubelet.failure is None
        served = condition(stack, "ConfigServed")
        assert served["reason"] == "Current"
        assert (
            served["message"] == f"3 of 3 ready pods serve config {stack['status']['configHash']}"
        )
        row = plane.kubectl("get", "ms/preview", "-n", namespace, "--no-headers").split()
        assert row[1:4] == ["True", "3", "3"]  # Ready, Replicas, Served
        servers = kubelet.servers()
        assert len(servers) == REPLICAS
        assert {answer(server.base_url) for server in servers} == {BEFORE}

        # The edit: from kubectl apply to every replica answering with it.
        fixture = example("Fixture")
        fixture["spec"]["fixtures"][0]["response"]["content"] = AFTER
        started = time.monotonic()
        apply(plane, namespace, fixture)
        pending = list(servers)
        while pending:
            pending = [server for server in pending if answer(server.base_url) != AFTER]
            assert time.monotonic() - started < WAIT, f"{len(pending)} replicas still stale"
        report(
            capsys, f"Fixture edit -> served by all {REPLICAS} replicas", time.monotonic() - started
        )
        stack = wait_for(
            plane,
            namespace,
            "mockstack/preview",
            lambda body: (
                serves_every_replica(body)
                and condition(body, "ConfigServed")["message"].endswith(
                    body["status"]["configHash"]
                )
            ),
            "status: 3 replicas serve the edit",
        )
        report(capsys, "Fixture edit -> status.servedReplicas 3 again", time.monotonic() - started)
        # Only the operator's nudge can have refreshed them: the stand-in has no periodic sync.
        assert all(pod.syncs >= 2 for pod in kubelet.pods.values())
        assert kubelet.failure is None
        assert condition(stack, "Ready")["status"] == "True"


def test_a_replica_on_an_old_config_is_counted_out(
    plane: ControlPlane,
    namespace: str,
    operator: Operator,
    *,
    tmp_path: Path,
) -> None:
    """A pod whose volume was not refreshed (a kubelet that missed the nudge) keeps serving
    the old config: status says 2 of 3, names it Stale, and recovers once it is refreshed."""
    three_replicas(plane, namespace)
    with KubeletStandIn(plane, namespace, "preview", tmp_path) as kubelet:
        wait_for(plane, namespace, "mockstack/preview", serves_every_replica, "3 replicas served")
        lagging = sorted(kubelet.pods)[0]
        kubelet.freeze(lagging)
        fixture = example("Fixture")
        fixture["spec"]["fixtures"][0]["response"]["content"] = AFTER
        apply(plane, namespace, fixture)
        stack = wait_for(
            plane,
            namespace,
            "mockstack/preview",
            lambda body: (
                (body.get("status") or {}).get("servedReplicas") == 2
                and condition(body, "ConfigServed").get("reason") == "Stale"
            ),
            "2 of 3 replicas served, one stale",
        )
        message = condition(stack, "ConfigServed")["message"]
        assert message.startswith(f"2 of 3 ready pods serve config {stack['status']['configHash']}")
        assert "1 still serve an earlier one" in message
        assert answer(kubelet.pods[lagging].server.base_url) == BEFORE
        kubelet.thaw(lagging)  # its kubelet catches up
        wait_for(plane, namespace, "mockstack/preview", serves_every_replica, "all 3 again")
        assert answer(kubelet.pods[lagging].server.base_url) == AFTER


def test_the_journal_of_the_whole_stack(
    plane: ControlPlane,
    namespace: str,
    operator: Operator,
    *,
    tmp_path: Path,
) -> None:
    three_replicas(plane, namespace)
    with KubeletStandIn(plane, namespace, "preview", tmp_path) as kubelet:
        wait_for(plane, namespace, "mockstack/preview", serves_every_replica, "3 replicas served")
        pods = sorted(kubelet.pods)
        # One request per pod, as clients pinned to different pods would send them.
        for index, pod in enumerate(pods):
            assert answer(kubelet.pods[pod].server.base_url, test_id=f"client-{index}") == BEFORE
        read = journal(plane, "--stack", "preview", "-n", namespace, "--json")
        assert read.returncode == 0, read.stderr
        entries = json.loads(read.stdout)
        assert [(e["pod"], e["testId"]) for e in entries] == [
            (pod, f"client-{index}") for index, pod in enumerate(pods)
        ]  # oldest first: the order they were sent in
        assert all(e["response"]["status"] == 200 for e in entries)
        assert f"3 entries from 3 of 3 pods of MockStack {namespace}/preview" in read.stderr

        one = journal(plane, "--stack", "preview", "-n", namespace, "--test-id", "client-1")
        assert one.returncode == 0, one.stderr
        [line] = one.stdout.splitlines()
        tail = "200  openai.chat  gpt-4o  POST /v1/chat/completions  testId=client-1"
        assert line.endswith(f"  {pods[1]}  {tail}")

        # A pod that cannot be reached is named; the others are still read, and the exit is 1.
        kubelet.unplug(pods[2])
        partial = journal(plane, "--stack", "preview", "-n", namespace, "--json")
        assert partial.returncode == 1
        assert {e["pod"] for e in json.loads(partial.stdout)} == set(pods[:2])
        assert f"error: pod {pods[2]}: " in partial.stderr
        assert "2 entries from 2 of 3 pods" in partial.stderr
        assert "Traceback" not in partial.stderr


def test_the_journal_of_a_missing_stack_is_a_clear_error(
    plane: ControlPlane, namespace: str
) -> None:
    read = journal(plane, "--stack", "nowhere", "-n", namespace)
    assert read.returncode == 1
    assert read.stderr.startswith(f"error: MockStack {namespace}/nowhere: 404: "), read.stderr
    assert "Traceback" not in read.stderr
