"""Reading the fields of a vector request: types, required ones, enums, and the sizes the real
APIs allow.

One place, so the three dialects refuse a hostile value alike and no value of the wrong shape
reaches the store: a wrong type or shape is a `format` error, a well-typed value out of its
range `invalid` (Qdrant answers the first 400 "Format error in JSON body", the second 422
"Validation error in JSON body"; Chroma and Pinecone answer both 400). `param` is the field's
name as the client sent it, for the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from aimock.services.vector.filters import shown
from aimock.services.vector.store import VectorError
from aimock.surface import ProtocolError, within

T = TypeVar("T")
U32_MAX = 2**32 - 1  # Chroma's `limit`, `offset` and `n_results` are u32
USIZE_MAX = 2**64 - 1  # Qdrant's `limit` and `offset` are usize: no smaller cap


def kind(value: Any) -> str:
    """The JSON type of `value`, as a message names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def wrong(param: str, expected: str, value: Any) -> VectorError:
    return VectorError(
        "format", f"invalid type for `{param}`: expected {expected}, got {kind(value)}"
    )


def body(value: Any) -> dict[str, Any]:
    """The request body, which every write and search takes as a JSON object."""
    if not isinstance(value, dict):
        raise wrong("body", "an object", value)
    return value


def optional_body(value: Any) -> dict[str, Any]:
    """A body the client may leave out (scroll, count, stats)."""
    return {} if value is None else body(value)


def mapping(value: Any, param: str) -> dict[str, Any] | None:
    """An optional object."""
    if value is not None and not isinstance(value, dict):
        raise wrong(param, "an object", value)
    return value


def integer(value: Any, param: str, low: int, high: int) -> int:
    """A required integer in [low, high]: the real API's bounds on a size-like field."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong(param, "an integer", value)
    if value < 0 <= low:  # an unsigned field: the deserializer refuses it, not the validator
        raise VectorError("format", f"invalid value for `{param}`: {value} is negative")
    try:
        return within(value, param, low, high)
    except ProtocolError as exc:
        raise VectorError("invalid", exc.info.message) from None


def optional_integer(value: Any, param: str, low: int, high: int, default: int) -> int:
    return default if value is None else integer(value, param, low, high)


def number(value: Any, param: str) -> float | None:
    """An optional number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise wrong(param, "a number", value)
    return float(value)


def flag(value: Any, param: str, default: bool = False) -> bool:
    """An optional boolean."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise wrong(param, "a boolean", value)
    return value


def string(value: Any, param: str, most: int | None = None) -> str:
    """A required string, at most `most` characters long when the API caps it."""
    if not isinstance(value, str):
        raise wrong(param, "a string", value)
    if most is not None and len(value) > most:
        raise VectorError("invalid", f"`{param}` is {len(value)} characters, the most is {most}")
    return value


def array(value: Any, param: str, most: int | None = None) -> list[Any]:
    """A required list, of at most `most` items when the API caps it."""
    if not isinstance(value, list):
        raise wrong(param, "an array", value)
    if most is not None and len(value) > most:
        raise VectorError("invalid", f"`{param}` has {len(value)} items, the most is {most}")
    return value


def strings(value: Any, param: str, most: int | None = None) -> list[str]:
    items = array(value, param, most)
    for item in items:
        string(item, f"{param}[]")
    return items


def choice(value: Any, param: str, options: Mapping[str, T]) -> T:
    """One of an enum's names (a string: an unhashable value never reaches the lookup)."""
    if not isinstance(value, str) or value not in options:
        names = ", ".join(f"`{name}`" for name in options)
        raise VectorError(
            "format", f"unknown variant {shown(value)} for `{param}`, expected one of {names}"
        )
    return options[value]
