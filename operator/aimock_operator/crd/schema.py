"""pydantic models -> Kubernetes structural OpenAPI v3 schemas.

A CRD schema must be *structural*: every node says its `type` (or opts out with
`x-kubernetes-preserve-unknown-fields`), no `$ref`, no `anyOf` that changes the type, no
`additionalProperties` next to `properties`. pydantic emits JSON Schema 2020-12, so this module
translates:

- `$defs`/`$ref` are inlined; a description next to a `$ref` wins over the model's docstring.
- `anyOf[X, null]` becomes X. The field is NOT marked `nullable`: without it the apiserver prunes
  an explicit null before validation, which is exactly what `None` means in the models (absent),
  and CEL's `has()` then agrees with pydantic (a kept null would count as "set").
- A union of different shapes (a string or an object, e.g. `streamingProfile`) cannot be typed
  in a structural schema: the node becomes untyped with `x-kubernetes-preserve-unknown-fields`
  and a description listing the accepted forms; the fixture model judges it (webhook/operator).
- Free-form values (`dict[str, Any]`, `Any`) keep their unknown fields.
- `exclusiveMinimum: n` (2020-12) becomes `minimum` (+ `exclusiveMinimum: true` for numbers);
  `const` becomes a one-value `enum`; titles go; only scalar defaults stay (the apiserver
  applies them, so `kubectl get -o yaml` shows the values in force).

Some models accept more than their JSON schema says, through `mode="before"` validators (a
plain string is a TextMatch, `content` may be an object, Usage renames provider keys). The
tables below say how each is widened; a before-validator not listed there is an error, so a new
one in the server's model cannot silently produce a schema that rejects what the loader accepts.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

Schema = dict[str, Any]

PRESERVE = "x-kubernetes-preserve-unknown-fields"
_LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")

# Models whose before-validator also takes a plain string: any JSON value, judged by the model.
STRING_OR_OBJECT_MODELS = frozenset({"TextMatch", "ModelMatch"})
# Models whose before-validator renames keys: an object that keeps keys it does not list.
OPEN_OBJECT_MODELS = frozenset({"Usage"})
# (model, field alias) whose before-validator accepts any JSON value (objects are serialised).
ANY_VALUE_FIELDS = frozenset({("Response", "content"), ("ToolCallSpec", "arguments")})

# Keys copied as they are (after their values are converted where they hold schemas).
_SCALAR_KEYS = frozenset(
    {
        "description",
        "type",
        "format",
        "enum",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "multipleOf",
    }
)
# Keys dropped: documentation-only or handled elsewhere.
_DROPPED_KEYS = frozenset({"title", "default", "examples", "$defs"})


class SchemaError(ValueError):
    """The model uses a construct this translation does not know how to express."""


def structural_schema(
    model: type[BaseModel], extras: Mapping[str, Mapping[str, Any]] | None = None
) -> Schema:
    """The structural schema of `model`.

    `extras` maps a model name to keys merged into that model's node wherever it appears
    (e.g. `x-kubernetes-validations`), so CEL rules live with the CRD definition, not here.
    """
    check_widening_validators(model)
    check_unique_names(model)
    raw = model.model_json_schema(mode="validation", by_alias=True)
    converter = _Converter(raw.get("$defs", {}), extras or {})
    return converter.convert(raw, owner=model.__name__)


class _Converter:
    def __init__(self, defs: Mapping[str, Schema], extras: Mapping[str, Mapping[str, Any]]):
        self.defs = defs
        self.extras = extras

    def convert(self, node: Schema, owner: str | None = None) -> Schema:
        """Convert one node; `owner` names the model the node is the schema of, if any."""
        if "$ref" in node:
            return self._ref(node)
        if "anyOf" in node or "oneOf" in node:
            return self._union(node)
        if owner in STRING_OR_OBJECT_MODELS:
            return _any_value(_join(node.get("description"), _object_form(node)))
        out = self._plain(node, owner)
        if owner in OPEN_OBJECT_MODELS:
            out[PRESERVE] = True
        if owner is not None:
            out.update(copy.deepcopy(dict(self.extras.get(owner, {}))))
        return out

    def _ref(self, node: Schema) -> Schema:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in self.defs:
            raise SchemaError(f"unresolved $ref {node['$ref']}")
        target = dict(self.defs[name])
        # A field's own description says more (where and why) than the model's docstring,
        # except where the docstring explains the accepted forms (a plain string means...).
        if name in STRING_OR_OBJECT_MODELS:
            target["description"] = _join(node.get("description"), target.get("description"))
        elif "description" in node:
            target["description"] = node["description"]
        out = self.convert(target, owner=name)
        return _with_default(out, node)

    def _union(self, node: Schema) -> Schema:
        options: list[Schema] = node.get("anyOf") or node.get("oneOf") or []
        members = [m for m in options if m != {"type": "null"}]
        outer = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
        if len(members) == 1:
            merged = {**members[0], **{k: v for k, v in outer.items() if k != "default"}}
            if "$ref" in members[0]:
                return _with_default(self._ref(merged), outer)
            return _with_default(self.convert(merged), outer)
        if _all_string_enums(members):
            values = [value for member in members for value in member["enum"]]
            return _with_default({**_described(outer), "type": "string", "enum": values}, outer)
        forms = "; ".join(self._form(member) for member in members)
        return _any_value(_join(outer.get("description"), f"One of: {forms}."))

    def _plain(self, node: Schema, owner: str | None = None) -> Schema:
        unknown = set(node) - _SCALAR_KEYS - _DROPPED_KEYS - _HANDLED_KEYS
        unknown = {key for key in unknown if not key.startswith("x-kubernetes-")}
        if unknown:
            raise SchemaError(f"unsupported JSON schema keys {sorted(unknown)} in {node}")
        out: Schema = {k: copy.deepcopy(v) for k, v in node.items() if k in _SCALAR_KEYS}
        if "description" in out:
            out["description"] = _prose(out["description"])
        out.update({k: copy.deepcopy(v) for k, v in node.items() if k.startswith("x-kubernetes-")})
        _bounds(node, out)
        if "const" in node:
            out["enum"] = [node["const"]]
        if "enum" in out and "type" not in out:
            out["type"] = _json_type(out["enum"][0])
        if not out.get("type") and not out.get(PRESERVE):
            # `Any`: every JSON value is allowed.
            return _with_default(_any_value(out.get("description")), node)
        if out["type"] == "object":
            self._object(node, out, owner)
        elif out["type"] == "array":
            out["items"] = self.convert(node.get("items", {}))
        return _with_default(out, node)

    def _object(self, node: Schema, out: Schema, owner: str | None) -> None:
        properties = node.get("properties")
        extra = node.get("additionalProperties")
        if properties:
            owner_fields = {alias for model, alias in ANY_VALUE_FIELDS if model == owner}
            out["properties"] = {
                # The field's description already says which other values it takes.
                name: (
                    _any_value(schema.get("description"))
                    if name in owner_fields
                    else self.convert(schema)
                )
                for name, schema in properties.items()
            }
            if node.get("required"):
                out["required"] = sorted(node["required"])
        elif isinstance(extra, dict) and extra:
            out["additionalProperties"] = self.convert(extra)
        else:
            # A free-form mapping (`dict[str, Any]`): keep whatever the user wrote.
            out[PRESERVE] = True

    def _form(self, member: Schema) -> str:
        """A few words saying what one member of a union accepts."""
        if "$ref" in member:
            name = member["$ref"].rsplit("/", 1)[-1]
            target = self.defs[name]
            if name in STRING_OR_OBJECT_MODELS:
                return f"a string, or {_fields_form(target)}"
            return _fields_form(target)
        if "enum" in member:
            return "one of " + ", ".join(str(v) for v in member["enum"])
        kind = member.get("type")
        if kind == "array":
            item = member.get("items", {})
            return f"a list of {item.get('type', 'value')}s"
        return f"a {kind or 'value'}"


_HANDLED_KEYS = frozenset(
    {"properties", "required", "additionalProperties", "items", "const", "exclusiveMinimum"}
    | {"exclusiveMaximum"}
)


def _bounds(node: Schema, out: Schema) -> None:
    """2020-12 numeric exclusive bounds -> OpenAPI 3.0 (boolean exclusive flags)."""
    integer = node.get("type") == "integer"
    for key, inclusive, step in (
        ("exclusiveMinimum", "minimum", 1),
        ("exclusiveMaximum", "maximum", -1),
    ):
        if key not in node:
            continue
        bound = node[key]
        if integer:
            out[inclusive] = bound + step
        else:
            out[inclusive] = bound
            out[key] = True


def _with_default(out: Schema, node: Schema) -> Schema:
    default = node.get("default")
    if isinstance(default, bool | int | float | str) and out.get("type"):
        out["default"] = default
    return out


def _any_value(description: str | None) -> Schema:
    return {**({"description": _prose(description)} if description else {}), PRESERVE: True}


def _prose(text: str) -> str:
    """Docstring line breaks -> spaces; blank lines (paragraphs) stay."""
    return _LINE_BREAK.sub(" ", text.strip())


def _described(node: Schema) -> Schema:
    return {"description": _prose(node["description"])} if node.get("description") else {}


def _join(*parts: str | None) -> str:
    return " ".join(part.strip() for part in parts if part)


def _fields_form(node: Schema) -> str:
    names = ", ".join(node.get("properties", {}))
    return f"an object with fields {names}" if names else "an object"


def _object_form(node: Schema) -> str:
    """How a string-or-object model reads in a description."""
    return f"A string, or {_fields_form(node)}."


def _all_string_enums(members: list[Schema]) -> bool:
    return all("enum" in m and m.get("type") == "string" for m in members)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


# --- the guard: before-validators must be known to the translation -----------------------------


def check_widening_validators(model: type[BaseModel]) -> None:
    """Raise if a model reachable from `model` widens its input in a way no table covers."""
    uncovered = sorted(set(widening_validators(model)) - _covered())
    if uncovered:
        listed = ", ".join(f"{m}.{f}" if f else m for m, f in uncovered)
        raise SchemaError(
            f"validators accept input the JSON schema does not describe: {listed}; "
            "say how to widen them in aimock_operator/crd/schema.py"
        )


def _covered() -> set[tuple[str, str | None]]:
    models = STRING_OR_OBJECT_MODELS | OPEN_OBJECT_MODELS
    return {(m, None) for m in models} | set(ANY_VALUE_FIELDS)


def widening_validators(model: type[BaseModel]) -> Iterator[tuple[str, str | None]]:
    """(model, None) for model-level and (model, field alias) for field-level validators that
    run before (or instead of) pydantic's own: they may accept other shapes of input."""
    widening = ("before", "wrap", "plain")
    for cls in reachable_models(model):
        decorators = cls.__pydantic_decorators__
        if any(d.info.mode in widening for d in decorators.model_validators.values()):
            yield cls.__name__, None
        for decorator in decorators.field_validators.values():
            if decorator.info.mode not in widening:
                continue
            for name in decorator.info.fields:
                field = cls.model_fields[name]
                yield cls.__name__, field.alias or name


def check_unique_names(model: type[BaseModel]) -> None:
    """Two reachable models with one class name could end up as one `$defs` entry, and one of
    them would silently take the other's schema; refuse instead."""
    seen: dict[str, type[BaseModel]] = {}
    for current in reachable_models(model):
        other = seen.setdefault(current.__name__, current)
        if other is not current:
            raise SchemaError(
                f"{model.__name__}: two models named {current.__name__} "
                f"({other.__module__} and {current.__module__}); rename one"
            )


def reachable_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """`model` and every model its fields can hold, in discovery order."""
    seen: dict[type[BaseModel], None] = {}
    pending: list[Any] = [model]
    while pending:
        current = pending.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            if current in seen:
                continue
            seen[current] = None
            pending.extend(field.annotation for field in current.model_fields.values())
        else:
            pending.extend(_type_args(current))
    return list(seen)


def _type_args(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return typing.get_args(annotation)
    return ()
