"""The only module that talks to the Kubernetes API (kopf's own watching aside).

Children are written with server-side apply under one field manager with force, so a
reconcile states the whole desired object and fields it no longer sets are removed. Status is
written with a merge patch on the status subresource. Everything returns plain dicts, as the
API sends them (camelCase), so the pure render/ functions can read them directly.

The official client is synchronous; each call runs in a worker thread so the operator's event
loop keeps serving other handlers. Configuration: in-cluster when running in a pod, else
KUBECONFIG (or ~/.kube/config).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import urllib3
from kubernetes import client
from kubernetes import config as _config_module
from kubernetes.client.exceptions import ApiException

from aimock import kube
from aimock_operator.crd.v1alpha1 import GROUP, VERSION
from aimock_operator.render import names

# The loaders and ApiClient.close are untyped in the client; called through Any.
config: Any = _config_module
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
# Asks for an object's metadata alone: the operator checks who owns a token Secret without
# ever reading the token back.
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
TIMEOUT = 30.0
# A pod's /health through the pod proxy: a pod that cannot answer in this time counts as not
# reachable; a slower answer would only hold one of the few threads API calls run in.
PROBE_TIMEOUT = 3.0


# The client blocks, so each call runs in a thread. asyncio's default pool has cpu+4 threads
# (6 on 2 cores), which held 200 stacks to 6 calls in flight; API calls wait on the network,
# not the CPU, so they get a pool of their own. urllib3 keeps as many connections.
API_THREADS = 32
_pool = ThreadPoolExecutor(max_workers=API_THREADS, thread_name_prefix="k8s-api")
T = TypeVar("T")


async def _in_thread(call: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool, call)


class _Connection:
    """The one API client, made on first use (so tests can point it elsewhere first)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.client: client.ApiClient | None = None
        self.kubeconfig: str | None = None


_connection = _Connection()


class ApiError(Exception):
    """An API call failed; `status` is the HTTP status, `message` the API's explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message

    @property
    def namespace_gone(self) -> bool:
        """Refused because the namespace is being deleted (nothing can be created there
        again, and what is there goes with it) or is gone already."""
        terminating = self.status == 403 and "because it is being terminated" in self.message
        return terminating or (self.status == 404 and self.message.startswith("namespaces "))


def use(kubeconfig: str | None = None) -> None:
    """Talk to the cluster of `kubeconfig` from now on (None: in-cluster or KUBECONFIG)."""
    with _connection.lock:
        if _connection.client is not None:
            closing: Any = _connection.client
            closing.close()
        _connection.client, _connection.kubeconfig = None, kubeconfig


def api_client() -> client.ApiClient:
    with _connection.lock:
        if _connection.client is None:
            _connection.client = _connect(_connection.kubeconfig)
        return _connection.client


def _connect(kubeconfig: str | None) -> client.ApiClient:
    configuration = client.Configuration()
    configuration.connection_pool_maxsize = API_THREADS
    in_pod = kubeconfig is None and "KUBERNETES_SERVICE_HOST" in os.environ
    if in_pod and not os.environ.get("KUBECONFIG"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return client.ApiClient(configuration)


def _error(exc: ApiException) -> ApiError:
    message = exc.reason or ""
    with contextlib.suppress(ValueError, AttributeError):  # not a JSON Status body
        message = json.loads(exc.body or "{}").get("message") or message
    return ApiError(int(exc.status or 0), str(message))


def _raw(method: Callable[..., Any], *args: Any, timeout: float = TIMEOUT, **kwargs: Any) -> bytes:
    """One client call (blocking) and its raw body; API errors -> ApiError."""
    try:
        response = method(*args, _preload_content=False, _request_timeout=timeout, **kwargs)
    except ApiException as exc:
        raise _error(exc) from None
    data: bytes = response.data
    return data


async def _call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one client call in a thread and decode its JSON body; API errors -> ApiError."""
    # Decoded in the thread too: a large listing would otherwise hold the event loop.
    decoded: dict[str, Any] = await _in_thread(
        lambda: json.loads(_raw(method, *args, **kwargs) or b"{}")
    )
    return decoded


def _core() -> client.CoreV1Api:
    return client.CoreV1Api(api_client())


def _apps() -> client.AppsV1Api:
    return client.AppsV1Api(api_client())


def _batch() -> client.BatchV1Api:
    return client.BatchV1Api(api_client())


def _custom() -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client())


def _appliers() -> dict[str, Callable[..., Any]]:
    return {
        "ConfigMap": _core().patch_namespaced_config_map,
        "Service": _core().patch_namespaced_service,
        "Deployment": _apps().patch_namespaced_deployment,
        "CronJob": _batch().patch_namespaced_cron_job,
    }


async def apply(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Server-side apply one child object; returns the object as stored."""
    meta = obj["metadata"]
    method = _appliers()[obj["kind"]]
    return await _call(
        method,
        meta["name"],
        meta["namespace"],
        dict(obj),
        field_manager=names.FIELD_MANAGER,
        force=True,
        _content_type=APPLY,
    )


async def apply_all(objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Apply in order (ConfigMaps before the Deployment that mounts them)."""
    return [await apply(obj) for obj in objects]


async def get(plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    """One of our custom resources, or None when it does not exist."""
    try:
        return await _call(
            _custom().get_namespaced_custom_object, GROUP, VERSION, namespace, plural, name
        )
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


async def list_resources(
    plural: str, namespace: str, label_selector: str | None = None
) -> list[dict[str, Any]]:
    """Custom resources of one kind in a namespace, optionally by label selector."""
    kwargs = {"label_selector": label_selector} if label_selector else {}
    found = await _call(
        _custom().list_namespaced_custom_object, GROUP, VERSION, namespace, plural, **kwargs
    )
    items: list[dict[str, Any]] = found.get("items") or []
    return items


async def patch_status(plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
    """Merge `status` into the resource's status subresource (None values remove fields)."""
    try:
        await _call(
            _custom().patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            {"status": dict(status)},
            _content_type=MERGE,
        )
    except ApiError as exc:
        if exc.status != 404:  # gone meanwhile: nothing left to report on
            raise


async def get_deployment(namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return await _call(_apps().read_namespaced_deployment, name, namespace)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


async def get_secret_metadata(namespace: str, name: str) -> dict[str, Any] | None:
    """A Secret's metadata (no data), or None when it does not exist."""
    try:
        return await _call(
            _core().read_namespaced_secret, name, namespace, _headers={"Accept": METADATA_ONLY}
        )
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


async def create_secret(obj: Mapping[str, Any]) -> bool:
    """Create a Secret unless one of that name exists; whether this call created it.

    Never an update: an existing Secret (made by an earlier reconcile, another operator replica
    or the user) is left exactly as it is.
    """
    body = client.V1Secret.from_dict(dict(obj))
    try:
        await _call(
            _core().create_namespaced_secret,
            obj["metadata"]["namespace"],
            body,
            field_manager=names.FIELD_MANAGER,
        )
    except ApiError as exc:
        if exc.status == 409:  # AlreadyExists
            return False
        raise
    return True


async def list_config_maps(namespace: str, label_selector: str) -> list[dict[str, Any]]:
    found = await _call(
        _core().list_namespaced_config_map, namespace, label_selector=label_selector
    )
    items: list[dict[str, Any]] = found.get("items") or []
    return items


async def list_pods(namespace: str, label_selector: str) -> list[dict[str, Any]]:
    found = await _call(_core().list_namespaced_pod, namespace, label_selector=label_selector)
    items: list[dict[str, Any]] = found.get("items") or []
    return items


async def annotate_pod(namespace: str, name: str, annotations: Mapping[str, str]) -> None:
    """Merge `annotations` into a pod's metadata (nothing else of the pod changes)."""
    body = {"metadata": {"annotations": dict(annotations)}}
    try:
        await _call(_core().patch_namespaced_pod, name, namespace, body, _content_type=MERGE)
    except ApiError as exc:
        if exc.status != 404:  # gone meanwhile: its replacement mounts the new config anyway
            raise


async def pod_get(namespace: str, pod: str, port: int, path: str, *, scheme: str = "http") -> bytes:
    """GET `path` from a pod's port through the API server's pod proxy (RBAC: pods/proxy get),
    within PROBE_TIMEOUT; `scheme` https for a pod serving TLS (the API server does not check
    its certificate). Any failure is an ApiError: the pod's own error status, the API
    server's 503 when it cannot reach the pod, or status 0 when the call itself failed."""
    target = kube.proxy_target(pod, port, scheme)

    def run() -> bytes:
        proxy = _core().connect_get_namespaced_pod_proxy_with_path
        try:
            return _raw(proxy, target, namespace, path.lstrip("/"), timeout=PROBE_TIMEOUT)
        except urllib3.exceptions.HTTPError as exc:  # a timeout, a reset connection
            raise ApiError(0, f"{type(exc).__name__}: {exc}") from None

    return await _in_thread(run)


async def delete_config_map(namespace: str, name: str, uid: str) -> None:
    """Delete one ConfigMap, only if it is still the object with `uid`."""
    options = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid))
    try:
        await _call(_core().delete_namespaced_config_map, name, namespace, body=options)
    except ApiError as exc:
        if exc.status not in (404, 409):  # already gone, or replaced by a new object
            raise


async def delete_owned_cron_job(namespace: str, name: str, owner_uid: str) -> None:
    """Delete a CronJob if it exists and `owner_uid` controls it (a user's own is left)."""
    try:
        found = await _call(_batch().read_namespaced_cron_job, name, namespace)
    except ApiError as exc:
        if exc.status == 404:
            return
        raise
    owners = {ref.get("uid") for ref in (found.get("metadata") or {}).get("ownerReferences") or []}
    if owner_uid not in owners:
        return
    uid = found["metadata"]["uid"]
    options = client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=uid), propagation_policy="Background"
    )
    try:
        await _call(_batch().delete_namespaced_cron_job, name, namespace, body=options)
    except ApiError as exc:
        if exc.status not in (404, 409):
            raise
