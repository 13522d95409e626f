"""Every stateful service the server mounts, one line each."""

from __future__ import annotations

from aimock.services import a2a, mcp
from aimock.services.agui import service as agui
from aimock.services.base import Service
from aimock.services.vector import service as vector

SERVICES: tuple[Service, ...] = (
    mcp.SERVICE,
    a2a.SERVICE,
    vector.SERVICE,
    agui.SERVICE,
)
