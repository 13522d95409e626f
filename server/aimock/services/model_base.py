"""What the services' definition models share: the strict camelCase base and the checks that
recur in them (names usable in a URL path, names unique in their list)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# A name that is also a URL path segment (/mcp/{name}, /a2a/{name}).
PATH_NAME = r"^[A-Za-z0-9._~-]+$"


class SpecModel(BaseModel):
    """Strict base: unknown keys are errors, keys are camelCase in files, values frozen."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


def require_unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two {kind} named {name!r}")
        seen.add(name)
