"""Route families, for what no route serves: a path next to a family's routes (a typo, a
method the path does not take) is answered in that family's own error envelope, not in
whichever envelope happens to be the default.

Each mounted route notes its path here (`add_family`); `family_of` finds the nearest family.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from aimock.exchange import Route
from aimock.surface import ErrorDialect

# Where each route family lives, for unknown paths: (static path segments, its Route).
Family = tuple[tuple[str, ...], Route]
FAMILIES: web.AppKey[list[Family]] = web.AppKey("aimock_families", list)


def segments(path: str) -> tuple[str, ...]:
    """A route path's fixed leading segments: `/v1beta/models/{model}:x` -> (v1beta, models)."""
    out: list[str] = []
    for part in path.strip("/").split("/"):
        if not part or "{" in part:
            break
        out.append(part)
    return tuple(out)


def add_family(app: web.Application, path: str, route: Route) -> None:
    """Note that `route`'s family answers under `path`, so an unknown path next to it (a typo,
    a method it does not take) is answered in that family's own envelope."""
    if FAMILIES not in app:
        app[FAMILIES] = []
    app[FAMILIES].append((segments(path), route))


def family_of(app: web.Application, path: str, default: Route) -> Route:
    """The family nearest `path`, as a route that never rolls chaos: the one sharing the most
    leading segments with it, then with paths of the closest length (`/api/x` is Ollama's
    `/api/chat`'s, not Chroma's `/api/v2/...`), then `default`'s if it is among them
    (OpenAI's under /v1, and whenever only the first segment is shared), then the one with the
    most routes there; else `default`."""
    wanted = segments(path)
    ranked: dict[ErrorDialect, list[Any]] = {}  # envelope -> [(shared, -distance), count, route]
    for fixed, route in app.get(FAMILIES, []):
        shared = 0
        for a, b in zip(fixed, wanted, strict=False):
            if a != b:
                break
            shared += 1
        if not shared:
            continue
        rank = (shared, -abs(len(fixed) - len(wanted)))
        held = ranked.get(route.errors)
        if held is None or rank > held[0]:
            ranked[route.errors] = [rank, 1, route]
        elif rank == held[0]:
            held[1] += 1
    if not ranked:
        return default
    top = max(held[0] for held in ranked.values())
    if top[0] == 1 and default.errors in ranked:
        # Only the first segment (`/v1`) in common: the length of one provider's deepest
        # route there is no sign the path is that provider's.
        return default
    nearest = {errors: held for errors, held in ranked.items() if held[0] == top}
    if default.errors in nearest:
        return default
    chosen: Route = max(nearest.values(), key=lambda held: held[1])[2]
    return Route(
        "unknown",
        chosen.provider,
        chosen.errors,
        chaos="never",
        journal=chosen.journal,
        cors=chosen.cors,
        log_level=chosen.log_level,
    )
