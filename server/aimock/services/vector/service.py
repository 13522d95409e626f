"""The vector service entry: mounts the Qdrant, Chroma and Pinecone dialects over one seeded
store."""

from __future__ import annotations

from aiohttp import web

from aimock.models.services.vector import SECTION as VECTOR_SECTION
from aimock.services.base import Service
from aimock.services.vector import chroma, pinecone, qdrant
from aimock.services.vector.http import STORE, mount_routes
from aimock.services.vector.store import VectorStore
from aimock.state import STATE, ServerState


def mount(app: web.Application, state: ServerState) -> None:
    store = VectorStore()
    store.seed(state.settings.section(VECTOR_SECTION))
    app[STORE] = store
    mount_routes(app, qdrant.SURFACE, qdrant.ROUTES, qdrant.error)
    mount_routes(app, chroma.SURFACE, chroma.ROUTES, chroma.error)
    mount_routes(app, pinecone.SURFACE, pinecone.ROUTES, pinecone.error)


def reset(app: web.Application) -> None:
    """Upserted data goes; the configured collections come back as seeded."""
    app[STORE].seed(app[STATE].settings.section(VECTOR_SECTION))


SERVICE = Service(name="vector", section=VECTOR_SECTION, mount=mount, reset=reset)
