"""Find every adapter module under `adapters/`: a new provider adds a module, not a line here."""

from __future__ import annotations

import importlib
import pkgutil

from tests.sdk.contract import adapters
from tests.sdk.contract.base import Adapter


def all_adapters() -> list[Adapter]:
    found: list[Adapter] = []
    for module in pkgutil.iter_modules(adapters.__path__):
        loaded = importlib.import_module(f"{adapters.__name__}.{module.name}")
        found.extend(getattr(loaded, "ADAPTERS", ()))
    return sorted(found, key=lambda adapter: adapter.name)
