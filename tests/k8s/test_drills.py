"""Chaos drills compose in the cluster whatever their names (issue 14).

The example's zero-rate drill `checkout-drill` is in force; a second drill with dropRate 1.0
for openai.chat is applied under a name sorting before it and one sorting after. Once the
operator serves both, the stack's ConfigMap files are run here by a real `aimock serve`
(kwok's pods run nothing), and every chat request through the official `openai` SDK must be
dropped by the 1.0 drill: each policy that applies draws, so the zero-rate one never hides it.
The local counterpart is tests/sdk/test_chaos_modes.py::test_every_policy_that_applies_takes_part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import serving
from tests.k8s.operator_run import Operator
from tests.k8s.plane import ControlPlane, wait_until
from tests.k8s.test_operator import (
    WAIT,
    apply,
    condition,
    config_files,
    example,
    ready_example,
    settled_example,
    wait_for,
)

CALM = "checkout-drill"  # the example's drill: every rate 0
REQUESTS = 20


def names_both(body: dict[str, Any], wild: str) -> bool:
    active = condition(body, "ChaosActive")
    message = active.get("message", "")
    return active.get("status") == "True" and CALM in message and wild in message


@pytest.mark.parametrize("wild", ["a-drill", "z-drill"])  # sorts before, after checkout-drill
def test_drills_compose_whatever_their_names(
    plane: ControlPlane,
    namespace: str,
    operator: Operator,
    *,  # fixtures all; keyword-only keeps the positional count within the lint's limit
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    wild: str,
) -> None:
    wanted = {f"20-chaospolicy-{CALM}.yaml", f"20-chaospolicy-{wild}.yaml"}
    ready_example(plane, namespace, capsys)
    settled_example(plane, namespace)
    drill = example("ChaosPolicy")
    assert drill["metadata"]["name"] == CALM
    drill["metadata"]["name"] = wild
    drill["spec"].update(dropRate=1.0)
    assert drill["spec"]["match"] == {"surface": "openai.chat"}
    apply(plane, namespace, drill)
    wait_until(
        lambda: wanted <= config_files(plane, namespace).keys(),
        timeout=WAIT,
        interval=0.05,
        what="both drills in the ConfigMap",
    )
    wait_for(
        plane,
        namespace,
        "mockstack/preview",
        lambda body: names_both(body, wild),
        "ChaosActive naming both drills",
    )
    files = config_files(plane, namespace)
    assert {name for name in files if name.startswith("20-chaospolicy-")} == wanted

    folder = tmp_path / "config"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    with (
        serving("-f", str(folder)) as server,
        openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):
        for _ in range(REQUESTS):
            with pytest.raises(openai.InternalServerError) as raised:
                client.chat.completions.create(
                    model="gpt-4o",
                    messages=[{"role": "user", "content": "where is my order"}],
                )
            assert raised.value.status_code == 500
        journal = server.journal()
    assert len(journal) == REQUESTS
    seen = set()
    for entry in journal:
        response = entry["response"]
        assert isinstance(response, dict), entry
        seen.add((response["status"], response.get("chaosAction"), response.get("chaosPolicy")))
    assert seen == {(500, "drop", wild)}  # the 1.0 drill drew every drop, never checkout-drill
