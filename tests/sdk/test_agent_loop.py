"""One agent turn across the whole stack, on one aimock port, with the official clients:

1. the LLM (openai SDK) answers the question with a tool call;
2. the agent calls that tool on aimock's MCP server (mcp client);
3. it retrieves context from aimock's vector store (qdrant-client) using aimock's own
   deterministic embeddings (openai SDK);
4. it sends the tool result back, and the LLM's next fixture, matched on that result, answers;
5. the journal shows every hop, in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from openai import OpenAI
from qdrant_client import QdrantClient
from qdrant_client.models import Distance, PointStruct, VectorParams

from tests.conftest import ServerProcess, start_server

STACK = Path(__file__).resolve().parent / "fixtures_agent"
QUESTION = "What is your refund policy?"
DOCUMENTS = [
    "Refunds are paid back within 5 business days.",
    "Shipping takes two days inside the EU.",
    "Gift cards never expire.",
]
TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "search_policies",
            "parameters": {"type": "object", "properties": {"topic": {"type": "string"}}},
        },
    }
]


@pytest.fixture(scope="module")
def stack() -> Iterator[ServerProcess]:
    server = start_server(["-f", str(STACK)])
    yield server
    server.stop()


def embed(llm: OpenAI, texts: list[str]) -> list[list[float]]:
    vectors = llm.embeddings.create(
        model="text-embedding-3-small", input=texts, dimensions=16, encoding_format="float"
    )
    return [item.embedding for item in vectors.data]


async def test_one_agent_turn_touches_every_service(stack: ServerProcess) -> None:
    llm = OpenAI(base_url=stack.base_url, api_key="test", max_retries=0)
    messages: list[Any] = [{"role": "user", "content": QUESTION}]

    # 1. The LLM asks for the tool.
    first = llm.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
    [call] = first.choices[0].message.tool_calls or []
    assert call.type == "function" and call.function.name == "search_policies"
    arguments = json.loads(call.function.arguments)

    # 2. The agent runs it on the MCP server.
    async with Client(f"{stack.url}/mcp/policies") as tools:
        result = await tools.call_tool(call.function.name, arguments)
    assert not result.is_error
    policy = result.content[0].text  # type: ignore[union-attr]
    assert policy == "Refunds are accepted within 14 days of delivery."

    # 3. It retrieves context: embed the documents, store them, query with the question.
    store = QdrantClient(url=stack.url)
    store.create_collection(
        "policies", vectors_config=VectorParams(size=16, distance=Distance.COSINE)
    )
    store.upsert(
        "policies",
        points=[
            PointStruct(id=i, vector=vector, payload={"text": text})
            for i, (text, vector) in enumerate(zip(DOCUMENTS, embed(llm, DOCUMENTS), strict=True))
        ],
    )
    # The deterministic embeddings make retrieval reproducible: a document is its own top hit.
    [query_vector] = embed(llm, [DOCUMENTS[0]])
    hits = store.query_points("policies", query=query_vector, limit=2).points
    assert hits[0].payload == {"text": DOCUMENTS[0]}
    store.close()

    # 4. The tool result goes back; the next fixture (matched on it) answers.
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    context = f"{policy} {hits[0].payload['text']}"  # type: ignore[index]
    messages.append({"role": "tool", "tool_call_id": call.id, "content": context})
    final = llm.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
    assert final.choices[0].message.content == (
        "You can get a refund within 14 days; the money is back in 5 business days."
    )
    llm.close()

    # 5. One journal, every hop in order.
    surfaces = [entry["surface"] for entry in stack.journal() if entry["method"] != "GET"]
    hops = [s for i, s in enumerate(surfaces) if i == 0 or s != surfaces[i - 1]]
    assert hops == [
        "openai.chat",  # the tool call
        "mcp",  # tools/call
        "vector.qdrant",  # create the collection
        "openai.embeddings",  # embed the documents
        "vector.qdrant",  # upsert them
        "openai.embeddings",  # embed the query
        "vector.qdrant",  # query
        "openai.chat",  # the answer from the tool result
    ], hops
    rpc = [e.get("rpcMethod") for e in stack.journal(surface="mcp") if e["method"] == "POST"]
    assert "tools/call" in rpc
