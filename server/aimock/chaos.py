"""Chaos: drop, malformed body, disconnect, drawn once per request after matching.

Rates come from, per key, the request header (`x-aimock-chaos-drop|malformed|disconnect`),
else the fixture (a key it sets, even to 0), else active chaos policies, else the server. Draws
are independent and in that order; the first hit wins. A policy with a seed draws from its own
generator, so a drill replays the same sequence of faults; reloading an unchanged policy keeps
its generator and its end time, so a reload neither replays nor prolongs a drill.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aimock.models.fixture import ChaosRates
from aimock.models.stack import ChaosPolicyManifest

Action = Literal["drop", "malformed", "disconnect"]
ACTIONS: tuple[Action, ...] = ("drop", "malformed", "disconnect")
HEADERS = tuple(f"x-aimock-chaos-{action}" for action in ACTIONS)
MALFORMED_BODY = b"{malformed json: <<<chaos>>>"


@dataclass
class ActivePolicy:
    name: str
    key: str  # the policy as loaded; an unchanged policy survives a reload as it is
    rates: tuple[float, float, float]
    surface: str | None
    provider: str | None
    model: str | None
    expires_at: float | None  # monotonic seconds
    rng: random.Random

    def applies_to(self, surface: str, provider: str, model: str, now: float) -> bool:
        if self.expires_at is not None and now >= self.expires_at:
            return False
        return (
            (self.surface is None or self.surface == surface)
            and (self.provider is None or self.provider == provider)
            and (self.model is None or self.model == model)
        )


def activate(
    policies: Sequence[ChaosPolicyManifest], running: Sequence[ActivePolicy] = ()
) -> list[ActivePolicy]:
    """Policies to apply; one already `running` unchanged is kept, draws and clock included."""
    now = time.monotonic()
    previous = {p.key: p for p in running}
    active = []
    for policy in policies:
        key = policy.model_dump_json()
        if key in previous:
            active.append(previous.pop(key))
            continue
        spec = policy.spec
        match = spec.match
        active.append(
            ActivePolicy(
                name=policy.metadata.name,
                key=key,
                rates=(spec.drop_rate, spec.malformed_rate, spec.disconnect_rate),
                surface=match.surface if match else None,
                provider=match.provider if match else None,
                model=match.model if match else None,
                expires_at=now + spec.duration_seconds if spec.duration_seconds else None,
                rng=random.Random(spec.seed),
            )
        )
    return active


def _header_rate(headers: Mapping[str, str], action: Action) -> float | None:
    raw = headers.get(f"x-aimock-chaos-{action}")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if math.isnan(value):
        return None
    return min(1.0, max(0.0, value))


def _fixture_rates(rates: ChaosRates | None) -> tuple[float | None, ...]:
    # Only the keys a fixture sets count: `chaos: {malformedRate: 1}` leaves the server's
    # drop rate in force, while `dropRate: 0` exempts the fixture from it.
    if rates is None:
        return (None, None, None)
    given = rates.model_fields_set
    return tuple(
        getattr(rates, name) if name in given else None
        for name in ("drop_rate", "malformed_rate", "disconnect_rate")
    )


def _rates(rates: ChaosRates | None) -> tuple[float, float, float] | None:
    if rates is None:
        return None
    return (rates.drop_rate, rates.malformed_rate, rates.disconnect_rate)


def roll(
    headers: Mapping[str, str],
    surface: str,
    provider: str,
    model: str,
    *,
    fixture_rates: ChaosRates | None,
    server_rates: ChaosRates | None,
    policies: Sequence[ActivePolicy],
    rng: random.Random,
) -> Action | None:
    """The chaos action for a request to `surface`/`provider`/`model`, if any strikes."""
    quiet = fixture_rates is None and server_rates is None and not policies
    if quiet and headers.keys().isdisjoint(HEADERS):
        return None  # the common case: nothing could strike
    fixture = _fixture_rates(fixture_rates)
    server = _rates(server_rates)
    now = time.monotonic() if policies else 0.0
    policy = next((p for p in policies if p.applies_to(surface, provider, model, now)), None)
    for i, action in enumerate(ACTIONS):
        rate = _header_rate(headers, action)
        source_rng = rng
        if rate is None:
            rate = fixture[i]
        if rate is None and policy is not None and policy.rates[i]:
            rate, source_rng = policy.rates[i], policy.rng
        if rate is None and server is not None:
            rate = server[i]
        if rate and source_rng.random() < rate:
            return action
    return None
