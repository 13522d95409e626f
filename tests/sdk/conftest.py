"""The `client` fixture: every SDK test runs once with OpenAI and once with AsyncOpenAI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI, OpenAI

from tests.conftest import ServerProcess
from tests.sdk.clients import Client


@pytest.fixture(params=["sync", "async"])
async def client(
    request: pytest.FixtureRequest, sdk_server: ServerProcess
) -> AsyncIterator[Client]:
    if request.param == "sync":
        sync = OpenAI(base_url=sdk_server.base_url, api_key="test", max_retries=0)
        yield sync
        sync.close()
    else:
        async_client = AsyncOpenAI(base_url=sdk_server.base_url, api_key="test", max_retries=0)
        yield async_client
        await async_client.close()
