"""Chaos: where rates come from, what each action looks like on the wire, chaos policies."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from aimock import chaos
from aimock.models.fixture import ChaosRates
from tests.server.conftest import ClientFactory, answer, chat, state_of, user

FIXTURES = """
fixtures:
  - match: {userMessage: plain}
    response: {content: calm}
  - match: {userMessage: exempt}
    response: {content: exempt}
    chaos: {dropRate: 0}
  - match: {userMessage: fragile}
    response: {content: fragile}
    chaos: {malformedRate: 1}
"""

DROP = {"x-aimock-chaos-drop": "1"}
MALFORMED = {"x-aimock-chaos-malformed": "1"}
DISCONNECT = {"x-aimock-chaos-disconnect": "1"}


async def post_raw(
    client: TestClient[Any, Any], text: str, headers: dict[str, str], **extra: Any
) -> tuple[int, bytes, str]:
    body = {"model": "gpt-4o", "messages": [user(text)], **extra}
    response = await client.post("/v1/chat/completions", json=body, headers=headers)
    return response.status, await response.read(), response.headers.get("Content-Type", "")


# --- actions -------------------------------------------------------------------------------


async def test_drop_answers_500_in_the_openai_envelope(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    status, body = await chat(client, "plain", headers=DROP)
    assert status == 500
    assert body == {
        "error": {
            "message": "Chaos: request dropped",
            "type": "server_error",
            "param": None,
            "code": "chaos_drop",
        }
    }


@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_answers_200_with_broken_json(
    make_client: ClientFactory, stream: bool
) -> None:
    client = await make_client(FIXTURES)
    status, raw, content_type = await post_raw(client, "plain", MALFORMED, stream=stream)
    assert status == 200
    assert raw == b"{malformed json: <<<chaos>>>"
    assert content_type.startswith("application/json")


async def test_disconnect_closes_the_connection_without_a_response(
    make_client: ClientFactory,
) -> None:
    client = await make_client(FIXTURES)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post_raw(client, "plain", DISCONNECT)
    [entry] = state_of(client).journal
    assert entry.status == 0
    assert entry.to_json()["response"]["chaosAction"] == "disconnect"
    # The server is fine afterwards.
    assert await answer(client, "plain") == "calm"


async def test_the_journal_records_the_chaos_action(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    await chat(client, "plain", headers=DROP)
    await post_raw(client, "plain", MALFORMED)
    await chat(client, "plain")
    actions = [e.to_json()["response"].get("chaosAction") for e in state_of(client).journal]
    assert actions == ["drop", "malformed", None]
    statuses = [e.status for e in state_of(client).journal]
    assert statuses == [500, 200, 200]


async def test_chaos_fires_on_a_miss_too(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    status, body = await chat(client, "no fixture for this", headers=DROP)
    assert (status, body["error"]["code"]) == (500, "chaos_drop")


# --- precedence: header > fixture > policy > server ----------------------------------------


async def test_fixture_rates_apply(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    status, raw, _ = await post_raw(client, "fragile", {})
    assert (status, raw) == (200, b"{malformed json: <<<chaos>>>")


async def test_a_header_overrides_the_fixture(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    assert await answer(client, "fragile", headers={"x-aimock-chaos-malformed": "0"}) == "fragile"
    # Out of range is clamped, not an error; NaN and junk are ignored.
    status, _ = await chat(client, "plain", headers={"x-aimock-chaos-drop": "7"})
    assert status == 500
    assert await answer(client, "plain", headers={"x-aimock-chaos-drop": "nan"}) == "calm"
    assert await answer(client, "plain", headers={"x-aimock-chaos-drop": "lots"}) == "calm"


async def test_the_server_rate_applies_unless_a_fixture_or_header_says_otherwise(
    make_client: ClientFactory,
) -> None:
    client = await make_client(FIXTURES, chaos=ChaosRates(drop_rate=1))
    status, _ = await chat(client, "plain")
    assert status == 500
    # The fixture's explicit dropRate: 0 exempts it from the server's rate.
    assert await answer(client, "exempt") == "exempt"
    # A fixture that sets only malformedRate keeps the server's drop rate (drop is drawn first).
    status, _ = await chat(client, "fragile")
    assert status == 500
    # A header wins over the server.
    assert await answer(client, "plain", headers={"x-aimock-chaos-drop": "0"}) == "calm"


# --- chaos policies ------------------------------------------------------------------------

POLICY = """
fixtures:
  - match: {userMessage: plain}
    response: {content: calm}
---
apiVersion: aimock.dev/v1alpha1
kind: ChaosPolicy
metadata: {name: drill}
spec:
  dropRate: %(rate)s
  seed: 1234
  match: %(match)s
"""


def policy(rate: float = 1, match: str = "{surface: openai.chat}") -> str:
    return POLICY % {"rate": rate, "match": match}


async def test_a_policy_applies_to_what_its_match_selects(make_client: ClientFactory) -> None:
    client = await make_client(policy(match="{surface: openai.chat, model: gpt-4o}"))
    status, _ = await chat(client, "plain")
    assert status == 500
    assert await answer(client, "plain", model="gpt-4o-mini") == "calm"
    embeddings = await client.post("/v1/embeddings", json={"model": "gpt-4o", "input": "x"})
    assert embeddings.status == 200


async def test_a_policy_yields_to_the_fixture_and_header(make_client: ClientFactory) -> None:
    text = policy().replace(
        "response: {content: calm}", "response: {content: calm}\n    chaos: {dropRate: 0}"
    )
    client = await make_client(text)
    assert await answer(client, "plain") == "calm"
    client = await make_client(policy())
    assert await answer(client, "plain", headers={"x-aimock-chaos-drop": "0"}) == "calm"


async def outcomes(client: TestClient[Any, Any], count: int) -> list[int]:
    return [(await chat(client, "plain"))[0] for _ in range(count)]


async def test_a_seeded_policy_replays_the_same_faults(make_client: ClientFactory) -> None:
    first = await outcomes(await make_client(policy(rate=0.5)), 30)
    second = await outcomes(await make_client(policy(rate=0.5)), 30)
    assert first == second
    assert set(first) == {200, 500}


async def test_reloading_an_unchanged_policy_continues_its_draws(
    make_client: ClientFactory,
) -> None:
    expected = await outcomes(await make_client(policy(rate=0.5)), 30)
    client = await make_client(policy(rate=0.5))
    got = await outcomes(client, 15)
    added = await client.post(
        "/__aimock/fixtures",
        json={"fixtures": [{"match": {"userMessage": "other"}, "response": {"content": "x"}}]},
    )
    assert added.status == 200
    got += await outcomes(client, 15)
    assert got == expected


async def test_a_policy_ends_after_its_duration(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(chaos, "clock", lambda: clock[0])
    client = await make_client(policy().replace("seed: 1234", "seed: 1\n  durationSeconds: 60"))
    clock[0] += 59
    assert (await chat(client, "plain"))[0] == 500
    # A reload does not restart the drill's clock.
    assert (await client.post("/__aimock/reload")).status == 200
    clock[0] += 1
    assert await answer(client, "plain") == "calm"


def test_policy_matching_is_pure() -> None:
    from aimock.models.stack import ChaosPolicyManifest

    manifest = ChaosPolicyManifest.model_validate(
        {
            "apiVersion": "aimock.dev/v1alpha1",
            "kind": "ChaosPolicy",
            "metadata": {"name": "p"},
            "spec": {"disconnectRate": 1, "match": {"provider": "openai"}},
        }
    )
    [active] = chaos.activate([manifest])
    rates = {"fixture_rates": None, "server_rates": None, "policies": [active], "rng": active.rng}
    hit = chaos.roll({}, "openai.chat", "openai", "m", **rates)  # type: ignore[arg-type]
    assert hit is not None and (hit.action, hit.policy) == ("disconnect", "p")
    assert chaos.roll({}, "x.chat", "anthropic", "m", **rates) is None  # type: ignore[arg-type]
