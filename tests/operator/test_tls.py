"""`spec.tls`: the pods serve HTTPS from a Secret (the user's, or one the operator makes once
with a CA of its own), and the endpoints ConfigMap publishes https origins and that CA.

Rendering is checked as plain data, the made certificate by serving it and trusting the CA it
publishes; the reconcile (the Secret made once, the CA read back) is in test_handlers.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from aimock import MockServer, kube, tls
from aimock.tls import TLSOptions
from aimock_operator.render import names
from aimock_operator.render import tls as tls_render
from aimock_operator.render.deployment import SERVE_ARGS
from aimock_operator.render.stack import Rendered
from tests.operator.test_render import UID, render, stack_body

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def container(rendered: Rendered) -> dict[str, Any]:
    (found,) = rendered.deployment["spec"]["template"]["spec"]["containers"]
    return dict(found)


# --- rendering ---------------------------------------------------------------------------------


def test_without_tls_nothing_changes() -> None:
    rendered = render(ca=CA_PEM)  # a CA given without spec.tls is not published
    assert rendered.tls_secret is None
    assert rendered.origin.startswith("http://")
    assert "ca.crt" not in rendered.endpoints["data"]
    server = container(rendered)
    assert "--tls-cert" not in server["args"]
    assert server["ports"][0]["name"] == "http"
    assert "scheme" not in server["readinessProbe"]["httpGet"]
    assert kube.pod_scheme({"spec": {"containers": [server]}}) == "http"


def test_tls_mounts_the_generated_secret_and_serves_https() -> None:
    rendered = render(stack_body(tls={}), ca=CA_PEM)
    assert rendered.tls_secret == names.tls_secret("preview") == "preview-tls"
    server = container(rendered)
    assert server["args"] == [
        *SERVE_ARGS,
        "--watch",
        "--tls-cert",
        "/etc/aimock/tls/tls.crt",
        "--tls-key",
        "/etc/aimock/tls/tls.key",
    ]
    assert {"name": "tls", "mountPath": "/etc/aimock/tls", "readOnly": True} in server[
        "volumeMounts"
    ]
    volumes = rendered.deployment["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "tls",
        "secret": {
            "secretName": "preview-tls",
            "items": [
                {"key": "tls.crt", "path": "tls.crt"},
                {"key": "tls.key", "path": "tls.key"},
            ],
        },
    } in volumes
    assert server["ports"] == [{"name": "https", "containerPort": 4010, "protocol": "TCP"}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"]["scheme"] == "HTTPS"
        assert server[probe]["httpGet"]["port"] == "https"
    (port,) = rendered.service["spec"]["ports"]
    assert (port["name"], port["targetPort"]) == ("https", "https")
    assert kube.pod_scheme({"spec": {"containers": [server]}}) == "https"


def test_tls_publishes_https_origins_and_the_ca() -> None:
    rendered = render(stack_body(tls={}), ca=CA_PEM)
    origin = "https://preview.team-a.svc.cluster.local:4010"
    assert rendered.origin == origin
    data = rendered.endpoints["data"]
    assert data["AIMOCK_URL"] == origin
    assert data["OPENAI_BASE_URL"] == origin + "/v1"
    assert data["ca.crt"] == CA_PEM
    assert not [value for value in data.values() if "http://" in value]
    # No CA known yet (a named Secret not there): the origins are https all the same.
    assert "ca.crt" not in render(stack_body(tls={}), ca=None).endpoints["data"]


def test_a_named_secret_is_mounted_and_none_is_generated() -> None:
    rendered = render(stack_body(tls={"secretName": "shop-cert"}))
    assert rendered.tls_secret == "shop-cert"
    volumes = rendered.deployment["spec"]["template"]["spec"]["volumes"]
    assert [v["secret"]["secretName"] for v in volumes if v["name"] == "tls"] == ["shop-cert"]


def test_the_generated_secret_is_owned_immutable_and_of_the_tls_type() -> None:
    owner = {"apiVersion": "aimock.dev/v1alpha1", "kind": "MockStack", "uid": UID}
    manifest = tls_render.generated_secret("preview", namespace="team-a", owner=owner)
    assert manifest["type"] == "kubernetes.io/tls" and manifest["immutable"] is True
    assert manifest["metadata"]["ownerReferences"] == [owner]
    assert manifest["metadata"]["labels"]["app.kubernetes.io/component"] == "tls"
    assert "data" not in manifest and "stringData" not in manifest  # the caller's to add
    filled = tls_render.with_certificates(
        manifest, {"ca.crt": CA_PEM.encode(), "tls.crt": b"B", "tls.key": b"K"}
    )
    assert filled["stringData"] == {"ca.crt": CA_PEM, "tls.crt": "B", "tls.key": "K"}
    # The CA again where the Secret's metadata alone shows it: the key is never read back.
    assert filled["metadata"]["annotations"] == {"aimock.dev/ca-certificate": CA_PEM}
    assert tls_render.authority({"metadata": filled["metadata"]}) == CA_PEM
    assert "annotations" not in manifest["metadata"]  # the rendered manifest is left as it was


def test_authority_reads_only_a_pem_certificate() -> None:
    assert tls_render.authority(None) is None
    assert tls_render.authority({"metadata": {}}) is None
    notes = {"annotations": {"aimock.dev/ca-certificate": "not a certificate"}}
    assert tls_render.authority({"metadata": notes}) is None


def test_the_made_certificate_serves_every_service_name(tmp_path: Path) -> None:
    """What the operator puts in `<stack>-tls`, served by aimock and trusted through the CA
    it publishes."""
    wanted = tls_render.certificate_names("preview", "team-a")
    pems = tls.make_certificates(wanted, tls_render.authority_name("preview", "team-a"))
    for name, pem in pems.items():
        (tmp_path / name).write_bytes(pem)
    cert = x509.load_pem_x509_certificate(pems["tls.crt"])
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(name.value) for name in sans} >= {
        "preview.team-a.svc.cluster.local",
        "preview.team-a.svc",
        "preview.team-a",
        "preview",
        "localhost",
        "127.0.0.1",
    }
    options = TLSOptions(cert=tmp_path / "tls.crt", key=tmp_path / "tls.key")
    with (
        MockServer(tls=options) as mock,
        httpx.Client(verify=tls.client_context(tmp_path / "ca.crt")) as client,
    ):
        assert client.get(mock.url + "/health").json()["status"] == "ok"


def test_the_pod_proxy_reaches_a_tls_pod_by_its_scheme() -> None:
    assert kube.proxy_target("preview-a", 4010) == "preview-a:4010"
    assert kube.proxy_target("preview-a", 4010, "https") == "https:preview-a:4010"
