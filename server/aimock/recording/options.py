"""What record and proxy mode are told: the mode, the upstream of each provider, where
recordings go and in which format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from aimock.models.stack import UPSTREAM_ALIASES, RecordSpec

Mode = Literal["record", "proxy-only"]
Format = Literal["json", "manifest"]


def default_directory(paths: Sequence[Path]) -> Path:
    """Where recordings go when not told: `recorded/` in the first fixture folder (or the
    folder of the first fixture file)."""
    first = paths[0] if paths else Path("fixtures")
    return (first if first.is_dir() or not first.suffix else first.parent) / "recorded"


@dataclass(frozen=True)
class ClusterTarget:
    """Recordings written as `Fixture` resources instead of files: in `namespace`, labelled
    as recorded by `stack`, plus `labels` (the stack's fixture selector's, so it serves them
    after a restart too)."""

    namespace: str
    stack: str
    labels: Mapping[str, str] = field(default_factory=dict)


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
    cluster: ClusterTarget | None = None

    @classmethod
    def from_spec(cls, spec: RecordSpec, directory: Path) -> RecordOptions:
        """The options a stack file's `record` section asks for."""
        return cls(
            mode=spec.mode,
            providers=dict(spec.providers),
            directory=directory,
            upstream_timeout=spec.upstream_timeout_ms / 1000,
            body_timeout=spec.body_timeout_ms / 1000,
            full_model_version=spec.full_model_version,
        )

    def upstream(self, provider: str) -> tuple[str, str | None]:
        """The provider's name for `--provider-<name>` and its base URL, if one is given."""
        name = UPSTREAM_ALIASES.get(provider, provider)
        return name, self.providers.get(name)
