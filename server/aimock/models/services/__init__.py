"""One module per service's spec section, each defining `SECTION`.

`SECTIONS` collects them in module-name order, so the stack model and the settings learn of a
new service's section without an edit: drop its module here, and list the service that serves
it in `aimock.services.registry` (a contract test checks the two agree).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from pydantic import BaseModel

from aimock.models.base import Section


def _sections() -> tuple[Section[Any], ...]:
    found: list[Section[Any]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        section = getattr(module, "SECTION", None)
        if not isinstance(section, Section):
            raise TypeError(f"{module.__name__} defines no SECTION (a models.base.Section)")
        found.append(section)
    return tuple(found)


SECTIONS: tuple[Section[BaseModel], ...] = _sections()
