"""The Deployment running `aimock serve` on the mounted config folder.

Nothing in the pod template depends on the served documents: the config hash goes on the
Deployment's own annotations, so a Fixture edit reaches the pods through the ConfigMap volume
(the server reloads the folder) instead of rolling them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aimock.models.stack import StackSpec
from aimock_operator.render import admin_token, api_keys, names, recording, tls
from aimock_operator.render.errors import SpecError

SCHEDULING_KEYS = ("nodeSelector", "tolerations", "affinity")
SERVE_ARGS = ("serve", "-f", names.CONFIG_DIR, "--host", "0.0.0.0", "--port", str(names.PORT))


def container_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": names.RUN_AS_USER,
        "runAsGroup": names.RUN_AS_USER,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": names.RUN_AS_USER,
        "runAsGroup": names.RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _probe(path: str, period: int, secure: bool = False) -> dict[str, Any]:
    get: dict[str, Any] = {"path": path, "port": names.port_name(secure)}
    if secure:
        get["scheme"] = "HTTPS"  # the kubelet does not check the certificate
    return {
        "httpGet": get,
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }


def _env(spec: StackSpec, stack: str) -> list[dict[str, Any]]:
    recorder = recording.env(spec.record) if spec.record else []
    keys = [api_keys.env(spec.api_keys_secret)] if spec.api_keys_secret else []
    return [*recorder, admin_token.env(stack, spec), *keys]


def container(spec: StackSpec, image: str, *, stack: str, namespace: str) -> dict[str, Any]:
    extra = []
    if spec.record is not None:
        extra = recording.args(spec.record, stack=stack, namespace=namespace, spec=spec)
    secure = tls.enabled(spec)
    port = {"name": names.port_name(secure), "containerPort": names.PORT, "protocol": "TCP"}
    out: dict[str, Any] = {
        "name": names.CONTAINER,
        "image": image,
        "args": [*SERVE_ARGS, "--watch", *(tls.args() if secure else []), *extra],
        "ports": [port],
        "env": _env(spec, stack),
        "readinessProbe": _probe("/ready", 5, secure),
        "livenessProbe": _probe("/health", 10, secure),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": names.CONFIG_VOLUME, "mountPath": names.CONFIG_DIR, "readOnly": True},
            {"name": names.TMP_VOLUME, "mountPath": "/tmp"},
            *([tls.mount()] if secure else []),
        ],
    }
    if spec.resources:
        out["resources"] = dict(spec.resources)
    return out


def scheduling(spec: StackSpec) -> dict[str, Any]:
    """Pod-spec fields from spec.scheduling; an unknown key is a spec error."""
    given = spec.scheduling or {}
    for key in sorted(given):
        if key not in SCHEDULING_KEYS:
            allowed = ", ".join(SCHEDULING_KEYS)
            raise SpecError(f"spec.scheduling.{key}", f"unknown field; expected {allowed}")
    return {key: given[key] for key in SCHEDULING_KEYS if given.get(key) is not None}


def deployment(
    stack: str,
    *,
    namespace: str,
    spec: StackSpec,
    image: str,
    config_maps: Sequence[str],
    config_hash: str,
    owner: Mapping[str, Any],
) -> dict[str, Any]:
    labels = names.labels(stack)
    projected = [{"configMap": {"name": name}} for name in config_maps]
    pod: dict[str, Any] = {
        **recording.pod_identity(spec),
        "enableServiceLinks": False,  # keep other Services' variables out of the server's env
        "securityContext": pod_security(),
        "containers": [container(spec, image, stack=stack, namespace=namespace)],
        "volumes": [
            {"name": names.CONFIG_VOLUME, "projected": {"sources": projected}},
            {"name": names.TMP_VOLUME, "emptyDir": {}},
            *([tls.volume(stack, spec)] if tls.enabled(spec) else []),
        ],
        **scheduling(spec),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": names.deployment(stack),
            "namespace": namespace,
            "labels": labels,
            "annotations": {names.CONFIG_HASH_ANNOTATION: config_hash},
            "ownerReferences": [dict(owner)],
        },
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": names.selector_labels(stack)},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }
