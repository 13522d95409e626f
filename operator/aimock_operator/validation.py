"""What the operator refuses or reports: pure checks of MockStack, Fixture and ChaosPolicy bodies.

The spec is validated by the server's own models (`aimock.models.stack`), and pydantic's errors are
read by the loader's helper, so a problem is worded exactly as `aimock serve -f` words it, only
with the field path from the resource's root: `spec.fixtures[2].match.userMessage: invalid
regex ...`. That includes an unknown name in `spec.surfaces`: the stack model checks it
against the provider registry, so the loader and the webhook refuse the same names. The checks
added here concern Kubernetes-only fields the server ignores (label selectors, scheduling
keys).

Used by the admission webhook (refuse at `kubectl apply`) and by the reconciler (report in a
Condition when no webhook is installed). No kopf, no Kubernetes client: plain data in, plain
problems out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from aimock.fixtures.loading import validation_problems
from aimock.models.stack import ChaosPolicySpec, FixtureSpec, StackSpec
from aimock_operator.render import recording


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a resource: where (from the resource's root) and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


Validator = Callable[[Mapping[str, Any]], list[Problem]]


def validate_fixture(body: Mapping[str, Any]) -> list[Problem]:
    spec = body.get("spec")
    if spec is None:
        return [Problem("spec", "required field is missing")]
    return _spec_problems(FixtureSpec, spec)


def validate_mockstack(body: Mapping[str, Any]) -> list[Problem]:
    spec = body.get("spec")
    if spec is None:
        return []  # every field has a default: an empty MockStack serves nothing, strictly
    problems = _spec_problems(StackSpec, spec)
    if isinstance(spec, Mapping):
        problems += label_selector_problems(spec.get("fixtureSelector"), "spec.fixtureSelector")
        problems += _known_keys(spec.get("scheduling"), "spec.scheduling", SCHEDULING_KEYS)
        problems += _known_keys(spec.get("resources"), "spec.resources", RESOURCES_KEYS)
        record = spec.get("record")
        if isinstance(record, Mapping) and recording.needs_account(record):
            problems.append(Problem("spec.record.serviceAccountName", recording.NEEDS_ACCOUNT))
    return problems


def validate_chaospolicy(body: Mapping[str, Any]) -> list[Problem]:
    spec = body.get("spec")
    if spec is None:
        return [Problem("spec", "required field is missing")]
    problems = _spec_problems(ChaosPolicySpec, spec)
    if isinstance(spec, Mapping):
        problems += label_selector_problems(spec.get("selector"), "spec.selector")
    return problems


VALIDATORS: dict[str, Validator] = {
    "MockStack": validate_mockstack,
    "Fixture": validate_fixture,
    "ChaosPolicy": validate_chaospolicy,
}


def validate(body: Mapping[str, Any]) -> list[Problem]:
    """Dispatch on `kind`."""
    kind = body.get("kind")
    validator = VALIDATORS.get(kind) if isinstance(kind, str) else None
    if validator is None:
        return [Problem("kind", f"unknown kind {kind!r}; expected one of {', '.join(VALIDATORS)}")]
    return validator(body)


def summary(problems: Iterable[Problem], limit: int = 5) -> str:
    """One line for an admission message or a Condition: the first problems, and how many more."""
    items = list(problems)
    shown = "; ".join(str(problem) for problem in items[:limit])
    more = len(items) - limit
    return f"{shown}; and {more} more" if more > 0 else shown


# --- the spec, through the server's model --------------------------------------------------------


def _spec_problems(model: type[BaseModel], spec: Any) -> list[Problem]:
    try:
        model.model_validate(plain(spec))
    except ValidationError as exc:
        return [
            Problem(f"spec.{p.field}" if p.field else "spec", p.reason)
            for p in validation_problems(exc, "spec")
        ]
    return []


def plain(value: Any) -> Any:
    """Mappings (kopf's Body views included) -> dicts, sequences -> lists, recursively."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


# --- Kubernetes-only fields ----------------------------------------------------------------------

SCHEDULING_KEYS = ("nodeSelector", "tolerations", "affinity")
RESOURCES_KEYS = ("limits", "requests", "claims")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

# Label syntax (apimachinery validation): an optional DNS-subdomain prefix and a 63-char name.
_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
_LABEL_KEY = re.compile(
    rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$"
)
_LABEL_VALUE = re.compile(rf"^{_NAME}?$")


def label_selector_problems(selector: Any, path: str) -> list[Problem]:
    """A metav1.LabelSelector: matchLabels and/or matchExpressions, with valid labels."""
    if selector is None:
        return []
    if not isinstance(selector, Mapping):
        return [Problem(path, "expected a label selector: matchLabels and/or matchExpressions")]
    problems = [
        Problem(f"{path}.{key}", "unknown field; expected matchLabels or matchExpressions")
        for key in selector
        if key not in ("matchLabels", "matchExpressions")
    ]
    problems += _match_labels_problems(selector.get("matchLabels"), f"{path}.matchLabels")
    problems += _match_expressions_problems(
        selector.get("matchExpressions"), f"{path}.matchExpressions"
    )
    return problems


def _match_labels_problems(labels: Any, path: str) -> list[Problem]:
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return [Problem(path, "expected a mapping of label names to values")]
    problems = []
    for key, value in labels.items():
        problems += _label_key_problems(key, f"{path}.{key}")
        if not isinstance(value, str) or not _LABEL_VALUE.match(value):
            problems.append(Problem(f"{path}.{key}", f"invalid label value {value!r}"))
    return problems


def _match_expressions_problems(expressions: Any, path: str) -> list[Problem]:
    if expressions is None:
        return []
    if not isinstance(expressions, list):
        return [Problem(path, "expected a list of {key, operator, values}")]
    problems = []
    for index, expression in enumerate(expressions):
        here = f"{path}[{index}]"
        if not isinstance(expression, Mapping):
            problems.append(Problem(here, "expected an object with key, operator, values"))
            continue
        problems += _expression_problems(expression, here)
    return problems


def _expression_problems(expression: Mapping[str, Any], here: str) -> list[Problem]:
    problems = [
        Problem(f"{here}.{key}", "unknown field")
        for key in expression
        if key not in ("key", "operator", "values")
    ]
    key = expression.get("key")
    if key is None:
        problems.append(Problem(f"{here}.key", "required field is missing"))
    else:
        problems += _label_key_problems(key, f"{here}.key")
    operator = expression.get("operator")
    values = expression.get("values")
    if operator not in SELECTOR_OPERATORS:
        problems.append(
            Problem(f"{here}.operator", f"expected one of {', '.join(SELECTOR_OPERATORS)}")
        )
    elif operator in ("In", "NotIn") and not values:
        problems.append(Problem(f"{here}.values", f"{operator} needs at least one value"))
    elif operator in ("Exists", "DoesNotExist") and values:
        problems.append(Problem(f"{here}.values", f"{operator} takes no values"))
    if values is not None and (
        not isinstance(values, list) or not all(isinstance(v, str) for v in values)
    ):
        problems.append(Problem(f"{here}.values", "expected a list of strings"))
    return problems


def _label_key_problems(key: Any, path: str) -> list[Problem]:
    if isinstance(key, str) and _LABEL_KEY.match(key) and len(key.split("/")[0]) <= 253:
        return []
    return [Problem(path, f"invalid label name {key!r}")]


def _known_keys(value: Any, path: str, known: tuple[str, ...]) -> list[Problem]:
    # The operator copies only these keys into the pod; any other would be dropped silently.
    if not isinstance(value, Mapping):
        return []
    return [
        Problem(f"{path}.{key}", f"unknown field; expected {', '.join(known)}")
        for key in value
        if key not in known
    ]
