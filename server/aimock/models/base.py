"""What the spec models share: the strict camelCase base, a service's `Section`, and the checks
that recur in them (names usable in a URL path, names unique in their list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

# A name that is also a URL path segment (/mcp/{name}, /a2a/{name}).
PATH_NAME = r"^[A-Za-z0-9._~-]+$"


class SpecModel(BaseModel):
    """Strict base: unknown keys are errors, keys are camelCase in files, values frozen."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True)
class Section(Generic[SpecT]):
    """A service's part of the stack spec: `spec.<key>` holds one `model`.

    A service declares its section in its own module under `aimock.models.services`; the stack
    model picks every such module up, so adding a service never edits the stack model."""

    key: str  # the YAML key, also the field name on the stack spec
    model: type[SpecT]
    description: str
    # What the server's ready line lists of it: a label and the field holding named items
    # (`("MCP servers", "servers")`).
    inventory: tuple[str, str] | None = None

    def names(self, spec: BaseModel) -> list[str]:
        """The names of the items `spec` (this section's model) defines, for the ready line."""
        if self.inventory is None:
            return []
        return [str(getattr(item, "name", item)) for item in getattr(spec, self.inventory[1])]


def require_unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two {kind} named {name!r}")
        seen.add(name)


def first_problem(exc: ValidationError, skip: int = 0) -> tuple[str, str]:
    """The first error of a validation as (dotted location past `skip` parts, message)."""
    first = exc.errors()[0]
    return ".".join(str(part) for part in first["loc"][skip:]), first["msg"]
