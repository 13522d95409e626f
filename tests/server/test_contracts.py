"""The registries and the import contracts in pyproject.toml say the same thing.

A provider or a service added to its registry but not to its contract list (or the reverse)
would leave the new module unchecked; a module outside every layer would escape the layers
contract. Each of these fails here instead.
"""

from __future__ import annotations

import pkgutil
import tomllib
import types
from pathlib import Path
from typing import Any

import aimock
from aimock.models.services import SECTIONS
from aimock.providers import registry as provider_registry
from aimock.services.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _contract(prefix: str) -> dict[str, Any]:
    [found] = [c for name, c in _contracts().items() if name.startswith(prefix)]
    return found


def test_every_registered_provider_is_in_the_independence_contract() -> None:
    registered = {
        value.__name__
        for value in vars(provider_registry).values()
        if isinstance(value, types.ModuleType)
        and getattr(value, "PROVIDER", None) in provider_registry.PROVIDERS
    }
    assert len(registered) == len(provider_registry.PROVIDERS)
    listed = set(_contract("Providers are independent").get("modules", []))
    assert registered == listed


def test_every_registered_service_is_in_the_independence_contract() -> None:
    # A service's package under aimock.services (vector's entry is vector/service.py).
    registered = {".".join(s.mount.__module__.split(".")[:3]) for s in SERVICES}
    assert len(registered) == len(SERVICES)
    listed = set(_contract("Services are independent").get("modules", []))
    assert registered == listed


def test_every_service_section_has_one_service_and_the_reverse() -> None:
    assert sorted(s.section.key for s in SERVICES) == sorted(s.key for s in SECTIONS)
    assert all(s.section in SECTIONS for s in SERVICES)


def test_every_module_of_the_server_sits_in_a_layer() -> None:
    layers = _contract("Layers:")["layers"]
    roots = {
        name.strip() for layer in layers for name in layer.replace("|", ":").split(":") if name
    }
    modules = [
        info.name
        for info in pkgutil.walk_packages(aimock.__path__, "aimock.")
        # mypyc's shared library (scripts/compile.py) is built, not written
        if not info.name.startswith("aimock.defaults") and not info.name.endswith("__mypyc")
    ]
    outside = [m for m in modules if not any(m == r or m.startswith(r + ".") for r in roots)]
    assert outside == []


def test_the_layers_contract_ignores_one_documented_import() -> None:
    ignored = {name: c.get("ignore_imports", []) for name, c in _contracts().items()}
    # The providers' independence ignores it too: a provider reading the server state
    # (`aimock.state` imports the stack model) would otherwise "reach" every other provider.
    lazy = ["aimock.models.stack -> aimock.providers.registry"]
    assert {name: imports for name, imports in ignored.items() if imports} == {
        _contract("Layers:")["name"]: lazy,
        _contract("Providers are independent")["name"]: lazy,
    }
