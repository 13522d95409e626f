"""ChaosPolicy: which stacks it selects, whether it is in force, and its status.

A drill starts when the operator first sees a generation of the policy (status.startedAt) and
ends `durationSeconds` later (status.expiresAt). Editing the spec starts a new drill; an
expired drill stays expired until then. Only a policy stamped Active for its current
generation and not past its end goes into a stack's config.

An edit the checks refuse does not stop a drill: the last accepted generation goes on to its
own end (status.servedGeneration, condition Accepted False with the reason), served from the
documents the stacks already hold. A policy that never had an accepted generation is Invalid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aimock_operator.render import selectors
from aimock_operator.render.errors import SpecError
from aimock_operator.render.status import (
    ACCEPTED,
    ACTIVE,
    READY,
    STALLED,
    condition,
    merge_conditions,
    parse_time,
    timestamp,
)
from aimock_operator.validation import Problem, validate_chaospolicy

PHASE_ACTIVE, PHASE_EXPIRED, PHASE_INVALID = "Active", "Expired", "Invalid"


def selector(body: Mapping[str, Any]) -> selectors.Selector:
    """The policy's stack selector; no selector means every MockStack in the namespace."""
    raw = (body.get("spec") or {}).get("selector")
    if raw is None:
        return selectors.Selector(())
    return selectors.parse(raw, "spec.selector")


def selects(body: Mapping[str, Any], stack_labels: Mapping[str, str]) -> bool:
    try:
        return selector(body).matches(stack_labels)
    except SpecError:
        return False


def problem(body: Mapping[str, Any]) -> Problem | None:
    """What makes the policy unusable (the first problem), if anything."""
    found = validate_chaospolicy(body)
    return found[0] if found else None


@dataclass(frozen=True)
class Drill:
    phase: str
    started_at: datetime | None = None
    expires_at: datetime | None = None
    problem: Problem | None = None  # what the checks refuse in the current generation
    served: int | None = None  # the generation whose drill this is


def _served_generation(status: Mapping[str, Any]) -> int | None:
    """The generation of the drill the status records (statuses older than the field: the
    observed one, which was always the served one then)."""
    if status.get("phase") not in (PHASE_ACTIVE, PHASE_EXPIRED):
        return None
    served = status.get("servedGeneration", status.get("observedGeneration"))
    return served if isinstance(served, int) else None


def _recorded(status: Mapping[str, Any], now: datetime, problem: Problem | None) -> Drill:
    """The drill the status records, at `now`."""
    started = parse_time(status.get("startedAt"))
    expires = parse_time(status.get("expiresAt"))
    ended = status.get("phase") == PHASE_EXPIRED or (expires is not None and now >= expires)
    phase = PHASE_EXPIRED if ended else PHASE_ACTIVE
    return Drill(phase, started, expires, problem, _served_generation(status))


def drill(body: Mapping[str, Any], now: datetime) -> Drill:
    """Where the policy's drill stands at `now`."""
    generation = int((body.get("metadata") or {}).get("generation") or 0)
    status = body.get("status") or {}
    served = _served_generation(status)
    started = parse_time(status.get("startedAt"))
    found = problem(body)
    if found is not None:
        if served is None or started is None:
            return Drill(PHASE_INVALID, problem=found)
        return _recorded(status, now, found)  # the last accepted drill goes on
    if served == generation and started is not None:
        return _recorded(status, now, None)
    # Times are kept to the second; round the start up so a drill never runs short.
    start = now.replace(microsecond=0) + timedelta(seconds=1 if now.microsecond else 0)
    duration = (body.get("spec") or {}).get("durationSeconds")
    expires = start + timedelta(seconds=int(duration)) if duration else None
    return Drill(PHASE_ACTIVE, start, expires, served=generation)


def in_force(body: Mapping[str, Any], now: datetime) -> bool:
    """Whether the policy's drill belongs in the config of the stacks it selects, at `now`
    (its current generation, or its last accepted one: see `serves_current`)."""
    status = body.get("status") or {}
    generation = int((body.get("metadata") or {}).get("generation") or 0)
    if status.get("phase") != PHASE_ACTIVE or status.get("observedGeneration") != generation:
        return False  # not stamped for this generation yet
    expires = parse_time(status.get("expiresAt"))
    return expires is None or now < expires


def serves_current(body: Mapping[str, Any]) -> bool:
    """Whether the drill in force is the current generation's (rendered from the spec), not
    the last accepted one (served as the stacks already hold it)."""
    generation = int((body.get("metadata") or {}).get("generation") or 0)
    return _served_generation(body.get("status") or {}) == generation and problem(body) is None


def policy_status(
    body: Mapping[str, Any], current: Drill, stacks: Sequence[str], now: datetime
) -> dict[str, Any]:
    generation = int((body.get("metadata") or {}).get("generation") or 0)
    if current.problem is None:
        accepted = condition(ACCEPTED, True, "Valid", f"generation {generation} is served")
    elif current.served is not None:
        message = f"{current.problem}; generation {current.served}, the last accepted, is served"
        accepted = condition(ACCEPTED, False, "Invalid", message)
    else:
        accepted = condition(ACCEPTED, False, "Invalid", str(current.problem))
    if current.phase == PHASE_INVALID:
        active = condition(ACTIVE, False, "Invalid", str(current.problem))
    elif current.phase == PHASE_EXPIRED:
        ended = timestamp(current.expires_at) if current.expires_at else "its end"
        active = condition(ACTIVE, False, "Expired", f"the drill ended at {ended}")
    elif current.expires_at is not None:
        active = condition(ACTIVE, True, "Active", f"until {timestamp(current.expires_at)}")
    else:
        active = condition(ACTIVE, True, "Active", "no end set: delete the ChaosPolicy to stop")
    # Ready (kstatus): the current generation is accepted, its drill stamped and running or
    # over as declared (an Expired drill did what it said; only an edit starts it again).
    # Refused, it is Stalled: the last accepted drill may go on, but nothing moves to the
    # declared one until the policy is edited.
    if current.problem is None:
        ready = condition(READY, True, current.phase, str(active["message"]))
        stalled = condition(STALLED, False, current.phase)
    else:
        ready = condition(READY, False, "Invalid", str(accepted["message"]))
        stalled = condition(STALLED, True, "Invalid", str(accepted["message"]))
    previous = (body.get("status") or {}).get("conditions") or []
    in_use = current.phase == PHASE_ACTIVE
    return {
        "observedGeneration": generation,
        "phase": current.phase,
        "conditions": merge_conditions(
            previous,
            [active, accepted, ready, stalled],
            now,
            generation,
            (ACTIVE, ACCEPTED, READY, STALLED),
        ),
        "stacks": sorted(stacks) if in_use else [],
        "startedAt": timestamp(current.started_at) if current.started_at else None,
        "expiresAt": timestamp(current.expires_at) if current.expires_at else None,
        "servedGeneration": current.served,
    }
