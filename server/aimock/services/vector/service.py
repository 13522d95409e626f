"""The vector service entry: mounts the Qdrant, Chroma and Pinecone dialects, each over a
seeded store of its own (separate databases, as separate servers would be)."""

from __future__ import annotations

from aiohttp import web

from aimock.models.services.vector import SECTION as VECTOR_SECTION
from aimock.services.base import Service
from aimock.services.vector import chroma, pinecone, qdrant
from aimock.services.vector.http import STORES, mount_routes
from aimock.services.vector.store import VectorStore
from aimock.state import STATE, ServerState

DIALECTS = {"qdrant": qdrant, "chroma": chroma, "pinecone": pinecone}


def mount(app: web.Application, state: ServerState) -> None:
    spec = state.settings.section(VECTOR_SECTION)
    app[STORES] = {}
    for name, module in DIALECTS.items():
        store = app[STORES][name] = VectorStore(dialect=name)
        store.seed(spec)
        mount_routes(app, module.SURFACE, module.ROUTES, module.error, spec.path)


def reset(app: web.Application) -> None:
    """Upserted data goes; the configured collections come back as seeded, in every store."""
    spec = app[STATE].settings.section(VECTOR_SECTION)
    for store in app[STORES].values():
        store.seed(spec)


SERVICE = Service(name="vector", section=VECTOR_SECTION, mount=mount, reset=reset)
