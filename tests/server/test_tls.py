"""TLS: `aimock serve --tls` (a certificate of a local CA it makes and keeps) and `--tls-cert
--tls-key` (the user's own) serve HTTPS and WSS on the one port, to the official SDKs; what is
not TLS (plain HTTP, garbage, a silent client) is closed without harm; bad files are clear
errors; `MockServer(tls=True)` and the pytest plugin do the same in a test process."""

from __future__ import annotations

import datetime
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aimock import MockServer, tls
from aimock.tls import TLSOptions
from tests.conftest import ROOT, ServerProcess, serving

QUESTION, ANSWER = "secure hello", "Hello over TLS."
FIXTURES = {"fixtures": [{"match": {"userMessage": QUESTION}, "response": {"content": ANSWER}}]}
PATIENCE = 30.0  # seconds: generous, for a busy machine

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tls-fixtures")
    (folder / "fixtures.json").write_text(json.dumps(FIXTURES))
    return folder


@pytest.fixture(scope="module")
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """XDG_STATE_HOME of the servers started here: nothing is written into the real home."""
    return tmp_path_factory.mktemp("state")


def ca_line(server: ServerProcess) -> str:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        found = [line for line in server.output if line.startswith("[aimock] trust the CA ")]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("".join(server.output))


def ca_of(server: ServerProcess) -> Path:
    """The CA file the ready lines name."""
    return Path(ca_line(server).removeprefix("[aimock] trust the CA ").split(" (", 1)[0])


def ask(server_url: str, verify: ssl.SSLContext, **options: Any) -> str:
    with httpx.Client(verify=verify, timeout=PATIENCE) as http:
        client = openai.OpenAI(
            base_url=server_url + "/v1", api_key="k", max_retries=0, http_client=http
        )
        reply = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}], **options
        )
        if options.get("stream"):
            return "".join(c.choices[0].delta.content or "" for c in reply if c.choices)  # type: ignore[union-attr]
        return reply.choices[0].message.content or ""  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def made(fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`aimock serve --tls` with a certificate folder of its own."""
    folder = tmp_path_factory.mktemp("made") / "tls"
    with serving("-f", str(fixtures), "--tls", "--tls-dir", str(folder)) as server:
        yield server


# --- aimock serve --tls -------------------------------------------------------------------------


def test_serve_tls_answers_the_openai_sdk_over_https(made: ServerProcess) -> None:
    assert made.url.startswith("https://127.0.0.1:")
    ca = ca_of(made)
    assert ca.name == "ca.crt" and ca.exists()
    context = tls.client_context(ca)
    assert ask(made.url, context) == ANSWER
    assert ask(made.url, context, stream=True) == ANSWER
    second = next(line for line in made.output if line.startswith("[aimock] serving"))
    assert "TLS with a certificate of aimock's local CA" in second
    assert "plain HTTP" not in second


def test_the_made_certificate_covers_the_local_names_and_keeps_its_key_private(
    made: ServerProcess,
) -> None:
    folder = ca_of(made).parent
    cert = x509.load_pem_x509_certificate((folder / "tls.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(name.value) for name in names} == {"localhost", "127.0.0.1", "::1"}
    for private in ("tls.key", "ca.key"):
        assert (folder / private).stat().st_mode & 0o077 == 0
    # Strict verifiers (Python 3.13's default, Go) want the key identifiers.
    cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    ca = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    cert.verify_directly_issued_by(ca)


def test_ssl_cert_file_is_enough_for_a_plain_client(made: ServerProcess) -> None:
    code = (
        "import httpx, openai\n"
        "client = openai.OpenAI(base_url=f'{URL}/v1', api_key='k', max_retries=0)\n"
        f"reply = client.chat.completions.create(model='gpt-4o', messages=[{{'role': 'user', "
        f"'content': {QUESTION!r}}}])\n"
        "print(reply.choices[0].message.content)\n"
        "print(httpx.get(f'{URL}/health').json()['status'])\n"
    ).replace("{URL}", made.url)
    env = {**os.environ, "SSL_CERT_FILE": str(ca_of(made))}
    run = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [*ANSWER.split(), "ok"]
    # Without it the same client refuses the certificate.
    env.pop("SSL_CERT_FILE")
    refused = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr


def test_a_plain_http_request_to_the_tls_port_is_closed_at_once(made: ServerProcess) -> None:
    plain = made.url.replace("https://", "http://")
    started = time.monotonic()
    with pytest.raises(httpx.TransportError):
        httpx.get(plain + "/health", timeout=PATIENCE)
    assert time.monotonic() - started < PATIENCE  # refused, not left to a timeout
    assert ask(made.url, tls.client_context(ca_of(made))) == ANSWER  # still serving


def _address(server: ServerProcess) -> tuple[str, int]:
    host, port = server.url.removeprefix("https://").rsplit(":", 1)
    return host, int(port)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # a ClientHello cut short
        b"\x16\x03\x01\xff\xff" + os.urandom(512),  # a record longer than what follows
        os.urandom(2048),
        b"\x00" * 64,
    ],
    ids=["cut-hello", "long-record", "random", "zeros"],
)
def test_handshake_garbage_is_dropped_and_the_server_keeps_serving(
    made: ServerProcess, garbage: bytes
) -> None:
    with socket.create_connection(_address(made), timeout=PATIENCE) as sock:
        sock.sendall(garbage)
        sock.shutdown(socket.SHUT_WR)
        assert _read_until_closed(sock) is not None
    assert ask(made.url, tls.client_context(ca_of(made))) == ANSWER


def _read_until_closed(sock: socket.socket) -> bytes | None:
    """What the server sends before it closes (a TLS alert at most); None if it never closes
    within PATIENCE (the test then fails)."""
    received = b""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return received
        except TimeoutError:
            continue
        if not chunk:
            return received
        received += chunk
    return None


def test_a_client_that_never_starts_its_handshake_is_dropped(
    fixtures: Path, tmp_path: Path
) -> None:
    with serving(
        "-f", str(fixtures), "--tls", "--tls-dir", str(tmp_path), "--idle-timeout", "1"
    ) as server:
        with socket.create_connection(_address(server), timeout=PATIENCE) as sock:
            started = time.monotonic()
            assert _read_until_closed(sock) is not None
        assert time.monotonic() - started >= 0.5  # waited for the handshake a while


def test_the_made_certificates_are_kept_across_restarts(fixtures: Path, tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    with serving("-f", str(fixtures), "--tls", "--tls-dir", str(folder)) as first:
        assert ca_of(first) == folder / "ca.crt"
    pems = {name: (folder / name).read_bytes() for name in ("ca.crt", "tls.crt", "tls.key")}
    with serving("-f", str(fixtures), "--tls", "--tls-dir", str(folder)) as second:
        assert ask(second.url, tls.client_context(folder / "ca.crt")) == ANSWER
    assert {name: (folder / name).read_bytes() for name in pems} == pems
    # Another name: a new server certificate, signed by the same CA (clients keep trusting).
    with serving(
        "-f", str(fixtures), "--tls", "--tls-dir", str(folder), "--tls-name", "mock.test"
    ) as third:
        assert ask(third.url, tls.client_context(folder / "ca.crt")) == ANSWER
    assert (folder / "ca.crt").read_bytes() == pems["ca.crt"]
    assert (folder / "tls.crt").read_bytes() != pems["tls.crt"]


def test_the_default_folder_is_the_users_state_folder(fixtures: Path, state_home: Path) -> None:
    with serving("-f", str(fixtures), "--tls", env={"XDG_STATE_HOME": str(state_home)}) as server:
        assert ca_of(server) == state_home / "aimock" / "tls" / "ca.crt"
        assert ask(server.url, tls.client_context(ca_of(server))) == ANSWER


@pytest.mark.parametrize(
    "env",
    [{"AIMOCK_LOOP": "asyncio"}, {"AIMOCK_FAST_LANE": "off"}],
    ids=["asyncio-loop", "without-fast-lane"],
)
def test_tls_on_every_loop_and_lane(fixtures: Path, tmp_path: Path, env: dict[str, str]) -> None:
    with serving("-f", str(fixtures), "--tls", "--tls-dir", str(tmp_path), env=env) as server:
        context = tls.client_context(tmp_path / "ca.crt")
        assert ask(server.url, context) == ANSWER
        assert ask(server.url, context, stream=True) == ANSWER
        # The URLs the mock answers with for its own media say https, and serve over it.
        with httpx.Client(verify=context, timeout=PATIENCE) as http:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="k", http_client=http)
            image = client.images.generate(model="dall-e-3", prompt="a lock")
            assert image.data is not None and image.data[0].url is not None
            assert image.data[0].url.startswith(server.url + "/v1/aimock/images/")
            assert http.get(image.data[0].url).content.startswith(b"\x89PNG")


def test_wss_on_the_same_port(made: ServerProcess) -> None:
    """The OpenAI Realtime socket: an upgraded HTTPS request, so WSS as it is."""
    import asyncio

    context = tls.client_context(ca_of(made))

    async def session() -> dict[str, Any]:
        url = made.url.replace("https://", "wss://") + "/v1/realtime?model=gpt-realtime"
        async with websockets.connect(url, ssl=context, open_timeout=PATIENCE) as sock:
            event: dict[str, Any] = json.loads(await sock.recv())
            return event

    assert asyncio.run(session())["type"] == "session.created"


# --- the user's own certificate -----------------------------------------------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A certificate and key of the user's (made by another CA), as PEM files."""
    folder = tmp_path_factory.mktemp("own")
    pems = tls.make_certificates(["127.0.0.1", "localhost"], "someone else's CA")
    files = {}
    for name, pem in pems.items():
        (folder / name).write_bytes(pem)
        files[name] = folder / name
    return files


def test_serve_with_the_users_certificate(fixtures: Path, own: dict[str, Path]) -> None:
    args = ["--tls-cert", str(own["tls.crt"]), "--tls-key", str(own["tls.key"])]
    with serving("-f", str(fixtures), *args) as server:
        assert server.url.startswith("https://")
        assert ask(server.url, tls.client_context(own["ca.crt"])) == ANSWER
        second = next(line for line in server.output if line.startswith("[aimock] serving"))
        assert f"TLS with the certificate {own['tls.crt']}" in second
        assert not any("trust the CA" in line for line in server.output)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aimock", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def _encrypted_key(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    return path


def test_bad_certificate_files_are_clear_errors(own: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    other = tls.make_certificates(["127.0.0.1"], "another CA")
    other_key = tmp_path / "other.key"
    other_key.write_bytes(other["tls.key"])
    cert, key = str(own["tls.crt"]), str(own["tls.key"])
    cases = [
        (["--tls-cert", cert], "--tls-cert and --tls-key go together"),
        (["--tls-key", key], "--tls-cert and --tls-key go together"),
        (["--tls-cert", str(missing), "--tls-key", key], f"--tls-cert {missing}: cannot read"),
        (["--tls-cert", cert, "--tls-key", str(missing)], f"--tls-key {missing}: cannot read"),
        (["--tls-cert", str(garbage), "--tls-key", key], f"{garbage}: no PEM certificate"),
        (["--tls-cert", cert, "--tls-key", str(garbage)], f"{garbage}: no PEM private key"),
        (["--tls-cert", cert, "--tls-key", str(other_key)], "it is not the key of the certificate"),
        (
            ["--tls-cert", cert, "--tls-key", str(_encrypted_key(tmp_path / "locked.key"))],
            "the key is encrypted",
        ),
        (["--no-tls", "--tls-cert", cert, "--tls-key", key], "--no-tls contradicts"),
        (["--tls-cert", cert, "--tls-key", key, "--tls-dir", "x"], "--tls-dir and --tls-name"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stdout == ""


def test_a_tls_folder_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("--tls", "--tls-dir", str(blocker / "tls"))
    assert result.returncode == 2
    assert "cannot write certificates there" in result.stderr
    assert "--tls-dir names another folder" in result.stderr
    assert "Traceback" not in result.stderr


# --- the stack spec -------------------------------------------------------------------------------


def test_a_stack_with_tls_serves_https_unless_no_tls(tmp_path: Path, state_home: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(
        "apiVersion: aimock.dev/v1alpha1\nkind: MockStack\nmetadata: {name: secure}\n"
        "spec:\n  tls: {}\n  fixtures:\n"
        f"    - match: {{userMessage: {QUESTION!r}}}\n      response: {{content: {ANSWER!r}}}\n"
    )
    env = {"XDG_STATE_HOME": str(state_home)}
    with serving("-f", str(stack), env=env) as server:
        assert server.url.startswith("https://")
        assert ask(server.url, tls.client_context(ca_of(server))) == ANSWER
    with serving("-f", str(stack), "--no-tls", env=env) as server:
        assert server.url.startswith("http://")
        assert httpx.get(server.url + "/health", timeout=PATIENCE).status_code == 200


# --- in the test process ------------------------------------------------------------------------


def test_mock_server_with_tls() -> None:
    with MockServer(tls=True) as mock:
        mock.on_message(QUESTION, ANSWER)
        assert mock.url.startswith("https://127.0.0.1:")
        assert mock.base_url == mock.url + "/v1"
        ca = mock.ca_file
        assert ca is not None and ca.exists()
        assert ask(mock.url, mock.ssl_context()) == ANSWER
        with httpx.Client(verify=tls.client_context(ca)) as client:
            assert client.get(mock.url + "/__aimock/journal").status_code == 200
    assert not ca.exists()  # the CA made for this server goes with it


def test_mock_server_with_the_users_certificate(own: dict[str, Path]) -> None:
    options = TLSOptions(cert=own["tls.crt"], key=own["tls.key"])
    with MockServer(tls=options) as mock:
        mock.on_message(QUESTION, ANSWER)
        assert mock.ca_file is None
        assert ask(mock.url, tls.client_context(own["ca.crt"])) == ANSWER


def test_mock_server_plain_by_default_and_no_context_then() -> None:
    with MockServer() as mock:
        assert mock.url.startswith("http://") and mock.ca_file is None
        with pytest.raises(RuntimeError, match="plain HTTP"):
            mock.ssl_context()


def test_the_pytest_plugin_serves_tls_when_asked(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naimock_tls = true\n")
    pytester.makepyfile(
        """
        import httpx

        def test_secure(aimock):
            assert aimock.url.startswith("https://")
            with httpx.Client(verify=aimock.ssl_context()) as client:
                assert client.get(aimock.url + "/health").json()["status"] == "ok"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


# --- certificates -------------------------------------------------------------------------------


def test_a_certificate_near_its_end_is_made_anew_under_the_same_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls, "VALIDITY", datetime.timedelta(days=10))  # inside RENEW_BEFORE
    first = tls.ensure_certificates(tmp_path, ["localhost"])
    ca, cert = first.ca.read_bytes(), first.cert.read_bytes()
    again = tls.ensure_certificates(tmp_path, ["localhost"])
    assert again.ca.read_bytes() == ca
    assert again.cert.read_bytes() != cert


def test_a_folder_of_provided_certificates_is_used_as_it_is(
    tmp_path: Path, own: dict[str, Path]
) -> None:
    for path in own.values():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    certs = tls.ensure_certificates(tmp_path, ["elsewhere.example"])
    assert certs.cert.read_bytes() == own["tls.crt"].read_bytes()
    assert not (tmp_path / "ca.key").exists()
