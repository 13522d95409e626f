"""Reality from the providers themselves: the drift cases sent to the live APIs with the keys
found in the environment, and the answers kept as capture files (`--save-captures`).

A surface whose provider has no key is compared with its capture instead, and says so. The
base URLs can be moved (`--live-url openai=URL`): a gateway in front of the provider, or a
stand-in in tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from aimock.drift.cases import Case


@dataclass(frozen=True)
class Provider:
    base: str  # the real API's origin
    keys: tuple[str, ...]  # environment variables holding a key, first found wins
    # The headers carrying a key (and what the API requires besides).
    headers: Any

    def key(self, environ: Mapping[str, str]) -> tuple[str, str] | None:
        for variable in self.keys:
            if environ.get(variable):
                return variable, environ[variable]
        return None


PROVIDERS = {
    "openai": Provider(
        "https://api.openai.com",
        ("OPENAI_API_KEY",),
        lambda key: {"Authorization": f"Bearer {key}"},
    ),
    "anthropic": Provider(
        "https://api.anthropic.com",
        ("ANTHROPIC_API_KEY",),
        lambda key: {"x-api-key": key, "anthropic-version": "2023-06-01"},
    ),
    "gemini": Provider(
        "https://generativelanguage.googleapis.com",
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        lambda key: {"x-goog-api-key": key},
    ),
}


def provider_of(case: Case) -> str:
    return case.surface.split(".")[0]


@dataclass(frozen=True)
class Live:
    """Where the live APIs are and which keys reach them."""

    urls: Mapping[str, str] = field(default_factory=dict)  # provider -> origin override
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def target(self, case: Case) -> tuple[str, dict[str, str]] | str:
        """(origin, headers) to ask the case live, or why it cannot be."""
        name = provider_of(case)
        provider = PROVIDERS[name]
        found = provider.key(self.environ)
        if found is None:
            return f"no {' or '.join(provider.keys)} in the environment"
        origin = self.urls.get(name, provider.base).rstrip("/")
        return origin, dict(provider.headers(found[1]))


def parse_urls(pairs: list[str]) -> dict[str, str]:
    """`name=URL` pairs (`--live-url`); a bad one raises ValueError naming it."""
    urls: dict[str, str] = {}
    for pair in pairs:
        name, equals, url = pair.partition("=")
        if not equals or name not in PROVIDERS or not url.startswith(("http://", "https://")):
            known = ", ".join(PROVIDERS)
            raise ValueError(
                f"--live-url {pair!r}: expected NAME=http(s)://... with NAME in {known}"
            )
        urls[name] = url
    return urls


def capture_document(body: Any, events: list[tuple[str, Any]]) -> dict[str, Any]:
    """A live answer as a capture file holds it."""
    if events:
        return {"events": [{"type": kind, "data": data} for kind, data in events]}
    return {"body": body}


def save_capture(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
