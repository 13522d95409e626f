"""Recording in a cluster, end to end on the real control plane.

examples/recording/ is applied as a user would (the ServiceAccount, its Role, the MockStack);
the operator renders the Deployment. The pod's server is then run here, on this host, with the
container's own arguments and the ServiceAccount's token as its only credential (kwok's pods
run nothing): the Role is exactly what the server may do. A miss recorded through the OpenAI
SDK becomes a Fixture the stack then serves, and `aimock recordings pull` writes it as a file
that replays with `--strict`, no upstream left.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from openai import OpenAI

from aimock.recording.cluster import RECORDED_BY
from tests.conftest import start_server
from tests.k8s.plane import ControlPlane
from tests.k8s.test_operator import read, running_operator, wait_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "recording"
PULL = [sys.executable, "-m", "aimock", "recordings", "pull"]
UPSTREAM = ROOT / "tests" / "sdk" / "fixtures" / "record_upstream.yaml"


def token_kubeconfig(plane: ControlPlane, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig whose only credential is the ServiceAccount's token."""
    token = plane.kubectl("create", "token", account, "-n", namespace, "--duration=1h").strip()
    config = yaml.safe_load(plane.kubeconfig.read_text())
    config["users"] = [{"name": account, "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = account
    path.write_text(yaml.safe_dump(config))
    return path


def pod_args(container: dict[str, Any], config: Path, upstream: str) -> list[str]:
    """The container's arguments, run on this host: the config folder, loopback, a free port
    (start_server adds it) and every provider pointed at the local upstream."""
    out: list[str] = []
    given = iter(container["args"])
    for arg in given:
        if arg in ("--host", "--port", "-f") or arg.startswith("--provider-"):
            value = next(given)
            if arg == "-f":
                out += [arg, str(config)]
            elif arg.startswith("--provider-"):
                out += [arg, upstream]
            del value
        elif arg != "serve":
            out.append(arg)
    return out


def test_a_recording_becomes_a_fixture_the_stack_serves_and_pull_writes_it(
    plane: ControlPlane,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE / "rbac.yaml"))
    upstream = start_server(["-f", str(UPSTREAM)])
    recorder = None
    try:
        with running_operator(plane, namespace, monkeypatch):
            plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE / "stack.yaml"))
            deployment = wait_for(
                plane, namespace, "deployment/recorder", lambda d: True, "the Deployment"
            )
            pod = deployment["spec"]["template"]["spec"]
            assert pod["serviceAccountName"] == "aimock-recorder"
            [container] = pod["containers"]
            assert f"{namespace}/recorder" in container["args"]

            config = tmp_path / "config"
            config.mkdir()
            (config / "stack.yaml").write_text((EXAMPLE / "stack.yaml").read_text())
            kubeconfig = token_kubeconfig(
                plane, namespace, "aimock-recorder", tmp_path / "recorder.kubeconfig"
            )
            recorder = start_server(
                pod_args(container, config, upstream.url), env={"KUBECONFIG": str(kubeconfig)}
            )
            with OpenAI(
                base_url=recorder.base_url,
                api_key="sk-test",
                default_headers={"X-Test-Id": "checkout/1"},
            ) as client:
                for text in ("rr-hello", "rr-weather"):
                    answer = client.chat.completions.create(
                        model="gpt-4o", messages=[{"role": "user", "content": text}]
                    )
            assert answer.choices[0].message.content == "Sunny and 18 degrees."
            # Both recordings of one test id in one Fixture, labelled for the stack.
            name = "rec-recorder-openai-checkout-1"
            fixture = read(plane, namespace, "fixture", name)
            assert fixture is not None, recorder.output
            assert fixture["metadata"]["labels"] == {"app": "checkout", RECORDED_BY: "recorder"}
            assert len(fixture["spec"]["fixtures"]) == 2
            # The stack's selector chooses it: the operator serves it from the config.
            wait_for(
                plane,
                namespace,
                "mockstack/recorder",
                lambda s: name in (s.get("status") or {}).get("selectedFixtures", []),
                "the stack to serve the recording",
            )
    finally:
        if recorder is not None:
            recorder.stop()
        upstream.stop()
    pulled = tmp_path / "pulled"
    done = subprocess.run(
        [*PULL, "--stack", "recorder", "-n", namespace, "-o", str(pulled)],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(plane.kubeconfig)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 Fixture(s) recorded by" in done.stdout
    [manifest] = pulled.glob("*.yaml")
    assert RECORDED_BY not in manifest.read_text()
    assert "sk-test" not in manifest.read_text()
    replay = start_server(["-f", str(pulled), "--strict"])
    try:
        with OpenAI(base_url=replay.base_url, api_key="k", max_retries=0) as client:
            again = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "rr-hello"}]
            )
    finally:
        replay.stop()
    assert again.choices[0].message.content == "Hello from the real provider."


def test_the_recorder_role_allows_fixtures_and_nothing_else(
    plane: ControlPlane,
    namespace: str,
) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE / "rbac.yaml"))
    user = f"system:serviceaccount:{namespace}:aimock-recorder"

    def can(*check: str) -> bool:
        answer = plane.kubectl("auth", "can-i", *check, "-n", namespace, "--as", user, check=False)
        return answer.strip() == "yes"

    assert can("create", "fixtures.aimock.dev")
    assert can("update", "fixtures.aimock.dev")
    for refused in (
        ("delete", "fixtures.aimock.dev"),
        ("patch", "mockstacks.aimock.dev"),
        ("get", "secrets"),
        ("create", "pods"),
        ("list", "configmaps"),
    ):
        assert not can(*refused), refused
