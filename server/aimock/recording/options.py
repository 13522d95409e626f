"""What record and proxy mode are told: the mode, the upstream of each provider, where
recordings go and in which format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Mode = Literal["record", "proxy-only"]
Format = Literal["json", "manifest"]
# The provider names AIMock's CLI takes as `--provider-<name>`; a surface's provider name
# maps onto them (`vertex` answers as `vertexai`), other names are taken as they are.
AIMOCK_PROVIDERS = (
    "openai",
    "anthropic",
    "gemini",
    "vertexai",
    "bedrock",
    "azure",
    "ollama",
    "cohere",
    "openrouter",
    "byteplus",
)
ALIASES = {"vertex": "vertexai"}


@dataclass(frozen=True)
class RecordOptions:
    mode: Mode
    # Base URL of each provider's real API, by name (`openai`, `anthropic`...).
    providers: Mapping[str, str] = field(default_factory=dict)
    directory: Path = Path("fixtures") / "recorded"
    format: Format = "json"
    # Seconds to wait for the upstream to start answering, and between two pieces of a body.
    upstream_timeout: float = 30.0
    body_timeout: float = 30.0
    # Keep a dated model id (`gpt-4o-2024-08-06`) in the recorded match instead of its family.
    full_model_version: bool = False
    # What record mode keeps in memory of one upstream answer: a plain body over the byte cap
    # is refused (502); a stream over either cap is relayed whole but not recorded.
    max_buffer_bytes: int = 64 * 1024 * 1024
    max_buffer_frames: int = 5_000_000
    # Keys added upstream when a caller sends none, by provider (aimock.json's
    # `providerKeys`; AIMOCK_PROVIDER_<NAME>_KEY in the environment otherwise).
    keys: Mapping[str, str] = field(default_factory=dict)

    def upstream(self, provider: str) -> tuple[str, str | None]:
        """The provider's name for `--provider-<name>` and its base URL, if one is given."""
        name = ALIASES.get(provider, provider)
        return name, self.providers.get(name)
