"""`spec.tls` on the real control plane: the operator makes `<stack>-tls` once, publishes its CA
and https origins in the endpoints ConfigMap, asks the pods which config they serve over https
through the pod proxy, and `aimock journal` reads them the same way; an app trusting the
published CA talks to the pod with the official SDK.

As in test_serving.py, tests/k8s/kubelet.py runs each ready pod as a real `aimock serve`, here
with the certificate of the Secret the pod mounts.
"""

from __future__ import annotations

import json
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import openai
import yaml

from aimock.tls import client_context
from tests.k8s.kubelet import KubeletStandIn
from tests.k8s.operator_run import Operator
from tests.k8s.plane import ControlPlane
from tests.k8s.test_operator import EXAMPLE, read, wait_for
from tests.k8s.test_serving import BEFORE, QUESTION, journal, serves_every_replica

REPLICAS = 2


def tls_stack(plane: ControlPlane, namespace: str) -> None:
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    for document in documents:
        if document["kind"] == "MockStack":
            document["spec"].update(replicas=REPLICAS, tls={})
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(documents))


def answer(base_url: str, context: ssl.SSLContext, test_id: str) -> str:
    with httpx.Client(verify=context) as http:
        client = openai.OpenAI(
            base_url=base_url,
            api_key="k",
            max_retries=0,
            http_client=http,
            default_headers={"X-Test-Id": test_id},
        )
        reply = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    return reply.choices[0].message.content or ""


def test_a_tls_stack_serves_https_with_the_ca_it_publishes(
    plane: ControlPlane, namespace: str, operator: Operator, *, tmp_path: Path
) -> None:
    tls_stack(plane, namespace)
    with KubeletStandIn(plane, namespace, "preview", tmp_path) as kubelet:
        # servedReplicas counts pods that answered /health over https, through the pod proxy.
        stack = wait_for(
            plane,
            namespace,
            "mockstack/preview",
            lambda body: serves_every_replica(body, REPLICAS),
            f"{REPLICAS} replicas served over https",
        )
        assert kubelet.failure is None
        origin = f"https://preview.{namespace}.svc.cluster.local:4010"
        assert stack["status"]["endpoint"] == origin

        secret: Any = read(plane, namespace, "secret", "preview-tls")
        assert secret is not None and secret["type"] == "kubernetes.io/tls"
        assert secret["metadata"]["ownerReferences"][0]["name"] == "preview"
        endpoints: Any = read(plane, namespace, "configmap", "preview-endpoints")
        assert endpoints is not None
        data = endpoints["data"]
        assert data["AIMOCK_URL"] == origin and data["OPENAI_BASE_URL"] == origin + "/v1"
        ca = tmp_path / "published-ca.crt"
        ca.write_text(data["ca.crt"])

        context = client_context(ca)  # what an app mounting ca.crt trusts
        pods = sorted(kubelet.pods)
        for index, pod in enumerate(pods):
            server = kubelet.pods[pod].server
            assert server.url.startswith("https://")
            assert answer(server.base_url, context, f"client-{index}") == BEFORE

        read_journal: subprocess.CompletedProcess[str] = journal(
            plane, "--stack", "preview", "-n", namespace, "--json"
        )
        assert read_journal.returncode == 0, read_journal.stderr
        entries = json.loads(read_journal.stdout)
        assert [(e["pod"], e["testId"]) for e in entries] == [
            (pod, f"client-{index}") for index, pod in enumerate(pods)
        ]

    # The Secret is made once: the operator's later reconciles keep the same CA.
    again: Any = read(plane, namespace, "configmap", "preview-endpoints")
    assert again["data"]["ca.crt"] == data["ca.crt"]
