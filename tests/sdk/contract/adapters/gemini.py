"""The google-genai SDK on the Gemini API and on Vertex AI (both `gemini.generate`)."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterable

from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from tests.sdk.contract import base
from tests.sdk.contract.base import Adapter, Feature, Outcome

MODEL = "gemini-2.5-flash"
ERROR_CLASSES: dict[int, type[errors.APIError]] = {
    429: errors.ClientError,
    503: errors.ServerError,
}


def status_of(error: BaseException) -> int | None:
    if not isinstance(error, errors.APIError):
        return None
    expected = ERROR_CLASSES.get(error.code)
    return error.code if expected and isinstance(error, expected) else None


def _user(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


def request_for(
    feature: Feature, prompt: str
) -> tuple[list[types.Content], types.GenerateContentConfig]:
    """The contents and config for `feature`."""
    contents = [_user(prompt)]
    config = types.GenerateContentConfig()
    if feature in ("tool_call", "tool_result"):
        declaration = types.FunctionDeclaration(
            name=base.TOOL_NAME,
            description=base.WEATHER_TOOL_DESCRIPTION,
            parameters_json_schema=base.WEATHER_PARAMETERS,
        )
        config.tools = [types.Tool(function_declarations=[declaration])]
    if feature == "tool_result":
        call = types.FunctionCall(
            id=base.TOOL_CALL_ID, name=base.TOOL_NAME, args=base.TOOL_ARGUMENTS
        )
        result = types.FunctionResponse(
            id=base.TOOL_CALL_ID, name=base.TOOL_NAME, response=json.loads(base.TOOL_RESULT)
        )
        contents += [
            types.Content(role="model", parts=[types.Part(function_call=call)]),
            types.Content(role="user", parts=[types.Part(function_response=result)]),
        ]
    if feature == "thinking":
        config.thinking_config = types.ThinkingConfig(include_thoughts=True)
    if feature == "structured":
        config.response_mime_type = "application/json"
        config.response_json_schema = base.SCHEMA
    return contents, config


def _parts(response: types.GenerateContentResponse) -> list[types.Part]:
    if not response.candidates or response.candidates[0].content is None:
        return []
    return list(response.candidates[0].content.parts or [])


def outcome_of(responses: Iterable[types.GenerateContentResponse], *, stream: bool) -> Outcome:
    """One response (or every chunk of a stream) in contract terms."""
    outcome = Outcome()
    texts: list[str] = []
    for response in responses:
        for part in _parts(response):
            if part.function_call is not None:
                call = part.function_call
                outcome.tool_calls.append((call.name or "", dict(call.args or {})))
            elif part.thought:
                outcome.thinking += part.text or ""
            elif part.text:
                texts.append(part.text)
    outcome.text = "".join(texts)
    if stream:
        outcome.pieces = texts
    return outcome


class _GoogleGenAI(Adapter):
    surfaces = ("gemini.generate",)

    @abstractmethod
    def client(self, origin: str) -> genai.Client:
        """A client of this host pointed at `origin`."""

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        contents, config = request_for(feature, prompt)
        with self.client(origin) as client:
            if stream:
                chunks = client.models.generate_content_stream(
                    model=MODEL, contents=contents, config=config
                )
                return outcome_of(list(chunks), stream=True)
            response = client.models.generate_content(model=MODEL, contents=contents, config=config)
            return outcome_of([response], stream=False)

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


class GeminiApi(_GoogleGenAI):
    name = "gemini-api"

    def client(self, origin: str) -> genai.Client:
        return genai.Client(api_key="test", http_options=types.HttpOptions(base_url=origin))


class Vertex(_GoogleGenAI):
    """Vertex with a project and a ready token: the SDK asks Google for nothing."""

    name = "gemini-vertex"

    def client(self, origin: str) -> genai.Client:
        return genai.Client(
            vertexai=True,
            project="aimock",
            location="us-central1",
            credentials=Credentials(token="test-token"),
            http_options=types.HttpOptions(base_url=origin),
        )


ADAPTERS: list[Adapter] = [GeminiApi(), Vertex()]
