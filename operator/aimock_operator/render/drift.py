"""The CronJob of `spec.drift`: `aimock drift --live` on a schedule, with the stack's image and
the keys of a Secret, writing its verdict into the MockStack's `status.drift`.

As for recording, the operator grants nothing: the pod runs as the ServiceAccount the user
names, which their Role allows to patch `mockstacks/status` (examples/drift/rbac.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock.models.stack import DriftSpec
from aimock_operator.render import names
from aimock_operator.render.deployment import container_security, pod_security

# A check sends eight short requests; ten minutes is a stuck job, not a slow one.
DEADLINE_SECONDS = 600


def args(drift: DriftSpec, *, stack: str, namespace: str) -> list[str]:
    out = ["drift", "--live", "--report-to", f"{namespace}/{stack}"]
    for surface in drift.surfaces or ():
        out += ["--surface", surface]
    return out


def cron_job(
    stack: str,
    *,
    namespace: str,
    drift: DriftSpec,
    image: str,
    owner: Mapping[str, Any],
) -> dict[str, Any]:
    labels = names.labels(stack, component=names.DRIFT_COMPONENT)
    container: dict[str, Any] = {
        "name": "drift",
        "image": image,
        "args": args(drift, stack=stack, namespace=namespace),
        "securityContext": container_security(),
        "volumeMounts": [{"name": names.TMP_VOLUME, "mountPath": "/tmp"}],
    }
    if drift.keys_secret:
        container["envFrom"] = [{"secretRef": {"name": drift.keys_secret, "optional": True}}]
    pod = {
        "restartPolicy": "Never",
        "serviceAccountName": drift.service_account_name,
        "automountServiceAccountToken": True,
        "enableServiceLinks": False,
        "securityContext": pod_security(),
        "containers": [container],
        "volumes": [{"name": names.TMP_VOLUME, "emptyDir": {}}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": names.drift_job(stack),
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [dict(owner)],
        },
        "spec": {
            "schedule": drift.schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,  # a critical verdict exits 1: not a reason to retry
                    "activeDeadlineSeconds": DEADLINE_SECONDS,
                    "template": {"metadata": {"labels": labels}, "spec": pod},
                }
            },
        },
    }
