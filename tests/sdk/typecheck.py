"""Strict checks of raw wire JSON against the official SDK's pydantic types.

The SDK types mark many fields optional (they tolerate old servers), so validating a body
with them proves little about what a real client may read. Two checks close the gap:

- `validate_strict(model_cls, raw)`: pydantic strict validation (no coercion: `1.0` is not
  an int, `"1"` is not a number), so a wrong JSON type fails.
- `assert_required_fields(model_cls, raw, always=...)`: walks the model's fields recursively
  and asserts every required field is present in the raw JSON, plus the fields listed in
  `always` for a model class (fields the real API always sends although the SDK declares
  them optional, such as `usage` or `logprobs`).

Generic on purpose: any SDK model (chat, responses, embeddings, ...) can be checked.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)
Always = Mapping[type[BaseModel], Iterable[str]]


def validate_strict(model_cls: type[ModelT], raw: Any) -> ModelT:
    """Validate raw JSON (already decoded) with no type coercion."""
    return TypeAdapter(model_cls).validate_python(raw, strict=True)


def assert_required_fields(
    model_cls: type[BaseModel], raw: Any, always: Always | None = None, path: str = "$"
) -> None:
    """Assert `raw` holds every field `model_cls` requires, recursively, and the extra
    fields `always` names per model class. Fails with the JSON path of the first gap."""
    _check_model(model_cls, raw, always or {}, path)


def _check_model(model_cls: type[BaseModel], raw: Any, always: Always, path: str) -> None:
    assert isinstance(raw, dict), f"{path}: expected an object for {model_cls.__name__}"
    wanted = set(always.get(model_cls, ()))
    for name, field in model_cls.model_fields.items():
        key = field.alias or name
        if field.is_required() or name in wanted or key in wanted:
            assert key in raw, f"{path}.{key}: missing ({model_cls.__name__} always has it)"
        if raw.get(key) is not None:
            _check_value(field.annotation, raw[key], always, f"{path}.{key}")


def _check_value(annotation: Any, value: Any, always: Always, path: str) -> None:
    origin = get_origin(annotation)
    if origin is Annotated:
        _check_value(get_args(annotation)[0], value, always, path)
    elif origin in (Union, types.UnionType):
        _check_union(annotation, value, always, path)
    elif origin in (list, tuple) or annotation in (list, tuple):
        args = get_args(annotation)
        assert isinstance(value, list), f"{path}: expected an array"
        for i, item in enumerate(value):
            if args:
                _check_value(args[0], item, always, f"{path}[{i}]")
    elif origin is dict:
        args = get_args(annotation)
        assert isinstance(value, dict), f"{path}: expected an object"
        for key, item in value.items():
            if len(args) == 2:
                _check_value(args[1], item, always, f"{path}.{key}")
    elif origin is Literal:
        assert value in get_args(annotation), f"{path}: {value!r} not in {get_args(annotation)}"
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _check_model(annotation, value, always, path)


def _check_union(annotation: Any, value: Any, always: Always, path: str) -> None:
    """Check against the first union member the value validates as (a discriminated union
    of models picks its member by `type`; `Optional[X]` is just X here)."""
    members = [a for a in get_args(annotation) if a is not type(None)]
    if len(members) == 1:
        _check_value(members[0], value, always, path)
        return
    for member in members:
        try:
            TypeAdapter(member).validate_python(value, strict=True)
        except ValidationError:
            continue
        _check_value(member, value, always, path)
        return
    # Nothing validates: report the gap inside the member the value claims to be.
    claimed = _member_by_type(members, value)
    if claimed is not None:
        _check_value(claimed, value, always, path)
    raise AssertionError(f"{path}: {value!r} matches none of {members}")


def _member_by_type(members: list[Any], value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    for member in members:
        model = get_args(member)[0] if get_origin(member) is Annotated else member
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        field = model.model_fields.get("type")
        if field is not None and value.get("type") in get_args(field.annotation):
            return model
    return None
