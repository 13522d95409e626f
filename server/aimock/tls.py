"""TLS: HTTPS (and so WSS) on the server's one port, and every certificate aimock makes.

The server takes the user's own certificate and key (`--tls-cert`, `--tls-key`), or makes its
own: a local CA and a certificate it signs for localhost, 127.0.0.1, ::1 (and the bound
address and `--tls-name`s), kept in a folder (`--tls-dir`, else `default_directory()`), so a
client told to trust the CA once keeps trusting it across restarts. The CA's key stays in the
folder (owner-only) and signs a new server certificate when the names change or the old one
nears its end; the CA itself is made once.

The operator makes its webhook's certificates (`ensure_certificates`) and a MockStack's
(`make_certificates`, into a Secret) with the same code.

`cryptography` is imported only where a certificate is made or read: a plain `aimock serve`
never loads it.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    from aimock.models.stack import StackSpec

# What a generated server certificate always covers: a client on the same machine.
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
LOCAL_AUTHORITY = "aimock local CA"
CA_VALIDITY = datetime.timedelta(days=3650)
VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)  # a certificate closer to its end is made anew
# Files made here carry this marker beside them (and may be replaced); files without it were
# provided (a mounted Secret) and are used as they are.
MARKER = ".aimock-generated"
# HTTP/1.1 is all the server speaks (WebSockets are upgraded HTTP/1.1 requests).
ALPN = ["http/1.1"]


class TLSError(ValueError):
    """A certificate, key or folder the server cannot serve with: names the file and why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


@dataclass(frozen=True)
class TLSOptions:
    """What the user asked for (`--tls`, `--tls-cert`..., `MockServer(tls=...)`).

    `cert` and `key` (both or neither): the user's own certificate chain and its unencrypted
    private key, in PEM. Without them a certificate is made in `directory` (None: the
    default) for the local names, the bound address and `names`. `enabled=False` is
    `--no-tls`: plain HTTP even when the stack spec asks for TLS."""

    enabled: bool = True
    cert: Path | None = None
    key: Path | None = None
    directory: Path | None = None
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA certificate: what clients trust (a webhook configuration's caBundle)
    cert: Path  # the serving certificate
    key: Path  # its private key


@dataclass(frozen=True)
class ServerTLS:
    """The server's TLS in force: its context, and what to tell the user."""

    context: ssl.SSLContext
    cert: Path
    ca: Path | None  # the CA of a made certificate; None for the user's own

    def describe(self) -> str:
        """For the second ready line."""
        if self.ca is not None:
            return "TLS with a certificate of aimock's local CA"
        return f"TLS with the certificate {self.cert}"


def default_directory() -> Path:
    """Where `aimock serve --tls` keeps the certificates it makes: the user's state folder
    (`$XDG_STATE_HOME/aimock/tls`, else `~/.local/state/aimock/tls`)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "aimock" / "tls"


def wanted(options: TLSOptions | None, stack: StackSpec | None) -> TLSOptions | None:
    """The TLS to serve: what the user asked for, else the stack spec's `tls` (a made
    certificate; `secretName` is the operator's), else none."""
    if options is not None:
        return options if options.enabled else None
    if stack is not None and stack.tls is not None:
        return TLSOptions()
    return None


def server_names(host: str | None, extra: Iterable[str] = ()) -> list[str]:
    """The names a made certificate covers: the local ones, the bound address unless it is
    a wildcard (0.0.0.0, ::), and `extra`."""
    names = [*LOCAL_NAMES, *extra]
    if host and host not in ("0.0.0.0", "::", "*"):
        names.append(host)
    return list(dict.fromkeys(name.strip() for name in names if name.strip()))


def prepare(options: TLSOptions, host: str | None) -> ServerTLS:
    """The server's TLS for `options`: the user's certificate checked and loaded, or one made
    (or reused) in the folder. Raises TLSError naming the file and why."""
    if options.cert is not None or options.key is not None:
        if options.cert is None or options.key is None:
            given = "--tls-cert" if options.cert is not None else "--tls-key"
            raise TLSError(options.cert or options.key or "", f"{given} needs its pair")
        return ServerTLS(server_context(options.cert, options.key), options.cert, None)
    directory = options.directory or default_directory()
    certs = ensure_certificates(directory, server_names(host, options.names))
    return ServerTLS(server_context(certs.cert, certs.key), certs.cert, certs.ca)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context serving `cert` (a PEM chain, the server's certificate first) with
    `key` (an unencrypted PEM private key); every problem is a TLSError naming the file."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    cert_pem, key_pem = _read(cert), _read(key)
    try:
        x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise TLSError(cert, "no PEM certificate in it") from None
    try:
        serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TLSError(key, "the key is encrypted; aimock needs it unencrypted") from None
    except UnsupportedAlgorithm as exc:
        raise TLSError(key, f"unsupported key: {exc}") from None
    except ValueError:
        raise TLSError(key, "no PEM private key in it") from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise TLSError(key, f"it is not the key of the certificate in {cert}") from None
        raise TLSError(cert, f"cannot serve it with {key}: {exc.reason or exc}") from None
    context.set_alpn_protocols(ALPN)
    return context


def client_context(ca: Path | str | None = None) -> ssl.SSLContext:
    """A client context that trusts `ca` (a made certificate's CA), else the system's CAs."""
    return ssl.create_default_context(cafile=str(ca) if ca is not None else None)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TLSError(path, f"cannot read it: {exc.strerror or exc}") from None


# --- making certificates ------------------------------------------------------------------


def ensure_certificates(
    directory: Path, names: Iterable[str], authority: str = LOCAL_AUTHORITY
) -> Certificates:
    """`ca.crt`, `tls.crt` and `tls.key` in `directory`. Provided ones (no marker beside them,
    e.g. a mounted Secret) are used as they are; made ones are reused while they cover
    `names` and are not near their end, else the server certificate is made anew, signed by
    the same CA while its key (`ca.key`) is there and it is itself not near its end.

    Several processes may share the folder: one at a time makes what is missing."""
    certs = Certificates(directory / "ca.crt", directory / "tls.crt", directory / "tls.key")
    wanted_names = list(names)
    present = certs.cert.exists() and certs.key.exists() and certs.ca.exists()
    if present and not (directory / MARKER).exists():
        return certs
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(directory):
            _make_missing(directory, certs, wanted_names, authority)
    except OSError as exc:
        where = exc.filename or directory
        raise TLSError(where, f"cannot write certificates there: {exc.strerror or exc}") from None
    return certs


def _make_missing(directory: Path, certs: Certificates, names: list[str], authority: str) -> None:
    present = certs.cert.exists() and certs.key.exists() and certs.ca.exists()
    if present and _still_good(certs.cert, names) and _still_good(certs.ca, []):
        return
    ca_key_path = directory / "ca.key"
    ca = _load_authority(certs.ca, ca_key_path)
    if ca is None:
        ca = _new_authority(authority)
        _write(ca_key_path, _key_pem(ca[0]), private=True)
        _write(certs.ca, _cert_pem(ca[1]))
    key, cert = _issue(ca, names, VALIDITY)
    _write(certs.key, _key_pem(key), private=True)
    _write(certs.cert, _cert_pem(cert))
    _write(directory / MARKER, b"made by aimock; replaced when stale\n")


def make_certificates(
    names: Iterable[str], authority: str, validity: datetime.timedelta = CA_VALIDITY
) -> dict[str, bytes]:
    """A new CA and a certificate it signs for `names`, both valid for `validity`, as the
    PEM files of a `kubernetes.io/tls` Secret: `ca.crt`, `tls.crt`, `tls.key` (the CA's key
    is not kept: nothing is ever signed with it again)."""
    ca = _new_authority(authority, validity)
    key, cert = _issue(ca, list(names), validity)
    return {"ca.crt": _cert_pem(ca[1]), "tls.crt": _cert_pem(cert), "tls.key": _key_pem(key)}


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the folder's lock file (POSIX; elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    descriptor = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write `path` whole or not at all (a reader never sees half a file)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    descriptor = os.open(
        partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644
    )
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(partial, path)


def _still_good(cert_path: Path, names: list[str]) -> bool:
    """Whether a made certificate covers `names` and is not near its end."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    now = datetime.datetime.now(datetime.UTC)
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return False
    if not names:
        return True
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    have = {str(name.value) for name in extension.value}
    return all(str(_general_name(name).value) in have for name in names)


def _load_authority(
    ca_path: Path, key_path: Path
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None:
    """The CA made before, while its key is kept and it is not near its end."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if not _still_good(ca_path, []):
        return None
    try:
        cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None
    return key, cert


def _new_authority(
    common_name: str, validity: datetime.timedelta = CA_VALIDITY
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        _builder(name, name, key.public_key(), validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _issue(
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    names: list[str],
    validity: datetime.timedelta,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A key and a serving certificate for `names`, signed by `ca` (never outliving it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    until = ca_cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    builder = _builder(subject, ca_cert.subject, key.public_key(), min(validity, until))
    cert = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    validity: datetime.timedelta,
) -> x509.CertificateBuilder:
    from cryptography import x509

    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate clock skew
        .not_valid_after(now + validity)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    from cryptography import x509

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
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _cert_pem(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
