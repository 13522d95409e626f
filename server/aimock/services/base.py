"""What a stateful service (MCP, later A2A and vector stores) gives the app: routes and a reset.

A service is not an LLM provider: it does not go through the fixture pipeline, it keeps its
own state (sessions, stores) in an object it puts on the app under a `web.AppKey`. The app
mounts every service of `registry.SERVICES`; the control API's reset calls `reset`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from aimock.state import ServerState


@dataclass(frozen=True)
class Service:
    name: str
    # Adds the service's routes and state object to the app (called once, at start).
    mount: Callable[[web.Application, ServerState], None]
    # Drops run-time state (sessions...); definitions come from the settings and stay.
    reset: Callable[[web.Application], None]
