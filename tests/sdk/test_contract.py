"""One fixture set, every provider: the contract of issue 5.

Each adapter (tests/sdk/contract/adapters/) drives one provider's official SDK against the same
server and the same fixtures (tests/sdk/fixtures/contract.yaml, which name no surface). The
matrix is adapter x feature x {plain, stream}; an adapter lists the features its provider has,
and `test_every_chat_surface_has_an_adapter` fails when a registry surface has no adapter.
"""

from __future__ import annotations

import json

import pytest

from aimock.providers.registry import PROVIDERS
from tests.conftest import ServerProcess
from tests.sdk.contract import base
from tests.sdk.contract.base import Adapter, Feature
from tests.sdk.contract.discovery import all_adapters

ADAPTERS = all_adapters()


def _cases() -> list[object]:
    cases = []
    for adapter in ADAPTERS:
        for feature in base.FEATURES:
            if feature not in adapter.features:
                continue
            for stream in (False, True) if adapter.streams else (False,):
                mode = "stream" if stream else "plain"
                cases.append(
                    pytest.param(adapter, feature, stream, id=f"{adapter.name}-{feature}-{mode}")
                )
    return cases


@pytest.mark.parametrize(("adapter", "feature", "stream"), _cases())
def test_contract(
    adapter: Adapter, feature: Feature, stream: bool, sdk_server: ServerProcess
) -> None:
    if feature == "error":
        for prompt, status in ((base.PROMPTS["error"], 429), (base.UNAVAILABLE, 503)):
            with pytest.raises(Exception) as caught:
                adapter.ask(sdk_server.url, feature, prompt, stream=stream)
            assert adapter.status_of(caught.value) == status, repr(caught.value)
        return

    outcome = adapter.ask(sdk_server.url, feature, base.PROMPTS[feature], stream=stream)

    if feature == "text":
        assert outcome.text == base.TEXT
        assert outcome.tool_calls == []
    elif feature == "tool_call":
        assert outcome.tool_calls == [(base.TOOL_NAME, base.TOOL_ARGUMENTS)]
        assert outcome.text == ""
    elif feature == "tool_result":
        assert outcome.text == base.AFTER_TOOL
        assert outcome.tool_calls == []
    elif feature == "thinking":
        assert outcome.thinking == base.THINKING
        assert outcome.text == base.THOUGHT_ANSWER
    elif feature == "structured":
        assert json.loads(outcome.text) == base.STRUCTURED

    if stream and feature in ("text", "tool_result", "structured"):
        assert len(outcome.pieces) > 1, "a streamed answer arrives in several pieces"
        assert "".join(outcome.pieces) == outcome.text


def test_every_chat_surface_has_an_adapter() -> None:
    covered = {surface for adapter in ADAPTERS for surface in adapter.surfaces}
    chat_surfaces = {
        surface.name
        for provider in PROVIDERS
        for surface in provider.surfaces
        if surface.endpoint == "chat"
    }
    assert chat_surfaces - covered == set(), "add an adapter under tests/sdk/contract/adapters"


def test_adapters_name_real_surfaces() -> None:
    known = {surface.name for provider in PROVIDERS for surface in provider.surfaces}
    for adapter in ADAPTERS:
        assert set(adapter.surfaces) <= known, adapter.name
