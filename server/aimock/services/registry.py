"""Every stateful service the server mounts, one line each."""

from __future__ import annotations

from aimock.services import mcp
from aimock.services.base import Service

SERVICES: tuple[Service, ...] = (mcp.SERVICE,)
