"""examples/gitops: a kustomize base and one overlay per environment (issue 19).

Every YAML there is either a Kustomization or a manifest the server loads and the operator
accepts, and every manifest is listed by a kustomization. Each overlay goes onto the test plane
as a GitOps tool would put it there, `kubectl apply -k` (the plane's kubectl has kustomize
built in), and its MockStack becomes Ready serving its environment's Fixtures and no other's;
staging's chaos drill is in force. The served config then answers through a real `aimock serve`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from aimock.fixtures.loading import load_paths
from aimock_operator import validation
from tests.conftest import serving
from tests.k8s.operator_run import Operator
from tests.k8s.plane import ControlPlane, wait_until
from tests.k8s.test_operator import WAIT, condition, config_files, is_ready, report, wait_for

ROOT = Path(__file__).resolve().parents[2]
GITOPS = ROOT / "examples" / "gitops"
KUSTOMIZATION = "kustomization.yaml"
STACK = "checkout"
VALIDATORS = {
    "MockStack": validation.validate_mockstack,
    "Fixture": validation.validate_fixture,
    "ChaosPolicy": validation.validate_chaospolicy,
}
# What each overlay adds to the base, and a question only its own Fixtures answer.
OVERLAYS: dict[str, dict[str, Any]] = {
    "preview": {
        "fixtures": {"checkout-preview"},
        "drills": set(),
        "ask": ("What is my gift card balance?", "Your gift card balance is 25.00 EUR."),
    },
    "staging": {
        "fixtures": {"checkout-staging"},
        "drills": {"checkout-staging-drill"},
        "ask": ("Where is order STG-1001?", "Order STG-1001 is packed and ships today."),
    },
}
SHARED = {"checkout-faq", "checkout-failures"}
NO_CHAOS = {"x-aimock-chaos-drop": "0", "x-aimock-chaos-malformed": "0"}
YAMLS = sorted(GITOPS.rglob("*.yaml"))


def kustomization(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((folder / KUSTOMIZATION).read_text())
    return loaded


def test_the_layout_is_a_base_and_one_overlay_per_environment() -> None:
    assert (GITOPS / "base" / KUSTOMIZATION).is_file()
    overlays = sorted(p.name for p in (GITOPS / "overlays").iterdir() if p.is_dir())
    assert overlays == sorted(OVERLAYS)
    for name in overlays:
        assert "../../base" in kustomization(GITOPS / "overlays" / name)["resources"]
    assert not list(GITOPS.glob("*.yaml")), "manifests belong in base/ or an overlay"


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: str(p.relative_to(GITOPS)))
def test_every_yaml_is_a_kustomization_or_a_valid_manifest(path: Path) -> None:
    if path.name == KUSTOMIZATION:
        body = kustomization(path.parent)
        assert body["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
        assert body["kind"] == "Kustomization"
        assert "namespace" not in body, "the GitOps tool (or `kubectl -n`) picks the namespace"
        for resource in body["resources"]:
            assert (path.parent / resource).exists(), resource
        return
    loaded = load_paths([path])  # raises LoadError naming the field
    assert loaded.fixtures or loaded.chaos_policies, f"{path} holds nothing to serve"
    for document in yaml.safe_load_all(path.read_text()):
        body = {**document, "metadata": {"namespace": "gitops", **document["metadata"]}}
        assert VALIDATORS[document["kind"]](body) == [], path
    listed = kustomization(path.parent)["resources"]
    assert path.name in listed, f"{path} is in no kustomization"


@pytest.mark.parametrize("env", sorted(OVERLAYS))
def test_an_overlay_applied_with_kubectl_k_becomes_ready(
    plane: ControlPlane,
    namespace: str,
    operator: Operator,
    *,  # fixtures all; keyword-only keeps the positional count within the lint's limit
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    env: str,
) -> None:
    wanted = OVERLAYS[env]
    drills: set[str] = wanted["drills"]
    others: set[str] = set().union(*(o["fixtures"] for e, o in OVERLAYS.items() if e != env))
    fixtures: set[str] = SHARED | wanted["fixtures"]
    started = time.monotonic()
    out = plane.kubectl("apply", "-n", namespace, "-k", str(GITOPS / "overlays" / env))
    applied = {line.split()[0] for line in out.splitlines()}
    assert applied == {
        f"mockstack.aimock.dev/{STACK}",
        *(f"fixture.aimock.dev/{name}" for name in fixtures),
        *(f"chaospolicy.aimock.dev/{name}" for name in drills),
    }, out
    stack = wait_for(plane, namespace, f"mockstack/{STACK}", is_ready, "MockStack Ready")
    report(
        capsys, f"kubectl apply -k overlays/{env} -> MockStack Ready", time.monotonic() - started
    )
    assert stack["metadata"]["labels"] == {"app": "checkout", "env": env}

    files: dict[str, str] = {}

    def served() -> bool:
        files.clear()
        files.update(config_files(plane, namespace, STACK))
        names = {str(yaml.safe_load(text)["metadata"]["name"]) for text in files.values() if text}
        return fixtures | drills <= names

    wait_until(served, timeout=WAIT, interval=0.05, what=f"{env}'s Fixtures in the config")
    texts = "\n".join(files.values())
    assert not any(name in texts for name in others), f"another environment's Fixture: {files}"
    for drill in drills:

        def naming(body: dict[str, Any], drill: str = drill) -> bool:
            return drill in condition(body, "ChaosActive").get("message", "")

        wait_for(plane, namespace, f"mockstack/{STACK}", naming, "ChaosActive naming the drill")
    report(capsys, f"overlays/{env}: all served", time.monotonic() - started)

    folder = tmp_path / "config"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    question, answer = wanted["ask"]
    with (
        serving("-f", str(folder)) as server,
        openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):

        def ask(text: str) -> str | None:
            reply = client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": text}],
                extra_headers=NO_CHAOS,
            )
            return reply.choices[0].message.content

        assert ask(question) == answer
        assert ask("Can I return my shoes?") == (
            "You can return any item within 30 days for a full refund."
        )
        assert ask("are you there") == "Yes, the checkout stack is up."
        for other_env, other in OVERLAYS.items():
            if other_env != env:
                with pytest.raises(openai.InternalServerError) as missed:  # strict: true
                    ask(other["ask"][0])
                assert missed.value.status_code == 503
