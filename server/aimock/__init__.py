"""aimock: one mock server for the whole agentic AI stack.

The public Python surface is deliberately small: `MockServer`, the in-process server for
tests (also behind the pytest plugin's `aimock` fixture). Everything else is internal and may
change between minor versions.
"""

from __future__ import annotations

from aimock import native

__version__ = "0.1.0"

# Before anything imports a compiled module: whether the extensions built by
# scripts/compile.py may run, or the sources instead (see aimock.native).
NATIVE = native.choose()

__all__ = ["MockServer", "__version__"]


def __getattr__(name: str) -> object:
    # MockServer pulls in aiohttp and the whole app; keep `import aimock` (used by the CLI's
    # --version and by the pytest plugin at collection time) cheap until it is asked for.
    if name == "MockServer":
        from aimock.testing import MockServer

        return MockServer
    raise AttributeError(name)
