"""AWS Bedrock Runtime: boto3 on InvokeModel (the Claude body) and on Converse, and anthropic's
AnthropicBedrock on InvokeModel."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import boto3
from anthropic.types import Message, RawMessageStreamEvent
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from tests.sdk.contract import base
from tests.sdk.contract.adapters import anthropic as messages
from tests.sdk.contract.base import Adapter, Feature, Outcome

CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"
# The exception botocore raises for each status the contract provokes.
ERROR_CODES = {429: "ThrottlingException", 503: "ServiceUnavailableException"}
EVENTS: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)


def client(origin: str) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=origin,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),  # the first try only
    )


def status_of(error: BaseException) -> int | None:
    """The status when `error` is botocore's ClientError carrying the status's exception."""
    if not isinstance(error, ClientError):
        return None
    response: Any = error.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return status if response["Error"]["Code"] == ERROR_CODES.get(status) else None


class BedrockInvoke(Adapter):
    """InvokeModel carries the Anthropic Messages body and answers Messages JSON and events."""

    name = "bedrock-invoke"
    surfaces = ("bedrock.invoke",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        body = json.dumps(
            {"anthropic_version": "bedrock-2023-05-31", **messages.request_for(feature, prompt)}
        )
        bedrock = client(origin)
        # The bodies are Anthropic's: read them with its SDK types, as the Messages adapter does.
        if not stream:
            reply = bedrock.invoke_model(modelId=CLAUDE, body=body)["body"].read()
            return messages.outcome_of_blocks(Message.model_validate_json(reply).content)
        response = bedrock.invoke_model_with_response_stream(modelId=CLAUDE, body=body)
        events = [EVENTS.validate_json(part["chunk"]["bytes"]) for part in response["body"]]
        return messages.outcome_of_events(events)

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


class BedrockConverse(Adapter):
    name = "bedrock-converse"
    surfaces = ("bedrock.converse",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        request = converse_request(feature, prompt)
        bedrock = client(origin)
        if stream:
            return _outcome_of_stream(bedrock.converse_stream(**request)["stream"])
        return _outcome_of_content(bedrock.converse(**request)["output"]["message"]["content"])

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


def converse_request(feature: Feature, prompt: str) -> dict[str, Any]:
    """The Converse request for `feature`."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": prompt}]}]
    request: dict[str, Any] = {"modelId": NOVA, "messages": messages}
    if feature in ("tool_call", "tool_result"):
        spec = {
            "name": base.TOOL_NAME,
            "description": base.WEATHER_TOOL_DESCRIPTION,
            "inputSchema": {"json": base.WEATHER_PARAMETERS},
        }
        request["toolConfig"] = {"tools": [{"toolSpec": spec}]}
    if feature == "tool_result":
        call = {
            "toolUseId": base.TOOL_CALL_ID,
            "name": base.TOOL_NAME,
            "input": base.TOOL_ARGUMENTS,
        }
        result = {"toolUseId": base.TOOL_CALL_ID, "content": [{"text": base.TOOL_RESULT}]}
        messages += [
            {"role": "assistant", "content": [{"toolUse": call}]},
            {"role": "user", "content": [{"toolResult": result}]},
        ]
    if feature == "thinking":
        request["modelId"] = CLAUDE
        thinking = {"type": "enabled", "budget_tokens": 1024}
        request["additionalModelRequestFields"] = {"thinking": thinking}
    if feature == "structured":
        schema = {"jsonSchema": {"schema": json.dumps(base.SCHEMA), "name": "city"}}
        request["outputConfig"] = {"textFormat": {"type": "json_schema", "structure": schema}}
    return request


def _outcome_of_content(content: list[dict[str, Any]]) -> Outcome:
    outcome = Outcome()
    for block in content:
        if "text" in block:
            outcome.text += block["text"]
        elif "reasoningContent" in block:
            outcome.thinking += block["reasoningContent"]["reasoningText"]["text"]
        elif "toolUse" in block:
            outcome.tool_calls.append((block["toolUse"]["name"], block["toolUse"]["input"]))
    return outcome


def _outcome_of_stream(events: Any) -> Outcome:
    outcome = Outcome()
    tools: dict[int, list[str]] = {}
    for event in events:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tools[start["contentBlockIndex"]] = [start["start"]["toolUse"]["name"], ""]
        elif "contentBlockDelta" in event:
            index, delta = (
                event["contentBlockDelta"]["contentBlockIndex"],
                event["contentBlockDelta"]["delta"],
            )
            if "text" in delta:
                outcome.pieces.append(delta["text"])
            elif "reasoningContent" in delta:
                outcome.thinking += delta["reasoningContent"].get("text", "")
            elif "toolUse" in delta:
                tools[index][1] += delta["toolUse"]["input"]
    outcome.text = "".join(outcome.pieces)
    outcome.tool_calls = [(name, json.loads(args or "{}")) for name, args in tools.values()]
    return outcome


class AnthropicOnBedrock(Adapter):
    """anthropic's AnthropicBedrock client, which posts to InvokeModel with SigV4."""

    name = "anthropic-bedrock"
    surfaces = ("bedrock.invoke",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        request = messages.request_for(feature, prompt)
        with anthropic.AnthropicBedrock(
            base_url=origin,
            aws_access_key="test",
            aws_secret_key="test",
            aws_region="us-east-1",
            max_retries=0,
        ) as sdk:
            if stream:
                created = sdk.messages.create(model=CLAUDE, **request, stream=True)
                return messages.outcome_of_events(created)
            return messages.outcome_of_blocks(sdk.messages.create(model=CLAUDE, **request).content)

    def status_of(self, error: BaseException) -> int | None:
        return messages.status_of(error)


ADAPTERS: list[Adapter] = [BedrockInvoke(), BedrockConverse(), AnthropicOnBedrock()]
