"""Chaos: faults drawn per request, an added delay, and runtime overrides per test.

Actions, drawn in this order, each an independent draw; the first hit wins:
drop (500), malformed (a broken JSON body), ratelimit (429 with Retry-After), disconnect (the
socket is dropped), then ours: overloaded (529 on Anthropic's wire, 503 elsewhere), stall
(nothing is answered until the client gives up), truncate (an answer cut halfway). AIMock's
four come first, in AIMock's order, so a seed draws the same sequence for them.

Where a rate comes from, per action: the request header (`x-aimock-chaos-<action>`), else the
matched fixture's `chaos` (a key it sets, even to 0), else every chaos policy that applies
and sets that rate (each draws on its own generator: p = 1 - (1-p1)(1-p2)...), else the
server's rates (the runtime override for the request's test id, when one is set, instead of
the server baseline). The delay (`latencyMs`, header `x-aimock-chaos-latency`) takes the same
precedence, the policies' largest. A policy with a seed draws from its own generator, so a
drill replays the same faults; reloading an unchanged policy keeps its generator and its end.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aimock.models.fixture import MAX_CHAOS_LATENCY_MS, ChaosRates
from aimock.models.stack import ChaosPolicyManifest

Action = Literal["drop", "malformed", "ratelimit", "disconnect", "overloaded", "stall", "truncate"]
ACTIONS: tuple[Action, ...] = (
    "drop",
    "malformed",
    "ratelimit",
    "disconnect",
    "overloaded",
    "stall",
    "truncate",
)
RATE_FIELDS: Mapping[Action, str] = {
    "drop": "drop_rate",
    "malformed": "malformed_rate",
    "ratelimit": "rate_limit_rate",
    "disconnect": "disconnect_rate",
    "overloaded": "overloaded_rate",
    "stall": "stall_rate",
    "truncate": "truncate_rate",
}
HEADERS = (*(f"x-aimock-chaos-{action}" for action in ACTIONS), "x-aimock-chaos-latency")
MALFORMED_BODY = b"{malformed json: <<<chaos>>>"
# The clock a policy's duration runs on. A variable, so a test can set it: this module is
# compiled (aimock.native), and compiled code does not see a patched `time` module.
clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True, slots=True)
class Strike:
    """What chaos does to one request: an action (or none), a delay, and where it came from."""

    action: Action | None
    latency_ms: float = 0.0
    policy: str | None = None  # the ChaosPolicy whose draw hit
    seed: int | None = None  # the seed of the generator that drew it, if seeded


@dataclass
class ActivePolicy:
    name: str
    key: str  # the policy as loaded; an unchanged policy survives a reload as it is
    rates: ChaosRates
    surface: str | None
    provider: str | None
    model: str | None
    expires_at: float | None  # monotonic seconds
    rng: random.Random
    seed: int | None

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
    now = clock()
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
                rates=spec,
                surface=match.surface if match else None,
                provider=match.provider if match else None,
                model=match.model if match else None,
                expires_at=now + spec.duration_seconds if spec.duration_seconds else None,
                rng=random.Random(spec.seed),
                seed=spec.seed,
            )
        )
    return active


def _header_number(headers: Mapping[str, str], name: str, high: float | None) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if math.isnan(value):
        return None
    return max(0.0, value if high is None else min(high, value))


def _given(rates: ChaosRates | None, field: str) -> float | None:
    # Only the keys a fixture sets count: `chaos: {malformedRate: 1}` leaves the server's
    # drop rate in force, while `dropRate: 0` exempts the fixture from it.
    if rates is None or field not in rates.model_fields_set:
        return None
    value: float = getattr(rates, field)
    return value


def quiet(
    headers: Mapping[str, str],
    fixture_rates: ChaosRates | None,
    server_rates: ChaosRates | None,
    policies: Sequence[ActivePolicy],
) -> bool:
    """Whether nothing could strike: no rates, no policy, no chaos header."""
    return (
        fixture_rates is None
        and server_rates is None
        and not policies
        and headers.keys().isdisjoint(HEADERS)
    )


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
    seed: int | None = None,
    actions: Sequence[Action] = ACTIONS,
) -> Strike | None:
    """What chaos does to a request to `surface`/`provider`/`model`; None when nothing.
    `rng` and `seed` are the server's generator and its seed; `actions` those the route can
    take (a route that cannot cut its answer halfway leaves out truncate)."""
    if quiet(headers, fixture_rates, server_rates, policies):
        return None  # the common case: nothing could strike
    now = clock() if policies else 0.0
    applying = [p for p in policies if p.applies_to(surface, provider, model, now)]
    latency = _latency(headers, fixture_rates, server_rates, applying)
    for action in actions:
        field = RATE_FIELDS[action]
        draws: list[tuple[float, random.Random, str | None, int | None]] = []
        rate = _header_number(headers, f"x-aimock-chaos-{action}", 1.0)
        if rate is None:
            rate = _given(fixture_rates, field)
        if rate is not None:
            draws = [(rate, rng, None, seed)]
        else:
            draws = [(r, p.rng, p.name, p.seed) for p in applying if (r := getattr(p.rates, field))]
            if not draws and server_rates is not None:
                draws = [(getattr(server_rates, field), rng, None, seed)]
        for chance, source, policy, drawn_seed in draws:
            if chance and source.random() < chance:
                return Strike(action, latency, policy, drawn_seed)
    return Strike(None, latency) if latency else None


def _latency(
    headers: Mapping[str, str],
    fixture_rates: ChaosRates | None,
    server_rates: ChaosRates | None,
    applying: Sequence[ActivePolicy],
) -> float:
    latency = _header_number(headers, "x-aimock-chaos-latency", MAX_CHAOS_LATENCY_MS)
    if latency is None:
        latency = _given(fixture_rates, "latency_ms")
    if latency is None:
        latency = max((p.rates.latency_ms for p in applying), default=0.0) or None
    if latency is None and server_rates is not None:
        latency = server_rates.latency_ms
    return latency or 0.0
