"""The validating admission webhook: refuse a bad MockStack, Fixture or ChaosPolicy at apply.

The CRD schema already refuses what a schema can say (types, bounds, CEL rules); this refuses
what needs the fixture model (a regex that does not compile, a string-or-object field of the
wrong shape, an unknown surface). Importing this module registers the handlers with kopf's
default registry; `webhook_server()` builds the HTTPS server kopf serves them on, with
certificates made by `aimock.tls` (kopf's own self-signed path needs oscrypto, which fails
with this OpenSSL).

Each handler is served at `/<handler id>` (kopf appends the id to the server's URL or to the
Service path): see `WEBHOOK_PATHS`. Only CREATE and UPDATE of the main resource are checked,
never `/status` (the operator must be able to report on a resource that predates the webhook)
and never DELETE.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kopf

from aimock import tls
from aimock_operator import validation
from aimock_operator.crd.v1alpha1 import GROUP, KINDS, PLURALS, VERSION

OPERATIONS: list[kopf.Operation] = ["CREATE", "UPDATE"]
# By plural; the chart's ValidatingWebhookConfiguration names the same paths.
WEBHOOK_PATHS = {kind.plural: f"/validate-{kind.singular}" for kind in KINDS}
ADMISSION_CODE = 422  # Unprocessable Entity: the request is well-formed, its content is not


def admit(
    validator: validation.Validator,
    body: Mapping[str, Any],
    old: Mapping[str, Any] | None = None,
) -> None:
    """Raise kopf.AdmissionError naming every problem, unless the resource is acceptable.

    An update that leaves `spec` alone is always let through: labels, annotations and kopf's
    own bookkeeping must keep working on a resource created before the webhook was installed,
    even if that resource is invalid (the operator reports it in a Condition instead).
    """
    if old is not None and validation.plain(old.get("spec")) == validation.plain(body.get("spec")):
        return
    problems = validator(body)
    if problems:
        kind = body.get("kind", "resource")
        name = (body.get("metadata") or {}).get("name") or "(unnamed)"
        raise kopf.AdmissionError(
            f"{kind} {name} is invalid: {validation.summary(problems)}", code=ADMISSION_CODE
        )


def validate_mockstack(
    body: Mapping[str, Any], old: Mapping[str, Any] | None = None, **_: Any
) -> None:
    admit(validation.validate_mockstack, body, old)


def validate_fixture(
    body: Mapping[str, Any], old: Mapping[str, Any] | None = None, **_: Any
) -> None:
    admit(validation.validate_fixture, body, old)


def validate_chaospolicy(
    body: Mapping[str, Any], old: Mapping[str, Any] | None = None, **_: Any
) -> None:
    admit(validation.validate_chaospolicy, body, old)


HANDLERS = {
    PLURALS["MockStack"]: validate_mockstack,
    PLURALS["Fixture"]: validate_fixture,
    PLURALS["ChaosPolicy"]: validate_chaospolicy,
}


def register(registry: kopf.OperatorRegistry | None = None) -> None:
    """Register the validating handlers (CREATE and UPDATE of the main resource) with
    `registry`, kopf's default one when None: importing this module does that."""
    for plural, handler in HANDLERS.items():
        kopf.on.validate(
            group=GROUP,
            version=VERSION,
            plural=plural,
            id=WEBHOOK_PATHS[plural].lstrip("/"),
            operations=OPERATIONS,
            registry=registry,
        )(handler)


register()


# --- the HTTPS server ----------------------------------------------------------------------------

WEBHOOK_AUTHORITY = "aimock-operator webhook CA"


def webhook_server(
    host: str = "127.0.0.1",
    port: int = 9443,
    cert_dir: str | Path = "/tmp/aimock-webhook",
    extra_sans: Iterable[str] = (),
    *,
    addr: str | None = None,
) -> kopf.WebhookServer:
    """kopf's WebhookServer on `addr` (default: `host`), reachable as https://`host`:`port`.

    Certificates are reused from `cert_dir` when they cover every name, else made anew:
    a CA and a serving certificate for localhost, 127.0.0.1, `host` and `extra_sans` (e.g.
    the Service's `<svc>.<ns>.svc`). The CA goes into the webhook configuration's caBundle.
    """
    sans = _names(host, extra_sans)
    certs = ensure_certificates(Path(cert_dir), sans)
    return kopf.WebhookServer(
        addr=addr or host,
        port=port,
        host=host,
        certfile=str(certs.cert),
        pkeyfile=str(certs.key),
        cafile=str(certs.ca),
    )


def _names(host: str, extra: Iterable[str]) -> list[str]:
    names = ["localhost", "127.0.0.1", host, *extra]
    return list(dict.fromkeys(name for name in names if name))


def ensure_certificates(cert_dir: Path, sans: Iterable[str]) -> tls.Certificates:
    """Certificates in `cert_dir`: provided ones (e.g. a mounted Secret) are used as they are;
    ones made here are reused while they cover `sans` and are not about to expire (the
    server's own TLS makes and keeps them the same way: `aimock.tls`)."""
    return tls.ensure_certificates(cert_dir, sans, authority=WEBHOOK_AUTHORITY)
