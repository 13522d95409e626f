"""Strict checks of raw AWS wire JSON against botocore's own service model.

botocore parses leniently (unknown keys are dropped, rest-json integers go through `int()`),
so what boto3 returns proves little about the bytes on the wire. `check(shape, raw)` walks a
shape of the service model over the raw JSON and fails with the JSON path of the first gap:

- a structure must be an object holding every required member and no unknown key; a union
  (`ContentBlock`, `ContentBlockDelta`...) holds exactly one member;
- strings, integers, floats, booleans must have that JSON type (no `1.0` for an int, no bool
  for a number), enums one of their values, numbers at least their `min`;
- blobs are base64 strings; documents (`Document`) may hold any JSON.

Members the protocol carries outside the JSON body (headers, status code) are skipped.
"""

from __future__ import annotations

import base64
import binascii
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape
from botocore.session import get_session

_OUTSIDE_BODY = ("header", "headers", "statusCode")


@cache
def service(name: str = "bedrock-runtime") -> ServiceModel:
    return get_session().get_service_model(name)


def output_shape(operation: str, name: str = "bedrock-runtime") -> StructureShape:
    shape = service(name).operation_model(operation).output_shape
    assert isinstance(shape, StructureShape)
    return shape


def event_shape(operation: str, event: str, name: str = "bedrock-runtime") -> Shape:
    """The shape of one event (`messageStart`...) of an operation's event stream."""
    for member in output_shape(operation, name).members.values():
        if member.serialization.get("eventstream"):
            assert isinstance(member, StructureShape)
            assert event in member.members, f"{event!r} is no event of {operation}"
            return member.members[event]
    raise AssertionError(f"{operation} has no event stream")


def check(shape: Shape, raw: Any, path: str = "$") -> None:
    """Assert `raw` (decoded JSON) is a valid wire value of `shape`."""
    if shape.metadata.get("document"):
        return
    if isinstance(shape, StructureShape):
        _check_structure(shape, raw, path)
    elif isinstance(shape, ListShape):
        assert isinstance(raw, list), f"{path}: expected a list for {shape.name}"
        for i, item in enumerate(raw):
            check(shape.member, item, f"{path}[{i}]")
    elif isinstance(shape, MapShape):
        assert isinstance(raw, dict), f"{path}: expected an object (map) for {shape.name}"
        for key, value in raw.items():
            check(shape.key, key, f"{path}.<key>")
            check(shape.value, value, f"{path}.{key}")
    else:
        _check_scalar(shape, raw, path)


def _check_structure(shape: StructureShape, raw: Any, path: str) -> None:
    assert isinstance(raw, dict), f"{path}: expected an object for {shape.name}"
    body_members = {
        name: member
        for name, member in shape.members.items()
        if member.serialization.get("location") not in _OUTSIDE_BODY
    }
    unknown = set(raw) - set(body_members)
    assert not unknown, f"{path}: unknown member(s) {sorted(unknown)} for {shape.name}"
    for name in shape.required_members:
        if name in body_members:
            assert name in raw, f"{path}.{name}: missing ({shape.name} requires it)"
    if shape.is_tagged_union:
        assert len(raw) == 1, f"{path}: union {shape.name} must set exactly one member: {raw}"
    for name, value in raw.items():
        check(body_members[name], value, f"{path}.{name}")


def _check_scalar(shape: Shape, raw: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "string":
        assert isinstance(raw, str), f"{path}: expected a string for {shape.name}, got {raw!r}"
        enum = shape.metadata.get("enum")
        assert not enum or raw in enum, f"{path}: {raw!r} is not one of {enum}"
        assert len(raw) >= shape.metadata.get("min", 0), f"{path}: shorter than its min"
    elif kind in ("integer", "long"):
        assert isinstance(raw, int) and not isinstance(raw, bool), f"{path}: expected an int"
        assert raw >= shape.metadata.get("min", raw), f"{path}: {raw} below its min"
    elif kind in ("float", "double"):
        ok = isinstance(raw, int | float) and not isinstance(raw, bool)
        assert ok, f"{path}: expected a number for {shape.name}, got {raw!r}"
    elif kind == "boolean":
        assert isinstance(raw, bool), f"{path}: expected a boolean, got {raw!r}"
    elif kind == "blob":
        assert isinstance(raw, str), f"{path}: expected a base64 string (blob)"
        try:
            base64.b64decode(raw, validate=True)
        except binascii.Error as exc:
            raise AssertionError(f"{path}: not base64: {exc}") from None
    elif kind == "timestamp":
        ok = isinstance(raw, int | float | str) and not isinstance(raw, bool)
        assert ok, f"{path}: expected a timestamp"
    else:
        raise AssertionError(f"{path}: no check for shape type {kind!r}")
