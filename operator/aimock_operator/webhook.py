"""The validating admission webhook: refuse a bad MockStack, Fixture or ChaosPolicy at apply.

The CRD schema already refuses what a schema can say (types, bounds, CEL rules); this refuses
what needs the fixture model (a regex that does not compile, a string-or-object field of the
wrong shape, an unknown surface). Importing this module registers the handlers with kopf's
default registry; `webhook_server()` builds the HTTPS server kopf serves them on, with
certificates made by `cryptography` (kopf's own self-signed path needs oscrypto, which fails
with this OpenSSL).

Each handler is served at `/<handler id>` (kopf appends the id to the server's URL or to the
Service path): see `WEBHOOK_PATHS`. Only CREATE and UPDATE of the main resource are checked,
never `/status` (the operator must be able to report on a resource that predates the webhook)
and never DELETE.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA bundle: the webhook configuration's caBundle
    cert: Path  # the serving certificate
    key: Path  # its private key


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


_MARKER = ".aimock-generated"  # files we made (may be replaced); others are mounted, kept as-is
_VALIDITY = datetime.timedelta(days=365)
_RENEW_BEFORE = datetime.timedelta(days=30)


def ensure_certificates(cert_dir: Path, sans: Iterable[str]) -> Certificates:
    """Certificates in `cert_dir`: provided ones (e.g. a mounted Secret) are used as they are;
    ones made here are reused while they cover `sans` and are not about to expire."""
    certs = Certificates(cert_dir / "ca.crt", cert_dir / "tls.crt", cert_dir / "tls.key")
    wanted = list(sans)
    present = certs.cert.exists() and certs.key.exists() and certs.ca.exists()
    if present and not (cert_dir / _MARKER).exists():
        return certs
    if present and _still_good(certs.cert, wanted):
        return certs
    cert_dir.mkdir(parents=True, exist_ok=True)
    _write_certificates(certs, wanted)
    (cert_dir / _MARKER).write_text("made by aimock_operator.webhook; replaced when stale\n")
    return certs


def _still_good(cert_path: Path, sans: list[str]) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    now = datetime.datetime.now(datetime.UTC)
    if cert.not_valid_after_utc - now < _RENEW_BEFORE:
        return False
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    have = {str(name.value) for name in extension.value}
    return all(str(_general_name(name).value) in have for name in sans)


def _write_certificates(certs: Certificates, sans: list[str]) -> None:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aimock-operator webhook CA")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])])
    cert = (
        _builder(subject, ca_name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(name) for name in sans]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    certs.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certs.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certs.key.touch(mode=0o600)
    certs.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: Any
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate clock skew
        .not_valid_after(now + _VALIDITY)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,  # ECDSA keys sign; they never encipher
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
