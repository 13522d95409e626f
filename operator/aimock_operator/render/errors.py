"""A spec the schema let through but the operator cannot render, naming the field."""

from __future__ import annotations


class SpecError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason
