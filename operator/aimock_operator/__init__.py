"""The aimock Kubernetes operator: MockStack, Fixture and ChaosPolicy -> ConfigMaps, a
Deployment and Services running `aimock serve` on the same documents.

It imports the server's models and loader (`aimock`); the server never imports it.
This package is a skeleton until the operator issue lands: the entry point starts kopf with
the handlers module, which registers no handlers yet.
"""

from __future__ import annotations

from aimock import __version__

__all__ = ["__version__"]
