"""The `cluster` fixture: one real control plane (tests/k8s/plane.py) per pytest session.

Every test under tests/k8s gets the `k8s` marker, so `pytest -m k8s` runs just these and
`pytest -m "not k8s"` skips the plane entirely. When the selected tests include any of them and
the binaries are not cached yet, scripts/k8s-bin.sh builds them once during collection: a cold
build takes many minutes, far beyond the per-test timeout that would cover a fixture.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aimock_operator.crd.v1alpha1 import GROUP, KINDS
from tests.k8s.operator_run import Operator, running_operator
from tests.k8s.plane import (
    BUILD_SCRIPT,
    ControlPlane,
    bin_dir,
    build_binaries,
    missing_binaries,
    wait_until,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
_started: list[ControlPlane] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "k8s: runs against the real Kubernetes control plane of tests/k8s"
    )


def _in_this_folder(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: the marker must be on the items before `-m` deselects by it.
    for item in items:
        if _in_this_folder(item):
            item.add_marker(pytest.mark.k8s)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the binaries now, outside any test's timeout, if a selected test needs them."""
    if session.config.option.collectonly or not any(map(_in_this_folder, session.items)):
        return
    missing = missing_binaries()
    if not missing:
        return
    capture = session.config.pluginmanager.getplugin("capturemanager")
    suspended = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with suspended:
        print(
            f"\n[k8s] {bin_dir()} lacks {', '.join(missing)}: building with {BUILD_SCRIPT}"
            " (about 10 min the first time on 2 cores, cached afterwards)",
            file=sys.stderr,
            flush=True,
        )
        build_binaries()


@pytest.fixture(scope="session")
def cluster() -> Iterator[ControlPlane]:
    """etcd + kube-apiserver + controller-manager + scheduler + kwok with one fake node."""
    if missing_binaries():  # e.g. a test run through a path the collection hook did not see
        build_binaries()
    plane = ControlPlane.start(nodes=1)
    _started.append(plane)
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def plane(cluster: ControlPlane) -> ControlPlane:
    """The cluster with the generated CRDs installed and known to the garbage collector."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    cluster.wait_established(*(f"{kind.plural}.{GROUP}" for kind in KINDS))
    await_garbage_collector(cluster)
    return cluster


def await_garbage_collector(cluster: ControlPlane) -> None:
    """Wait until deleting a MockStack deletes what it owns.

    The controller-manager's garbage collector rediscovers API resources every 30 s; until it
    has seen the CRDs, it cannot resolve owner references to a MockStack (and retries with a
    growing backoff). A throwaway owner and dependent show when that is over, so the tests
    measure the operator, not that one-off delay.
    """
    namespace = cluster.new_namespace("gc")
    stack = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "MockStack", "metadata": {"name": "gc"}}
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(stack))
    uid = cluster.kubectl(
        "get", "mockstack", "gc", "-n", namespace, "-o", "jsonpath={.metadata.uid}"
    )
    owner = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "MockStack", "name": "gc", "uid": uid}
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "gc-dependent", "ownerReferences": [owner]},
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(dependent))
    cluster.kubectl("delete", "mockstack", "gc", "-n", namespace)
    started = time.monotonic()
    wait_until(
        lambda: (
            cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/gc-dependent")[0]
            == 404
        ),
        timeout=100,
        interval=0.5,
        what="the garbage collector to know MockStack owners",
    )
    print(f"\n[operator] garbage collector ready after {time.monotonic() - started:.1f} s")
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")


@pytest.fixture
def namespace(cluster: ControlPlane) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (without waiting)."""
    name = cluster.new_namespace()
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for plane in _started:
        timings = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in plane.timings.items())
        terminalreporter.write_line(f"k8s control plane start: {timings}")


@pytest.fixture
def operator(
    plane: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Operator]:
    """The operator, running in-process for this test's namespace."""
    with running_operator(plane, namespace, monkeypatch) as running:
        yield running
