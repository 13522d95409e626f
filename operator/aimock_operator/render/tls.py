"""What `spec.tls` adds to a stack: the certificate Secret its pods serve, mounted and passed
to `aimock serve --tls-cert --tls-key`, and the CA apps trust, published in the endpoints
ConfigMap (key `ca.crt`).

The Secret is the user's (`spec.tls.secretName`, a `kubernetes.io/tls` Secret with `tls.crt`
and `tls.key`; the operator never reads it, and apps trust its issuer their own way), or else
`<stack>-tls`, which the operator makes once: a CA of its own and a certificate it signs for
the Service's names. The CA certificate is also in an annotation of that Secret, so the
operator reads it back with the Secret's metadata alone, never the key. Pure, like the rest
of render/: the certificates are the caller's (handlers.py makes them, and only when the
Secret does not exist yet), so nothing here is random.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock.models.stack import StackSpec
from aimock_operator.render import names

CERT, KEY, CA = "tls.crt", "tls.key", "ca.crt"  # a kubernetes.io/tls Secret's keys
SECRET_TYPE = "kubernetes.io/tls"


def enabled(spec: StackSpec) -> bool:
    return spec.tls is not None


def secret_name(stack: str, spec: StackSpec) -> str | None:
    """The Secret the pods serve: the user's, else the generated one; None without TLS."""
    if spec.tls is None:
        return None
    return spec.tls.secret_name or names.tls_secret(stack)


def args() -> list[str]:
    """The server's flags: the mounted certificate and key."""
    return ["--tls-cert", f"{names.TLS_DIR}/{CERT}", "--tls-key", f"{names.TLS_DIR}/{KEY}"]


def volume(stack: str, spec: StackSpec) -> dict[str, Any]:
    """The Secret as a volume: only the certificate and its key (never anything else the
    Secret holds)."""
    items = [{"key": key, "path": key} for key in (CERT, KEY)]
    return {
        "name": names.TLS_VOLUME,
        "secret": {"secretName": secret_name(stack, spec), "items": items},
    }


def mount() -> dict[str, Any]:
    return {"name": names.TLS_VOLUME, "mountPath": names.TLS_DIR, "readOnly": True}


def certificate_names(stack: str, namespace: str) -> list[str]:
    """What a generated certificate covers: every name of the Service in the cluster, and
    the loopback names (`kubectl port-forward`)."""
    service = names.service(stack)
    return [
        names.service_host(stack, namespace),
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}",
        service,
        "localhost",
        "127.0.0.1",
        "::1",
    ]


def authority_name(stack: str, namespace: str) -> str:
    """The common name of a generated CA: which stack's it is."""
    return f"aimock MockStack {namespace}/{stack} CA"


def generated_secret(stack: str, *, namespace: str, owner: Mapping[str, Any]) -> dict[str, Any]:
    """The Secret the operator makes for a stack with `spec.tls` and no `secretName`, minus
    its certificates (`with_certificates` adds them). Immutable: deleting it is how to get a
    new CA and certificate."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": names.tls_secret(stack),
            "namespace": namespace,
            "labels": names.labels(stack, names.TLS_COMPONENT),
            "ownerReferences": [dict(owner)],
        },
        "type": SECRET_TYPE,
        "immutable": True,
    }


def with_certificates(manifest: Mapping[str, Any], pems: Mapping[str, bytes]) -> dict[str, Any]:
    """A rendered `generated_secret` holding `pems` (`ca.crt`, `tls.crt`, `tls.key`), its CA
    certificate also in the CA annotation."""
    metadata = dict(manifest["metadata"])
    ca = pems[CA].decode()
    metadata["annotations"] = {**(metadata.get("annotations") or {}), names.CA_ANNOTATION: ca}
    data = {key: pem.decode() for key, pem in sorted(pems.items())}
    return {**manifest, "metadata": metadata, "stringData": data}


def authority(secret: Mapping[str, Any] | None) -> str | None:
    """The CA certificate (PEM) in a generated Secret's annotation, as its metadata reads; None
    when it has none (or one that is not a PEM certificate)."""
    metadata = (secret or {}).get("metadata") or {}
    text = str((metadata.get("annotations") or {}).get(names.CA_ANNOTATION) or "")
    return text if "-----BEGIN CERTIFICATE-----" in text else None
