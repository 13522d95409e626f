"""In-process servers for the server-core tests: an aiohttp test client per test.

`make_client(yaml_text, **options)` builds the real app (`create_app`) from fixture text and
returns a test client bound to a free loopback port, so every request goes over real HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from aimock.app import create_app
from aimock.fixtures.loading import FixtureSet, load_paths, load_text
from aimock.state import STATE, ServeOptions, ServerState

ClientFactory = Callable[..., Awaitable[TestClient[Any, web.Application]]]


@pytest.fixture
def make_client(aiohttp_client: Any) -> ClientFactory:
    async def factory(
        text: str | None = None, *, paths: tuple[Path, ...] = (), **options: Any
    ) -> TestClient[Any, web.Application]:
        loaded = load_text(text, "inline.yaml") if text is not None else load_paths(paths)
        if text is None and not paths:
            loaded = FixtureSet()
        app = create_app(ServeOptions(paths=paths, **options), loaded)
        client: TestClient[Any, web.Application] = await aiohttp_client(app)
        return client

    return factory


def state_of(client: TestClient[Any, web.Application]) -> ServerState:
    return client.app[STATE]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def chat_body(*messages: dict[str, Any], model: str = "gpt-4o", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": list(messages), **extra}


async def chat(
    client: TestClient[Any, web.Application],
    text: str | None = None,
    *,
    messages: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> tuple[int, Any]:
    """POST /v1/chat/completions; returns (status, JSON body)."""
    msgs = messages if messages is not None else [user(text or "")]
    body = {"model": "gpt-4o", "messages": msgs, **extra}
    response = await client.post("/v1/chat/completions", json=body, headers=headers or {})
    return response.status, await response.json(content_type=None)


async def answer(
    client: TestClient[Any, web.Application], text: str | None = None, **kwargs: Any
) -> str | None:
    """The assistant text the server answers, or an `error:<code>` string on a failure."""
    status, body = await chat(client, text, **kwargs)
    if status != 200:
        return f"error:{status}:{body['error'].get('code')}"
    content: str | None = body["choices"][0]["message"]["content"]
    return content
