"""The Kubernetes API as the server side of aimock uses it (recordings written as Fixtures,
drift verdicts written to a MockStack's status): one client, from the pod's ServiceAccount or
else the kubeconfig.

The client library is imported only when called: `aimock serve` on a laptop never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubernetes.client import CoreV1Api, CustomObjectsApi

MERGE_PATCH = "application/merge-patch+json"


class KubeError(RuntimeError):
    """The Kubernetes API refused a call, or could not be reached."""


# Where a MockStack's server listens in its pods, and the labels its pods carry: the operator
# renders them from these (aimock_operator.render.names), the CLI finds the pods by them.
POD_PORT = 4010


def pod_labels(stack: str) -> dict[str, str]:
    """The labels the pods of a MockStack carry (and its Service selects by)."""
    return {"app.kubernetes.io/name": "aimock", "app.kubernetes.io/instance": stack}


def pod_query(stack: str) -> str:
    return ",".join(f"{key}={value}" for key, value in pod_labels(stack).items())


def pod_scheme(pod: Mapping[str, Any]) -> str:
    """How a MockStack's pod serves, from its containers' arguments: `https` when its server
    was started with TLS (the operator adds `--tls-cert` for `spec.tls`), else `http`. Read
    per pod: while TLS is turned on or off, old and new pods serve differently."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        args = container.get("args") or []
        if "--tls-cert" in args or "--tls" in args:
            return "https"
    return "http"


def proxy_target(pod: str, port: int, scheme: str = "http") -> str:
    """A pod's name for the API server's pod proxy (`https:<pod>:<port>` reaches a TLS port;
    the API server does not check the pod's certificate)."""
    return f"{pod}:{port}" if scheme == "http" else f"{scheme}:{pod}:{port}"


def _load_config() -> None:
    from kubernetes import config

    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        try:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        except config.ConfigException as exc:
            raise KubeError(f"no Kubernetes credentials: {exc}") from None


def custom_objects() -> CustomObjectsApi:
    """An API client from the pod's ServiceAccount, else from the kubeconfig."""
    from kubernetes import client

    _load_config()
    return client.CustomObjectsApi()


def core() -> CoreV1Api:
    """The core API (pods, secrets), with the credentials `custom_objects` uses."""
    from kubernetes import client

    _load_config()
    return client.CoreV1Api()


def current_namespace() -> str:
    """The namespace of the kubeconfig's current context, else `default`."""
    from kubernetes import config

    try:
        _, active = config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
    except (config.ConfigException, OSError) as exc:
        raise KubeError(f"no kubeconfig to take the namespace from: {exc}") from None
    return str((active or {}).get("context", {}).get("namespace") or "default")


def target(raw: str) -> tuple[str, str]:
    """NAMESPACE/NAME, as the `--record-to-cluster` and `--report-to` flags take it."""
    namespace, slash, name = raw.partition("/")
    if not (slash and namespace and name) or "/" in name:
        raise ValueError(f"{raw!r}: expected NAMESPACE/NAME")
    return namespace, name
