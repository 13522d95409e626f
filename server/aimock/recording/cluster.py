"""Recordings as `Fixture` resources, for a server running in a cluster, and back to files.

In a pod, a recording is appended to a Fixture in the stack's namespace (one per test id and
provider, as files are), labelled `aimock.dev/recorded-by: <stack>` plus the stack's fixture
selector labels: the operator then serves it from the stack's ConfigMap, so it survives a pod
restart, and `aimock recordings pull --stack NAME` writes the stack's recordings as clean
manifests for a GitOps repository.

The Kubernetes client is imported only here and only when used: a laptop server never loads
it. Its calls block, so the server runs `FixtureSink.append` in a worker thread.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimock.canonical import DEFAULT_TEST_ID
from aimock.kube import KubeError, custom_objects
from aimock.models.stack import API_VERSION, GROUP, VERSION
from aimock.recording.files import yaml_text
from aimock.recording.options import ClusterTarget

if TYPE_CHECKING:
    from kubernetes.client import CustomObjectsApi

RECORDED_BY = "aimock.dev/recorded-by"
PLURAL = "fixtures"
CONFLICT_RETRIES = 8
_NOT_NAME = re.compile(r"[^a-z0-9-]+")
MAX_NAME = 63  # a Fixture's name is also a label value and a config file name


def fixture_name(stack: str, provider: str, test_id: str) -> str:
    """A DNS-label name for the Fixture of one test id (or of one recording without)."""
    if test_id == DEFAULT_TEST_ID:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
        tail = f"{stamp}-{secrets.token_hex(4)}"
    else:
        tail = test_id
    name = _NOT_NAME.sub("-", f"rec-{stack}-{provider}-{tail}".lower()).strip("-")
    if len(name) > MAX_NAME:  # keep it unique: a hash of the whole instead of the cut part
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = name[: MAX_NAME - 9].rstrip("-") + "-" + digest
    return name


class FixtureSink:
    """Appends recordings to Fixture resources of one stack."""

    def __init__(self, target: ClusterTarget) -> None:
        self.target = target
        self._api: CustomObjectsApi | None = None
        self._lock = threading.Lock()  # one writer at a time: fewer conflicts to retry

    def api(self) -> CustomObjectsApi:
        if self._api is None:
            self._api = custom_objects()
        return self._api

    def labels(self) -> dict[str, str]:
        return {**self.target.labels, RECORDED_BY: self.target.stack}

    def append(self, name: str, fixture: Mapping[str, Any]) -> None:
        """Add `fixture` to the Fixture `name`, creating it; retried on write conflicts."""
        from kubernetes.client.exceptions import ApiException

        namespace = self.target.namespace
        with self._lock:
            try:
                for _ in range(CONFLICT_RETRIES):
                    if self._try_append(namespace, name, fixture):
                        return
            except ApiException as exc:
                raise KubeError(f"Fixture {namespace}/{name}: {exc.status} {exc.reason}") from None
            except Exception as exc:  # urllib3's network errors, a bad kubeconfig
                raise KubeError(f"Fixture {namespace}/{name}: {exc}") from None
        raise KubeError(f"Fixture {namespace}/{name}: kept changing, not written")

    def _try_append(self, namespace: str, name: str, fixture: Mapping[str, Any]) -> bool:
        """One attempt; False when someone else wrote the Fixture meanwhile."""
        from kubernetes.client.exceptions import ApiException

        api = self.api()
        try:
            found = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except ApiException as exc:
            if exc.status != 404:
                raise
            body = {
                "apiVersion": API_VERSION,
                "kind": "Fixture",
                "metadata": {"name": name, "namespace": namespace, "labels": self.labels()},
                "spec": {"fixtures": [dict(fixture)]},
            }
            try:
                api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
            except ApiException as conflict:
                if conflict.status == 409:  # created meanwhile: append to it instead
                    return False
                raise
            return True
        current: dict[str, Any] = dict(found)  # type: ignore[call-overload]
        spec = current.get("spec") or {}
        current["spec"] = {**spec, "fixtures": [*(spec.get("fixtures") or []), dict(fixture)]}
        try:
            api.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, current)
        except ApiException as exc:
            if exc.status == 409:  # resourceVersion moved on
                return False
            raise
        return True


def clean_manifest(body: Mapping[str, Any]) -> dict[str, Any]:
    """A Fixture as stored, without what the cluster added: ready for a Git repository."""
    meta = body.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != RECORDED_BY}
    metadata: dict[str, Any] = {"name": meta.get("name")}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": API_VERSION,
        "kind": "Fixture",
        "metadata": metadata,
        "spec": body.get("spec") or {},
    }


def pull(namespace: str, stack: str, directory: Path) -> list[Path]:
    """Write every Fixture `stack` recorded in `namespace` to `directory`, one file each."""
    from kubernetes.client.exceptions import ApiException

    try:
        listing = custom_objects().list_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, label_selector=f"{RECORDED_BY}={stack}"
        )
    except ApiException as exc:
        raise KubeError(f"cannot list Fixtures in {namespace}: {exc.status} {exc.reason}") from None
    except KubeError:
        raise
    except Exception as exc:
        raise KubeError(f"cannot list Fixtures in {namespace}: {exc}") from None
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    items: list[dict[str, Any]] = dict(listing).get("items") or []  # type: ignore[call-overload]
    for item in sorted(items, key=lambda i: i["metadata"]["name"]):
        manifest = clean_manifest(item)
        path = directory / f"{manifest['metadata']['name']}.yaml"
        path.write_text(yaml_text(manifest))
        written.append(path)
    return written
