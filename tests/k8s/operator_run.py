"""The operator run in-process against the test control plane (kopf.testing.KopfRunner, a
fresh registry scoped to one namespace), for every cluster test that needs it; the
`operator` fixture in conftest.py starts one per test."""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import kopf
import pytest
from kopf.testing import KopfRunner

from aimock_operator import k8s
from aimock_operator.crd.v1alpha1 import GROUP
from aimock_operator.handlers import Reconciler, register
from aimock_operator.settings import Options
from tests.k8s.plane import ControlPlane

IMAGE = "ghcr.io/aimock/aimock:k8s-test"


class Operator:
    """One in-process operator run; `stop()` ends it as a killed process would end."""

    def __init__(self, runner: KopfRunner, reconciler: Reconciler) -> None:
        self.runner = runner
        self.reconciler = reconciler


@contextmanager
def running_operator(
    plane: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Operator]:
    monkeypatch.setenv("KUBECONFIG", str(plane.kubeconfig))
    k8s.use(str(plane.kubeconfig))
    registry = kopf.OperatorRegistry()
    kopf.on.login(registry=registry)(kopf.login_with_kubeconfig)  # a fresh registry has none
    reconciler = register(registry, Options(image=IMAGE, backoff=1.0, chaos_interval=1.0, resync=0))
    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 30
    args = ["run", "--standalone", "--namespace", namespace]
    runner = KopfRunner(args, registry=registry, settings=settings, timeout=60)
    quiet = warnings.catch_warnings()
    stopping = False
    try:
        with runner:
            try:
                yield Operator(runner, reconciler)
            finally:
                try:
                    settle(plane, namespace)
                finally:
                    # kopf closes its aiohttp sessions as it stops, but a TLS connection still
                    # closing when the runner's thread closes its loop is reported as unclosed
                    # (a ResourceWarning, an error under our filters), now and then: an
                    # artefact of running kopf in a thread, not the operator's behaviour.
                    # Only the shutdown is covered; the objects are collected right here.
                    quiet.__enter__()
                    stopping = True
                    warnings.simplefilter("ignore", ResourceWarning)
    finally:
        if stopping:
            gc.collect()
            quiet.__exit__(None, None, None)


SETTLE_PATHS = (
    f"/apis/{GROUP}/v1alpha1/namespaces/{{ns}}/mockstacks",
    f"/apis/{GROUP}/v1alpha1/namespaces/{{ns}}/fixtures",
    f"/apis/{GROUP}/v1alpha1/namespaces/{{ns}}/chaospolicies",
    "/api/v1/namespaces/{ns}/configmaps",
    "/apis/apps/v1/namespaces/{ns}/deployments",
)


def settle(plane: ControlPlane, namespace: str, quiet: float = 1.0) -> None:
    """Wait until nothing in the namespace has changed for `quiet` seconds.

    Stopping kopf while it has requests in flight leaves their connections unclosed (a
    ResourceWarning, an error here); tests stop the operator once its work has died down.
    """

    def versions() -> list[list[str]]:
        found = []
        for template in SETTLE_PATHS:
            _, listing = plane.request("GET", template.format(ns=namespace))
            found.append(sorted(i["metadata"]["resourceVersion"] for i in listing["items"]))
        return found

    last, since, deadline = versions(), time.monotonic(), time.monotonic() + 30
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.1)
        now = versions()
        if now != last:
            last, since = now, time.monotonic()
