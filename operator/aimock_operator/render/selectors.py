"""Kubernetes label selectors (matchLabels + matchExpressions), checked and evaluated here.

The CRD schema holds selectors as free-form objects, so their shape is checked here and a bad
one is reported naming the field. The same selector is evaluated two ways: as a query string
for the API (`to_query`) and in memory against a label set (`matches`), which tells which
stacks a Fixture or ChaosPolicy is selected by.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aimock_operator.render.errors import SpecError

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator == "In":
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # NotIn

    def query(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        if self.operator == "In" and len(self.values) == 1:
            return f"{self.key}={self.values[0]}"  # what matchLabels says; same meaning
        word = "in" if self.operator == "In" else "notin"
        return f"{self.key} {word} ({','.join(self.values)})"


@dataclass(frozen=True)
class Selector:
    """A parsed selector; no requirements selects everything."""

    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        given = labels or {}
        return all(r.matches(given) for r in self.requirements)

    def query(self) -> str:
        return ",".join(r.query() for r in self.requirements)


def parse(raw: Any, field: str) -> Selector:
    """Check a selector object's shape; `field` names it in errors (e.g. spec.fixtureSelector)."""
    if not isinstance(raw, Mapping):
        raise SpecError(field, "must be an object with matchLabels and/or matchExpressions")
    unknown = sorted(set(raw) - {"matchLabels", "matchExpressions"})
    if unknown:
        raise SpecError(f"{field}.{unknown[0]}", "unknown field")
    requirements = [*_match_labels(raw.get("matchLabels"), f"{field}.matchLabels")]
    requirements += _match_expressions(raw.get("matchExpressions"), f"{field}.matchExpressions")
    return Selector(tuple(requirements))


def _match_labels(raw: Any, field: str) -> list[Requirement]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        raise SpecError(field, "must map label keys to values")
    out = []
    for key in sorted(raw):
        value = raw[key]
        if not isinstance(value, str):
            raise SpecError(f"{field}.{key}", "must be a string")
        out.append(Requirement(str(key), "In", (value,)))
    return out


def _match_expressions(raw: Any, field: str) -> list[Requirement]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SpecError(field, "must be a list")
    return [_expression(item, f"{field}[{i}]") for i, item in enumerate(raw)]


def _expression(item: Any, field: str) -> Requirement:
    if not isinstance(item, Mapping):
        raise SpecError(field, "must be an object with key, operator and values")
    key, operator, values = item.get("key"), item.get("operator"), item.get("values")
    if not isinstance(key, str) or not key:
        raise SpecError(f"{field}.key", "required field is missing")
    if operator not in OPERATORS:
        raise SpecError(f"{field}.operator", f"must be one of {', '.join(OPERATORS)}")
    if operator in ("In", "NotIn"):
        if not isinstance(values, list) or not values:
            raise SpecError(f"{field}.values", f"{operator} needs a non-empty list")
        if not all(isinstance(v, str) for v in values):
            raise SpecError(f"{field}.values", "must be strings")
        return Requirement(key, str(operator), tuple(sorted(set(values))))
    if values:
        raise SpecError(f"{field}.values", f"{operator} takes no values")
    return Requirement(key, str(operator))
