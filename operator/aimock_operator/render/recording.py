"""What `spec.record` adds to a stack's pods: the server's record flags, the API keys from a
Secret, and the identity that lets the server write its recordings as Fixture resources.

The operator grants nothing itself: the user names a ServiceAccount their own Role allows to
create and update Fixtures (examples/recording-stack.yaml), so the operator's permissions stay
what they are without recording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock.models.stack import RecordSpec, StackSpec


def key_variable(provider: str) -> str:
    """The variable the server reads a provider's key from."""
    return f"AIMOCK_PROVIDER_{provider.upper().replace('-', '_')}_KEY"


# Record mode without a ServiceAccount has nowhere to keep what it records (the pod's disk is
# gone with the pod): refused where the MockStack is validated.
NEEDS_ACCOUNT = (
    "record mode in a cluster writes Fixture resources: name a ServiceAccount allowed to "
    "create and update them (or use mode: proxy-only)"
)


def needs_account(record: Mapping[str, Any]) -> bool:
    return record.get("mode", "record") == "record" and not record.get("serviceAccountName")


def _selector_labels(spec: StackSpec) -> dict[str, str]:
    """The labels a recorded Fixture needs for the stack's own selector to choose it."""
    labels = (spec.fixture_selector or {}).get("matchLabels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def args(record: RecordSpec, *, stack: str, namespace: str, spec: StackSpec) -> list[str]:
    out = ["--record" if record.mode == "record" else "--proxy-only"]
    for name, url in sorted(record.providers.items()):
        out += [f"--provider-{name}", url]
    out += [
        "--upstream-timeout-ms",
        str(record.upstream_timeout_ms),
        "--body-timeout-ms",
        str(record.body_timeout_ms),
    ]
    if record.full_model_version:
        out.append("--record-full-model-version")
    if record.mode == "record":
        out += ["--record-to-cluster", f"{namespace}/{stack}"]
        for key, value in sorted(_selector_labels(spec).items()):
            out += ["--record-label", f"{key}={value}"]
    return out


def env(record: RecordSpec) -> list[dict[str, Any]]:
    """One variable per provider from the keys Secret; a missing key is no error (the caller
    may send its own)."""
    if not record.keys_secret:
        return []
    return [
        {
            "name": key_variable(name),
            "valueFrom": {
                "secretKeyRef": {"name": record.keys_secret, "key": name, "optional": True}
            },
        }
        for name in sorted(record.providers)
    ]


def pod_identity(spec: StackSpec) -> dict[str, Any]:
    """The pod's ServiceAccount: the recorder's when recording to Fixtures, else none at all
    (the server then never calls the Kubernetes API)."""
    record = spec.record
    if record is not None and record.mode == "record" and record.service_account_name:
        return {
            "serviceAccountName": record.service_account_name,
            "automountServiceAccountToken": True,
        }
    return {"automountServiceAccountToken": False}
